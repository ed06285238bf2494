"""The HLS kernels (hw/hls/*.hpp) run by g++ C-simulation, as numpy functions.

Each wrapper carries the same name and takes the same arguments as the golden function it must match bit for bit
(spvit.sim.golden): `requantize` <-> `arith.requantize`, `softmax` <-> `softmax.softmax`, ... The ctypes bridges are
hw/hls/csim/<op>_csim.cpp, built and cached by spvit.sim.hls_csim. Kernels whose sizes are compile-time template
parameters are instantiated by their bridge for a fixed list of configurations (read back from the bridge by the
`*_configs()` functions below); a call with another size raises ValueError. sim/hls_backend.py runs whole models.
"""
from __future__ import annotations

import ctypes
from functools import lru_cache

import numpy as np

from .golden.softmax import PROB_FRAC
from .hls_csim import as_c, load, ndptr

c_int, c_i64 = ctypes.c_int, ctypes.c_int64


def _declare(lib: ctypes.CDLL, name: str, argtypes: list, restype=None):
    fn = getattr(lib, name)
    fn.argtypes = argtypes
    fn.restype = restype
    return fn


def _in(dtype):
    return ndptr(dtype)


def _out(dtype):
    return ndptr(dtype, True)


def mismatches(got, want, limit: int = 10) -> str | None:
    """None when `got` equals `want` exactly (shape and every integer value, never a tolerance), else a report of
    the first mismatches, for the tests' `assert (bad := mismatches(...)) is None, bad`."""
    got, want = np.asarray(got), np.asarray(want)
    if got.shape != want.shape:
        return f"shape {got.shape} != expected {want.shape}"
    g, w = got.astype(np.int64), want.astype(np.int64)
    if np.array_equal(g, w):
        return None
    bad = np.argwhere(g != w)
    rows = [f"  at {tuple(int(j) for j in i)}: got {g[tuple(i)]}, expected {w[tuple(i)]}" for i in bad[:limit]]
    return f"{len(bad)} of {got.size} values differ:\n" + "\n".join(rows)


# ---- requantize (§2.3) -------------------------------------------------------------------------------------------

# hw/hls/requantize.hpp configurations the bridge instantiates: name -> index in requantize_csim.cpp.
REQUANTIZE_CONFIGS = {
    "default": 0,  # spvit::requantize_config, shifts [-8, 31], ap_int<6>
    "full": 1,  # spvit::requantize_full_config, shifts [-32, 40] (docs/arithmetic.md §2.3), ap_int<7>
}


@lru_cache(maxsize=None)
def _requantize_lib() -> ctypes.CDLL:
    lib = load("requantize", ["csim/requantize_csim.cpp"])
    _declare(lib, "spvit_requantize_i32_i8", [c_int, _in(np.int32), _in(np.int32), _out(np.int8), c_i64], c_int)
    for name in ("spvit_requantize_shift_min", "spvit_requantize_shift_max"):
        _declare(lib, name, [c_int], c_int)
    return lib


def _config_index(config: str) -> int:
    try:
        return REQUANTIZE_CONFIGS[config]
    except KeyError:
        raise ValueError(f"unknown requantize config {config!r}; known: {', '.join(REQUANTIZE_CONFIGS)}") from None


def requantize_shift_range(config: str = "default") -> tuple[int, int]:
    """[min, max] shift that a configuration of hw/hls/requantize.hpp accepts."""
    lib, index = _requantize_lib(), _config_index(config)
    return lib.spvit_requantize_shift_min(index), lib.spvit_requantize_shift_max(index)


def requantize(acc, shift, config: str = "default") -> np.ndarray:
    """hw/hls/requantize.hpp (ap_int<32> -> ap_int<8>) run by g++; same contract as golden arith.requantize.

    `shift` is a scalar or an array broadcastable to `acc`'s shape; `config` picks the shift range
    (REQUANTIZE_CONFIGS).
    """
    index = _config_index(config)
    acc_c = as_c(acc, np.int32)
    shift_c = as_c(np.broadcast_to(np.asarray(shift), acc_c.shape), np.int32)
    out = np.empty(acc_c.shape, dtype=np.int8)
    rc = _requantize_lib().spvit_requantize_i32_i8(index, acc_c.ravel(), shift_c.ravel(), out.reshape(-1), acc_c.size)
    if rc != 0:
        lo, hi = requantize_shift_range(config)
        raise ValueError(f"shift outside [{lo}, {hi}] (requantize config {config!r})")
    return out


# ---- arith primitives (§2.1, §2.4-§2.7) -----------------------------------------------------------------------------


@lru_cache(maxsize=None)
def _arith_lib() -> ctypes.CDLL:
    lib = load("arith", ["csim/arith_csim.cpp"])
    _declare(lib, "spvit_bit_length_u53", [_in(np.uint64), _out(np.int32), c_i64])
    _declare(lib, "spvit_rdiv_i48_u33", [_in(np.int64), _in(np.int64), _out(np.int64), c_i64])
    _declare(lib, "spvit_reciprocal_softmax", [_in(np.uint64), _out(np.int64), c_i64])
    _declare(lib, "spvit_reciprocal_u62", [_in(np.uint64), _in(np.int32), _out(np.int64), c_i64])
    _declare(lib, "spvit_isqrt_u63", [_in(np.uint64), _out(np.int64), c_i64])
    _declare(lib, "spvit_round_shift_i48", [_in(np.int64), _in(np.int32), _out(np.int64), c_i64])
    return lib


def _check_range(name: str, a: np.ndarray, lo: int, hi: int):
    if a.size and (a.min() < lo or a.max() > hi):
        raise ValueError(f"{name} outside [{lo}, {hi}]")


def bit_length(x) -> np.ndarray:
    """spvit::bit_length<53> (§2.7) for 0 <= x < 2**53."""
    x = np.asarray(x, dtype=np.int64)
    _check_range("x", x, 0, 2**53 - 1)
    xc = np.ascontiguousarray(x, dtype=np.uint64)
    out = np.empty(x.shape, dtype=np.int32)
    _arith_lib().spvit_bit_length_u53(xc.ravel(), out.reshape(-1), x.size)
    return out.astype(np.int64)


def rdiv(num, den) -> np.ndarray:
    """spvit::rdiv<48, 33> (§2.4): num int48, 0 < den < 2**33."""
    num, den = np.broadcast_arrays(np.asarray(num, dtype=np.int64), np.asarray(den, dtype=np.int64))
    _check_range("num", num, -(2**47), 2**47 - 1)
    _check_range("den", den, 1, 2**33 - 1)
    out = np.empty(num.shape, dtype=np.int64)
    _arith_lib().spvit_rdiv_i48_u33(np.ascontiguousarray(num).ravel(), np.ascontiguousarray(den).ravel(),
                                    out.reshape(-1), num.size)
    return out


def reciprocal(den, k) -> np.ndarray:
    """spvit::reciprocal<63, 62> (§2.5): floor(2**k / den) for 0 <= k <= 62, 0 < den < 2**62."""
    den, k = np.broadcast_arrays(np.asarray(den, dtype=np.int64), np.asarray(k, dtype=np.int64))
    _check_range("den", den, 1, 2**62 - 1)
    _check_range("k", k, 0, 62)
    out = np.empty(den.shape, dtype=np.int64)
    _arith_lib().spvit_reciprocal_u62(np.ascontiguousarray(den, dtype=np.uint64).ravel(),
                                      np.ascontiguousarray(k, dtype=np.int32).ravel(), out.reshape(-1), den.size)
    return out


def softmax_reciprocal(total) -> np.ndarray:
    """§5.2 step 4 as softmax.hpp computes it: reciprocal(S, 39 + bit_length(S) - 24), 2**23 <= S < 2**40."""
    total = np.asarray(total, dtype=np.int64)
    _check_range("S", total, 2**23, 2**40 - 1)
    out = np.empty(total.shape, dtype=np.int64)
    _arith_lib().spvit_reciprocal_softmax(np.ascontiguousarray(total, dtype=np.uint64).ravel(), out.reshape(-1),
                                          total.size)
    return out


def isqrt(n) -> np.ndarray:
    """spvit::isqrt<63> (§2.6) for 0 <= n < 2**63."""
    n = np.asarray(n, dtype=np.int64)
    _check_range("n", n, 0, 2**63 - 1)
    out = np.empty(n.shape, dtype=np.int64)
    _arith_lib().spvit_isqrt_u63(np.ascontiguousarray(n, dtype=np.uint64).ravel(), out.reshape(-1), n.size)
    return out


def round_shift(x, shift) -> np.ndarray:
    """spvit::round_shift_right<48, 48> (§2.1) for int48 x and 0 <= shift <= 63."""
    x, shift = np.broadcast_arrays(np.asarray(x, dtype=np.int64), np.asarray(shift, dtype=np.int64))
    _check_range("x", x, -(2**47), 2**47 - 1)
    _check_range("shift", shift, 0, 63)
    out = np.empty(x.shape, dtype=np.int64)
    _arith_lib().spvit_round_shift_i48(np.ascontiguousarray(x).ravel(), np.ascontiguousarray(shift, dtype=np.int32)
                                       .ravel(), out.reshape(-1), x.size)
    return out


# ---- linear (§3) ---------------------------------------------------------------------------------------------------


@lru_cache(maxsize=None)
def _linear_lib() -> ctypes.CDLL:
    lib = load("linear", ["csim/linear_csim.cpp"])
    p_int = ctypes.POINTER(c_int)
    _declare(lib, "spvit_linear_config", [c_int, p_int, p_int, p_int], c_int)
    _declare(lib, "spvit_linear", [c_int, _in(np.int8), c_i64, _in(np.int8), _in(np.int32), c_int, c_int,
                                   _out(np.int8), _out(np.int32)], c_int)
    return lib


def linear_configs() -> dict[tuple[int, int, int], int]:
    """(n_heads, n_in, n_out) -> index of the linear.hpp configurations the bridge instantiates."""
    lib, out, index = _linear_lib(), {}, 0
    while True:
        h, i, o = c_int(), c_int(), c_int()
        if lib.spvit_linear_config(index, ctypes.byref(h), ctypes.byref(i), ctypes.byref(o)) != 0:
            return out
        out[(h.value, i.value, o.value)] = index
        index += 1


def _linear_run(x, weight, bias, shift: int | None) -> np.ndarray:
    """x [..., H, in] (per head, weight [H, out, in]) or [..., in] (weight [out, in]); shift None keeps the int32
    accumulators."""
    weight = np.asarray(weight)
    per_head = weight.ndim == 3
    w3 = weight if per_head else weight[None]
    heads, n_out, n_in = w3.shape
    configs = linear_configs()
    if (heads, n_in, n_out) not in configs:
        raise ValueError(f"no linear.hpp configuration for (heads, in, out) = {(heads, n_in, n_out)}; "
                         f"built: {sorted(configs)}")
    x = np.asarray(x)
    lead = x.shape[:-2] if per_head else x.shape[:-1]
    if x.shape[len(lead):] != ((heads, n_in) if per_head else (n_in,)):
        raise ValueError(f"x shape {x.shape} does not match weight shape {weight.shape}")
    bias = np.zeros((heads, n_out), dtype=np.int64) if bias is None else np.asarray(bias).reshape(heads, n_out)
    xc, wc, bc = as_c(x, np.int8), as_c(w3, np.int8), as_c(bias, np.int32)
    n_tok = int(np.prod(lead, dtype=np.int64))
    y = np.empty(lead + (heads, n_out), dtype=np.int8)
    acc = np.empty(lead + (heads, n_out), dtype=np.int32)
    rc = _linear_lib().spvit_linear(configs[(heads, n_in, n_out)], xc.reshape(-1), n_tok, wc.reshape(-1),
                                    bc.reshape(-1), 0 if shift is None else int(shift), int(shift is None),
                                    y.reshape(-1), acc.reshape(-1))
    if rc != 0:
        raise ValueError(f"shift {shift} outside the requantizer's range")
    out = acc.astype(np.int64) if shift is None else y
    return out if per_head else out[..., 0, :]


def linear(x, weight, bias=None) -> np.ndarray:
    """spvit::linear_acc (§3), same contract as golden arith.linear: int32 accumulators [..., out]."""
    if np.asarray(weight).ndim != 2:
        raise ValueError("linear takes a [out, in] weight; per-head layers go through linear_layer")
    return _linear_run(x, weight, bias, None)


def linear_layer(params, x) -> np.ndarray:
    """spvit::linear / linear_per_head (§3, §2.3): golden `LinearParams(weight, bias, shift)(x)`, int8."""
    return _linear_run(x, params.weight, params.bias, params.shift)


# ---- residual_add (§4) -----------------------------------------------------------------------------------------------


@lru_cache(maxsize=None)
def _residual_add_lib() -> ctypes.CDLL:
    lib = load("residual_add", ["csim/residual_add_csim.cpp"])
    _declare(lib, "spvit_residual_add", [_in(np.int8), _in(np.int8), c_i64, c_int, c_int, c_int, _out(np.int8)],
             c_int)
    return lib


def residual_add(x, fx: int, y, fy: int, f_out: int) -> np.ndarray:
    """spvit::residual_add (§4), same arguments as golden arith.residual_add; the shifts are the kernel's registers."""
    f = max(fx, fy)
    xc, yc = np.broadcast_arrays(as_c(x, np.int8), as_c(y, np.int8))
    xc, yc = np.ascontiguousarray(xc), np.ascontiguousarray(yc)
    out = np.empty(xc.shape, dtype=np.int8)
    rc = _residual_add_lib().spvit_residual_add(xc.reshape(-1), yc.reshape(-1), xc.size, f - fx, f - fy, f - f_out,
                                                out.reshape(-1))
    if rc != 0:
        raise ValueError(f"fracs ({fx}, {fy}) -> {f_out} give shifts outside the kernel's registers")
    return out


# ---- lut (§7) --------------------------------------------------------------------------------------------------------


@lru_cache(maxsize=None)
def _lut_lib() -> ctypes.CDLL:
    lib = load("lut", ["csim/lut_csim.cpp"])
    _declare(lib, "spvit_lut_i8", [_in(np.int8), c_i64, _in(np.int8), _out(np.int8)])
    _declare(lib, "spvit_lut_u8", [_in(np.int8), c_i64, _in(np.uint8), _out(np.uint8)])
    return lib


def lut(x, table) -> np.ndarray:
    """spvit::lut (§7), same contract as golden lut.lut. A uint8 table (or one with entries above 127) runs the
    unsigned instance (sigmoid, frac 8), any other the int8 one (GELU)."""
    table = np.asarray(table)
    if table.shape != (256,):
        raise ValueError("a lut table has 256 entries")
    xc = as_c(x, np.int8)
    unsigned = table.dtype == np.uint8 or (table.size and table.max() > 127)
    dtype = np.uint8 if unsigned else np.int8
    tc = as_c(table, dtype)
    out = np.empty(xc.shape, dtype=dtype)
    fn = _lut_lib().spvit_lut_u8 if unsigned else _lut_lib().spvit_lut_i8
    fn(xc.reshape(-1), xc.size, tc, out.reshape(-1))
    return out


# ---- layernorm (§6) -------------------------------------------------------------------------------------------------


@lru_cache(maxsize=None)
def _layernorm_lib() -> ctypes.CDLL:
    lib = load("layernorm", ["csim/layernorm_csim.cpp"])
    _declare(lib, "spvit_layernorm_config", [c_int], c_int)
    _declare(lib, "spvit_layernorm", [c_int, _in(np.int8), c_i64, _in(np.int16), _in(np.int32), c_i64, c_int,
                                      _out(np.int8)], c_int)
    return lib


def layernorm_configs() -> dict[int, int]:
    """D -> index of the layernorm.hpp configurations the bridge instantiates."""
    lib, out, index = _layernorm_lib(), {}, 0
    while (d := lib.spvit_layernorm_config(index)) > 0:
        out[d] = index
        index += 1
    return out


def layernorm(x, gamma, beta, eps_term: int, shift: int) -> np.ndarray:
    """spvit::layernorm (§6), same arguments as golden layernorm.layernorm, over the last axis of int8 x."""
    x = as_c(x, np.int8)
    d = x.shape[-1]
    configs = layernorm_configs()
    if d not in configs:
        raise ValueError(f"no layernorm.hpp configuration for D = {d}; built: {sorted(configs)}")
    g, b = as_c(np.broadcast_to(gamma, (d,)), np.int16), as_c(np.broadcast_to(beta, (d,)), np.int32)
    y = np.empty(x.shape, dtype=np.int8)
    rc = _layernorm_lib().spvit_layernorm(configs[d], x.reshape(-1), x.size // d, g, b, int(eps_term), int(shift),
                                          y.reshape(-1))
    if rc != 0:
        raise ValueError(f"shift {shift} or eps term {eps_term} outside the kernel's registers")
    return y


# ---- softmax (§5.2) --------------------------------------------------------------------------------------------------


@lru_cache(maxsize=None)
def _softmax_lib() -> ctypes.CDLL:
    lib = load("softmax", ["csim/softmax_csim.cpp"])
    _declare(lib, "spvit_softmax_config", [c_int], c_int)
    _declare(lib, "spvit_softmax", [c_int, _in(np.int32), c_i64, c_i64, _in(np.int32), c_int, _out(np.uint8),
                                    _out(np.uint16)], c_int)
    _declare(lib, "spvit_softmax_pow2", [_out(np.int32)])
    _declare(lib, "spvit_softmax_log2e", [], c_int)
    return lib


def _sizes(query) -> list[int]:
    out, index = [], 0
    while (n := query(index)) > 0:
        out.append(n)
        index += 1
    return out


def softmax_configs() -> list[int]:
    """n_max of each softmax.hpp configuration the bridge instantiates."""
    return _sizes(_softmax_lib().spvit_softmax_config)


def softmax_constants() -> tuple[np.ndarray, int]:
    """(POW2 ROM, LOG2E) exactly as softmax.hpp compiles them."""
    table = np.empty(256, dtype=np.int32)
    _softmax_lib().spvit_softmax_pow2(table)
    return table.astype(np.int64), int(_softmax_lib().spvit_softmax_log2e())


def prefix_counts(mask, shape) -> np.ndarray:
    """Per row, the number of leading True entries of `mask` (broadcast to `shape`); a mask that is not a prefix
    (tokens present are always the first n, §11) raises ValueError."""
    length = shape[-1]
    if mask is None:
        return np.full(shape[:-1], length, dtype=np.int64)
    m = np.broadcast_to(np.asarray(mask, dtype=bool), shape)
    n = m.sum(axis=-1)
    if not np.array_equal(m, np.arange(length) < n[..., None]):
        raise ValueError("the HLS kernels take the tokens present as a prefix of the row (a count n), not any mask")
    return n.astype(np.int64)


def softmax(x, f: int, mask=None) -> tuple[np.ndarray, np.ndarray]:
    """spvit::softmax (§5.2), same contract as golden softmax.softmax along the last axis; `mask` must mark a prefix
    of every row (the tokens present). Returns (p8 uint8, p16 uint16)."""
    xc = as_c(x, np.int32)
    length = xc.shape[-1]
    n = prefix_counts(mask, xc.shape)
    fits = [i for i, n_max in enumerate(softmax_configs()) if n_max >= length]
    if not fits:
        raise ValueError(f"rows of {length} exceed every softmax.hpp configuration {softmax_configs()}")
    rows = xc.size // length if length else 0
    p8 = np.empty(xc.shape, dtype=np.uint8)
    p16 = np.empty(xc.shape, dtype=np.uint16)
    rc = _softmax_lib().spvit_softmax(fits[0], xc.reshape(-1), rows, length,
                                      np.ascontiguousarray(n, dtype=np.int32).reshape(-1), int(f), p8.reshape(-1),
                                      p16.reshape(-1))
    if rc != 0:
        raise ValueError(f"frac {f} outside [-5, 32] or a bad row length")
    return p8, p16


# ---- attention (§5) and asvit_score (§8.1) ---------------------------------------------------------------------------


@lru_cache(maxsize=None)
def _attention_lib() -> ctypes.CDLL:
    lib = load("attention", ["csim/attention_csim.cpp"])
    p_int = ctypes.POINTER(c_int)
    _declare(lib, "spvit_attention_config", [c_int, p_int, p_int, p_int], c_int)
    _declare(lib, "spvit_attention", [c_int, _in(np.int8), _in(np.int8), _in(np.int8), c_i64, c_i64, _in(np.int32),
                                      c_int, c_int, _out(np.int8), _out(np.uint16), _out(np.int8)], c_int)
    _declare(lib, "spvit_asvit_score", [c_int, _in(np.uint16), _in(np.int8), c_i64, c_i64, _in(np.int32),
                                        _out(np.uint16)], c_int)
    return lib


def attention_configs() -> dict[tuple[int, int], tuple[int, int]]:
    """(n_heads, d_head) -> (index, n_max) of the attention.hpp configurations the bridge instantiates."""
    lib, out, index = _attention_lib(), {}, 0
    while True:
        h, dh, n = c_int(), c_int(), c_int()
        if lib.spvit_attention_config(index, ctypes.byref(h), ctypes.byref(dh), ctypes.byref(n)) != 0:
            return out
        out[(h.value, dh.value)] = (index, n.value)
        index += 1


def _attention_config(heads: int, d_head: int, length: int) -> int:
    configs = attention_configs()
    if (heads, d_head) not in configs or configs[(heads, d_head)][1] < length:
        raise ValueError(f"no attention.hpp configuration for {heads} heads of {d_head} channels and {length} tokens;"
                         f" built: {configs}")
    return configs[(heads, d_head)][0]


def attention(q, k, v, fq: int, fk: int, fv: int, f_out: int, mask=None, return_cls_ctx: bool = False):
    """spvit::attention (§5), same contract as golden attention.attention: q, k, v int8 [B, H, N, dh], mask bool
    [B, N] (a prefix per image, at least one token). Returns (ctx int8 [B, H, N, dh], class row p16 [B, H, N]),
    and with `return_cls_ctx` also the kernel's class-context output int8 [B, H, dh] (§5.4)."""
    qc, kc, vc = (as_c(a, np.int8) for a in (q, k, v))
    b, heads, length, d_head = qc.shape
    n = prefix_counts(mask, (b, length))
    index = _attention_config(heads, d_head, length)
    ctx = np.empty(qc.shape, dtype=np.int8)
    cls_p16 = np.empty((b, heads, length), dtype=np.uint16)
    cls_ctx = np.empty((b, heads, d_head), dtype=np.int8)
    rc = _attention_lib().spvit_attention(index, qc.reshape(-1), kc.reshape(-1), vc.reshape(-1), b, length,
                                          np.ascontiguousarray(n, dtype=np.int32), fq + fk, PROB_FRAC + fv - f_out,
                                          ctx.reshape(-1), cls_p16.reshape(-1), cls_ctx.reshape(-1))
    if rc != 0:
        raise ValueError("attention arguments outside the kernel's registers (f_q + f_k in [-5, 32], "
                         "8 + f_v - f_out in [-32, 40], 1 <= n)")
    return (ctx, cls_p16, cls_ctx) if return_cls_ctx else (ctx, cls_p16)


def asvit_score(cls_p16, cls_ctx, n_valid=None) -> np.ndarray:
    """spvit::asvit_score (§8.1), same contract as golden scoring.asvit_score: cls_p16 uint16 [B, H, N], cls_ctx
    int8 [B, H, dh] -> uint16 [B, N]. `n_valid` [B] (default N): tokens beyond it score 0 in hardware."""
    pc, cc = as_c(cls_p16, np.uint16), as_c(cls_ctx, np.int8)
    b, heads, length = pc.shape
    index = _attention_config(heads, cc.shape[-1], length)
    n = np.full(b, length) if n_valid is None else np.asarray(n_valid)
    score = np.empty((b, length), dtype=np.uint16)
    rc = _attention_lib().spvit_asvit_score(index, pc.reshape(-1), cc.reshape(-1), b, length,
                                            np.ascontiguousarray(n, dtype=np.int32), score.reshape(-1))
    if rc != 0:
        raise ValueError("asvit_score arguments outside the kernel's registers")
    return score


# ---- topk_select (§9) ------------------------------------------------------------------------------------------------


@lru_cache(maxsize=None)
def _topk_lib() -> ctypes.CDLL:
    lib = load("topk_select", ["csim/topk_select_csim.cpp"])
    p_int = ctypes.POINTER(c_int)
    _declare(lib, "spvit_topk_select_config", [c_int, p_int, p_int], c_int)
    _declare(lib, "spvit_topk_select", [c_int, _in(np.uint16), c_i64, c_i64, _in(np.int32), c_int, _in(np.int32),
                                        c_int, _in(np.int32), _out(np.int32), _out(np.int32)], c_int)
    return lib


def topk_select_configs() -> list[tuple[int, int]]:
    """(n_max, k_max) of each topk_select.hpp configuration, by index."""
    lib, out = _topk_lib(), []
    while True:
        n, k = c_int(), c_int()
        if lib.spvit_topk_select_config(len(out), ctypes.byref(n), ctypes.byref(k)) != 0:
            return out
        out.append((n.value, k.value))


_STREAM_ERRORS = {-3: "fewer elements in the output stream than the kernel's count",
                  -4: "elements left over in the output stream after the kernel's count"}


def topk_select_indices(scores, n_valid, n_protected_tail: int, k, threshold=None, config: int | None = None):
    """spvit::topk_select (§9): per image, the kept candidate indices in the order the kernel streams them.

    k (and threshold, for threshold mode) are scalars or per image. `config` picks a bridge configuration (index
    into topk_select_configs()); by default the smallest that holds N tokens with k_max >= max(k) -- or, when no
    configuration is that long, the longest. k above k_max raises."""
    sc = as_c(scores, np.uint16)
    b, length = sc.shape
    n = np.broadcast_to(np.asarray(n_valid), (b,))
    kk = np.broadcast_to(np.minimum(np.asarray(k), length), (b,))
    configs = topk_select_configs()
    if config is None:
        fits = [i for i, (n_max, k_max) in enumerate(configs) if n_max >= length and k_max >= kk.max(initial=0)]
        if not fits:
            raise ValueError(f"no topk_select.hpp configuration for {length} tokens and k = {kk.max()}: {configs}")
        config = min(fits, key=lambda i: configs[i])
    mode = threshold is not None
    th = np.broadcast_to(np.asarray(0 if threshold is None else threshold), (b,))
    kept = np.zeros((b, length), dtype=np.int32)
    count = np.zeros(b, dtype=np.int32)
    rc = _topk_lib().spvit_topk_select(config, sc.reshape(-1), b, length, np.ascontiguousarray(n, dtype=np.int32),
                                       int(n_protected_tail), np.ascontiguousarray(kk, dtype=np.int32), int(mode),
                                       np.ascontiguousarray(th, dtype=np.int32), kept.reshape(-1), count)
    if rc in _STREAM_ERRORS:
        raise AssertionError(f"topk_select: {_STREAM_ERRORS[rc]}")
    if rc != 0:
        raise ValueError(f"topk_select arguments outside configuration {configs[config]} (rc {rc})")
    return [kept[i, : count[i]].astype(np.int64) for i in range(b)]


def topk_select(scores, n_valid, n_protected_tail: int, k, threshold=None) -> np.ndarray:
    """spvit::topk_select (§9), same contract as golden topk_select.topk_select: bool [B, N] of the kept candidates."""
    sc = np.asarray(scores)
    keep = np.zeros(sc.shape, dtype=bool)
    for i, idx in enumerate(topk_select_indices(sc, n_valid, n_protected_tail, k, threshold)):
        keep[i, idx] = True
    return keep


# ---- token_pack (§10) ------------------------------------------------------------------------------------------------


@lru_cache(maxsize=None)
def _token_pack_lib() -> ctypes.CDLL:
    lib = load("token_pack", ["csim/token_pack_csim.cpp"])
    p_int = ctypes.POINTER(c_int)
    _declare(lib, "spvit_token_pack_config", [c_int, p_int, p_int], c_int)
    _declare(lib, "spvit_token_pack", [c_int, _in(np.int8), _in(np.uint16), _in(np.uint8), c_i64, c_i64,
                                       _in(np.int32), c_int, _out(np.int8), _out(np.int32)], c_int)
    return lib


def token_pack_configs() -> list[tuple[int, int]]:
    """(n_max, D) of each token_pack.hpp configuration, by index."""
    lib, out = _token_pack_lib(), []
    while True:
        n, d = c_int(), c_int()
        if lib.spvit_token_pack_config(len(out), ctypes.byref(n), ctypes.byref(d)) != 0:
            return out
        out.append((n.value, d.value))


def token_pack_sequence(x, scores, pruned, n_valid=None, package: bool = True):
    """spvit::token_pack (§10, §11.3): per image, the tokens present that are not pruned, in order, then the package
    token (when `package`). Returns (tokens int8 [B, N + 1, D] zero beyond the count, count [B])."""
    xc, sc = as_c(x, np.int8), as_c(scores, np.uint16)
    pc = np.ascontiguousarray(np.asarray(pruned, dtype=bool), dtype=np.uint8)
    b, length, d = xc.shape
    n = np.full(b, length) if n_valid is None else np.broadcast_to(np.asarray(n_valid), (b,))
    fits = [i for i, (n_max, dd) in enumerate(token_pack_configs()) if n_max >= length and dd == d]
    if not fits:
        raise ValueError(f"no token_pack.hpp configuration for {length} tokens of {d} channels: "
                         f"{token_pack_configs()}")
    out = np.zeros((b, length + 1, d), dtype=np.int8)
    count = np.zeros(b, dtype=np.int32)
    rc = _token_pack_lib().spvit_token_pack(fits[0], xc.reshape(-1), sc.reshape(-1), pc.reshape(-1), b, length,
                                            np.ascontiguousarray(n, dtype=np.int32), int(package), out.reshape(-1),
                                            count)
    if rc != 0:
        raise ValueError(f"token_pack arguments outside the kernel's registers (rc {rc})")
    return out, count.astype(np.int64)


def token_pack(x, scores, pruned) -> np.ndarray:
    """spvit::token_pack (§10), same contract as golden token_pack.token_pack: the package token int8 [B, D]."""
    out, count = token_pack_sequence(x, scores, pruned, package=True)
    return out[np.arange(out.shape[0]), count - 1]


# ---- selector (§8.2) -------------------------------------------------------------------------------------------------


@lru_cache(maxsize=None)
def _selector_lib() -> ctypes.CDLL:
    lib = load("selector", ["csim/selector_csim.cpp"])
    p_int = ctypes.POINTER(c_int)
    _declare(lib, "spvit_selector_config", [c_int, p_int, p_int, p_int, p_int], c_int)
    _declare(lib, "spvit_selector", [c_int, _in(np.int8), c_i64, c_i64, _in(np.int32), _in(np.int64), c_i64,
                                     _out(np.uint16)], c_int)
    return lib


def selector_configs() -> dict[tuple[int, int, int], tuple[int, int]]:
    """(D, H, se_width) -> (index, n_max) of the selector.hpp configurations the bridge instantiates."""
    lib, out, index = _selector_lib(), {}, 0
    while True:
        n, d, h, hs = c_int(), c_int(), c_int(), c_int()
        if lib.spvit_selector_config(index, *(ctypes.byref(v) for v in (n, d, h, hs))) != 0:
            return out
        out[(d.value, h.value, hs.value)] = (index, n.value)
        index += 1


def _selector_vector(p) -> np.ndarray:
    """The parameters of a golden SelectorParams in spvit::selector_params order, as one int64 vector."""
    parts = [p.norm.gamma, p.norm.beta, [p.norm.eps_term], [p.norm.shift]]
    for layer, table in ((p.in_proj, p.in_act), (p.mlp1, p.mlp1_act), (p.mlp2, p.mlp2_act), (p.keep, p.keep_act),
                         (p.se1, p.se1_act), (p.se2, p.se2_act)):
        parts += [layer.weight, layer.bias, [layer.shift], table]
    return np.concatenate([np.asarray(a, dtype=np.int64).ravel() for a in parts])


def selector(x, mask, p, num_heads: int) -> np.ndarray:
    """spvit::selector (§8.2), same contract as golden scoring.selector: x int8 [B, N, D], mask bool [B, N] (a prefix
    per image), golden SelectorParams -> uint16 [B, N] keep scores (0 for absent tokens)."""
    xc = as_c(x, np.int8)
    b, length, d = xc.shape
    n = prefix_counts(mask, (b, length))
    key = (d, num_heads, np.asarray(p.se1.weight).shape[0])
    configs = selector_configs()
    if key not in configs or configs[key][1] < length:
        raise ValueError(f"no selector.hpp configuration for (D, H, se_width) = {key} and {length} tokens: {configs}")
    params = _selector_vector(p)
    score = np.empty((b, length), dtype=np.uint16)
    rc = _selector_lib().spvit_selector(configs[key][0], xc.reshape(-1), b, length,
                                        np.ascontiguousarray(n, dtype=np.int32), params, params.size, score)
    if rc != 0:
        raise ValueError(f"selector arguments outside the kernel's registers (rc {rc})")
    return score


# ---- encoder_block and prune_stage (§11.2, §11.3) --------------------------------------------------------------------


@lru_cache(maxsize=None)
def _encoder_block_lib() -> ctypes.CDLL:
    lib = load("encoder_block", ["csim/encoder_block_csim.cpp"])
    p_int = ctypes.POINTER(c_int)
    _declare(lib, "spvit_encoder_block_config", [p_int] * 5, c_int)
    _declare(lib, "spvit_encoder_block", [_in(np.int8), _in(np.uint32), c_i64, _in(np.int64), _out(np.int8),
                                          _out(np.uint16)], c_int)
    _declare(lib, "spvit_prune_stage", [_in(np.int8), c_int, _in(np.uint16), c_int, c_int, c_int, c_int, c_int,
                                        _out(np.int8), _out(np.int32), ctypes.POINTER(c_int)], c_int)
    return lib


def encoder_block_config() -> dict[str, int]:
    """The dimensions the encoder_block bridge is compiled for (and its register count)."""
    vals = [c_int() for _ in range(5)]
    regs = _encoder_block_lib().spvit_encoder_block_config(*(ctypes.byref(v) for v in vals))
    return dict(zip(("n_max", "embed_dim", "num_heads", "mlp_hidden", "se_width"), (v.value for v in vals)),
                registers=regs)


# encoder_block_regs, in the bridge's order
ENCODER_BLOCK_REGS = (
    "n", "weights", "ln1_eps", "ln1_shift", "q_shift", "k_shift", "v_shift", "f_qk", "ctx_shift", "proj_shift",
    "res1_x", "res1_r", "res1_out", "ln2_eps", "ln2_shift", "fc1_shift", "fc2_shift", "res2_x", "res2_r", "res2_out",
    "score_mode", "sel_eps", "sel_norm_shift", "sel_in_shift", "sel_mlp1_shift", "sel_mlp2_shift", "sel_keep_shift",
    "sel_se1_shift", "sel_se2_shift",
)
SCORE_MODES = {"none": 0, "asvit": 1, "spvit": 2}


def pack_words(arrays: list[tuple[np.ndarray, int]]) -> np.ndarray:
    """The m_axi parameter layout of encoder_block.hpp: each array's values, BITS wide, little-endian lanes of
    128-bit words, every array starting on a word boundary. Returns the words as uint32 [n_words * 4]."""
    chunks = []
    for values, bits in arrays:
        v = np.asarray(values, dtype=np.int64).ravel()
        lo, hi = -(2 ** (bits - 1)), 2**bits - 1  # signed values, or unsigned tables (uint8)
        if v.size and (v.min() < lo or v.max() > hi):
            raise ValueError(f"a {bits}-bit parameter array holds values outside [{lo}, {hi}]")
        data = np.asarray(v & (2**bits - 1), dtype=f"<u{bits // 8}").tobytes()
        chunks.append(data + b"\0" * (-len(data) % 16))
    return np.frombuffer(b"".join(chunks), dtype="<u4").astype(np.uint32)


def encoder_block(x, n: int, weights: np.ndarray, regs: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
    """spvit::encoder_block (§11.2) on one image: x int8 [n, D] (the tokens present), the packed parameter words
    (pack_words) and the registers (ENCODER_BLOCK_REGS; `n` is set here). Returns (tokens int8 [n, D], scores uint16
    [n] -- zeros when score_mode is none)."""
    cfg = encoder_block_config()
    xc = as_c(np.asarray(x)[:n], np.int8)
    if xc.shape != (n, cfg["embed_dim"]) or not 1 <= n <= cfg["n_max"]:
        raise ValueError(f"encoder_block takes 1..{cfg['n_max']} tokens of {cfg['embed_dim']} channels; got {xc.shape}")
    r = np.array([n if name == "n" else int(regs[name]) for name in ENCODER_BLOCK_REGS], dtype=np.int64)
    w = np.ascontiguousarray(weights, dtype=np.uint32)
    y = np.empty_like(xc)
    scores = np.zeros(cfg["n_max"], dtype=np.uint16)
    rc = _encoder_block_lib().spvit_encoder_block(xc.reshape(-1), w, w.size // 4, r, y.reshape(-1), scores)
    if rc == -3:
        raise AssertionError("encoder_block: the token streams were not consumed / produced exactly")
    if rc != 0:
        raise ValueError(f"encoder_block registers outside their ranges: {dict(zip(ENCODER_BLOCK_REGS, r.tolist()))}")
    return y, scores[:n].copy()


def prune_stage(x, n: int, scores, n_protected_tail: int, k: int, threshold: int | None, package: bool):
    """spvit::prune_stage (§11.3) on one image: tokens int8 [n, D] and their scores -> (next sequence int8
    [n_out, D], source index of each output token (n for the package token))."""
    cfg = encoder_block_config()
    xc = as_c(np.asarray(x)[:n], np.int8)
    sc = np.zeros(cfg["n_max"], dtype=np.uint16)
    sc[:n] = as_c(np.asarray(scores)[:n], np.uint16)
    out = np.zeros((cfg["n_max"] + 1, cfg["embed_dim"]), dtype=np.int8)
    sources = np.zeros(cfg["n_max"] + 1, dtype=np.int32)
    n_out = c_int()
    rc = _encoder_block_lib().spvit_prune_stage(
        xc.reshape(-1), n, sc, int(n_protected_tail), int(min(k, cfg["n_max"])), int(threshold is not None),
        int(threshold or 0), int(package), out.reshape(-1), sources, ctypes.byref(n_out))
    if rc == -3:
        raise AssertionError("prune_stage: the token streams were not consumed / produced exactly")
    if rc != 0:
        raise ValueError("prune_stage registers outside their ranges")
    return out[: n_out.value].copy(), sources[: n_out.value].astype(np.int64)
