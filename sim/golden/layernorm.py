"""Integer LayerNorm (docs/arithmetic.md §6)."""
from __future__ import annotations

import numpy as np

from .arith import as_i64, isqrt, requantize, round_shift

RSQRT_BITS = 31  # r = floor(2**31 / sqrt(V)); 2**62 // V stays inside int64
NORM_FRAC = 15  # z = (x - mean) / (sigma * sqrt(D)) in frac 15, |z| <= 2**15


def layernorm(x, gamma, beta, eps_term: int, shift: int):
    """§6 LayerNorm over the last axis of int8 x.

    gamma: int16 = round(weight * sqrt(D) * 2**f_g); beta: int32 at frac 15 + f_g; eps_term: the eps of the
    float LayerNorm in units of V (§6, computed offline); shift = 15 + f_g - f_out.
    """
    x = as_i64(x)
    d = x.shape[-1]
    c = d * x - np.sum(x, axis=-1, keepdims=True)  # D * (x - mean), exact
    v = np.sum(c * c, axis=-1, keepdims=True) + eps_term  # D**3 * (var + eps), in x-units squared
    r = isqrt((np.int64(1) << (2 * RSQRT_BITS)) // v)  # = floor(2**31 / sqrt(V)) exactly
    z = round_shift(c * r, RSQRT_BITS - NORM_FRAC)
    return requantize(z * as_i64(gamma) + as_i64(beta), shift)


def eps_term(eps: float, f_in: int, dim: int) -> int:
    """§6 Offline: the float eps expressed in units of V = sum(c**2) (at least 1, so V > 0)."""
    return max(1, int(np.floor(eps * 2.0 ** (2 * f_in) * dim**3 + 0.5)))
