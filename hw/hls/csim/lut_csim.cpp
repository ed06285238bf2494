// ctypes bridge for C-simulation of hw/hls/lut.hpp (docs/arithmetic.md §7), for int8 (GELU) and uint8 (sigmoid)
// tables. Built and loaded by spvit.sim.hls_kernels; tested against the golden model in tests/test_hls_lut.py.
#include <cstdint>

#include "lut.hpp"

namespace {

struct config : spvit::lut_config {
    static const unsigned n = 32;
    static const unsigned parallel = 8;
};

template <class res_T, class out_T> void run(const int8_t *x, int64_t count, const out_T *table, out_T *y) {
    res_T t[256];
    for (unsigned a = 0; a < 256; a++) t[a] = table[a];
    for (int64_t base = 0; base < count; base += config::n) {
        ap_int<8> xa[config::n];
        res_T ya[config::n];
        for (unsigned i = 0; i < config::n; i++) xa[i] = base + i < count ? x[base + i] : 0;
        spvit::lut<ap_int<8>, res_T, config>(xa, ya, t);
        for (unsigned i = 0; i < config::n && base + i < count; i++) y[base + i] = out_T(ya[i].to_int());
    }
}

} // namespace

extern "C" {

void spvit_lut_i8(const int8_t *x, int64_t count, const int8_t *table, int8_t *y) {
    run<ap_int<8>, int8_t>(x, count, table, y);
}

void spvit_lut_u8(const int8_t *x, int64_t count, const uint8_t *table, uint8_t *y) {
    run<ap_uint<8>, uint8_t>(x, count, table, y);
}

} // extern "C"
