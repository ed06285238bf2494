"""Element-wise nonlinearities as 256-entry tables on int8 input (docs/arithmetic.md §7)."""
from __future__ import annotations

import math

import numpy as np

from .arith import as_i64, saturate


def lut(x, table):
    """§7 y = table[x mod 256]: the int8 input's two's-complement byte is the address."""
    return as_i64(table)[as_i64(x) & 0xFF]


def gelu(v: float) -> float:
    """§7 GELU, exact erf form (offline, float64)."""
    return 0.5 * v * (1.0 + math.erf(v / math.sqrt(2.0)))


def sigmoid(v: float) -> float:
    """§7 logistic sigmoid (offline, float64)."""
    return 1.0 / (1.0 + math.exp(-v))


FUNCTIONS = {"gelu": gelu, "sigmoid": sigmoid}


def make_lut(function: str, f_in: int, f_out: int, signed: bool = True) -> np.ndarray:
    """§7 Offline, float64: table[i] = saturate(floor(fn(q * 2**-f_in) * 2**f_out + 0.5)), q = int8(i)."""
    fn = FUNCTIONS[function]
    codes = [i - 256 if i >= 128 else i for i in range(256)]
    table = [math.floor(fn(q * 2.0**-f_in) * 2.0**f_out + 0.5) for q in codes]
    return saturate(np.array(table, dtype=np.int64), 8, signed).astype(np.int8 if signed else np.uint8)
