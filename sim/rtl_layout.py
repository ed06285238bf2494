"""Memory layouts of the RTL kernels (hw/rtl/), shared by the cocotb testbenches and the host driver.

One function per layout, so the testbench that proves a kernel bit-exact and the driver that loads a model into the
FPGA's memories cannot disagree.

`linear` (hw/rtl/linear.sv, docs/arithmetic.md §3), parameters IN_DIM, OUT_DIM, SIMD, PE:
  SF = IN_DIM / SIMD synapse folds, NF = OUT_DIM / PE neuron folds.
  Weight memory: NF * SF words of PE * SIMD int8 lanes. Word `nf * SF + sf`, lane (p, s) -- bits
  [(p * SIMD + s) * 8 +: 8], two's complement -- holds W[nf * PE + p, sf * SIMD + s] (torch layout W[out, in]).
  Bias memory: NF words of PE int32 lanes. Word `nf`, lane p -- bits [p * 32 +: 32] -- holds bias[nf * PE + p].
  A word is returned as a Python int (lane 0 in the least significant bits), the way a BRAM initialiser or an
  AXI write of the word's bytes in little-endian order would hold it.
"""
from __future__ import annotations

import numpy as np


def pack_lanes(values, lane_bits: int) -> int:
    """Lanes (lane 0 first) -> one word, lane i at bits [i*lane_bits +: lane_bits], two's complement."""
    mask = (1 << lane_bits) - 1
    word = 0
    for i, v in enumerate(np.asarray(values, dtype=np.int64).ravel().tolist()):
        word |= (int(v) & mask) << (i * lane_bits)
    return word


def unpack_lanes(word: int, lanes: int, lane_bits: int, signed: bool = True) -> np.ndarray:
    """Inverse of pack_lanes: one word -> `lanes` integers (signed two's complement or unsigned)."""
    mask = (1 << lane_bits) - 1
    out = np.array([(int(word) >> (i * lane_bits)) & mask for i in range(lanes)], dtype=np.int64)
    if signed:
        out = np.where(out >= 1 << (lane_bits - 1), out - (1 << lane_bits), out)
    return out


def _folds(weight: np.ndarray, simd: int, pe: int) -> tuple[int, int]:
    out_dim, in_dim = weight.shape
    if in_dim % simd or out_dim % pe:
        raise ValueError(f"SIMD {simd} must divide IN_DIM {in_dim} and PE {pe} must divide OUT_DIM {out_dim}")
    return out_dim // pe, in_dim // simd


def linear_weight_lanes(weight, simd: int, pe: int) -> np.ndarray:
    """W [OUT_DIM, IN_DIM] -> [NF * SF, PE, SIMD] int64: entry [nf*SF + sf, p, s] = W[nf*PE + p, sf*SIMD + s]."""
    w = np.asarray(weight, dtype=np.int64)
    nf, sf = _folds(w, simd, pe)
    # [NF, PE, SF, SIMD] -> [NF, SF, PE, SIMD]
    return w.reshape(nf, pe, sf, simd).transpose(0, 2, 1, 3).reshape(nf * sf, pe, simd)


def linear_weight_words(weight, simd: int, pe: int) -> list[int]:
    """The weight memory of hw/rtl/linear.sv: NF*SF words of PE*SIMD*8 bits (layout in the module docstring)."""
    w = np.asarray(weight, dtype=np.int64)
    if w.size and (w.min() < -128 or w.max() > 127):
        raise ValueError("linear weights must be int8")
    return [pack_lanes(word, 8) for word in linear_weight_lanes(w, simd, pe)]


def linear_bias_words(bias, pe: int) -> list[int]:
    """The bias memory of hw/rtl/linear.sv: NF words of PE int32 lanes, word nf lane p = bias[nf*PE + p]."""
    b = np.asarray(bias, dtype=np.int64).ravel()
    if b.size % pe:
        raise ValueError(f"PE {pe} must divide OUT_DIM {b.size}")
    if b.size and (b.min() < -(1 << 31) or b.max() >= 1 << 31):
        raise ValueError("linear biases must be int32")
    return [pack_lanes(word, 32) for word in b.reshape(-1, pe)]
