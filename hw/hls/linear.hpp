// linear: int8 GEMM (one token x one weight matrix) + int32 bias + requantize, and its per-head variant.
//
// Contract: docs/arithmetic.md §3 (linear), §1.2 (int32 accumulators, no saturation needed), §1.3 (bias at the
// accumulator scale), §2.3 (requantize with shift = f_in + f_w - f_out). Golden model: spvit.sim.golden.arith.linear
// (accumulators) and spvit.sim.golden.params.LinearParams (requantized, [H, out, in] per head).
//
// Hardware shape (finn MVAU / hls4ml dense_resource style): a PE x SIMD MAC array. Each cycle PE output neurons each
// consume SIMD inputs; the n_out / pe neuron folds times n_in / simd synapse folds run as one II=1 pipeline per fold.
// The weight matrix is partitioned cyclically by PE rows and SIMD columns so every MAC has its own memory port; the
// input vector is partitioned by SIMD. The accumulator is int32 (§1.2: n_in <= 65,535 cannot overflow it).
#ifndef SPVIT_LINEAR_HPP
#define SPVIT_LINEAR_HPP

#include "ap_int.h"
#include "requantize.hpp"

namespace spvit {

struct linear_config {
    static const unsigned n_in = 16;  // input features (reduction length, <= 65,535, §1.2)
    static const unsigned n_out = 16; // output features
    static const unsigned simd = 16;  // inputs consumed per PE per cycle; divides n_in
    static const unsigned pe = 1;     // output features computed in parallel; divides n_out
    typedef ap_int<8> weight_t;       // narrow-range int8 weights [-127, 127] (§1.1)
    typedef ap_int<32> bias_t;        // |bias| <= 2**30 at f_in + f_w (§1.3)
    typedef ap_int<32> accum_t;       // §1.2
    typedef requantize_full_config requant_config; // shifts f_in + f_w - f_out in [-32, 40] (§2.3)
};

// §3 accumulators only: acc[o] = bias[o] + sum_i x[i] * w[o][i] (the qkv projection and the classifier keep them).
template <class data_T, class acc_T, typename CONFIG_T>
void linear_acc(const data_T x[CONFIG_T::n_in], acc_T acc[CONFIG_T::n_out],
                const typename CONFIG_T::weight_t w[CONFIG_T::n_out][CONFIG_T::n_in],
                const typename CONFIG_T::bias_t bias[CONFIG_T::n_out]) {
    static_assert(CONFIG_T::n_in % CONFIG_T::simd == 0, "simd must divide n_in");
    static_assert(CONFIG_T::n_out % CONFIG_T::pe == 0, "pe must divide n_out");
    static_assert(CONFIG_T::n_in <= 65535, "§1.2: the longest safe reduction is 65,535 products");
#pragma HLS ARRAY_PARTITION variable = x cyclic factor = CONFIG_T::simd dim = 1
#pragma HLS ARRAY_PARTITION variable = w cyclic factor = CONFIG_T::pe dim = 1
#pragma HLS ARRAY_PARTITION variable = w cyclic factor = CONFIG_T::simd dim = 2
#pragma HLS ARRAY_PARTITION variable = bias cyclic factor = CONFIG_T::pe dim = 1
    static const unsigned neuron_folds = CONFIG_T::n_out / CONFIG_T::pe;
    static const unsigned synapse_folds = CONFIG_T::n_in / CONFIG_T::simd;
    typename CONFIG_T::accum_t sums[CONFIG_T::pe];
#pragma HLS ARRAY_PARTITION variable = sums complete
NeuronFold:
    for (unsigned nf = 0; nf < neuron_folds; nf++) {
    InitAccum:
        for (unsigned p = 0; p < CONFIG_T::pe; p++) {
#pragma HLS UNROLL
            sums[p] = bias[nf * CONFIG_T::pe + p];
        }
    SynapseFold:
        for (unsigned sf = 0; sf < synapse_folds; sf++) {
#pragma HLS PIPELINE II = 1
        PE:
            for (unsigned p = 0; p < CONFIG_T::pe; p++) {
#pragma HLS UNROLL
                typename CONFIG_T::accum_t dot = 0;
            SIMD:
                for (unsigned s = 0; s < CONFIG_T::simd; s++) {
#pragma HLS UNROLL
                    const unsigned i = sf * CONFIG_T::simd + s;
                    dot += x[i] * w[nf * CONFIG_T::pe + p][i]; // 8 x 8 -> 15-bit product
                }
                sums[p] += dot;
            }
        }
    WriteAccum:
        for (unsigned p = 0; p < CONFIG_T::pe; p++) {
#pragma HLS UNROLL
            acc[nf * CONFIG_T::pe + p] = sums[p];
        }
    }
}

// §3 + §2.3: y[o] = requantize(acc[o], shift), shift = f_in + f_w - f_out (a run-time register).
template <class data_T, class res_T, typename CONFIG_T>
void linear(const data_T x[CONFIG_T::n_in], res_T y[CONFIG_T::n_out],
            const typename CONFIG_T::weight_t w[CONFIG_T::n_out][CONFIG_T::n_in],
            const typename CONFIG_T::bias_t bias[CONFIG_T::n_out],
            typename CONFIG_T::requant_config::shift_t shift) {
    typename CONFIG_T::accum_t acc[CONFIG_T::n_out];
#pragma HLS ARRAY_PARTITION variable = acc cyclic factor = CONFIG_T::pe dim = 1
    linear_acc<data_T, typename CONFIG_T::accum_t, CONFIG_T>(x, acc, w, bias);
Requantize:
    for (unsigned o = 0; o < CONFIG_T::n_out; o++) {
#pragma HLS PIPELINE II = 1
        y[o] = requantize<typename CONFIG_T::accum_t, res_T, typename CONFIG_T::requant_config>(acc[o], shift);
    }
}

// Per-head layers (§3, §8.2): weights [H][out][in]; head h maps its own input slice x[h] to y[h].
struct linear_per_head_config : linear_config {
    static const unsigned n_heads = 1;
};

template <class data_T, class res_T, typename CONFIG_T>
void linear_per_head(const data_T x[CONFIG_T::n_heads][CONFIG_T::n_in], res_T y[CONFIG_T::n_heads][CONFIG_T::n_out],
                     const typename CONFIG_T::weight_t w[CONFIG_T::n_heads][CONFIG_T::n_out][CONFIG_T::n_in],
                     const typename CONFIG_T::bias_t bias[CONFIG_T::n_heads][CONFIG_T::n_out],
                     typename CONFIG_T::requant_config::shift_t shift) {
Heads:
    for (unsigned h = 0; h < CONFIG_T::n_heads; h++) {
        linear<data_T, res_T, CONFIG_T>(x[h], y[h], w[h], bias[h], shift);
    }
}

} // namespace spvit

#endif // SPVIT_LINEAR_HPP
