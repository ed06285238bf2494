// ctypes bridge for C-simulation of hw/hls/attention.hpp: attention (docs/arithmetic.md §5) and asvit_score (§8.1).
// Built and loaded by spvit.sim.hls_kernels; tested against the golden model in tests/test_hls_attention.py.
#include <cstdint>

#include "attention.hpp"

namespace {

typedef ap_int<8> data_t;

// X(index, n_heads, d_head, n_max, qk_simd, av_lanes)
#define SPVIT_ATTENTION_CONFIGS(X)                                                                                     \
    X(0, 2, 16, 32, 16, 16) X(1, 3, 64, 197, 16, 64) X(2, 4, 8, 8, 4, 2) X(3, 1, 32, 65, 8, 32)

#define SPVIT_DEFINE_CONFIG(index, heads, dh, n, simd, lanes)                                                          \
    struct config##index : spvit::attention_config {                                                                   \
        static const unsigned n_heads = heads;                                                                         \
        static const unsigned d_head = dh;                                                                             \
        static const unsigned n_max = n;                                                                               \
        static const unsigned qk_simd = simd;                                                                          \
        static const unsigned av_lanes = lanes;                                                                        \
        typedef ap_uint<spvit::bits_for(n_max)> count_t;                                                               \
    };
SPVIT_ATTENTION_CONFIGS(SPVIT_DEFINE_CONFIG)

// Images b < n_img, each [H][len][dh] (len <= n_max tokens stored, the first n[b] present).
template <typename C>
int run_attention(const int8_t *q, const int8_t *k, const int8_t *v, int64_t n_img, int64_t len, const int32_t *n,
                  int f_qk, int shift, int8_t *ctx, uint16_t *cls_p16, int8_t *cls_ctx) {
    if (len > int64_t(C::n_max) || f_qk < -5 || f_qk > 32 || shift < C::requant_config::shift_min ||
        shift > C::requant_config::shift_max) {
        return -1;
    }
    for (int64_t b = 0; b < n_img; b++) {
        if (n[b] < 1 || n[b] > len) return -1;
    }
    const unsigned H = C::n_heads, N = C::n_max, DH = C::d_head;
    static data_t qb[H][N][DH], kb[H][N][DH], vb[H][N][DH], cb[H][N][DH], clsb[H][DH];
    static ap_uint<16> pb[H][N];
    for (int64_t b = 0; b < n_img; b++) {
        for (unsigned h = 0; h < H; h++) {
            for (unsigned t = 0; t < N; t++) {
                for (unsigned c = 0; c < DH; c++) {
                    const int64_t at = ((b * H + h) * len + t) * DH + c;
                    qb[h][t][c] = t < len ? q[at] : 0;
                    kb[h][t][c] = t < len ? k[at] : 0;
                    vb[h][t][c] = t < len ? v[at] : 0;
                }
            }
        }
        spvit::attention<data_t, data_t, C>(qb, kb, vb, n[b], f_qk, shift, cb, pb, clsb);
        for (unsigned h = 0; h < H; h++) {
            for (int64_t t = 0; t < len; t++) {
                cls_p16[(b * H + h) * len + t] = pb[h][t].to_uint();
                for (unsigned c = 0; c < DH; c++) ctx[((b * H + h) * len + t) * DH + c] = cb[h][t][c].to_int();
            }
            for (unsigned c = 0; c < DH; c++) cls_ctx[(b * H + h) * DH + c] = clsb[h][c].to_int();
        }
    }
    return 0;
}

template <typename C>
int run_asvit(const uint16_t *p16, const int8_t *ctx, int64_t n_img, int64_t len, const int32_t *n, uint16_t *score) {
    if (len > int64_t(C::n_max)) return -1;
    for (int64_t b = 0; b < n_img; b++) {
        if (n[b] < 0 || n[b] > len) return -1;
    }
    const unsigned H = C::n_heads, N = C::n_max, DH = C::d_head;
    static ap_uint<16> pb[H][N], sb[N];
    static data_t cb[H][DH];
    for (int64_t b = 0; b < n_img; b++) {
        for (unsigned h = 0; h < H; h++) {
            for (unsigned t = 0; t < N; t++) pb[h][t] = t < len ? p16[(b * H + h) * len + t] : 0;
            for (unsigned c = 0; c < DH; c++) cb[h][c] = ctx[(b * H + h) * DH + c];
        }
        spvit::asvit_score<data_t, C>(pb, cb, n[b], sb);
        for (int64_t t = 0; t < len; t++) score[b * len + t] = sb[t].to_uint();
    }
    return 0;
}

} // namespace

extern "C" {

int spvit_attention_config(int index, int *n_heads, int *d_head, int *n_max) {
    switch (index) {
#define SPVIT_REPORT(index, heads, dh, n, simd, lanes)                                                                 \
    case index: *n_heads = heads; *d_head = dh; *n_max = n; return 0;
        SPVIT_ATTENTION_CONFIGS(SPVIT_REPORT)
    default: return -1;
    }
}

// Returns 0, -1 for arguments outside the kernel's registers, -2 for an unknown configuration.
int spvit_attention(int index, const int8_t *q, const int8_t *k, const int8_t *v, int64_t n_img, int64_t len,
                    const int32_t *n, int f_qk, int shift, int8_t *ctx, uint16_t *cls_p16, int8_t *cls_ctx) {
    switch (index) {
#define SPVIT_RUN(index, heads, dh, n_, simd, lanes)                                                                   \
    case index: return run_attention<config##index>(q, k, v, n_img, len, n, f_qk, shift, ctx, cls_p16, cls_ctx);
        SPVIT_ATTENTION_CONFIGS(SPVIT_RUN)
    default: return -2;
    }
}

int spvit_asvit_score(int index, const uint16_t *p16, const int8_t *ctx, int64_t n_img, int64_t len, const int32_t *n,
                      uint16_t *score) {
    switch (index) {
#define SPVIT_RUN_ASVIT(index, heads, dh, n_, simd, lanes)                                                             \
    case index: return run_asvit<config##index>(p16, ctx, n_img, len, n, score);
        SPVIT_ATTENTION_CONFIGS(SPVIT_RUN_ASVIT)
    default: return -2;
    }
}

} // extern "C"
