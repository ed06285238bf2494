// ctypes bridge for C-simulation of hw/hls/topk_select.hpp (docs/arithmetic.md §9).
// Built and loaded by spvit.sim.hls_kernels; tested against the golden model in tests/test_hls_topk_select.py.
// The kernel's output stream is drained exactly: a missing element (-3) or a leftover one (-4) is an error.
#include <cstdint>

#include "topk_select.hpp"

namespace {

// X(index, n_max, k_max)
#define SPVIT_TOPK_CONFIGS(X) X(0, 16, 16) X(1, 16, 4) X(2, 200, 200) X(3, 64, 1)

#define SPVIT_DEFINE_CONFIG(index, n, k)                                                                               \
    struct config##index : spvit::topk_select_config {                                                                 \
        static const unsigned n_max = n;                                                                               \
        static const unsigned k_max = k;                                                                               \
        typedef ap_uint<spvit::bits_for(n_max)> count_t;                                                               \
        typedef ap_uint<spvit::clog2(n_max)> index_t;                                                                  \
    };
SPVIT_TOPK_CONFIGS(SPVIT_DEFINE_CONFIG)

// Images b < n_img of len stored tokens (first n[b] present). kept [n_img][len]: the kept indices in output order,
// count[b] of them.
template <typename C>
int run(const uint16_t *scores, int64_t n_img, int64_t len, const int32_t *n, int tail, const int32_t *k,
        int threshold_mode, const int32_t *threshold, int32_t *kept, int32_t *count) {
    if (len > int64_t(C::n_max) || tail < 0 || tail > int(C::n_max)) return -1;
    for (int64_t b = 0; b < n_img; b++) {
        if (n[b] < 0 || n[b] > len || k[b] < 0 || k[b] > int(C::k_max)) return -1;
        if (threshold_mode && (threshold[b] < 0 || threshold[b] > 65535)) return -1;
    }
    for (int64_t b = 0; b < n_img; b++) {
        typename C::score_t s[C::n_max];
        for (unsigned j = 0; j < C::n_max; j++) s[j] = j < len ? scores[b * len + j] : 0;
        hls::stream<typename C::index_t> out;
        const int c = spvit::topk_select<C>(s, n[b], tail, k[b], threshold_mode != 0,
                                            threshold_mode ? threshold[b] : 0, out)
                          .to_int();
        for (int i = 0; i < c; i++) {
            if (out.empty()) return -3;
            kept[b * len + i] = out.read().to_int();
        }
        if (!out.empty()) return -4;
        count[b] = c;
    }
    return 0;
}

} // namespace

extern "C" {

int spvit_topk_select_config(int index, int *n_max, int *k_max) {
    switch (index) {
#define SPVIT_REPORT(index, n, k)                                                                                      \
    case index: *n_max = n; *k_max = k; return 0;
        SPVIT_TOPK_CONFIGS(SPVIT_REPORT)
    default: return -1;
    }
}

// Returns 0; -1 for arguments outside the kernel's registers; -2 for an unknown configuration; -3 / -4 for a stream
// with fewer / more elements than the count the kernel returned.
int spvit_topk_select(int index, const uint16_t *scores, int64_t n_img, int64_t len, const int32_t *n, int tail,
                      const int32_t *k, int threshold_mode, const int32_t *threshold, int32_t *kept, int32_t *count) {
    switch (index) {
#define SPVIT_RUN(index, n_, k_)                                                                                       \
    case index: return run<config##index>(scores, n_img, len, n, tail, k, threshold_mode, threshold, kept, count);
        SPVIT_TOPK_CONFIGS(SPVIT_RUN)
    default: return -2;
    }
}

} // extern "C"
