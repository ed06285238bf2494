// ctypes bridge for C-simulation of hw/hls/selector.hpp (docs/arithmetic.md §8.2).
// Built and loaded by spvit.sim.hls_kernels; tested against the golden model in tests/test_hls_selector.py.
// The selector's parameters arrive as one int64 vector in the order of spvit::selector_params (see
// spvit.sim.hls_kernels.selector), which run() unpacks with a cursor and checks for length and range.
#include <cstdint>

#include "selector.hpp"

namespace {

// X(index, n_max, D, H, se_width)
#define SPVIT_SELECTOR_CONFIGS(X) X(0, 64, 64, 4, 2) X(1, 197, 192, 3, 1) X(2, 16, 32, 2, 1)

#define SPVIT_DEFINE_CONFIG(index, n, d, h, hs)                                                                        \
    struct config##index : spvit::selector_config {                                                                    \
        static const unsigned n_max = n;                                                                               \
        static const unsigned n_chan = d;                                                                              \
        static const unsigned n_heads = h;                                                                             \
        static const unsigned se_width = hs;                                                                           \
        static const unsigned ln_parallel = 8;                                                                         \
        static const unsigned in_simd = 4;                                                                             \
        static const unsigned in_pe = 2;                                                                               \
        static const unsigned mlp_simd = 2;                                                                            \
        static const unsigned mlp_pe = 2;                                                                              \
        typedef ap_uint<spvit::bits_for(n_max)> count_t;                                                               \
    };
SPVIT_SELECTOR_CONFIGS(SPVIT_DEFINE_CONFIG)

struct cursor {
    const int64_t *at, *end;
    bool ok;
    template <class T> void take(T &dst, int64_t lo, int64_t hi) {
        if (at >= end || *at < lo || *at > hi) {
            ok = false;
            dst = 0;
            return;
        }
        dst = *at++;
    }
};

template <typename C>
int run(const int8_t *x, int64_t n_img, int64_t len, const int32_t *n, const int64_t *params, int64_t n_params,
        uint16_t *score) {
    typedef spvit::selector_params<C> P;
    const unsigned D = P::D, H = P::H, DH = P::DH, HS = P::HS;
    if (len > int64_t(C::n_max)) return -1;
    for (int64_t b = 0; b < n_img; b++) {
        if (n[b] < 0 || n[b] > len) return -1;
    }
    static P p;
    cursor cur = {params, params + n_params, true};
    const int64_t smin = C::requant_config::shift_min, smax = C::requant_config::shift_max;
    const int64_t w8 = 127, b32 = int64_t(1) << 31;
    for (unsigned i = 0; i < D; i++) cur.take(p.norm_gamma[i], -32768, 32767);
    for (unsigned i = 0; i < D; i++) cur.take(p.norm_beta[i], -b32, b32 - 1);
    cur.take(p.norm_eps, 1, int64_t(1) << 40);
    cur.take(p.norm_shift, smin, smax);
    for (unsigned h = 0; h < H; h++)
        for (unsigned o = 0; o < DH; o++)
            for (unsigned i = 0; i < DH; i++) cur.take(p.in_w[h][o][i], -w8, w8);
    for (unsigned h = 0; h < H; h++)
        for (unsigned o = 0; o < DH; o++) cur.take(p.in_b[h][o], -b32, b32 - 1);
    cur.take(p.in_shift, smin, smax);
    for (unsigned a = 0; a < 256; a++) cur.take(p.in_act[a], -128, 127);
    for (unsigned h = 0; h < H; h++)
        for (unsigned o = 0; o < DH / 2; o++)
            for (unsigned i = 0; i < DH; i++) cur.take(p.mlp1_w[h][o][i], -w8, w8);
    for (unsigned h = 0; h < H; h++)
        for (unsigned o = 0; o < DH / 2; o++) cur.take(p.mlp1_b[h][o], -b32, b32 - 1);
    cur.take(p.mlp1_shift, smin, smax);
    for (unsigned a = 0; a < 256; a++) cur.take(p.mlp1_act[a], -128, 127);
    for (unsigned h = 0; h < H; h++)
        for (unsigned o = 0; o < DH / 4; o++)
            for (unsigned i = 0; i < DH / 2; i++) cur.take(p.mlp2_w[h][o][i], -w8, w8);
    for (unsigned h = 0; h < H; h++)
        for (unsigned o = 0; o < DH / 4; o++) cur.take(p.mlp2_b[h][o], -b32, b32 - 1);
    cur.take(p.mlp2_shift, smin, smax);
    for (unsigned a = 0; a < 256; a++) cur.take(p.mlp2_act[a], -128, 127);
    for (unsigned h = 0; h < H; h++)
        for (unsigned i = 0; i < DH / 4; i++) cur.take(p.keep_w[h][0][i], -w8, w8);
    for (unsigned h = 0; h < H; h++) cur.take(p.keep_b[h][0], -b32, b32 - 1);
    cur.take(p.keep_shift, smin, smax);
    for (unsigned a = 0; a < 256; a++) cur.take(p.keep_act[a], 0, 255);
    for (unsigned o = 0; o < HS; o++)
        for (unsigned i = 0; i < H; i++) cur.take(p.se1_w[o][i], -w8, w8);
    for (unsigned o = 0; o < HS; o++) cur.take(p.se1_b[o], -b32, b32 - 1);
    cur.take(p.se1_shift, smin, smax);
    for (unsigned a = 0; a < 256; a++) cur.take(p.se1_act[a], -128, 127);
    for (unsigned o = 0; o < H; o++)
        for (unsigned i = 0; i < HS; i++) cur.take(p.se2_w[o][i], -w8, w8);
    for (unsigned o = 0; o < H; o++) cur.take(p.se2_b[o], -b32, b32 - 1);
    cur.take(p.se2_shift, smin, smax);
    for (unsigned a = 0; a < 256; a++) cur.take(p.se2_act[a], 0, 255);
    if (!cur.ok || cur.at != cur.end) return -3;

    static typename C::data_t xb[C::n_max][C::n_chan];
    static typename C::score_t sb[C::n_max];
    for (int64_t b = 0; b < n_img; b++) {
        for (unsigned j = 0; j < C::n_max; j++) {
            for (unsigned c = 0; c < D; c++) xb[j][c] = j < len ? x[(b * len + j) * D + c] : 0;
        }
        spvit::selector<C>(xb, n[b], p, sb);
        for (int64_t j = 0; j < len; j++) score[b * len + j] = sb[j].to_uint();
    }
    return 0;
}

} // namespace

extern "C" {

int spvit_selector_config(int index, int *n_max, int *d, int *heads, int *se_width) {
    switch (index) {
#define SPVIT_REPORT(index, n_, d_, h_, hs_)                                                                           \
    case index: *n_max = n_; *d = d_; *heads = h_; *se_width = hs_; return 0;
        SPVIT_SELECTOR_CONFIGS(SPVIT_REPORT)
    default: return -1;
    }
}

// Returns 0; -1 for bad sizes or counts; -2 for an unknown configuration; -3 for a parameter vector of the wrong
// length or with a value outside its type.
int spvit_selector(int index, const int8_t *x, int64_t n_img, int64_t len, const int32_t *n, const int64_t *params,
                   int64_t n_params, uint16_t *score) {
    switch (index) {
#define SPVIT_RUN(index, n_, d_, h_, hs_)                                                                              \
    case index: return run<config##index>(x, n_img, len, n, params, n_params, score);
        SPVIT_SELECTOR_CONFIGS(SPVIT_RUN)
    default: return -2;
    }
}

} // extern "C"
