// layernorm: integer LayerNorm of one token's D int8 channels, with one division and one square root per token.
//
// Contract: docs/arithmetic.md §6. Golden: spvit.sim.golden.layernorm.layernorm. Steps and the widths used here:
//   1. c_i = D x_i - sum_k x_k                    (|c| <= 255 (D - 1): 19 bits signed for D <= 768)
//   2. V = sum_i c_i**2 + E                       (< 2**46 for D <= 768 and E <= 2**40; a 48-bit accumulator)
//   3. r = isqrt(2**62 // V)                      (a 63-bit restoring divider, then a 63-bit digit-by-digit square
//                                                  root: r <= 2**31, 32 bits; 2**62 // V is 2**62 itself when V = 1)
//   4. z_i = round_shift(c_i r, 16)               (|c_i r| <= 2**31 since |c_i| <= sqrt(V); |z_i| <= 2**15)
//   5. y_i = requantize(z_i G_i + B_i, shift)     (shift = 15 + f_g - f_out; z G + B needs 34 bits)
// Hardware: three II=1 passes over the channels, `parallel` lanes each (sum; sum of squares; normalise + affine +
// requantize), with the divider and the square root (about 95 cycles) between the second and the third.
#ifndef SPVIT_LAYERNORM_HPP
#define SPVIT_LAYERNORM_HPP

#include "ap_int.h"
#include "arith.hpp"
#include "requantize.hpp"

namespace spvit {

struct layernorm_config {
    static const unsigned n_in = 16;    // D, the channels of one token (<= 768 for the stated widths)
    static const unsigned parallel = 4; // channels per cycle; divides n_in
    typedef ap_int<16> gamma_t;         // G = round(gamma sqrt(D) 2**f_g)
    typedef ap_int<32> beta_t;          // B = round(beta 2**(15 + f_g))
    typedef ap_uint<41> eps_t;          // E in [1, 2**40] (the bundle's range)
    typedef requantize_full_config requant_config; // shift = 15 + f_g - f_out
};

template <class data_T, class res_T, typename CONFIG_T>
void layernorm(const data_T x[CONFIG_T::n_in], res_T y[CONFIG_T::n_in],
               const typename CONFIG_T::gamma_t gamma[CONFIG_T::n_in],
               const typename CONFIG_T::beta_t beta[CONFIG_T::n_in], typename CONFIG_T::eps_t eps_term,
               typename CONFIG_T::requant_config::shift_t shift) {
    static const unsigned D = CONFIG_T::n_in;
    static const unsigned P = CONFIG_T::parallel;
    static_assert(D % P == 0, "parallel must divide n_in");
    static_assert(D <= 768, "the widths below are those of docs/arithmetic.md §6, stated for D <= 768");
#pragma HLS ARRAY_PARTITION variable = x cyclic factor = P dim = 1
#pragma HLS ARRAY_PARTITION variable = y cyclic factor = P dim = 1
#pragma HLS ARRAY_PARTITION variable = gamma cyclic factor = P dim = 1
#pragma HLS ARRAY_PARTITION variable = beta cyclic factor = P dim = 1
    typedef ap_int<bits_for(128ULL * D) + 1> sum_t;     // sum_k x_k
    typedef ap_int<bits_for(255ULL * D) + 1> centred_t; // c_i = D x_i - sum
    typedef ap_uint<48> var_t;                          // V
    typedef ap_uint<32> rsqrt_t;                        // r <= 2**31
    typedef ap_int<18> norm_t;                          // z, |z| <= 2**15
    typedef ap_int<34> affine_t;                        // z G + B

    // 1. the sum of the channels
    sum_t sum = 0;
Sum:
    for (unsigned i = 0; i < D; i += P) {
#pragma HLS PIPELINE II = 1
        sum_t part = 0;
    SumLane:
        for (unsigned l = 0; l < P; l++) {
#pragma HLS UNROLL
            part += x[i + l];
        }
        sum += part;
    }

    // 2. V = sum of c**2 + E
    var_t var = eps_term;
Variance:
    for (unsigned i = 0; i < D; i += P) {
#pragma HLS PIPELINE II = 1
        var_t part = 0;
    VarianceLane:
        for (unsigned l = 0; l < P; l++) {
#pragma HLS UNROLL
            const centred_t c = centred_t(D) * x[i + l] - sum;
            part += var_t(c * c);
        }
        var += part;
    }

    // 3. r = floor(2**31 / sqrt(V)) = isqrt(2**62 // V): one division and one square root per token
    const ap_uint<63> scaled = reciprocal<63, 48, 6>(var, ap_uint<6>(62));
    const rsqrt_t r = isqrt<63>(scaled);

    // 4-5. normalise, scale and shift, requantize
Normalize:
    for (unsigned i = 0; i < D; i += P) {
#pragma HLS PIPELINE II = 1
    NormalizeLane:
        for (unsigned l = 0; l < P; l++) {
#pragma HLS UNROLL
            const centred_t c = centred_t(D) * x[i + l] - sum;
            const ap_int<centred_t::width + 33> prod = c * ap_int<33>(r);
            const norm_t z = round_shift_right<norm_t::width>(prod, ap_uint<5>(16));
            const affine_t a = affine_t(z * gamma[i + l]) + beta[i + l];
            y[i + l] = requantize<affine_t, res_T, typename CONFIG_T::requant_config>(a, shift);
        }
    }
}

} // namespace spvit

#endif // SPVIT_LAYERNORM_HPP
