// ctypes bridge for C-simulation of hw/hls/layernorm.hpp (docs/arithmetic.md §6).
// Built and loaded by spvit.sim.hls_kernels; tested against the golden model in tests/test_hls_layernorm.py.
#include <cstdint>

#include "layernorm.hpp"

namespace {

typedef ap_int<8> data_t;

// X(index, D, parallel)
#define SPVIT_LAYERNORM_CONFIGS(X) X(0, 16, 4) X(1, 64, 8) X(2, 192, 16) X(3, 384, 32) X(4, 768, 32) X(5, 32, 32)

#define SPVIT_DEFINE_CONFIG(index, d, par)                                                                             \
    struct config##index : spvit::layernorm_config {                                                                   \
        static const unsigned n_in = d;                                                                                \
        static const unsigned parallel = par;                                                                          \
    };
SPVIT_LAYERNORM_CONFIGS(SPVIT_DEFINE_CONFIG)

template <typename C>
int run(const int8_t *x, int64_t n_tok, const int16_t *g, const int32_t *b, int64_t eps, int shift, int8_t *y) {
    if (shift < C::requant_config::shift_min || shift > C::requant_config::shift_max) return -1;
    if (eps < 1 || eps > (int64_t(1) << 40)) return -1;
    typename C::gamma_t gt[C::n_in];
    typename C::beta_t bt[C::n_in];
    for (unsigned i = 0; i < C::n_in; i++) {
        gt[i] = g[i];
        bt[i] = b[i];
    }
    for (int64_t t = 0; t < n_tok; t++) {
        data_t xt[C::n_in], yt[C::n_in];
        for (unsigned i = 0; i < C::n_in; i++) xt[i] = x[t * C::n_in + i];
        spvit::layernorm<data_t, data_t, C>(xt, yt, gt, bt, typename C::eps_t(eps), shift);
        for (unsigned i = 0; i < C::n_in; i++) y[t * C::n_in + i] = yt[i].to_int();
    }
    return 0;
}

} // namespace

extern "C" {

// Returns D of configuration `index`, or -1 past the last one.
int spvit_layernorm_config(int index) {
    switch (index) {
#define SPVIT_REPORT(index, d, par)                                                                                    \
    case index: return d;
        SPVIT_LAYERNORM_CONFIGS(SPVIT_REPORT)
    default: return -1;
    }
}

// Returns 0, -1 for a shift or eps term outside the kernel's registers, -2 for an unknown configuration.
int spvit_layernorm(int index, const int8_t *x, int64_t n_tok, const int16_t *g, const int32_t *b, int64_t eps,
                    int shift, int8_t *y) {
    switch (index) {
#define SPVIT_RUN(index, d, par)                                                                                       \
    case index: return run<config##index>(x, n_tok, g, b, eps, shift, y);
        SPVIT_LAYERNORM_CONFIGS(SPVIT_RUN)
    default: return -2;
    }
}

} // extern "C"
