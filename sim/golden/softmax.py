"""Integer softmax over a row (docs/arithmetic.md §5.2)."""
from __future__ import annotations

import math

import numpy as np

from .arith import as_i64, reciprocal, round_shift

LOG2E_Q15 = math.floor(math.log2(math.e) * 2**15 + 0.5)  # 47275: log2(e) in Q15
EXP_FRAC = 8  # fractional bits of the base-2 exponent = log2 of the LUT size
# POW2_LUT[r] = 2**(-r/256) in Q15 (uint16, 32768 .. 16428); the only table softmax needs.
POW2_LUT = np.array([math.floor(2.0 ** (15 - r / 2**EXP_FRAC) + 0.5) for r in range(2**EXP_FRAC)], dtype=np.int64)
RECIP_BITS = 40  # R = floor(2**40 / sum): 26 bits for sum >= 2**15, so e*R fits a 27x18 DSP product
PROB_FRAC = 8  # p8: uint8, frac 8 (the A.V operand)
SCORE_FRAC = 16  # p16: uint16, frac 16 (the class-attention row used for scoring, §8.1)


def exp2_neg(d, f: int):
    """§5.2 steps 2-3: e = 2**15 * exp(-d * 2**-f) for d >= 0, via 2**-(q + r/256) = POW2_LUT[r] >> q."""
    d = np.minimum(as_i64(d), np.int64(1) << (f + 4))  # beyond 16.0 the result is 0 anyway: bounds the width
    z = round_shift(d * LOG2E_Q15, f + 15 - EXP_FRAC)
    q = np.minimum(z >> EXP_FRAC, 16)
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
    r = reciprocal(np.sum(e, axis=-1, keepdims=True), RECIP_BITS)
    p8 = np.minimum(round_shift(e * r, RECIP_BITS - PROB_FRAC), 2**PROB_FRAC - 1)
    p16 = np.minimum(round_shift(e * r, RECIP_BITS - SCORE_FRAC), 2**SCORE_FRAC - 1)
    return p8, p16
