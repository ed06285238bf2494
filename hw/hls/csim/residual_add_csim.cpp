// ctypes bridge for C-simulation of hw/hls/residual_add.hpp (docs/arithmetic.md §4).
// Built and loaded by spvit.sim.hls_kernels; tested against the golden model in tests/test_hls_residual_add.py.
#include <cstdint>

#include "residual_add.hpp"

namespace {

struct config : spvit::residual_add_config {
    static const unsigned n = 64;
    static const unsigned parallel = 8;
};
typedef ap_int<8> data_t;

} // namespace

extern "C" {

// y[i] = residual_add(x[i], r[i]) for i < count, `config::n` elements per kernel call (the tail is zero-padded).
// Returns 0, or -1 (nothing written) for a shift outside the kernel's registers.
int spvit_residual_add(const int8_t *x, const int8_t *r, int64_t count, int shift_x, int shift_r, int shift_out,
                       int8_t *y) {
    if (shift_x < 0 || shift_x > int(config::align_max) || shift_r < 0 || shift_r > int(config::align_max) ||
        shift_out < config::requant_config::shift_min || shift_out > config::requant_config::shift_max) {
        return -1;
    }
    for (int64_t base = 0; base < count; base += config::n) {
        data_t xa[config::n], ra[config::n], ya[config::n];
        for (unsigned i = 0; i < config::n; i++) {
            const bool in = base + i < count;
            xa[i] = in ? x[base + i] : 0;
            ra[i] = in ? r[base + i] : 0;
        }
        spvit::residual_add<data_t, data_t, data_t, config>(xa, ra, ya, shift_x, shift_r, shift_out);
        for (unsigned i = 0; i < config::n && base + i < count; i++) y[base + i] = ya[i].to_int();
    }
    return 0;
}

} // extern "C"
