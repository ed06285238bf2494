// encoder_block: one pre-LN ViT block (and the scores of a pruning stage that follows it) as an IP core, plus
// prune_stage, the stage's selection and packaging. Tokens travel over AXI-Stream, parameters come from DDR over
// m_axi, the per-block scalars (token count, shifts, mode, k, threshold, weight address) over s_axilite.
//
// Contract: docs/arithmetic.md §11.2 (encoder_block), §11.3 (prune_stage), composed from §6 layernorm, §3 linear,
// §5 attention, §4 residual_add, §7 lut, §8 scoring, §9 topk_select and §10 token_pack. Golden: spvit.sim.golden.
// model.encoder_block and prune_stage.
//
// Streams: a token is n_chan int8 channels in n_chan / 16 beats of 128 bits (the ZCU102 HP port width), channel c in
// byte c % 16 of beat c / 16; `last` marks the final beat of the final token. axis_word is our own side-band struct
// (ap_axi_sdata.h's hls::axis is not part of the headers C-simulation uses): data, keep, last.
// Parameters: one 128-bit word array in DDR; a block's parameters start at word `regs.weights` and follow the fixed
// order of load_block_params() (each array starts on a word boundary; int8 in 16 lanes, int16 in 8, int32 in 4,
// lane i in bits [i*w, i*w + w)). spvit.sim.hls_kernels packs a bundle into exactly this layout.
// Scores: uint16, 8 per word, written to `scores` (m_axi) for the host and for prune_stage.
//
// Schedule: encoder_block is one #pragma HLS DATAFLOW region of six processes joined by ping-pong buffers
// (encoder_block_dataflow): (1) load the parameters, (2) read the image's tokens, (3) LN1 + qkv per token, (4)
// attention per head, (5) per token proj + residual + LN2 + fc1 + GELU + fc2 + residual, streaming each output token as
// soon as it is done, (6) the stage scores (§8.1 from this block's attention, §8.2 from its output, or none). Every
// buffer has one writer and one reader: the parameters are split by the process that reads them, the input tokens are
// written twice (for qkv and for the residual). (1) and (2) overlap; consecutive calls overlap phase by phase. The MAC
// arrays inside are the linear.hpp / attention.hpp ones with the simd / pe / lane knobs of the configuration.
#ifndef SPVIT_ENCODER_BLOCK_HPP
#define SPVIT_ENCODER_BLOCK_HPP

#include "ap_int.h"
#include "hls_stream.h"

#include "arith.hpp"
#include "attention.hpp"
#include "layernorm.hpp"
#include "linear.hpp"
#include "lut.hpp"
#include "residual_add.hpp"
#include "selector.hpp"
#include "token_pack.hpp"
#include "topk_select.hpp"

namespace spvit {

// AXI-Stream beat: 16 bytes of data, a byte-enable and TLAST.
struct axis_word {
    ap_uint<128> data;
    ap_uint<16> keep;
    ap_uint<1> last;
};

typedef ap_uint<128> mem_word; // one m_axi word

struct encoder_block_config {
    static const unsigned n_max = 67;    // most tokens in an image (1 + patches + stages)
    static const unsigned n_chan = 64;   // D (a multiple of 16)
    static const unsigned n_heads = 4;   // H
    static const unsigned n_hidden = 128; // MLP width
    static const unsigned se_width = 2;   // selector squeeze-excite width
    // parallelism
    static const unsigned ln_parallel = 8;
    static const unsigned qkv_simd = 16, qkv_pe = 4;
    static const unsigned proj_simd = 16, proj_pe = 2;
    static const unsigned fc1_simd = 16, fc1_pe = 4;
    static const unsigned fc2_simd = 16, fc2_pe = 2;
    static const unsigned qk_simd = 16, av_lanes = 16; // attention; divide d_head
    static const unsigned res_parallel = 16;
    static const unsigned pack_simd = 16;
    // the selector's layers (§8.2)
    static const unsigned sel_in_simd = 4, sel_in_pe = 2, sel_mlp_simd = 2, sel_mlp_pe = 2;
};

enum score_mode { SCORE_NONE = 0, SCORE_ASVIT = 1, SCORE_SPVIT = 2 };

// Derived sizes and types of an encoder_block configuration.
template <typename C> struct encoder_block_types {
    static const unsigned D = C::n_chan, H = C::n_heads, DH = C::n_chan / C::n_heads, M = C::n_hidden;
    static const unsigned BEATS = C::n_chan / 16;
    typedef ap_int<8> data_t;
    typedef ap_uint<bits_for(C::n_max + 1)> count_t;
    typedef requantize_full_config::shift_t shift_t;
    typedef layernorm_config::eps_t eps_t;
    typedef residual_add_config::align_t align_t;
    typedef residual_requant_config::shift_t res_shift_t;

    struct norm_cfg : layernorm_config {
        static const unsigned n_in = D;
        static const unsigned parallel = C::ln_parallel;
    };
    template <unsigned IN, unsigned OUT, unsigned SIMD, unsigned PE> struct lin_cfg : linear_config {
        static const unsigned n_in = IN;
        static const unsigned n_out = OUT;
        static const unsigned simd = SIMD;
        static const unsigned pe = PE;
    };
    typedef lin_cfg<D, 3 * D, C::qkv_simd, C::qkv_pe> qkv_cfg;
    typedef lin_cfg<D, D, C::proj_simd, C::proj_pe> proj_cfg;
    typedef lin_cfg<D, M, C::fc1_simd, C::fc1_pe> fc1_cfg;
    typedef lin_cfg<M, D, C::fc2_simd, C::fc2_pe> fc2_cfg;
    struct attn_cfg : attention_config {
        static const unsigned n_heads = H;
        static const unsigned d_head = DH;
        static const unsigned n_max = C::n_max;
        static const unsigned qk_simd = C::qk_simd;
        static const unsigned av_lanes = C::av_lanes;
        typedef ap_uint<bits_for(n_max)> count_t;
    };
    struct res_cfg : residual_add_config {
        static const unsigned n = D;
        static const unsigned parallel = C::res_parallel;
    };
    struct act_cfg : lut_config {
        static const unsigned n = M;
        static const unsigned parallel = 16;
    };
    struct sel_cfg : selector_config {
        static const unsigned n_max = C::n_max;
        static const unsigned n_chan = D;
        static const unsigned n_heads = H;
        static const unsigned se_width = C::se_width;
        static const unsigned ln_parallel = C::ln_parallel;
        static const unsigned in_simd = C::sel_in_simd, in_pe = C::sel_in_pe;
        static const unsigned mlp_simd = C::sel_mlp_simd, mlp_pe = C::sel_mlp_pe;
        typedef ap_uint<bits_for(n_max)> count_t;
    };
    struct topk_cfg : topk_select_config {
        static const unsigned n_max = C::n_max;
        static const unsigned k_max = C::n_max;
        typedef ap_uint<bits_for(n_max)> count_t;
        typedef ap_uint<clog2(n_max)> index_t;
    };
    struct pack_cfg : token_pack_config {
        static const unsigned n_max = C::n_max;
        static const unsigned n_chan = D;
        static const unsigned simd = C::pack_simd;
        typedef ap_uint<bits_for(n_max + 1)> count_t;
    };
};

// s_axilite registers of encoder_block; shifts are derived from the bundle's fracs by the host (§2.3, §4, §5, §6).
template <typename C> struct encoder_block_regs {
    typedef encoder_block_types<C> T;
    typename T::count_t n;                   // tokens present (>= 1)
    ap_uint<32> weights;                     // word address of this block's parameters
    typename T::eps_t ln1_eps;               // §6 E of norm1
    typename T::shift_t ln1_shift;           // 15 + f_g - f_out
    typename T::shift_t q_shift, k_shift, v_shift; // qkv accumulator frac - f_q / f_k / f_v (§5.1)
    attention_config::frac_t f_qk;           // f_q + f_k (§5.2)
    typename T::shift_t ctx_shift;           // 8 + f_v - f_ctx (§5.3)
    typename T::shift_t proj_shift;          // §3
    typename T::align_t res1_x, res1_r;      // §4 alignment of x and of proj's output
    typename T::res_shift_t res1_out;        // §4 f - f_out
    typename T::eps_t ln2_eps;
    typename T::shift_t ln2_shift;
    typename T::shift_t fc1_shift, fc2_shift;
    typename T::align_t res2_x, res2_r;
    typename T::res_shift_t res2_out;
    ap_uint<2> score_mode;                   // score_mode: none, asvit (§8.1), spvit (§8.2)
    typename T::eps_t sel_eps;               // the selector's LayerNorm E and shifts (spvit only)
    typename T::shift_t sel_norm_shift, sel_in_shift, sel_mlp1_shift, sel_mlp2_shift, sel_keep_shift, sel_se1_shift,
        sel_se2_shift;
};

// ---- parameter loading (m_axi -> on-chip memories) ------------------------------------------------------------------

// count values of BITS bits from word `word` on, lane by lane; returns the word after the last one used.
template <int BITS, class T> unsigned load_lanes(const mem_word *mem, unsigned word, T *dst, unsigned count) {
    static const unsigned LANES = 128 / BITS;
Load:
    for (unsigned i = 0; i < count; i++) {
#pragma HLS PIPELINE II = 1
        const mem_word w = mem[word + i / LANES];
        const unsigned lane = i % LANES;
        const ap_uint<BITS> bits = w.range(lane * BITS + BITS - 1, lane * BITS);
        dst[i] = T(bits);
    }
    return word + (count + LANES - 1) / LANES;
}
template <int BITS, class T, unsigned R, unsigned K>
unsigned load_2d(const mem_word *mem, unsigned word, T (&dst)[R][K]) {
    static const unsigned LANES = 128 / BITS;
Load2D:
    for (unsigned i = 0; i < R * K; i++) {
#pragma HLS PIPELINE II = 1
        const mem_word w = mem[word + i / LANES];
        const unsigned lane = i % LANES;
        dst[i / K][i % K] = T(ap_uint<BITS>(w.range(lane * BITS + BITS - 1, lane * BITS)));
    }
    return word + (R * K + LANES - 1) / LANES;
}
template <int BITS, class T, unsigned H, unsigned R, unsigned K>
unsigned load_3d(const mem_word *mem, unsigned word, T (&dst)[H][R][K]) {
    static const unsigned LANES = 128 / BITS;
Load3D:
    for (unsigned i = 0; i < H * R * K; i++) {
#pragma HLS PIPELINE II = 1
        const mem_word w = mem[word + i / LANES];
        const unsigned lane = i % LANES;
        dst[i / (R * K)][(i / K) % R][i % K] = T(ap_uint<BITS>(w.range(lane * BITS + BITS - 1, lane * BITS)));
    }
    return word + (H * R * K + LANES - 1) / LANES;
}

// §8.2 The selector's parameters in selector_params order (norm gamma/beta, in_proj, in_act, mlp1, mlp1_act, mlp2,
// mlp2_act, keep, keep_act (uint8), se1, se1_act, se2, se2_act (uint8)): the tail of a spvit stage block's parameters,
// and the whole of the selector IP's (hw/hls/vitis/tops/selector.cpp). Returns the word after the last one used.
template <typename SC> unsigned load_selector_params(const mem_word *mem, unsigned word, selector_params<SC> &s) {
    word = load_lanes<16>(mem, word, s.norm_gamma, SC::n_chan);
    word = load_lanes<32>(mem, word, s.norm_beta, SC::n_chan);
    word = load_3d<8>(mem, word, s.in_w);
    word = load_2d<32>(mem, word, s.in_b);
    word = load_lanes<8>(mem, word, s.in_act, 256);
    word = load_3d<8>(mem, word, s.mlp1_w);
    word = load_2d<32>(mem, word, s.mlp1_b);
    word = load_lanes<8>(mem, word, s.mlp1_act, 256);
    word = load_3d<8>(mem, word, s.mlp2_w);
    word = load_2d<32>(mem, word, s.mlp2_b);
    word = load_lanes<8>(mem, word, s.mlp2_act, 256);
    word = load_3d<8>(mem, word, s.keep_w);
    word = load_2d<32>(mem, word, s.keep_b);
    word = load_lanes<8>(mem, word, s.keep_act, 256);
    word = load_2d<8>(mem, word, s.se1_w);
    word = load_lanes<32>(mem, word, s.se1_b, SC::se_width);
    word = load_lanes<8>(mem, word, s.se1_act, 256);
    word = load_2d<8>(mem, word, s.se2_w);
    word = load_lanes<32>(mem, word, s.se2_b, SC::n_heads);
    return load_lanes<8>(mem, word, s.se2_act, 256);
}

// ---- token streams --------------------------------------------------------------------------------------------------

// Reads n tokens; returns false if a beat's TLAST disagrees with its position (nothing else is consumed).
template <unsigned N, unsigned D, class count_T>
bool read_tokens(hls::stream<axis_word> &in, count_T n, ap_int<8> x[N][D]) {
    bool ok = true;
ReadTokens:
    for (unsigned t = 0; t < N; t++) {
    ReadBeats:
        for (unsigned b = 0; b < D / 16; b++) {
#pragma HLS PIPELINE II = 1
            if (t < n) {
                const axis_word w = in.read();
                if (w.last != ((t + 1 == n && b + 1 == D / 16) ? 1 : 0)) ok = false;
            ReadBytes:
                for (unsigned l = 0; l < 16; l++) x[t][b * 16 + l] = w.data.range(8 * l + 7, 8 * l);
            } else {
            ZeroBytes:
                for (unsigned l = 0; l < 16; l++) x[t][b * 16 + l] = 0;
            }
        }
    }
    return ok;
}

template <unsigned D> void write_token(hls::stream<axis_word> &out, const ap_int<8> x[D], bool last_token) {
WriteBeats:
    for (unsigned b = 0; b < D / 16; b++) {
#pragma HLS PIPELINE II = 1
        axis_word w;
    WriteBytes:
        for (unsigned l = 0; l < 16; l++) w.data.range(8 * l + 7, 8 * l) = ap_uint<8>(x[b * 16 + l]);
        w.keep = 0xFFFF;
        w.last = (last_token && b + 1 == D / 16) ? 1 : 0;
        out.write(w);
    }
}

// ---- §11.2 encoder_block --------------------------------------------------------------------------------------------

// The processes of encoder_block's dataflow region, and the region itself (run).
template <typename C> struct encoder_block_dataflow {
    typedef encoder_block_types<C> T;
    static const unsigned N = C::n_max, D = T::D, H = T::H, DH = T::DH, M = T::M;
    typedef typename T::data_t data_t;
    typedef typename T::count_t count_t;
    typedef typename T::shift_t shift_t;
    typedef typename T::eps_t eps_t;
    typedef typename T::align_t align_t;
    typedef typename T::res_shift_t res_shift_t;
    typedef typename T::sel_cfg sel_cfg;
    typedef typename T::attn_cfg attn_cfg;
    typedef layernorm_config::gamma_t gamma_t;
    typedef layernorm_config::beta_t beta_t;
    typedef linear_config::weight_t weight_t;
    typedef linear_config::bias_t bias_t;
    typedef linear_config::accum_t accum_t;

    // (1) The parameter layout, in this order: norm1 (gamma int16, beta int32), qkv, proj, norm2, fc1, mlp.act (int8
    // table), fc2 (weights int8 [out][in], bias int32) and, for the spvit score, the selector (load_selector_params);
    // scalars (eps terms, shifts) are registers -- the selector's are copied into its parameters here.
    static void load_block_params(const mem_word *mem, ap_uint<32> weights, ap_uint<2> score_mode, eps_t sel_eps,
                                  shift_t sel_norm_shift, shift_t sel_in_shift, shift_t sel_mlp1_shift,
                                  shift_t sel_mlp2_shift, shift_t sel_keep_shift, shift_t sel_se1_shift,
                                  shift_t sel_se2_shift, gamma_t ln1_g[D], beta_t ln1_b[D],
                                  weight_t (&qkv_w)[3 * D][D], bias_t qkv_b[3 * D], weight_t (&proj_w)[D][D],
                                  bias_t proj_b[D], gamma_t ln2_g[D], beta_t ln2_b[D], weight_t (&fc1_w)[M][D],
                                  bias_t fc1_b[M], data_t act[256], weight_t (&fc2_w)[D][M], bias_t fc2_b[D],
                                  selector_params<sel_cfg> &sel) {
        unsigned word = weights;
        word = load_lanes<16>(mem, word, ln1_g, D);
        word = load_lanes<32>(mem, word, ln1_b, D);
        word = load_2d<8>(mem, word, qkv_w);
        word = load_lanes<32>(mem, word, qkv_b, 3 * D);
        word = load_2d<8>(mem, word, proj_w);
        word = load_lanes<32>(mem, word, proj_b, D);
        word = load_lanes<16>(mem, word, ln2_g, D);
        word = load_lanes<32>(mem, word, ln2_b, D);
        word = load_2d<8>(mem, word, fc1_w);
        word = load_lanes<32>(mem, word, fc1_b, M);
        word = load_lanes<8>(mem, word, act, 256);
        word = load_2d<8>(mem, word, fc2_w);
        word = load_lanes<32>(mem, word, fc2_b, D);
        if (score_mode == SCORE_SPVIT) load_selector_params<sel_cfg>(mem, word, sel);
        sel.norm_eps = sel_eps;
        sel.norm_shift = sel_norm_shift;
        sel.in_shift = sel_in_shift;
        sel.mlp1_shift = sel_mlp1_shift;
        sel.mlp2_shift = sel_mlp2_shift;
        sel.keep_shift = sel_keep_shift;
        sel.se1_shift = sel_se1_shift;
        sel.se2_shift = sel_se2_shift;
    }

    // (2) n tokens, twice: for qkv and for the first residual (zeros beyond n); framed = false for a misplaced TLAST.
    static void read_block_tokens(hls::stream<axis_word> &in, count_t n, data_t x_qkv[N][D], data_t x_res[N][D],
                                  bool &framed) {
        bool ok = true;
    ReadTokens:
        for (unsigned t = 0; t < N; t++) {
        ReadBeats:
            for (unsigned b = 0; b < D / 16; b++) {
#pragma HLS PIPELINE II = 1
                axis_word w;
                w.data = 0;
                if (t < n) {
                    w = in.read();
                    if (w.last != ((t + 1 == n && b + 1 == D / 16) ? 1 : 0)) ok = false;
                }
            ReadBytes:
                for (unsigned l = 0; l < 16; l++) {
                    const data_t byte = w.data.range(8 * l + 7, 8 * l);
                    x_qkv[t][b * 16 + l] = byte;
                    x_res[t][b * 16 + l] = byte;
                }
            }
        }
        framed = ok;
    }

    // (3) LN1 and qkv, token by token, into per-head Q, K, V (zeros beyond n).
    static void qkv_heads(const data_t x[N][D], const gamma_t ln1_g[D], const beta_t ln1_b[D],
                          const weight_t qkv_w[3 * D][D], const bias_t qkv_b[3 * D], count_t n, eps_t ln1_eps,
                          shift_t ln1_shift, shift_t q_shift, shift_t k_shift, shift_t v_shift, data_t q[H][N][DH],
                          data_t k[H][N][DH], data_t v[H][N][DH]) {
    Qkv:
        for (unsigned t = 0; t < N; t++) {
            data_t a[D];
            accum_t acc[3 * D];
            layernorm<data_t, data_t, typename T::norm_cfg>(x[t], a, ln1_g, ln1_b, ln1_eps, ln1_shift);
            linear_acc<data_t, accum_t, typename T::qkv_cfg>(a, acc, qkv_w, qkv_b);
        Split:
            for (unsigned c = 0; c < D; c++) {
#pragma HLS PIPELINE II = 1
                const bool present = t < n;
                const data_t qc = requantize<accum_t, data_t, requantize_full_config>(acc[c], q_shift);
                const data_t kc = requantize<accum_t, data_t, requantize_full_config>(acc[D + c], k_shift);
                const data_t vc = requantize<accum_t, data_t, requantize_full_config>(acc[2 * D + c], v_shift);
                q[c / DH][t][c % DH] = present ? qc : data_t(0);
                k[c / DH][t][c % DH] = present ? kc : data_t(0);
                v[c / DH][t][c % DH] = present ? vc : data_t(0);
            }
        }
    }

    // (5) proj + residual, LN2 + MLP + residual, token by token; each finished token leaves at once (y is 0 past n).
    static void mlp_tokens(const data_t ctx[H][N][DH], const data_t x[N][D], const weight_t proj_w[D][D],
                           const bias_t proj_b[D], const gamma_t ln2_g[D], const beta_t ln2_b[D],
                           const weight_t fc1_w[M][D], const bias_t fc1_b[M], const data_t act[256],
                           const weight_t fc2_w[D][M], const bias_t fc2_b[D], count_t n, shift_t proj_shift,
                           align_t res1_x, align_t res1_r, res_shift_t res1_out, eps_t ln2_eps, shift_t ln2_shift,
                           shift_t fc1_shift, shift_t fc2_shift, align_t res2_x, align_t res2_r, res_shift_t res2_out,
                           hls::stream<axis_word> &out, data_t y[N][D]) {
    Tokens:
        for (unsigned t = 0; t < N; t++) {
            if (t >= n) {
            ZeroToken:
                for (unsigned c = 0; c < D; c++) y[t][c] = 0;
                continue;
            }
            data_t c_t[D], o[D], x1[D], a2[D], h1[M], h2[M], f2[D];
        Gather:
            for (unsigned c = 0; c < D; c++) {
#pragma HLS PIPELINE II = 1
                c_t[c] = ctx[c / DH][t][c % DH];
            }
            linear<data_t, data_t, typename T::proj_cfg>(c_t, o, proj_w, proj_b, proj_shift);
            residual_add<data_t, data_t, data_t, typename T::res_cfg>(x[t], o, x1, res1_x, res1_r, res1_out);
            layernorm<data_t, data_t, typename T::norm_cfg>(x1, a2, ln2_g, ln2_b, ln2_eps, ln2_shift);
            linear<data_t, data_t, typename T::fc1_cfg>(a2, h1, fc1_w, fc1_b, fc1_shift);
            lut<data_t, data_t, typename T::act_cfg>(h1, h2, act);
            linear<data_t, data_t, typename T::fc2_cfg>(h2, f2, fc2_w, fc2_b, fc2_shift);
            residual_add<data_t, data_t, data_t, typename T::res_cfg>(x1, f2, y[t], res2_x, res2_r, res2_out);
            write_token<D>(out, y[t], t + 1 == n);
        }
    }

    // (6) §8 the scores of this block's output tokens (n_max uint16, 8 per word; 0 beyond n), unless SCORE_NONE.
    static void stage_scores(const data_t y[N][D], const ap_uint<16> cls_p16[H][N], const data_t cls_ctx[H][DH],
                             const selector_params<sel_cfg> &sel, count_t n, ap_uint<2> score_mode,
                             mem_word *scores) {
        if (score_mode == SCORE_NONE) return;
        ap_uint<16> s[N];
        if (score_mode == SCORE_ASVIT) {
            asvit_score<data_t, attn_cfg>(cls_p16, cls_ctx, n, s);
        } else {
            selector<sel_cfg>(y, n, sel, s);
        }
    WriteScores:
        for (unsigned w = 0; w < (N + 7) / 8; w++) {
#pragma HLS PIPELINE II = 1
            mem_word word = 0;
        Pack:
            for (unsigned l = 0; l < 8; l++) {
                if (w * 8 + l < N) word.range(16 * l + 15, 16 * l) = s[w * 8 + l];
            }
            scores[w] = word;
        }
    }

    // The region: the processes in order, joined by the local buffers (one writer, one reader each).
    static void run(hls::stream<axis_word> &s_axis, hls::stream<axis_word> &m_axis, const mem_word *weights,
                    mem_word *scores, const encoder_block_regs<C> regs, bool &framed) {
#pragma HLS DATAFLOW
        gamma_t ln1_g[D], ln2_g[D];
        beta_t ln1_b[D], ln2_b[D];
        weight_t qkv_w[3 * D][D], proj_w[D][D], fc1_w[M][D], fc2_w[D][M];
        bias_t qkv_b[3 * D], proj_b[D], fc1_b[M], fc2_b[D];
        data_t act[256];
        selector_params<sel_cfg> sel;
        data_t x_qkv[N][D], x_res[N][D], y[N][D];
        data_t q[H][N][DH], k[H][N][DH], v[H][N][DH], ctx[H][N][DH], cls_ctx[H][DH];
        ap_uint<16> cls_p16[H][N];

        load_block_params(weights, regs.weights, regs.score_mode, regs.sel_eps, regs.sel_norm_shift,
                          regs.sel_in_shift, regs.sel_mlp1_shift, regs.sel_mlp2_shift, regs.sel_keep_shift,
                          regs.sel_se1_shift, regs.sel_se2_shift, ln1_g, ln1_b, qkv_w, qkv_b, proj_w, proj_b, ln2_g,
                          ln2_b, fc1_w, fc1_b, act, fc2_w, fc2_b, sel);
        read_block_tokens(s_axis, regs.n, x_qkv, x_res, framed);
        qkv_heads(x_qkv, ln1_g, ln1_b, qkv_w, qkv_b, regs.n, regs.ln1_eps, regs.ln1_shift, regs.q_shift, regs.k_shift,
                  regs.v_shift, q, k, v);
        attention<data_t, data_t, attn_cfg>(q, k, v, regs.n, regs.f_qk, regs.ctx_shift, ctx, cls_p16, cls_ctx);
        mlp_tokens(ctx, x_res, proj_w, proj_b, ln2_g, ln2_b, fc1_w, fc1_b, act, fc2_w, fc2_b, regs.n, regs.proj_shift,
                   regs.res1_x, regs.res1_r, regs.res1_out, regs.ln2_eps, regs.ln2_shift, regs.fc1_shift,
                   regs.fc2_shift, regs.res2_x, regs.res2_r, regs.res2_out, m_axis, y);
        stage_scores(y, cls_p16, cls_ctx, sel, regs.n, regs.score_mode, scores);
    }
};

// Returns false when the input stream's TLAST is misplaced. scores (n_max uint16, 8 per word) are written when
// regs.score_mode is not SCORE_NONE (0 beyond n, §8).
template <typename C>
bool encoder_block(hls::stream<axis_word> &s_axis, hls::stream<axis_word> &m_axis, const mem_word *weights,
                   mem_word *scores, const encoder_block_regs<C> &regs) {
#pragma HLS INTERFACE axis port = s_axis
#pragma HLS INTERFACE axis port = m_axis
#pragma HLS INTERFACE m_axi port = weights offset = slave bundle = gmem0 max_read_burst_length = 256
#pragma HLS INTERFACE m_axi port = scores offset = slave bundle = gmem1
#pragma HLS INTERFACE s_axilite port = regs bundle = control
#pragma HLS INTERFACE s_axilite port = return bundle = control
    static_assert(encoder_block_types<C>::D % 16 == 0,
                  "tokens travel in 16-byte beats: n_chan must be a multiple of 16");
    bool framed = true;
    encoder_block_dataflow<C>::run(s_axis, m_axis, weights, scores, regs, framed);
    return framed;
}

// ---- §11.3 prune_stage ----------------------------------------------------------------------------------------------

template <typename C> struct prune_stage_regs {
    typedef encoder_block_types<C> T;
    typename T::count_t n;                  // tokens present
    typename T::count_t n_protected_tail;   // package tokens of earlier stages (never candidates)
    typename T::count_t k;                  // keep at most k candidates (§9)
    bool threshold_mode;                    // also require score >= threshold
    ap_uint<16> threshold;
    bool package;                           // append the package token (§10); false: hard pruning
};

// Reads n tokens and their scores; streams the next sequence (§11.3): the tokens present that are not pruned, in
// order, then the package token. sources[i] (uint16, 8 per word) is the input index of output token i (the package
// token's entry is n). Returns the output token count, or 0 if the input's TLAST was misplaced.
template <typename C>
typename encoder_block_types<C>::count_t prune_stage(hls::stream<axis_word> &s_axis, const mem_word *scores,
                                                     hls::stream<axis_word> &m_axis, mem_word *sources,
                                                     const prune_stage_regs<C> &regs) {
#pragma HLS INTERFACE axis port = s_axis
#pragma HLS INTERFACE axis port = m_axis
#pragma HLS INTERFACE m_axi port = scores offset = slave bundle = gmem1
#pragma HLS INTERFACE m_axi port = sources offset = slave bundle = gmem1
#pragma HLS INTERFACE s_axilite port = regs bundle = control
#pragma HLS INTERFACE s_axilite port = return bundle = control
    typedef encoder_block_types<C> T;
    static const unsigned N = C::n_max, D = T::D;
    typedef typename T::data_t data_t;
    typedef typename T::topk_cfg topk_cfg;

    static data_t x[N][D];
    const bool framed = read_tokens<N, D>(s_axis, regs.n, x);
    ap_uint<16> s[N];
ReadScores:
    for (unsigned j = 0; j < N; j++) {
#pragma HLS PIPELINE II = 1
        const mem_word w = scores[j / 8];
        s[j] = w.range(16 * (j % 8) + 15, 16 * (j % 8));
    }

    // §9 membership, then pruned = candidate and not kept
    hls::stream<typename topk_cfg::index_t> kept;
#pragma HLS STREAM variable = kept depth = N
    const typename topk_cfg::count_t n_kept =
        topk_select<topk_cfg>(s, regs.n, regs.n_protected_tail, regs.k, regs.threshold_mode, regs.threshold, kept);
    bool pruned[N];
    const unsigned cand_end = regs.n > regs.n_protected_tail ? unsigned(regs.n - regs.n_protected_tail) : 0u;
Candidates:
    for (unsigned j = 0; j < N; j++) {
#pragma HLS PIPELINE II = 1
        pruned[j] = j >= 1 && j < cand_end;
    }
Kept:
    for (unsigned i = 0; i < N; i++) {
#pragma HLS PIPELINE II = 1
        if (i < n_kept) pruned[kept.read()] = false;
    }

    // §10 the package token, §11.3 the order
    static data_t out[N + 1][D];
    const typename T::pack_cfg::count_t n_out =
        token_pack<data_t, typename T::pack_cfg>(x, s, pruned, regs.n, regs.package, out);
    ap_uint<16> src[N + 1];
    unsigned at = 0;
Sources:
    for (unsigned j = 0; j < N; j++) {
#pragma HLS PIPELINE II = 1
        if (j < regs.n && !pruned[j]) src[at++] = j;
    }
    if (regs.package) src[at++] = regs.n;
WriteSources:
    for (unsigned w = 0; w < (N + 1 + 7) / 8; w++) {
#pragma HLS PIPELINE II = 1
        mem_word word = 0;
    PackSources:
        for (unsigned l = 0; l < 8; l++) {
            if (w * 8 + l < at) word.range(16 * l + 15, 16 * l) = src[w * 8 + l];
        }
        sources[w] = word;
    }
WriteOut:
    for (unsigned t = 0; t < N + 1; t++) {
        if (t < n_out) write_token<D>(m_axis, out[t], t + 1 == n_out);
    }
    return framed ? typename T::count_t(n_out) : typename T::count_t(0);
}

} // namespace spvit

#endif // SPVIT_ENCODER_BLOCK_HPP
