// residual_add: y = requantize((x << (f - f_x)) + (r << (f - f_r)), f - f_out), f = max(f_x, f_r).
//
// Contract: docs/arithmetic.md §4 (also the positional-embedding add, §11.1). Golden: spvit.sim.golden.arith.
// residual_add. The host (or the block's control registers) supplies the three shifts derived from the fracs:
// shift_x = f - f_x and shift_r = f - f_r in [0, 24] (one of them is 0), shift_out = f - f_out in [-24, 24].
// Hardware: two barrel shifters and a 34-bit adder per lane (int8 << 24 is 32 bits; the sum needs 33), then the
// requantizer; `parallel` lanes per cycle.
#ifndef SPVIT_RESIDUAL_ADD_HPP
#define SPVIT_RESIDUAL_ADD_HPP

#include "ap_int.h"
#include "requantize.hpp"

namespace spvit {

// Shift range of the output requantization: fracs in [-8, 16] (§1.1) give f - f_out in [-24, 24].
struct residual_requant_config : requantize_config {
    static const int shift_min = -24;
    static const int shift_max = 24;
    typedef ap_int<6> shift_t;
};

struct residual_add_config {
    static const unsigned n = 16;       // elements per call (one token's channels)
    static const unsigned parallel = 4; // lanes per cycle; divides n
    static const unsigned align_max = 24; // largest alignment shift f - f_x, f - f_r
    typedef ap_uint<5> align_t;           // holds [0, align_max]
    typedef ap_int<34> sum_t;             // §4: a 34-bit adder is enough
    typedef residual_requant_config requant_config;
};

template <class x_T, class r_T, class res_T, typename CONFIG_T>
void residual_add(const x_T x[CONFIG_T::n], const r_T r[CONFIG_T::n], res_T y[CONFIG_T::n],
                  typename CONFIG_T::align_t shift_x, typename CONFIG_T::align_t shift_r,
                  typename CONFIG_T::requant_config::shift_t shift_out) {
    static_assert(CONFIG_T::n % CONFIG_T::parallel == 0, "parallel must divide n");
#pragma HLS ARRAY_PARTITION variable = x cyclic factor = CONFIG_T::parallel dim = 1
#pragma HLS ARRAY_PARTITION variable = r cyclic factor = CONFIG_T::parallel dim = 1
#pragma HLS ARRAY_PARTITION variable = y cyclic factor = CONFIG_T::parallel dim = 1
    typedef typename CONFIG_T::sum_t sum_t;
Fold:
    for (unsigned i = 0; i < CONFIG_T::n; i += CONFIG_T::parallel) {
#pragma HLS PIPELINE II = 1
    Lane:
        for (unsigned l = 0; l < CONFIG_T::parallel; l++) {
#pragma HLS UNROLL
            const sum_t total = (sum_t(x[i + l]) << shift_x) + (sum_t(r[i + l]) << shift_r);
            y[i + l] = requantize<sum_t, res_T, typename CONFIG_T::requant_config>(total, shift_out);
        }
    }
}

} // namespace spvit

#endif // SPVIT_RESIDUAL_ADD_HPP
