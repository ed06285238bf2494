"""Integer primitives of the contract (docs/arithmetic.md §1-§4).

Every datapath value is an integer numpy array. Intermediates are held in int64, which is wider than any
register the contract allows, so a result here is the exact mathematical value the hardware must produce.
"""
from __future__ import annotations

import numpy as np

INT8_MIN, INT8_MAX = -128, 127
# §1.2: int8 x int8 products are at most 2**14 in magnitude; with |bias| <= 2**30 a reduction of this many
# products cannot leave int32.
MAX_REDUCTION = 65535
MAX_ABS_BIAS = 2**30


def as_i64(x) -> np.ndarray:
    """§1.2 int64 holds every register of the contract exactly."""
    return np.asarray(x, dtype=np.int64)


def round_shift(x, shift):
    """§2.1 Arithmetic shift right by `shift` with round-half-up; a negative shift is an exact left shift.

    Round-half-up is `(x + 2**(s-1)) >> s`: one adder in front of the shifter, no sign logic (unlike
    round-half-even or round-half-away-from-zero).
    """
    x = as_i64(x)
    shift = as_i64(shift)
    right = np.maximum(shift, 0)
    bias = np.where(right > 0, np.left_shift(np.int64(1), np.maximum(right - 1, 0)), 0)
    return np.where(shift >= 0, np.right_shift(x + bias, right), np.left_shift(x, np.maximum(-shift, 0)))


def saturate(x, bits: int = 8, signed: bool = True):
    """§2.2 Clamp to the range of a `bits`-wide two's-complement (or unsigned) integer."""
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    return np.clip(as_i64(x), lo, hi)


def requantize(acc, shift, bits: int = 8, signed: bool = True):
    """§2.3 Accumulator -> narrow integer: round_shift by `shift` (= f_acc - f_out), then saturate."""
    return saturate(round_shift(acc, shift), bits, signed)


def rdiv(num, den):
    """§2.4 Integer division rounded half up: floor((2*num + den) / (2*den)), den > 0."""
    num, den = as_i64(num), as_i64(den)
    return np.floor_divide(2 * num + den, 2 * den)


def reciprocal(den, k: int):
    """§2.5 floor(2**k / den), den > 0: one divider per row, then multiplies."""
    return np.floor_divide(np.int64(1) << np.int64(k), as_i64(den))


def bit_length(x):
    """§2.7 Number of bits of x >= 0 (position of the leading one + 1; 0 for 0), x < 2**53."""
    return np.frexp(as_i64(x).astype(np.float64))[1].astype(np.int64)


def isqrt(n):
    """§2.6 floor(sqrt(n)) for 0 <= n < 2**62, exact (float estimate, then integer correction)."""
    n = as_i64(n)
    r = np.floor(np.sqrt(n.astype(np.float64))).astype(np.int64)
    for _ in range(2):  # float64 sqrt is within one unit of the answer for n < 2**62
        r = np.where(r * r > n, r - 1, r)
        r = np.where((r + 1) * (r + 1) <= n, r + 1, r)
    return r


def linear(x, weight, bias=None):
    """§3 int8 activations x int8 weights (out, in) -> int32 accumulators (+ int32 bias at accumulator scale)."""
    acc = as_i64(x) @ as_i64(weight).T
    if bias is not None:
        acc = acc + as_i64(bias)
    return acc


def residual_add(x, fx: int, y, fy: int, f_out: int):
    """§4 Align both operands to the finer scale (exact left shift), add, requantize to f_out."""
    f = max(fx, fy)
    total = round_shift(x, fx - f) + round_shift(y, fy - f)
    return requantize(total, f - f_out)
