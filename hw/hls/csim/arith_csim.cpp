// ctypes bridge for C-simulation of hw/hls/arith.hpp (docs/arithmetic.md §2.1, §2.4-§2.7).
// Built and loaded by spvit.sim.hls_kernels; tested against the golden model in tests/test_hls_arith.py.
// Widths are the contract's: rdiv as in token_pack (§10, 48-bit numerator, 33-bit denominator), reciprocal as in
// softmax (§5.2, 40-bit sum, 17-bit result) and in general (quotient < 2**63), isqrt over 63 bits (§6 feeds it
// 2**62 // V, which is 2**62 itself when V = 1).
#include <cstdint>

#include "arith.hpp"

extern "C" {

void spvit_bit_length_u53(const uint64_t *x, int32_t *out, int64_t n) {
    for (int64_t i = 0; i < n; i++) out[i] = spvit::bit_length<53>(ap_uint<53>(x[i])).to_int();
}

void spvit_rdiv_i48_u33(const int64_t *num, const int64_t *den, int64_t *out, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        out[i] = spvit::rdiv<48, 33>(ap_int<48>(num[i]), ap_uint<33>(den[i])).to_int64();
    }
}

// §5.2 step 4: s = bit_length(S) - 24, R = reciprocal(S, 39 + s) for 2**23 <= S < 2**40, with a 17-bit quotient.
void spvit_reciprocal_softmax(const uint64_t *sum, int64_t *out, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        const ap_uint<40> s = sum[i];
        const ap_uint<6> k = 39 + spvit::bit_length<40>(s) - 24;
        out[i] = spvit::reciprocal<17, 40, 6>(s, k).to_uint64();
    }
}

// floor(2**k / d) for k <= 62, 0 < d < 2**62: every quotient fits 63 bits.
void spvit_reciprocal_u62(const uint64_t *den, const int32_t *k, int64_t *out, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        out[i] = spvit::reciprocal<63, 62, 6>(ap_uint<62>(den[i]), ap_uint<6>(k[i])).to_uint64();
    }
}

void spvit_isqrt_u63(const uint64_t *x, int64_t *out, int64_t n) {
    for (int64_t i = 0; i < n; i++) out[i] = spvit::isqrt<63>(ap_uint<63>(x[i])).to_uint64();
}

// §2.1 round_shift of a signed 48-bit value by 0..50 (shifts past the width give 0 or -0 -> 0).
void spvit_round_shift_i48(const int64_t *x, const int32_t *s, int64_t *out, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        out[i] = spvit::round_shift_right<48, 48, 6>(ap_int<48>(x[i]), ap_uint<6>(s[i])).to_int64();
    }
}

} // extern "C"
