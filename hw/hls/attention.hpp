// attention: per head, Q K^T -> integer softmax -> P8 V -> requantized int8 context; the class-attention row (p16)
// and the class token's context leave for Adaptive Sparse ViT scoring, which asvit_score() computes.
//
// Contract: docs/arithmetic.md §5 (§5.1 logits at frac f_q + f_k, §5.2 softmax, §5.3 context
// requantize(P8 V, 8 + f_v - f_ctx), §5.4 class row) and §8.1 (asvit_score). Golden: spvit.sim.golden.attention.
// attention and spvit.sim.golden.scoring.asvit_score. The 1/sqrt(d_head) is folded into Q at export (§5.1).
// Only the first n tokens exist (a run-time register, §11): absent keys take no part, absent query rows are 0.
//
// Hardware: heads one after another; per query row, an II=1 pass over the keys computes the logits with a
// `qk_simd`-wide dot product (d_head / qk_simd cycles per key), softmax.hpp normalises the row, and an II=1 pass over
// the keys accumulates P8 V into `d_head` accumulators, `av_lanes` channels per cycle (d_head / av_lanes passes).
// K and V are partitioned along the channel so each cycle reads a whole (or `simd`-wide) key / value.
// Widths: |q k| <= 2**14 per product, logits 14 + log2(d_head) + 1 bits (int32 in the contract); the P8 V
// accumulator: every p8 <= 2 p8_exact when it is nonzero, so sum_j p8_j <= 512 and |acc| <= 512 * 128 = 2**16, held
// by ap_int<18> (the contract's "below 2**16" bound ignores the per-element rounding; see docs/hls.md).
#ifndef SPVIT_ATTENTION_HPP
#define SPVIT_ATTENTION_HPP

#include "ap_int.h"
#include "arith.hpp"
#include "requantize.hpp"
#include "softmax.hpp"

namespace spvit {

struct attention_config {
    static const unsigned n_heads = 3;
    static const unsigned d_head = 64;
    static const unsigned n_max = 256;   // most tokens per image
    static const unsigned qk_simd = 16;  // products per cycle in a logit; divides d_head
    static const unsigned av_lanes = 64; // context channels accumulated per cycle; divides d_head
    typedef ap_int<32> logit_t;          // §5.1
    typedef ap_int<18> av_accum_t;       // P8 V, |acc| <= 2**16
    typedef ap_int<7> frac_t;            // f_q + f_k in [-5, 32] (§5.2)
    typedef ap_uint<bits_for(n_max)> count_t;
    typedef requantize_full_config requant_config; // 8 + f_v - f_ctx in [-16, 32]
};

// The softmax configuration of an attention configuration.
template <typename CONFIG_T> struct attention_softmax_config : softmax_config {
    static const unsigned n_max = CONFIG_T::n_max;
    typedef typename CONFIG_T::logit_t logit_t;
    typedef typename CONFIG_T::frac_t frac_t;
    typedef typename CONFIG_T::count_t count_t;
};

// One head. q, k, v: [n_max][d_head] int8; ctx [n_max][d_head]; cls_p16 [n_max]: row 0 of p16.
template <class data_T, class res_T, typename CONFIG_T>
void attention_head(const data_T q[CONFIG_T::n_max][CONFIG_T::d_head],
                    const data_T k[CONFIG_T::n_max][CONFIG_T::d_head],
                    const data_T v[CONFIG_T::n_max][CONFIG_T::d_head], typename CONFIG_T::count_t n,
                    typename CONFIG_T::frac_t f_qk, typename CONFIG_T::requant_config::shift_t shift_ctx,
                    res_T ctx[CONFIG_T::n_max][CONFIG_T::d_head], ap_uint<16> cls_p16[CONFIG_T::n_max]) {
    static const unsigned DH = CONFIG_T::d_head;
    static_assert(DH % CONFIG_T::qk_simd == 0, "qk_simd must divide d_head");
    static_assert(DH % CONFIG_T::av_lanes == 0, "av_lanes must divide d_head");
#pragma HLS ARRAY_PARTITION variable = q cyclic factor = CONFIG_T::qk_simd dim = 2
#pragma HLS ARRAY_PARTITION variable = k cyclic factor = CONFIG_T::qk_simd dim = 2
#pragma HLS ARRAY_PARTITION variable = v cyclic factor = CONFIG_T::av_lanes dim = 2
#pragma HLS ARRAY_PARTITION variable = ctx cyclic factor = CONFIG_T::av_lanes dim = 2
    typedef attention_softmax_config<CONFIG_T> sm_config;
    typedef typename CONFIG_T::logit_t logit_t;
    typedef typename CONFIG_T::av_accum_t av_accum_t;
    logit_t logits[CONFIG_T::n_max];
    ap_uint<8> p8[CONFIG_T::n_max];
    ap_uint<16> p16[CONFIG_T::n_max];
    av_accum_t acc[DH];
#pragma HLS ARRAY_PARTITION variable = acc cyclic factor = CONFIG_T::av_lanes dim = 1

Rows:
    for (unsigned i = 0; i < CONFIG_T::n_max; i++) {
        if (i >= n) {
        ZeroRow:
            for (unsigned c = 0; c < DH; c++) {
#pragma HLS PIPELINE II = 1
                ctx[i][c] = 0;
            }
            if (i == 0) {
            ZeroClassRow:
                for (unsigned j = 0; j < CONFIG_T::n_max; j++) {
#pragma HLS PIPELINE II = 1
                    cls_p16[j] = 0;
                }
            }
            continue;
        }
        // §5.1 logits S_ij = q_i . k_j (frac f_q + f_k), keys j < n
    Keys:
        for (unsigned j = 0; j < CONFIG_T::n_max; j++) {
            logit_t dot = 0;
        QKFold:
            for (unsigned cf = 0; cf < DH; cf += CONFIG_T::qk_simd) {
#pragma HLS PIPELINE II = 1
                logit_t part = 0;
            QKSimd:
                for (unsigned s = 0; s < CONFIG_T::qk_simd; s++) {
#pragma HLS UNROLL
                    part += q[i][cf + s] * k[j][cf + s];
                }
                dot += part;
            }
            logits[j] = j < n ? dot : logit_t(0);
        }
        // §5.2
        softmax<logit_t, sm_config>(logits, n, f_qk, p8, p16);
        if (i == 0) {
        ClassRow:
            for (unsigned j = 0; j < CONFIG_T::n_max; j++) {
#pragma HLS PIPELINE II = 1
                cls_p16[j] = p16[j];
            }
        }
        // §5.3 P8 V over the keys present, then requantize
    AVFold:
        for (unsigned cf = 0; cf < DH; cf += CONFIG_T::av_lanes) {
        AVInit:
            for (unsigned l = 0; l < CONFIG_T::av_lanes; l++) {
#pragma HLS UNROLL
                acc[cf + l] = 0;
            }
        AVKeys:
            for (unsigned j = 0; j < CONFIG_T::n_max; j++) {
#pragma HLS PIPELINE II = 1
                if (j < n) {
                AVLanes:
                    for (unsigned l = 0; l < CONFIG_T::av_lanes; l++) {
#pragma HLS UNROLL
                        acc[cf + l] += ap_int<9>(p8[j]) * v[j][cf + l]; // uint8 x int8 < 2**15
                    }
                }
            }
        AVOut:
            for (unsigned l = 0; l < CONFIG_T::av_lanes; l++) {
#pragma HLS UNROLL
                ctx[i][cf + l] =
                    requantize<av_accum_t, res_T, typename CONFIG_T::requant_config>(acc[cf + l], shift_ctx);
            }
        }
    }
}

// All heads. q, k, v, ctx: [n_heads][n_max][d_head]; cls_p16 [n_heads][n_max] (§5.4); cls_ctx [n_heads][d_head]:
// the class token's context per head (= ctx[h][0], §5.4).
template <class data_T, class res_T, typename CONFIG_T>
void attention(const data_T q[CONFIG_T::n_heads][CONFIG_T::n_max][CONFIG_T::d_head],
               const data_T k[CONFIG_T::n_heads][CONFIG_T::n_max][CONFIG_T::d_head],
               const data_T v[CONFIG_T::n_heads][CONFIG_T::n_max][CONFIG_T::d_head], typename CONFIG_T::count_t n,
               typename CONFIG_T::frac_t f_qk, typename CONFIG_T::requant_config::shift_t shift_ctx,
               res_T ctx[CONFIG_T::n_heads][CONFIG_T::n_max][CONFIG_T::d_head],
               ap_uint<16> cls_p16[CONFIG_T::n_heads][CONFIG_T::n_max],
               res_T cls_ctx[CONFIG_T::n_heads][CONFIG_T::d_head]) {
Heads:
    for (unsigned h = 0; h < CONFIG_T::n_heads; h++) {
        attention_head<data_T, res_T, CONFIG_T>(q[h], k[h], v[h], n, f_qk, shift_ctx, ctx[h], cls_p16[h]);
    ClassContext:
        for (unsigned c = 0; c < CONFIG_T::d_head; c++) {
#pragma HLS PIPELINE II = 1
            cls_ctx[h][c] = ctx[h][0][c];
        }
    }
}

// §8.1 Adaptive Sparse ViT keep scores (uint16, frac 16) from the class-attention rows and class contexts:
//   n_h = isqrt(sum_c cls_ctx[h][c]**2)  (< 2**11 for d_head <= 64; all heads weigh 1 if every n_h is 0)
//   score_j = rdiv(sum_h n_h p16[h][j], sum_h n_h)   (numerator < 2**31 for H <= 16), 0 for absent tokens.
// One square root per head, one (sequential) division per token.
template <class data_T, typename CONFIG_T>
void asvit_score(const ap_uint<16> cls_p16[CONFIG_T::n_heads][CONFIG_T::n_max],
                 const data_T cls_ctx[CONFIG_T::n_heads][CONFIG_T::d_head], typename CONFIG_T::count_t n,
                 ap_uint<16> score[CONFIG_T::n_max]) {
    static const unsigned H = CONFIG_T::n_heads;
#pragma HLS ARRAY_PARTITION variable = cls_p16 complete dim = 1
    typedef ap_uint<bits_for(16384ULL * CONFIG_T::d_head)> energy_t; // sum of squares of int8
    typedef ap_uint<(energy_t::width + 1) / 2> norm_t;               // n_h
    typedef ap_uint<norm_t::width + clog2(H + 1)> den_t;             // sum_h n_h
    typedef ap_int<norm_t::width + 16 + clog2(H + 1) + 1> num_t;     // sum_h n_h p16 (signed for rdiv)
    norm_t weight[H];
#pragma HLS ARRAY_PARTITION variable = weight complete
    den_t den = 0;
HeadNorm:
    for (unsigned h = 0; h < H; h++) {
        energy_t energy = 0;
    Energy:
        for (unsigned c = 0; c < CONFIG_T::d_head; c++) {
#pragma HLS PIPELINE II = 1
            energy += energy_t(cls_ctx[h][c] * cls_ctx[h][c]);
        }
        weight[h] = isqrt<energy_t::width>(energy);
        den += weight[h];
    }
    if (den == 0) {
    EqualWeights:
        for (unsigned h = 0; h < H; h++) {
#pragma HLS UNROLL
            weight[h] = 1;
        }
        den = H;
    }
Tokens:
    for (unsigned j = 0; j < CONFIG_T::n_max; j++) {
        num_t num = 0;
    WeightedSum:
        for (unsigned h = 0; h < H; h++) {
#pragma HLS UNROLL
            num += weight[h] * cls_p16[h][j];
        }
        score[j] = j < n ? ap_uint<16>(rdiv<num_t::width, den_t::width>(num, den)) : ap_uint<16>(0);
    }
}

} // namespace spvit

#endif // SPVIT_ATTENTION_HPP
