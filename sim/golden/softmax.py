"""Integer softmax over a row (docs/arithmetic.md §5.2)."""
from __future__ import annotations

import math

import numpy as np

from .arith import as_i64, bit_length, reciprocal, round_shift

LOG2E_Q15 = math.floor(math.log2(math.e) * 2**15 + 0.5)  # 47274: log2(e) in Q15
EXP_FRAC = 8  # fractional bits of the base-2 exponent = log2 of the LUT size
EXP_BITS = 23  # e = 2**23 * exp(-d): 24-bit values, so flooring small entries costs < 2**-23 of the maximum each
# POW2_LUT[r] = 2**(-r/256) in Q23 (8388608 .. 4205774); the only table softmax needs.
POW2_LUT = np.array([math.floor(2.0 ** (EXP_BITS - r / 2**EXP_FRAC) + 0.5) for r in range(2**EXP_FRAC)], dtype=np.int64)
RECIP_BITS = 39  # R = floor(2**(39 + s) / sum) in (2**15, 2**16]: e * R is a 24 x 17-bit product (one DSP48E2)
PROB_FRAC = 8  # p8: uint8, frac 8 (the A.V operand)
SCORE_FRAC = 16  # p16: uint16, frac 16 (the class-attention row used for scoring, §8.1)


def exp2_neg(d, f: int):
    """§5.2 steps 1-3: e = 2**23 * exp(-d * 2**-f) for d >= 0, via 2**-(q + r/256) = POW2_LUT[r] >> q."""
    d = np.minimum(as_i64(d), np.int64(1) << (f + 5))  # beyond 32.0 the result is 0 anyway: bounds the width
    z = round_shift(d * LOG2E_Q15, f + 15 - EXP_FRAC)
    q = np.minimum(z >> EXP_FRAC, EXP_BITS + 1)
    return POW2_LUT[z & (2**EXP_FRAC - 1)] >> q


def softmax(x, f: int, mask=None):
    """§5.2 Softmax of int rows x (frac f) along the last axis; masked-out entries take no part and give 0.

    Returns (p8, p16): the same probabilities as uint8 frac 8 (saturated at 255) and uint16 frac 16.
    """
    x = as_i64(x)
    if mask is None:
        mask = np.ones(x.shape, dtype=bool)
    mask = np.broadcast_to(mask, x.shape)
    floor = np.iinfo(np.int64).min
    m = np.max(np.where(mask, x, floor), axis=-1, keepdims=True)
    e = np.where(mask, exp2_neg(np.where(mask, m - x, 0), f), 0)
    total = np.sum(e, axis=-1, keepdims=True)
    s = bit_length(total) - (EXP_BITS + 1)  # normalise: sum in [2**(23+s), 2**(24+s)), s >= 0
    r = reciprocal(total, RECIP_BITS + s)
    p8 = np.minimum(round_shift(e * r, RECIP_BITS + s - PROB_FRAC), 2**PROB_FRAC - 1)
    p16 = np.minimum(round_shift(e * r, RECIP_BITS + s - SCORE_FRAC), 2**SCORE_FRAC - 1)
    return p8, p16
