// lut: element-wise nonlinearity (GELU, sigmoid) as a 256-entry table addressed by the int8 input's byte.
//
// Contract: docs/arithmetic.md §7: y = table[x & 0xFF] (x = -1 reads entry 255). Golden: spvit.sim.golden.lut.lut.
// The table comes from the bundle (int8 for GELU, uint8 at frac 8 for sigmoid); no implementation evaluates fn.
// Hardware: a register/LUTRAM table read through one multiplexer per lane, `parallel` lookups per cycle.
#ifndef SPVIT_LUT_HPP
#define SPVIT_LUT_HPP

#include "ap_int.h"

namespace spvit {

struct lut_config {
    static const unsigned n = 16;       // elements per call
    static const unsigned parallel = 4; // lookups per cycle; divides n
};

template <class data_T, class res_T, typename CONFIG_T>
void lut(const data_T x[CONFIG_T::n], res_T y[CONFIG_T::n], const res_T table[256]) {
    static_assert(CONFIG_T::n % CONFIG_T::parallel == 0, "parallel must divide n");
#pragma HLS ARRAY_PARTITION variable = x cyclic factor = CONFIG_T::parallel dim = 1
#pragma HLS ARRAY_PARTITION variable = y cyclic factor = CONFIG_T::parallel dim = 1
    // 256 x 8 bits, fully partitioned: each lane reads it through its own 256:1 multiplexer (LUT6 trees, about
    // 40 LUTs per output bit), so `parallel` lookups per cycle need no memory ports at all.
#pragma HLS ARRAY_PARTITION variable = table complete dim = 1
Fold:
    for (unsigned i = 0; i < CONFIG_T::n; i += CONFIG_T::parallel) {
#pragma HLS PIPELINE II = 1
    Lane:
        for (unsigned l = 0; l < CONFIG_T::parallel; l++) {
#pragma HLS UNROLL
            const ap_uint<8> address = x[i + l].range(7, 0); // the two's-complement byte
            y[i + l] = table[address];
        }
    }
}

} // namespace spvit

#endif // SPVIT_LUT_HPP
