// ctypes bridge for C-simulation of hw/hls/softmax.hpp (docs/arithmetic.md §5.2).
// Built and loaded by spvit.sim.hls_kernels; tested against the golden model in tests/test_hls_softmax.py.
#include <cstdint>

#include "softmax.hpp"

namespace {

// X(index, n_max)
#define SPVIT_SOFTMAX_CONFIGS(X) X(0, 16) X(1, 1024)

#define SPVIT_DEFINE_CONFIG(index, n)                                                                                  \
    struct config##index : spvit::softmax_config {                                                                     \
        static const unsigned n_max = n;                                                                               \
        typedef ap_uint<spvit::bits_for(n_max)> count_t;                                                               \
    };
SPVIT_SOFTMAX_CONFIGS(SPVIT_DEFINE_CONFIG)

// rows x [n_rows][len] (len <= n_max), row r over its first n[r] entries; p8/p16 [n_rows][len].
template <typename C>
int run(const int32_t *x, int64_t n_rows, int64_t len, const int32_t *n, int f, uint8_t *p8, uint16_t *p16) {
    if (len > int64_t(C::n_max) || f < -5 || f > 32) return -1;
    for (int64_t r = 0; r < n_rows; r++) {
        if (n[r] < 0 || n[r] > len) return -1;
    }
    for (int64_t r = 0; r < n_rows; r++) {
        typename C::logit_t xr[C::n_max];
        ap_uint<8> o8[C::n_max];
        ap_uint<16> o16[C::n_max];
        for (unsigned j = 0; j < C::n_max; j++) xr[j] = j < len ? x[r * len + j] : 0;
        spvit::softmax<typename C::logit_t, C>(xr, n[r], f, o8, o16);
        for (int64_t j = 0; j < len; j++) {
            p8[r * len + j] = o8[j].to_uint();
            p16[r * len + j] = o16[j].to_uint();
        }
    }
    return 0;
}

} // namespace

extern "C" {

int spvit_softmax_config(int index) {
    switch (index) {
#define SPVIT_REPORT(index, n)                                                                                         \
    case index: return n;
        SPVIT_SOFTMAX_CONFIGS(SPVIT_REPORT)
    default: return -1;
    }
}

// Returns 0, -1 for arguments outside the kernel's registers, -2 for an unknown configuration.
int spvit_softmax(int index, const int32_t *x, int64_t n_rows, int64_t len, const int32_t *n, int f, uint8_t *p8,
                  uint16_t *p16) {
    switch (index) {
#define SPVIT_RUN(index, n_)                                                                                           \
    case index: return run<config##index>(x, n_rows, len, n, f, p8, p16);
        SPVIT_SOFTMAX_CONFIGS(SPVIT_RUN)
    default: return -2;
    }
}

// The POW2 ROM and LOG2E as compiled, for the comparison with golden's constants.
void spvit_softmax_pow2(int32_t *out) {
    for (int r = 0; r < 256; r++) out[r] = spvit::SOFTMAX_POW2[r].to_int();
}
int spvit_softmax_log2e(void) { return spvit::SOFTMAX_LOG2E_Q15; }

} // extern "C"
