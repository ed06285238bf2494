// ctypes bridge for C-simulation of hw/hls/linear.hpp (docs/arithmetic.md §3).
// Built and loaded by spvit.sim.hls_kernels; tested against the golden model in tests/test_hls_linear.py.
// Sizes are template parameters, so the bridge instantiates the configurations listed in SPVIT_LINEAR_CONFIGS;
// spvit_linear_config() reports them to Python.
#include <cstdint>

#include "linear.hpp"

namespace {

typedef ap_int<8> data_t;

// X(index, n_heads, n_in, n_out, simd, pe); 8 and 9 are the digits model's patch embedding and classifier.
#define SPVIT_LINEAR_CONFIGS(X)                                                                                        \
    X(0, 1, 16, 8, 4, 2)                                                                                               \
    X(1, 1, 64, 32, 16, 4)                                                                                             \
    X(2, 1, 192, 48, 32, 8)                                                                                            \
    X(3, 1, 384, 16, 64, 2)                                                                                            \
    X(4, 1, 3, 5, 1, 5)                                                                                                \
    X(5, 4, 16, 16, 8, 2)                                                                                              \
    X(6, 3, 64, 32, 16, 4)                                                                                             \
    X(7, 2, 8, 4, 8, 1)                                                                                                \
    X(8, 1, 16, 64, 16, 4)                                                                                             \
    X(9, 1, 64, 10, 16, 1)

#define SPVIT_DEFINE_CONFIG(index, heads, in, out, simd_, pe_)                                                         \
    struct config##index : spvit::linear_per_head_config {                                                             \
        static const unsigned n_heads = heads;                                                                         \
        static const unsigned n_in = in;                                                                               \
        static const unsigned n_out = out;                                                                             \
        static const unsigned simd = simd_;                                                                            \
        static const unsigned pe = pe_;                                                                                \
    };
SPVIT_LINEAR_CONFIGS(SPVIT_DEFINE_CONFIG)

// tokens x [n_tok][H][in] through the per-head layer w [H][out][in], b [H][out]; keep = 1 writes the int32
// accumulators to acc, keep = 0 the requantized int8 to y.
template <typename C>
int run(const int8_t *x, int64_t n_tok, const int8_t *w, const int32_t *b, int shift, int keep, int8_t *y,
        int32_t *acc) {
    if (!keep && (shift < C::requant_config::shift_min || shift > C::requant_config::shift_max)) return -1;
    static typename C::weight_t wt[C::n_heads][C::n_out][C::n_in];
    static typename C::bias_t bt[C::n_heads][C::n_out];
    for (unsigned h = 0; h < C::n_heads; h++) {
        for (unsigned o = 0; o < C::n_out; o++) {
            bt[h][o] = b[h * C::n_out + o];
            for (unsigned i = 0; i < C::n_in; i++) wt[h][o][i] = w[(h * C::n_out + o) * C::n_in + i];
        }
    }
    for (int64_t t = 0; t < n_tok; t++) {
        data_t xt[C::n_heads][C::n_in];
        for (unsigned h = 0; h < C::n_heads; h++) {
            for (unsigned i = 0; i < C::n_in; i++) xt[h][i] = x[(t * C::n_heads + h) * C::n_in + i];
        }
        if (keep) {
            for (unsigned h = 0; h < C::n_heads; h++) {
                typename C::accum_t at[C::n_out];
                spvit::linear_acc<data_t, typename C::accum_t, C>(xt[h], at, wt[h], bt[h]);
                for (unsigned o = 0; o < C::n_out; o++) acc[(t * C::n_heads + h) * C::n_out + o] = at[o].to_int();
            }
        } else {
            data_t yt[C::n_heads][C::n_out];
            spvit::linear_per_head<data_t, data_t, C>(xt, yt, wt, bt, shift);
            for (unsigned h = 0; h < C::n_heads; h++) {
                for (unsigned o = 0; o < C::n_out; o++) y[(t * C::n_heads + h) * C::n_out + o] = yt[h][o].to_int();
            }
        }
    }
    return 0;
}

} // namespace

extern "C" {

// Returns 0 and the sizes of configuration `index`, or -1 past the last one.
int spvit_linear_config(int index, int *n_heads, int *n_in, int *n_out) {
    switch (index) {
#define SPVIT_REPORT(index, heads, in, out, simd_, pe_)                                                                \
    case index: *n_heads = heads; *n_in = in; *n_out = out; return 0;
        SPVIT_LINEAR_CONFIGS(SPVIT_REPORT)
    default: return -1;
    }
}

// Returns 0, -1 for a shift outside the requantizer's range, -2 for an unknown configuration.
int spvit_linear(int index, const int8_t *x, int64_t n_tok, const int8_t *w, const int32_t *b, int shift, int keep,
                 int8_t *y, int32_t *acc) {
    switch (index) {
#define SPVIT_RUN(index, heads, in, out, simd_, pe_)                                                                   \
    case index: return run<config##index>(x, n_tok, w, b, shift, keep, y, acc);
        SPVIT_LINEAR_CONFIGS(SPVIT_RUN)
    default: return -2;
    }
}

} // extern "C"
