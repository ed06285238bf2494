// The Vitis HLS IP tops of hw/hls/ (one hw/hls/vitis/tops/<ip>.cpp each, built by hw/hls/vitis/build_prj.tcl):
// their configurations, AXI-Stream beat, m_axi word counts and prototypes, shared by the tops and their testbenches
// (hw/hls/vitis/tb/<ip>_tb.cpp). Every top is a plain (non-template) function that instantiates a kernel of hw/hls/
// with the digits model's dimensions (configs/digits.yaml: D = 64, 4 heads of 16, MLP 128, at most 67 tokens =
// class token + 64 patches + 2 package tokens) -- the kernels exactly as encoder_block instantiates them -- so each
// IP's synthesis report is that of one part of the system IPs `encoder_block` and `prune_stage`.
//
// Interfaces: tokens over AXI-Stream in 128-bit beats (channel c in byte c % 16 of beat c / 16, TLAST on the last
// beat of the last token), scalars over s_axilite (one register per argument, named as in
// spvit.sim.hls_kernels.ENCODER_BLOCK_REGS for encoder_block), parameters and score arrays over m_axi as 128-bit
// words (spvit.sim.hls_kernels.pack_words: every array on a word boundary, little-endian lanes). Streams of other
// elements (requantize, softmax, topk_select) are plain AXI-Stream TDATA without TLAST.
//
// Under Vitis, build_prj.tcl defines SPVIT_AXIS_SIDEBAND and the beat is ap_axiu<128, 0, 0, 0> from ap_axi_sdata.h:
// only hls::axis types give an RTL port its TLAST / TKEEP / TSTRB (a struct of our own becomes a wide TDATA). The
// ap_types headers of g++ C-simulation lack ap_axi_sdata.h, so there the beat is spvit::axis_word (same fields).
#ifndef SPVIT_IP_HPP
#define SPVIT_IP_HPP

#include "ap_int.h"
#include "hls_stream.h"

#include "encoder_block.hpp"

#ifdef SPVIT_AXIS_SIDEBAND
#include "ap_axi_sdata.h"
#endif

namespace spvit_ip {

#ifdef SPVIT_AXIS_SIDEBAND
typedef ap_axiu<128, 0, 0, 0> beat_t;
#else
typedef spvit::axis_word beat_t;
#endif

typedef spvit::mem_word mem_word;
typedef ap_int<8> data_t;

// ---- configurations --------------------------------------------------------------------------------------------

// The digits model's block, as in hw/hls/csim/encoder_block_csim.cpp (parallelism: encoder_block_config's defaults).
struct block_config : spvit::encoder_block_config {
    static const unsigned n_max = 67;
    static const unsigned n_chan = 64;
    static const unsigned n_heads = 4;
    static const unsigned n_hidden = 128;
    static const unsigned se_width = 2;
};
typedef spvit::encoder_block_types<block_config> T;
static const unsigned N_MAX = block_config::n_max;
static const unsigned D = T::D, H = T::H, DH = T::DH, M = T::M;

typedef spvit::requantize_full_config requantize_cfg;                // §2.3, shifts [-32, 40]
typedef T::fc1_cfg linear_cfg;                                       // §3, mlp.fc1: 64 -> 128
typedef T::res_cfg residual_cfg;                                     // §4, D lanes
typedef T::act_cfg lut_cfg;                                          // §7, GELU over the MLP width
typedef T::norm_cfg layernorm_cfg;                                   // §6
typedef spvit::attention_softmax_config<T::attn_cfg> softmax_cfg;    // §5.2, rows of up to N_MAX logits
typedef T::attn_cfg attention_cfg;                                   // §5, §8.1
typedef T::topk_cfg topk_cfg;                                        // §9
typedef T::pack_cfg pack_cfg;                                        // §10, §11.3
typedef T::sel_cfg selector_cfg;                                     // §8.2

// ---- m_axi sizes (128-bit words) -----------------------------------------------------------------------------------

constexpr unsigned words(unsigned count, unsigned bits) { return (count * bits + 127) / 128; }

constexpr unsigned selector_words() {
    return words(D, 16) + words(D, 32) +                                          // norm gamma, beta
           words(H * DH * DH, 8) + words(H * DH, 32) + words(256, 8) +            // in_proj, in_act
           words(H * DH / 2 * DH, 8) + words(H * DH / 2, 32) + words(256, 8) +    // mlp1, mlp1_act
           words(H * DH / 4 * DH / 2, 8) + words(H * DH / 4, 32) + words(256, 8) + // mlp2, mlp2_act
           words(H * DH / 4, 8) + words(H, 32) + words(256, 8) +                  // keep, keep_act
           words(block_config::se_width * H, 8) + words(block_config::se_width, 32) + words(256, 8) + // se1
           words(H * block_config::se_width, 8) + words(H, 32) + words(256, 8);  // se2, se2_act
}
constexpr unsigned block_words() {
    return words(D, 16) + words(D, 32) + words(3 * D * D, 8) + words(3 * D, 32) + words(D * D, 8) + words(D, 32) +
           words(D, 16) + words(D, 32) + words(M * D, 8) + words(M, 32) + words(256, 8) + words(D * M, 8) +
           words(D, 32);
}

// Literal copies for the INTERFACE depth options (C/RTL co-simulation sizes every m_axi array by them); the
// static_asserts keep them equal to the layouts above.
#define SPVIT_IP_LINEAR_WORDS 544    // weight int8 [M][D], bias int32 [M]
#define SPVIT_IP_LAYERNORM_WORDS 24  // gamma int16 [D], beta int32 [D]
#define SPVIT_IP_LUT_WORDS 16        // int8 table [256]
#define SPVIT_IP_SCORE_WORDS 9       // uint16 [N_MAX], 8 per word
#define SPVIT_IP_CLS_WORDS 45        // attention: class row p16 [H][N_MAX], then the asvit scores [N_MAX]
#define SPVIT_IP_PACK_META_WORDS 10  // token_pack: scores [N_MAX], then the pruned bitmap [N_MAX]
#define SPVIT_IP_SOURCE_WORDS 9      // prune_stage: uint16 [N_MAX + 1]
#define SPVIT_IP_SELECTOR_WORDS 258  // selector_params in spvit::load_selector_params() order
#define SPVIT_IP_BLOCK_WORDS 2546    // one block with its selector (2,482 words) at an offset of up to 64 words
static const unsigned BLOCK_OFFSET_MAX = 64;
static_assert(SPVIT_IP_LINEAR_WORDS == words(M * D, 8) + words(M, 32), "linear layout");
static_assert(SPVIT_IP_LAYERNORM_WORDS == words(D, 16) + words(D, 32), "layernorm layout");
static_assert(SPVIT_IP_LUT_WORDS == words(256, 8), "lut layout");
static_assert(SPVIT_IP_SCORE_WORDS == words(N_MAX, 16), "score layout");
static_assert(SPVIT_IP_CLS_WORDS == (H + 1) * SPVIT_IP_SCORE_WORDS, "attention class-row layout");
static_assert(SPVIT_IP_PACK_META_WORDS == SPVIT_IP_SCORE_WORDS + words(N_MAX, 1), "token_pack layout");
static_assert(SPVIT_IP_SOURCE_WORDS == words(N_MAX + 1, 16), "source layout");
static_assert(SPVIT_IP_SELECTOR_WORDS == selector_words(), "selector layout");
static_assert(SPVIT_IP_BLOCK_WORDS == block_words() + selector_words() + BLOCK_OFFSET_MAX, "block layout");

// ---- beats ---------------------------------------------------------------------------------------------------------

inline beat_t make_beat(const ap_uint<128> &data, bool last) {
#pragma HLS INLINE
    beat_t b;
    b.data = data;
    b.keep = 0xFFFF;
#ifdef SPVIT_AXIS_SIDEBAND
    b.strb = 0xFFFF;
#endif
    b.last = last ? 1 : 0;
    return b;
}

// One token of C int8 channels from C / 16 beats; clears `ok` when a beat's TLAST is not exactly "final beat of the
// final token" (`last`).
template <unsigned C> void read_token(hls::stream<beat_t> &in, data_t x[C], bool last, bool &ok) {
    static_assert(C % 16 == 0, "a token is a whole number of 16-byte beats");
ReadBeats:
    for (unsigned b = 0; b < C / 16; b++) {
#pragma HLS PIPELINE II = 1
        const beat_t w = in.read();
        if (w.last != ((last && b + 1 == C / 16) ? 1 : 0)) ok = false;
    ReadBytes:
        for (unsigned l = 0; l < 16; l++) x[b * 16 + l] = w.data.range(8 * l + 7, 8 * l);
    }
}

template <unsigned C> void write_token(hls::stream<beat_t> &out, const data_t y[C], bool last) {
    static_assert(C % 16 == 0, "a token is a whole number of 16-byte beats");
WriteBeats:
    for (unsigned b = 0; b < C / 16; b++) {
#pragma HLS PIPELINE II = 1
        ap_uint<128> data;
    WriteBytes:
        for (unsigned l = 0; l < 16; l++) data.range(8 * l + 7, 8 * l) = ap_uint<8>(y[b * 16 + l]);
        out.write(make_beat(data, last && b + 1 == C / 16));
    }
}

// The system IPs' kernels (encoder_block.hpp) take spvit::axis_word streams: the tops copy the beats across before and
// after the kernel, through a FIFO of one image each way.
inline void beats_to_words(hls::stream<beat_t> &in, hls::stream<spvit::axis_word> &out, unsigned count) {
BeatsIn:
    for (unsigned i = 0; i < count; i++) {
#pragma HLS PIPELINE II = 1
#pragma HLS LOOP_TRIPCOUNT min = 4 max = 272
        const beat_t b = in.read();
        spvit::axis_word w;
        w.data = b.data;
        w.keep = b.keep;
        w.last = b.last;
        out.write(w);
    }
}
// Copies what the kernel left in `in` (at most `max` beats; the kernel has returned, so all of it is there).
inline void words_to_beats(hls::stream<spvit::axis_word> &in, hls::stream<beat_t> &out, unsigned max) {
BeatsOut:
    for (unsigned i = 0; i < max; i++) {
#pragma HLS PIPELINE II = 1
        if (in.empty()) break;
        const spvit::axis_word w = in.read();
        beat_t b = make_beat(w.data, w.last == 1);
        b.keep = w.keep;
        out.write(b);
    }
}

// uint16 values, 8 per word (scores, class rows, source indices); entries past `count` are 0.
template <unsigned N> void write_u16_words(mem_word *mem, const ap_uint<16> v[N], unsigned count) {
WriteU16:
    for (unsigned w = 0; w < (N + 7) / 8; w++) {
#pragma HLS PIPELINE II = 1
        mem_word word = 0;
    Lanes:
        for (unsigned l = 0; l < 8; l++) {
            if (w * 8 + l < N && w * 8 + l < count) word.range(16 * l + 15, 16 * l) = v[w * 8 + l];
        }
        mem[w] = word;
    }
}

} // namespace spvit_ip

// ---- the tops (global functions: set_top names them) ---------------------------------------------------------------
// Token-stream tops return false when an input's TLAST is misplaced (they still consume exactly n tokens).

// §2.3: `count` int32 accumulators -> int8.
void requantize_top(hls::stream<ap_int<32> > &s_axis, hls::stream<ap_int<8> > &m_axis, ap_uint<32> count,
                    spvit_ip::requantize_cfg::shift_t shift);

// §3: n tokens of D channels through mlp.fc1 (M outputs); params: weight int8 [M][D], bias int32 [M].
bool linear_top(hls::stream<spvit_ip::beat_t> &s_axis, hls::stream<spvit_ip::beat_t> &m_axis,
                const spvit_ip::mem_word *params, ap_uint<16> n,
                spvit_ip::linear_cfg::requant_config::shift_t shift);

// §4: y = requantize((x << shift_x) + (r << shift_r), shift_out) over n token pairs.
bool residual_add_top(hls::stream<spvit_ip::beat_t> &s_axis_x, hls::stream<spvit_ip::beat_t> &s_axis_r,
                      hls::stream<spvit_ip::beat_t> &m_axis, ap_uint<16> n, spvit_ip::residual_cfg::align_t shift_x,
                      spvit_ip::residual_cfg::align_t shift_r,
                      spvit_ip::residual_cfg::requant_config::shift_t shift_out);

// §7: n tokens of M channels through a 256-entry int8 table (GELU).
bool lut_top(hls::stream<spvit_ip::beat_t> &s_axis, hls::stream<spvit_ip::beat_t> &m_axis,
             const spvit_ip::mem_word *table, ap_uint<16> n);

// §6: n tokens of D channels; params: gamma int16 [D], beta int32 [D].
bool layernorm_top(hls::stream<spvit_ip::beat_t> &s_axis, hls::stream<spvit_ip::beat_t> &m_axis,
                   const spvit_ip::mem_word *params, ap_uint<16> n, spvit_ip::layernorm_cfg::eps_t eps,
                   spvit_ip::layernorm_cfg::requant_config::shift_t shift);

// §5.2: `rows` rows of n int32 logits at frac f -> n p8 and n p16 per row.
void softmax_top(hls::stream<ap_int<32> > &s_axis, hls::stream<ap_uint<8> > &m_axis_p8,
                 hls::stream<ap_uint<16> > &m_axis_p16, ap_uint<16> rows, spvit_ip::softmax_cfg::count_t n,
                 spvit_ip::softmax_cfg::frac_t f);

// §5 + §8.1: n tokens of the qkv layer's int8 output (3 D channels: q | k | v, head h in channels [h DH, h DH + DH)
// of each) -> n context tokens of D channels; cls: class row p16 [H][N_MAX], then the asvit scores [N_MAX].
bool attention_top(hls::stream<spvit_ip::beat_t> &s_axis, hls::stream<spvit_ip::beat_t> &m_axis,
                   spvit_ip::mem_word *cls, spvit_ip::attention_cfg::count_t n,
                   spvit_ip::attention_cfg::frac_t f_qk, spvit_ip::attention_cfg::requant_config::shift_t shift_ctx);

// §9: n scores in -> the kept candidate indices out, in increasing order; returns how many.
spvit_ip::topk_cfg::count_t topk_select_top(hls::stream<spvit_ip::topk_cfg::score_t> &s_axis,
                                            hls::stream<spvit_ip::topk_cfg::index_t> &m_axis,
                                            spvit_ip::topk_cfg::count_t n,
                                            spvit_ip::topk_cfg::count_t n_protected_tail,
                                            spvit_ip::topk_cfg::count_t k, bool threshold_mode,
                                            spvit_ip::topk_cfg::score_t threshold);

// §10, §11.3: n tokens in; meta: scores [N_MAX], then a bitmap of the pruned tokens (bit j of word SCORE_WORDS).
// Streams out the tokens that stay, then the package token; returns their count (0 for a misplaced TLAST).
spvit_ip::pack_cfg::count_t token_pack_top(hls::stream<spvit_ip::beat_t> &s_axis, const spvit_ip::mem_word *meta,
                                           hls::stream<spvit_ip::beat_t> &m_axis, spvit_ip::pack_cfg::count_t n,
                                           bool package);

// §8.2: n tokens in; params in spvit::load_selector_params() order; scores [N_MAX] out (0 beyond n).
bool selector_top(hls::stream<spvit_ip::beat_t> &s_axis, const spvit_ip::mem_word *params,
                  spvit_ip::mem_word *scores, spvit_ip::selector_cfg::count_t n, spvit_ip::T::eps_t eps,
                  spvit_ip::T::shift_t norm_shift, spvit_ip::T::shift_t in_shift, spvit_ip::T::shift_t mlp1_shift,
                  spvit_ip::T::shift_t mlp2_shift, spvit_ip::T::shift_t keep_shift, spvit_ip::T::shift_t se1_shift,
                  spvit_ip::T::shift_t se2_shift);

// §11.2: spvit::encoder_block; registers named and ordered as spvit.sim.hls_kernels.ENCODER_BLOCK_REGS (`weights`:
// the word offset of the block's parameters in `mem`).
bool encoder_block_top(hls::stream<spvit_ip::beat_t> &s_axis, hls::stream<spvit_ip::beat_t> &m_axis,
                       const spvit_ip::mem_word *mem, spvit_ip::mem_word *scores, spvit_ip::T::count_t n,
                       ap_uint<32> weights, spvit_ip::T::eps_t ln1_eps, spvit_ip::T::shift_t ln1_shift,
                       spvit_ip::T::shift_t q_shift, spvit_ip::T::shift_t k_shift, spvit_ip::T::shift_t v_shift,
                       spvit::attention_config::frac_t f_qk, spvit_ip::T::shift_t ctx_shift,
                       spvit_ip::T::shift_t proj_shift, spvit_ip::T::align_t res1_x, spvit_ip::T::align_t res1_r,
                       spvit_ip::T::res_shift_t res1_out, spvit_ip::T::eps_t ln2_eps, spvit_ip::T::shift_t ln2_shift,
                       spvit_ip::T::shift_t fc1_shift, spvit_ip::T::shift_t fc2_shift, spvit_ip::T::align_t res2_x,
                       spvit_ip::T::align_t res2_r, spvit_ip::T::res_shift_t res2_out, ap_uint<2> score_mode,
                       spvit_ip::T::eps_t sel_eps, spvit_ip::T::shift_t sel_norm_shift,
                       spvit_ip::T::shift_t sel_in_shift, spvit_ip::T::shift_t sel_mlp1_shift,
                       spvit_ip::T::shift_t sel_mlp2_shift, spvit_ip::T::shift_t sel_keep_shift,
                       spvit_ip::T::shift_t sel_se1_shift, spvit_ip::T::shift_t sel_se2_shift);

// §11.3: spvit::prune_stage; returns the output token count (0 for a misplaced TLAST).
spvit_ip::T::count_t prune_stage_top(hls::stream<spvit_ip::beat_t> &s_axis, const spvit_ip::mem_word *scores,
                                     hls::stream<spvit_ip::beat_t> &m_axis, spvit_ip::mem_word *sources,
                                     spvit_ip::T::count_t n, spvit_ip::T::count_t n_protected_tail,
                                     spvit_ip::T::count_t k, bool threshold_mode, ap_uint<16> threshold, bool package);

#endif // SPVIT_IP_HPP
