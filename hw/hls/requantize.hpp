// Requantize: int32 accumulator -> narrow integer (int8 by default).
//
// Contract: docs/arithmetic.md §2.3 (requantize = saturate(round_shift(acc, shift))), with §2.1 round_shift and
// §2.2 saturate. Golden model: spvit.sim.golden.arith.requantize. Every implementation must match it bit for bit:
//   shift > 0   (acc + 2**(shift-1)) >> shift    arithmetic shift, i.e. round half up (towards +inf on ties)
//   shift == 0  acc
//   shift < 0   acc << -shift                     exact (computed wide enough that nothing is lost)
//   then clamp to the range of res_T (ap_int<8>: [-128, 127]).
// Hardware: one adder in front of a barrel shifter, then a comparator pair; no sign logic, no division.
#ifndef SPVIT_REQUANTIZE_HPP
#define SPVIT_REQUANTIZE_HPP

#include "ap_int.h"

namespace spvit {

// Width and signedness of an ap_int / ap_uint type (ap_int_base exposes only the width).
template <class T> struct ap_traits;
template <int W> struct ap_traits<ap_int<W> > {
    static const int width = W;
    static const bool is_signed = true;
};
template <int W> struct ap_traits<ap_uint<W> > {
    static const int width = W;
    static const bool is_signed = false;
};

// Default configuration; a kernel derives from it and overrides what differs (hls4ml style).
struct requantize_config {
    static const int shift_min = -8; // most negative shift: exact left shift by up to 8 bits
    static const int shift_max = 31; // largest right shift
    typedef ap_int<6> shift_t;       // run-time shift: signed, holds [shift_min, shift_max]
};

// The whole range docs/arithmetic.md §2.3 allows (fracs in [-8, 16]): shifts in [-32, 40].
struct requantize_full_config : requantize_config {
    static const int shift_min = -32;
    static const int shift_max = 40;
    typedef ap_int<7> shift_t;
};

// Any shift in [shift_min, shift_max] is exact. The datapath stays narrow whatever the range, because
//  - a right shift by acc_w or more gives 0 for every acc in [-2**(acc_w-1), 2**(acc_w-1)), so right shifts are
//    capped at acc_w;
//  - a left shift by res_w or more saturates every nonzero acc (and keeps 0), so left shifts are capped at res_w.
// A shift outside [shift_min, shift_max] is the caller's error (the csim bridge rejects it).
template <class acc_T, class res_T, typename CONFIG_T = requantize_config>
res_T requantize(acc_T acc, typename CONFIG_T::shift_t shift) {
    static const int acc_w = ap_traits<acc_T>::width;
    static const int res_w = ap_traits<res_T>::width;
    static const bool res_s = ap_traits<res_T>::is_signed;
    static const int shift_w = ap_traits<typename CONFIG_T::shift_t>::width;
    static const int max_left = CONFIG_T::shift_min < 0 ? -CONFIG_T::shift_min : 0;
    static const int left_cap = max_left < res_w ? max_left : res_w;
    static const int right_cap = CONFIG_T::shift_max < acc_w ? CONFIG_T::shift_max : acc_w;
    // acc + 2**(s-1) and 1 << s (s <= acc_w) need two more bits than acc; acc << left_cap needs left_cap more.
    static const int wide_w = acc_w + (left_cap > 2 ? left_cap : 2);
    static_assert(ap_traits<typename CONFIG_T::shift_t>::is_signed, "shift_t is a signed type");
    static_assert(ap_traits<acc_T>::is_signed, "the accumulator is a signed type");
    static_assert(CONFIG_T::shift_min <= 0 && CONFIG_T::shift_max >= 0, "need shift_min <= 0 <= shift_max");
    static_assert(-(1 << (shift_w - 1)) <= CONFIG_T::shift_min && CONFIG_T::shift_max < (1 << (shift_w - 1)),
                  "shift_t cannot hold [shift_min, shift_max]");
    static_assert(res_w < acc_w, "res_T must be narrower than the accumulator");
    typedef ap_int<wide_w> wide_t;
    typedef ap_uint<shift_w> amount_t; // |shift| <= 2**(shift_w-1)

    const wide_t x = acc;
    wide_t shifted;
    if (shift >= 0) {
        // §2.1 round half up: add 2**(s-1), then arithmetic shift right. (1 << s) >> 1 is 2**(s-1) for s >= 1
        // and 0 for s == 0, so shift 0 passes acc through unchanged.
        const amount_t magnitude = shift;
        const amount_t right = magnitude > amount_t(right_cap) ? amount_t(right_cap) : magnitude;
        const wide_t half = (wide_t(1) << right) >> 1;
        shifted = (x + half) >> right;
    } else {
        const amount_t magnitude = -shift;
        const amount_t left = magnitude > amount_t(left_cap) ? amount_t(left_cap) : magnitude;
        shifted = x << left;
    }

    // §2.2 saturate to the range of res_T.
    const wide_t hi = res_s ? wide_t((wide_t(1) << (res_w - 1)) - 1) : wide_t((wide_t(1) << res_w) - 1);
    const wide_t lo = res_s ? wide_t(-(wide_t(1) << (res_w - 1))) : wide_t(0);
    if (shifted > hi) return res_T(hi);
    if (shifted < lo) return res_T(lo);
    return res_T(shifted);
}

} // namespace spvit

#endif // SPVIT_REQUANTIZE_HPP
