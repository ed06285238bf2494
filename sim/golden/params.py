"""Integer parameters of one layer, as the operations of the contract consume them (shifts, not scales)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .arith import as_i64, linear, requantize


@dataclass(frozen=True)
class LinearParams:
    """§3 weight int8 [out, in] (or [H, out, in] for per-head layers), bias int32 at accumulator scale,
    shift = f_in + f_w - f_out."""

    weight: np.ndarray
    bias: np.ndarray
    shift: int

    def accumulate(self, x):
        """§3 int32 accumulators; a per-head weight maps x [..., H, in] -> [..., H, out]."""
        if self.weight.ndim == 3:
            return np.einsum("...hi,hoi->...ho", as_i64(x), as_i64(self.weight)) + as_i64(self.bias)
        return linear(x, self.weight, self.bias)

    def __call__(self, x):
        """§2.3 accumulate, then requantize to int8."""
        return requantize(self.accumulate(x), self.shift)


@dataclass(frozen=True)
class NormParams:
    """§6 gamma int16, beta int32, eps_term, shift = 15 + f_g - f_out."""

    gamma: np.ndarray
    beta: np.ndarray
    eps_term: int
    shift: int
