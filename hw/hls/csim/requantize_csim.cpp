// ctypes bridge for C-simulation of hw/hls/requantize.hpp (docs/arithmetic.md §2.3).
// Built and loaded by spvit.sim.hls_csim; tested against the golden model in tests/test_hls_requantize.py.
#include <cstdint>

#include "ap_int.h"
#include "requantize.hpp"

namespace {

typedef ap_int<32> acc_t;
typedef ap_int<8> out_t;

// out[i] = requantize(acc[i], shift[i]) for i < n. Returns 0, or -1 (nothing written) if a shift lies outside
// [CONFIG_T::shift_min, CONFIG_T::shift_max].
template <typename CONFIG_T> int run(const int32_t *acc, const int32_t *shift, int8_t *out, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        if (shift[i] < CONFIG_T::shift_min || shift[i] > CONFIG_T::shift_max) {
            return -1;
        }
    }
    for (int64_t i = 0; i < n; i++) {
        const typename CONFIG_T::shift_t s = shift[i];
        const out_t r = spvit::requantize<acc_t, out_t, CONFIG_T>(acc_t(acc[i]), s);
        out[i] = static_cast<int8_t>(r.to_int());
    }
    return 0;
}

} // namespace

extern "C" {

// config 0: spvit::requantize_config (shifts -8..31); config 1: spvit::requantize_full_config (-32..40).
int spvit_requantize_i32_i8(int config, const int32_t *acc, const int32_t *shift, int8_t *out, int64_t n) {
    switch (config) {
    case 0: return run<spvit::requantize_config>(acc, shift, out, n);
    case 1: return run<spvit::requantize_full_config>(acc, shift, out, n);
    default: return -2;
    }
}

// The shift bounds of each configuration, so Python does not repeat them. Unknown config: min > max.
int spvit_requantize_shift_min(int config) {
    switch (config) {
    case 0: return spvit::requantize_config::shift_min;
    case 1: return spvit::requantize_full_config::shift_min;
    default: return 1;
    }
}
int spvit_requantize_shift_max(int config) {
    switch (config) {
    case 0: return spvit::requantize_config::shift_max;
    case 1: return spvit::requantize_full_config::shift_max;
    default: return 0;
    }
}

} // extern "C"
