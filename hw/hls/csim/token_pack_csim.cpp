// ctypes bridge for C-simulation of hw/hls/token_pack.hpp (docs/arithmetic.md §10, §11.3).
// Built and loaded by spvit.sim.hls_kernels; tested against the golden model in tests/test_hls_token_pack.py.
#include <cstdint>

#include "token_pack.hpp"

namespace {

typedef ap_int<8> data_t;

// X(index, n_max, n_chan, simd)
#define SPVIT_PACK_CONFIGS(X) X(0, 16, 16, 4) X(1, 64, 64, 8) X(2, 200, 192, 16) X(3, 8, 384, 32)

#define SPVIT_DEFINE_CONFIG(index, n, d, s)                                                                            \
    struct config##index : spvit::token_pack_config {                                                                  \
        static const unsigned n_max = n;                                                                               \
        static const unsigned n_chan = d;                                                                              \
        static const unsigned simd = s;                                                                                \
        typedef ap_uint<spvit::bits_for(n_max + 1)> count_t;                                                           \
    };
SPVIT_PACK_CONFIGS(SPVIT_DEFINE_CONFIG)

// Images b < n_img: x [len][D], scores [len], pruned [len] (uint8 0/1), the first n[b] tokens present.
// out [n_img][len + 1][D] (rows past count[b] untouched).
template <typename C>
int run(const int8_t *x, const uint16_t *scores, const uint8_t *pruned, int64_t n_img, int64_t len, const int32_t *n,
        int package, int8_t *out, int32_t *count) {
    const unsigned N = C::n_max, D = C::n_chan;
    if (len > int64_t(N)) return -1;
    for (int64_t b = 0; b < n_img; b++) {
        if (n[b] < 0 || n[b] > len) return -1;
    }
    static data_t xb[N][D], ob[N + 1][D];
    static typename C::score_t sb[N];
    static bool pb[N];
    for (int64_t b = 0; b < n_img; b++) {
        for (unsigned j = 0; j < N; j++) {
            sb[j] = j < len ? scores[b * len + j] : 0;
            pb[j] = j < len ? pruned[b * len + j] != 0 : false;
            for (unsigned c = 0; c < D; c++) xb[j][c] = j < len ? x[(b * len + j) * D + c] : 0;
        }
        const int c_out = spvit::token_pack<data_t, C>(xb, sb, pb, n[b], package != 0, ob).to_int();
        for (int t = 0; t < c_out; t++) {
            for (unsigned c = 0; c < D; c++) out[(b * (len + 1) + t) * D + c] = ob[t][c].to_int();
        }
        count[b] = c_out;
    }
    return 0;
}

} // namespace

extern "C" {

int spvit_token_pack_config(int index, int *n_max, int *n_chan) {
    switch (index) {
#define SPVIT_REPORT(index, n, d, s)                                                                                   \
    case index: *n_max = n; *n_chan = d; return 0;
        SPVIT_PACK_CONFIGS(SPVIT_REPORT)
    default: return -1;
    }
}

int spvit_token_pack(int index, const int8_t *x, const uint16_t *scores, const uint8_t *pruned, int64_t n_img,
                     int64_t len, const int32_t *n, int package, int8_t *out, int32_t *count) {
    switch (index) {
#define SPVIT_RUN(index, n_, d, s)                                                                                     \
    case index: return run<config##index>(x, scores, pruned, n_img, len, n, package, out, count);
        SPVIT_PACK_CONFIGS(SPVIT_RUN)
    default: return -2;
    }
}

} // extern "C"
