// Integer primitives shared by the kernels: round_shift, bit_length, unsigned restoring division, rdiv, reciprocal
// and isqrt, all in hardware-style integer code (no floating point, no `/` or `%` operator).
//
// Contract: docs/arithmetic.md §2.1 (round_shift), §2.4 (rdiv), §2.5 (reciprocal), §2.6 (isqrt), §2.7 (bit_length).
// Golden model: spvit.sim.golden.arith. Every function here must match it bit for bit (tests/test_hls_arith.py).
//
// Hardware shape: the dividers and the square root are bit-serial (one quotient / root bit per loop iteration, a
// subtract-and-compare per bit). Called once per token, row or channel, they are the "sequential divider amortised
// over a whole token" the contract asks for; inside an II=1 pipeline Vitis unrolls them into an array divider.
#ifndef SPVIT_ARITH_HPP
#define SPVIT_ARITH_HPP

#include "ap_int.h"
#include "requantize.hpp"

namespace spvit {

// ---- compile-time helpers ----------------------------------------------------------------------------------------

// Number of bits needed to hold the unsigned value n (bits_for(0) = 1, bits_for(255) = 8, bits_for(256) = 9).
constexpr int bits_for(unsigned long long n) { return n < 2 ? 1 : 1 + bits_for(n >> 1); }
// ceil(log2(n)) for n >= 1 (index width of an n-entry array; at least 1).
constexpr int clog2(unsigned long long n) { return n <= 2 ? 1 : 1 + clog2((n + 1) >> 1); }
constexpr int cmax(int a, int b) { return a > b ? a : b; }
constexpr int cmin(int a, int b) { return a < b ? a : b; }

// ---- §2.1 round_shift by a non-negative run-time amount -------------------------------------------------------------

// (x + 2**(s-1)) >> s for s >= 1, x for s == 0: round half up. Computed in W + 3 (signed) or W + 2 (unsigned) bits,
// so nothing overflows. Shifts beyond W + 1 are capped at W + 1: from there on every W-bit x gives 0, and the
// shifter stays log2(W + 2) bits wide.
template <int OW, int W, int SW> ap_int<OW> round_shift_right(const ap_int<W> &x, const ap_uint<SW> &s) {
#pragma HLS INLINE
    typedef ap_int<W + 3> wide_t; // 2**(W+1) as a positive value: the half of a shift by W + 1
    typedef ap_uint<bits_for(W + 1)> amount_t;
    const amount_t amount = s > W + 1 ? amount_t(W + 1) : amount_t(s);
    const wide_t half = (wide_t(1) << amount) >> 1;
    return ap_int<OW>((wide_t(x) + half) >> amount);
}
template <int OW, int W, int SW> ap_uint<OW> round_shift_right(const ap_uint<W> &x, const ap_uint<SW> &s) {
#pragma HLS INLINE
    typedef ap_uint<W + 2> wide_t;
    typedef ap_uint<bits_for(W + 1)> amount_t;
    const amount_t amount = s > W + 1 ? amount_t(W + 1) : amount_t(s);
    const wide_t half = (wide_t(1) << amount) >> 1;
    return ap_uint<OW>((wide_t(x) + half) >> amount);
}

// ---- §2.7 bit_length ------------------------------------------------------------------------------------------------

// Index of the leading one + 1 (0 for 0): a priority encoder / leading-zero counter.
template <int W> ap_uint<bits_for(W)> bit_length(const ap_uint<W> &n) {
#pragma HLS INLINE
    ap_uint<bits_for(W)> len = 0;
BitLength:
    for (int i = 0; i < W; i++) {
#pragma HLS UNROLL
        if (n[i]) len = i + 1;
    }
    return len;
}

// ---- unsigned restoring division ------------------------------------------------------------------------------------

// q = floor(n / d), rem = n - q * d for d > 0: restoring long division, one quotient bit per iteration. The partial
// remainder stays below 2 d, so it needs DW + 1 bits.
template <int NW, int DW> void udiv(const ap_uint<NW> &n, const ap_uint<DW> &d, ap_uint<NW> &q, ap_uint<DW> &rem) {
    ap_uint<DW + 1> r = 0;
    ap_uint<NW> quot = 0;
UDivide:
    for (int i = NW - 1; i >= 0; i--) {
#pragma HLS PIPELINE II = 1
        r = (r << 1) | ap_uint<DW + 1>(n[i]);
        if (r >= d) {
            r -= d;
            quot[i] = 1;
        }
    }
    q = quot;
    rem = ap_uint<DW>(r);
}

// ---- §2.4 rdiv ------------------------------------------------------------------------------------------------------

// floor((2 n + d) / (2 d)) for d > 0, exact for negative n: the magnitude t = |2 n + d| is divided by 2 d unsigned;
// for negative t the floor is -(q + (rem != 0)). |result| <= |n| / d + 1, so NW + 1 bits hold it.
template <int NW, int DW> ap_int<NW + 1> rdiv(const ap_int<NW> &n, const ap_uint<DW> &d) {
    static const int TW = cmax(NW, DW + 1) + 1; // 2 n + d, signed
    const ap_int<TW + 1> t = (ap_int<TW + 1>(n) << 1) + ap_int<TW + 1>(d);
    const bool neg = t < 0;
    const ap_uint<TW> mag = neg ? ap_uint<TW>(-t) : ap_uint<TW>(t);
    ap_uint<TW> q;
    ap_uint<DW + 1> rem;
    udiv<TW, DW + 1>(mag, ap_uint<DW + 1>(d) << 1, q, rem);
    if (neg) return -ap_int<NW + 1>(q + (rem != 0 ? 1 : 0));
    return ap_int<NW + 1>(q);
}

// ---- §2.5 reciprocal ------------------------------------------------------------------------------------------------

// floor(2**k / d) for d > 0 when the caller guarantees the quotient fits QW bits (2**k < d * 2**QW): long division of
// the one-hot dividend 2**k, starting from its top part 2**(k - QW) (< d by the precondition), QW iterations.
template <int QW, int DW, int KW> ap_uint<QW> reciprocal(const ap_uint<DW> &d, const ap_uint<KW> &k) {
    ap_uint<DW + 1> r = 0;
    if (k >= QW) r[k - QW] = 1; // k - QW < DW by the precondition
    ap_uint<QW> quot = 0;
Reciprocal:
    for (int i = QW - 1; i >= 0; i--) {
#pragma HLS PIPELINE II = 1
        r = (r << 1) | ap_uint<DW + 1>(k == i ? 1 : 0);
        if (r >= d) {
            r -= d;
            quot[i] = 1;
        }
    }
    return quot;
}

// ---- §2.6 isqrt -----------------------------------------------------------------------------------------------------

// floor(sqrt(n)) for any W-bit n: the digit-by-digit (restoring) square root, two radicand bits per iteration. With
// the partial root y, the trial subtrahend is 4 y + 1 and the remainder stays <= 2 y, so RW + 2 bits hold it.
template <int W> ap_uint<(W + 1) / 2> isqrt(const ap_uint<W> &n) {
    static const int RW = (W + 1) / 2;
    const ap_uint<2 * RW> radicand = n;
    ap_uint<RW + 2> rem = 0;
    ap_uint<RW> root = 0;
ISqrt:
    for (int i = RW - 1; i >= 0; i--) {
#pragma HLS PIPELINE II = 1
        rem = (rem << 2) | ap_uint<RW + 2>(radicand(2 * i + 1, 2 * i));
        const ap_uint<RW + 2> trial = (ap_uint<RW + 2>(root) << 2) | 1;
        if (rem >= trial) {
            rem -= trial;
            root = (root << 1) | 1;
        } else {
            root = root << 1;
        }
    }
    return root;
}

} // namespace spvit

#endif // SPVIT_ARITH_HPP
