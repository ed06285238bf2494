// selector: the SPViT multi-head token selector -- a uint16 keep score (frac 16) for every token of an image.
//
// Contract: docs/arithmetic.md §8.2, composed from §6 layernorm, §3 linear (per head), §7 lut and §2.4 rdiv.
// Golden: spvit.sim.golden.scoring.selector (SelectorParams). With H heads of dh = D / H channels:
//   1. u[j][h] = GELU(L_in[h](LN(x_j)[h]))                             int8 at f_u, kept for the image
//   2. g[h][c] = rdiv(sum_j u[j][h][c], max(n, 1)) for c >= dh/2      over the n tokens present
//   3. k[j][h] = sigmoid(L_keep(GELU(L_2(GELU(L_1((u[j][h][:dh/2], g[h])))))))     uint8 frac 8
//   4. a[j][h] = rdiv(sum_c u[j][h][c], dh); w[j] = sigmoid(L_se2(GELU(L_se1(a[j]))))  uint8 frac 8
//   5. score_j = rdiv((sum_h w[j][h] k[j][h]) << 8, max(sum_h w[j][h], 1)); 0 for absent tokens.
// Widths: column sums of u over n_max tokens: 8 + log2(n_max) + 1 bits; sum_h w k << 8 < H 2**24 (29 bits for
// H <= 16), sum_h w < H 2**8.
// Hardware: two passes over the tokens. Pass 1 (LayerNorm, the per-head input layer and its GELU) fills a u buffer
// [n_max][D] and the column sums; H dh/2 rdiv divisions make the global context; pass 2 runs the per-head keep MLP
// and the squeeze-excite head weights per token and one rdiv for the score. Each layer is a linear.hpp MAC array with
// its own simd / pe knobs from the configuration.
#ifndef SPVIT_SELECTOR_HPP
#define SPVIT_SELECTOR_HPP

#include "ap_int.h"
#include "arith.hpp"
#include "layernorm.hpp"
#include "linear.hpp"
#include "lut.hpp"

namespace spvit {

struct selector_config {
    static const unsigned n_max = 64;   // most tokens per image
    static const unsigned n_chan = 64;  // D
    static const unsigned n_heads = 4;  // H (divides D; dh = D / H divisible by 4)
    static const unsigned se_width = 2; // squeeze-excite hidden width, max(1, H / 2) by default (§8.2)
    static const unsigned ln_parallel = 8; // LayerNorm channels per cycle; divides D
    static const unsigned in_simd = 16;    // input layer (dh -> dh): MACs per PE per cycle; divides dh
    static const unsigned in_pe = 4;       // ... outputs in parallel; divides dh
    static const unsigned mlp_simd = 4;    // keep MLP (dh -> dh/2 -> dh/4 -> 1): divides dh / 4
    static const unsigned mlp_pe = 2;      // divides dh / 4
    typedef ap_int<8> data_t;
    typedef ap_uint<8> prob_t;                     // sigmoid outputs, uint8 frac 8
    typedef ap_uint<16> score_t;                   // keep score, uint16 frac 16
    typedef ap_uint<bits_for(n_max)> count_t;
    typedef requantize_full_config requant_config; // every layer's shift
};

// The parameters of one selector (the bundle's stages.<s>.selector.*), with the shifts derived from its fracs.
template <typename C> struct selector_params {
    static const unsigned D = C::n_chan, H = C::n_heads, DH = C::n_chan / C::n_heads, HS = C::se_width;
    typedef typename C::requant_config::shift_t shift_t;
    typedef typename linear_config::weight_t weight_t;
    typedef typename linear_config::bias_t bias_t;
    // §6
    typename layernorm_config::gamma_t norm_gamma[D];
    typename layernorm_config::beta_t norm_beta[D];
    typename layernorm_config::eps_t norm_eps;
    shift_t norm_shift;
    // §3 per head + §7
    weight_t in_w[H][DH][DH];
    bias_t in_b[H][DH];
    shift_t in_shift;
    typename C::data_t in_act[256];
    weight_t mlp1_w[H][DH / 2][DH];
    bias_t mlp1_b[H][DH / 2];
    shift_t mlp1_shift;
    typename C::data_t mlp1_act[256];
    weight_t mlp2_w[H][DH / 4][DH / 2];
    bias_t mlp2_b[H][DH / 4];
    shift_t mlp2_shift;
    typename C::data_t mlp2_act[256];
    weight_t keep_w[H][1][DH / 4];
    bias_t keep_b[H][1];
    shift_t keep_shift;
    typename C::prob_t keep_act[256];
    // squeeze-excite over heads
    weight_t se1_w[HS][H];
    bias_t se1_b[HS];
    shift_t se1_shift;
    typename C::data_t se1_act[256];
    weight_t se2_w[H][HS];
    bias_t se2_b[H];
    shift_t se2_shift;
    typename C::prob_t se2_act[256];
};

// Sub-layer configurations derived from a selector configuration.
template <typename C> struct selector_norm_config : layernorm_config {
    static const unsigned n_in = C::n_chan;
    static const unsigned parallel = C::ln_parallel;
    typedef typename C::requant_config requant_config;
};
template <typename C, unsigned IN, unsigned OUT, unsigned SIMD, unsigned PE, unsigned HEADS>
struct selector_linear_config : linear_per_head_config {
    static const unsigned n_heads = HEADS;
    static const unsigned n_in = IN;
    static const unsigned n_out = OUT;
    static const unsigned simd = SIMD;
    static const unsigned pe = PE;
    typedef typename C::requant_config requant_config;
};
template <unsigned N> struct selector_lut_config : lut_config {
    static const unsigned n = N;
    static const unsigned parallel = 1;
};

// x [n_max][D], the first n tokens present -> score [n_max] (0 beyond n).
template <typename C>
void selector(const typename C::data_t x[C::n_max][C::n_chan], typename C::count_t n, const selector_params<C> &p,
              typename C::score_t score[C::n_max]) {
    static const unsigned D = C::n_chan, H = C::n_heads, DH = C::n_chan / C::n_heads, HS = C::se_width;
    static_assert(D % H == 0 && DH % 4 == 0, "D / H must be a multiple of 4 (widths dh, dh/2, dh/4)");
    typedef typename C::data_t data_t;
    typedef typename C::prob_t prob_t;
    typedef selector_norm_config<C> norm_cfg;
    typedef selector_linear_config<C, DH, DH, C::in_simd, C::in_pe, H> in_cfg;
    typedef selector_linear_config<C, DH, DH / 2, C::mlp_simd, C::mlp_pe, H> mlp1_cfg;
    typedef selector_linear_config<C, DH / 2, DH / 4, C::mlp_simd, C::mlp_pe, H> mlp2_cfg;
    typedef selector_linear_config<C, DH / 4, 1, C::mlp_simd, 1, H> keep_cfg;
    typedef selector_linear_config<C, H, HS, 1, 1, 1> se1_cfg;
    typedef selector_linear_config<C, HS, H, 1, 1, 1> se2_cfg;
    typedef ap_int<8 + clog2(C::n_max) + 1> colsum_t;  // sum_j u[j][h][c]
    typedef ap_int<8 + clog2(DH) + 1> rowsum_t;        // sum_c u[j][h][c]
    typedef ap_uint<8 + 8 + clog2(H + 1) + 8> wk_t;    // (sum_h w k) << 8
    typedef ap_uint<8 + clog2(H + 1)> wsum_t;          // sum_h w

    data_t u[C::n_max][H][DH];
    data_t pooled[C::n_max][H];
    colsum_t colsum[H][DH / 2];
    data_t glob[H][DH / 2];

ResetColumns:
    for (unsigned h = 0; h < H; h++) {
        for (unsigned c = 0; c < DH / 2; c++) {
#pragma HLS PIPELINE II = 1
            colsum[h][c] = 0;
        }
    }

    // pass 1: u, its per-head means (step 4's a) and the column sums of its second half (step 2)
TokensIn:
    for (unsigned j = 0; j < C::n_max; j++) {
        if (j >= n) break;
        data_t normed[D];
        layernorm<data_t, data_t, norm_cfg>(x[j], normed, p.norm_gamma, p.norm_beta, p.norm_eps, p.norm_shift);
        data_t heads_in[H][DH], projected[H][DH];
    Split:
        for (unsigned i = 0; i < D; i++) {
#pragma HLS PIPELINE II = 1
            heads_in[i / DH][i % DH] = normed[i];
        }
        linear_per_head<data_t, data_t, in_cfg>(heads_in, projected, p.in_w, p.in_b, p.in_shift);
    HeadsIn:
        for (unsigned h = 0; h < H; h++) {
            lut<data_t, data_t, selector_lut_config<DH> >(projected[h], u[j][h], p.in_act);
            rowsum_t rowsum = 0;
        Columns:
            for (unsigned c = 0; c < DH; c++) {
#pragma HLS PIPELINE II = 1
                rowsum += u[j][h][c];
                if (c >= DH / 2) colsum[h][c - DH / 2] += u[j][h][c];
            }
            pooled[j][h] = data_t(rdiv<rowsum_t::width, bits_for(DH)>(rowsum, ap_uint<bits_for(DH)>(DH)));
        }
    }

    // step 2: the global context, one division per channel of the second halves
    const ap_uint<bits_for(C::n_max)> count = n == 0 ? ap_uint<bits_for(C::n_max)>(1) : ap_uint<bits_for(C::n_max)>(n);
GlobalHeads:
    for (unsigned h = 0; h < H; h++) {
    GlobalChannels:
        for (unsigned c = 0; c < DH / 2; c++) {
            glob[h][c] = data_t(rdiv<colsum_t::width, bits_for(C::n_max)>(colsum[h][c], count));
        }
    }

    // pass 2: keep probability and head weights per token, then the score
TokensOut:
    for (unsigned j = 0; j < C::n_max; j++) {
        if (j >= n) {
            score[j] = 0;
            continue;
        }
        data_t feat[H][DH], hid1[H][DH / 2], act1[H][DH / 2], hid2[H][DH / 4], act2[H][DH / 4], logit[H][1];
        prob_t keep[H][1];
    Features:
        for (unsigned h = 0; h < H; h++) {
            for (unsigned c = 0; c < DH; c++) {
#pragma HLS PIPELINE II = 1
                feat[h][c] = c < DH / 2 ? u[j][h][c] : glob[h][c - DH / 2];
            }
        }
        linear_per_head<data_t, data_t, mlp1_cfg>(feat, hid1, p.mlp1_w, p.mlp1_b, p.mlp1_shift);
    Act1:
        for (unsigned h = 0; h < H; h++) {
            lut<data_t, data_t, selector_lut_config<DH / 2> >(hid1[h], act1[h], p.mlp1_act);
        }
        linear_per_head<data_t, data_t, mlp2_cfg>(act1, hid2, p.mlp2_w, p.mlp2_b, p.mlp2_shift);
    Act2:
        for (unsigned h = 0; h < H; h++) {
            lut<data_t, data_t, selector_lut_config<DH / 4> >(hid2[h], act2[h], p.mlp2_act);
        }
        linear_per_head<data_t, data_t, keep_cfg>(act2, logit, p.keep_w, p.keep_b, p.keep_shift);
    KeepAct:
        for (unsigned h = 0; h < H; h++) lut<data_t, prob_t, selector_lut_config<1> >(logit[h], keep[h], p.keep_act);

        // squeeze-excite head weights
        data_t se_hidden[HS], se_act[HS], se_logit[H];
        prob_t weight[H];
        linear<data_t, data_t, se1_cfg>(pooled[j], se_hidden, p.se1_w, p.se1_b, p.se1_shift);
        lut<data_t, data_t, selector_lut_config<HS> >(se_hidden, se_act, p.se1_act);
        linear<data_t, data_t, se2_cfg>(se_act, se_logit, p.se2_w, p.se2_b, p.se2_shift);
        lut<data_t, prob_t, selector_lut_config<H> >(se_logit, weight, p.se2_act);

        // step 5
        wk_t num = 0;
        wsum_t den = 0;
    Combine:
        for (unsigned h = 0; h < H; h++) {
#pragma HLS UNROLL
            num += wk_t(weight[h] * keep[h][0]) << 8;
            den += weight[h];
        }
        if (den == 0) den = 1;
        score[j] = typename C::score_t(rdiv<wk_t::width + 1, wsum_t::width>(ap_int<wk_t::width + 1>(num), den));
    }
}

} // namespace spvit

#endif // SPVIT_SELECTOR_HPP
