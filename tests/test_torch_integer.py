"""The torch integer operations (spvit.quant.integer) against the golden model, bit for bit.

Every test draws random inputs (plus the corners: saturation, ties, empty and full masks, k = 1 / k = all,
nothing / everything pruned, extreme logits), runs the golden function on the numpy arrays and the torch function
on the same values as tensors, and asserts exact equality of value, shape and dtype (int64, or bool for masks).
There is no tolerance anywhere: the golden model is the contract (docs/arithmetic.md).
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from spvit.configs import load_config
from spvit.quant import integer as ti
from spvit.sim.golden import arith as ga
from spvit.sim.golden import model as gm
from spvit.sim.golden import random_bundle
from spvit.sim.golden.layernorm import eps_term, layernorm as g_layernorm
from spvit.sim.golden.lut import lut as g_lut, make_lut
from spvit.sim.golden.params import LinearParams, NormParams
from spvit.sim.golden.scoring import SelectorParams, asvit_score as g_asvit, selector as g_selector
from spvit.sim.golden.softmax import exp2_neg as g_exp2_neg, softmax as g_softmax
from spvit.sim.golden.attention import attention as g_attention
from spvit.sim.golden.token_pack import gather_tokens as g_gather, token_pack as g_token_pack
from spvit.sim.golden.topk_select import candidates as g_candidates, topk_select as g_topk

D_VALUES = (16, 64, 192)


# ------------------------------------------------------------------------------------------------ helpers
def T(a):
    """numpy -> torch, keeping the numpy dtype (int8, uint16, bool, ...): conversion is the function's job."""
    return torch.from_numpy(np.ascontiguousarray(a))


def same(got, want):
    """Exact equality of value, shape and dtype (int64 results, bool masks)."""
    want = np.asarray(want)
    assert isinstance(got, torch.Tensor), type(got)
    assert got.dtype == (torch.bool if want.dtype == bool else torch.int64), got.dtype
    g = got.numpy()
    assert g.shape == want.shape, (g.shape, want.shape)
    if not np.array_equal(g, want):
        bad = np.argwhere(g != want)[:5]
        raise AssertionError(f"{int(np.sum(g != want))} mismatches, first at {bad.tolist()}: "
                             f"torch {[g[tuple(i)] for i in bad]} golden {[want[tuple(i)] for i in bad]}")


def wide(rng, shape, bits: int, signed: bool = True):
    """Integers of every magnitude up to 2**bits: a random bit length per element, then a random value."""
    length = rng.integers(0, bits + 1, shape)
    v = rng.integers(0, 2**62, shape, dtype=np.int64) >> (62 - length)
    return np.where(rng.random(shape) < 0.5, -v, v) if signed else v


def int8(rng, shape, narrow: bool = False):
    """int8 values, a quarter of them at the saturation corners."""
    lo = -127 if narrow else -128
    x = rng.integers(lo, 128, shape)
    corner = rng.random(shape) < 0.25
    return np.where(corner, np.where(rng.random(shape) < 0.5, lo, 127), x).astype(np.int8)


def prefix_mask(rng, b: int, n: int, lo: int = 1):
    """Tokens present = a prefix of random length in [lo, n] per image (the first row full, the second lo)."""
    counts = rng.integers(lo, n + 1, b)
    counts[0] = n
    if b > 1:
        counts[1] = lo
    return np.arange(n)[None, :] < counts[:, None]


# ------------------------------------------------------------------------------------------------ §2
@pytest.mark.parametrize("shift", range(-32, 41))
def test_round_shift_int(shift):
    rng = np.random.default_rng(1000 + shift)
    x = wide(rng, 2000, 46 if shift >= 0 else 61 + shift)
    if shift > 0:  # exact ties and their neighbours
        m = rng.integers(-(2**20), 2**20, 200) * 2**shift + 2 ** (shift - 1)
        x = np.concatenate([x, m, m - 1, m + 1])
    same(ti.round_shift(T(x), shift), ga.round_shift(x, shift))


def test_round_shift_tensor_shift():
    rng = np.random.default_rng(1)
    x = wide(rng, (50, 400), 40)
    s = rng.integers(-16, 41, (50, 400))
    same(ti.round_shift(T(x), T(s)), ga.round_shift(x, s))
    s_row = rng.integers(-16, 41, (50, 1))  # broadcast shift
    same(ti.round_shift(T(x), T(s_row)), ga.round_shift(x, s_row))


@pytest.mark.parametrize("bits,signed", [(8, True), (8, False), (16, True), (16, False), (32, True), (17, False)])
def test_saturate(bits, signed):
    rng = np.random.default_rng(bits)
    x = np.concatenate([wide(rng, 5000, 40), np.array([-(2**bits), -(2 ** (bits - 1)) - 1, -(2 ** (bits - 1)),
                                                       -1, 0, 1, 2 ** (bits - 1) - 1, 2 ** (bits - 1), 2**bits - 1, 2**bits])])
    same(ti.saturate(T(x), bits, signed), ga.saturate(x, bits, signed))


@pytest.mark.parametrize("shift", range(-32, 41, 3))
def test_requantize(shift):
    rng = np.random.default_rng(2000 + shift)
    acc = wide(rng, 4000, 31 if shift >= 0 else min(31, 61 + shift))
    same(ti.requantize(T(acc), shift), ga.requantize(acc, shift))
    same(ti.requantize(T(acc), shift, 16, False), ga.requantize(acc, shift, 16, False))


def test_rdiv():
    rng = np.random.default_rng(3)
    num = wide(rng, 20000, 44)
    den = np.maximum(wide(rng, 20000, 24, signed=False), 1)
    same(ti.rdiv(T(num), T(den)), ga.rdiv(num, den))
    den = 2 * rng.integers(1, 2**16, 5000)  # exact ties, both signs: half up
    q = rng.integers(-(2**20), 2**20, 5000)
    tie = q * den + den // 2
    for n in (tie, tie - 1, tie + 1, -tie):
        same(ti.rdiv(T(n), T(den)), ga.rdiv(n, den))
    same(ti.rdiv(T(num[:100]), 7), ga.rdiv(num[:100], 7))  # scalar denominator


def test_reciprocal():
    rng = np.random.default_rng(4)
    for k in (0, 1, 15, 31, 39, 40, 47, 62):
        den = np.maximum(wide(rng, 3000, 40, signed=False), 1)
        same(ti.reciprocal(T(den), k), ga.reciprocal(den, k))
    s = rng.integers(0, 17, 3000)  # the softmax use: S in [2**(23+s), 2**(24+s)), k = 39 + s
    den = (np.int64(1) << (23 + s)) + rng.integers(0, 2**23, 3000) * (np.int64(1) << s)
    same(ti.reciprocal(T(den), T(39 + s)), ga.reciprocal(den, 39 + s))  # per-element k


def test_isqrt():
    rng = np.random.default_rng(5)
    r = wide(rng, 10000, 31, signed=False)
    n = np.concatenate([wide(rng, 20000, 62, signed=False) & (2**62 - 1), r * r, r * r - 1, r * r + 1,
                        np.array([0, 1, 2, 3, 4, 2**62 - 1, (2**31 - 1) ** 2, (2**31 - 1) ** 2 - 1])])
    n = np.maximum(n, 0)
    same(ti.isqrt(T(n)), ga.isqrt(n))


def test_bit_length():
    rng = np.random.default_rng(6)
    p = np.int64(1) << np.arange(53)
    x = np.concatenate([wide(rng, 20000, 53, signed=False) & (2**53 - 1), p, p - 1, np.array([0])])
    same(ti.bit_length(T(x)), ga.bit_length(x))


# ------------------------------------------------------------------------------------------------ §3, §4
@pytest.mark.parametrize("d", D_VALUES)
@pytest.mark.parametrize("bias", [False, True])
def test_linear(d, bias):
    rng = np.random.default_rng(d + bias)
    for shape, out in (((d,), 7), ((5, d), d), ((3, 17, d), 2 * d)):
        x, w = int8(rng, shape), int8(rng, (out, d), narrow=True)
        b = wide(rng, out, 30).astype(np.int32) if bias else None
        same(ti.linear(T(x), T(w), None if b is None else T(b)), ga.linear(x, w, b))
        if bias:
            for shift in (-4, 0, 6, 9, 14, 40):
                want = LinearParams(w, b, shift)(x)
                same(ti.LinearInt(T(w), T(b), shift)(T(x)), want)
                same(ti.LinearInt.from_golden(LinearParams(w, b, shift))(T(x)), want)


@pytest.mark.parametrize("heads,dh,out", [(2, 8, 4), (4, 16, 8), (3, 64, 1), (12, 16, 16)])
def test_linear_per_head(heads, dh, out):
    rng = np.random.default_rng(heads * dh)
    x = int8(rng, (2, 9, heads, dh))
    w = int8(rng, (heads, out, dh), narrow=True)
    b = wide(rng, (heads, out), 30).astype(np.int32)
    p = LinearParams(w, b, 7)
    q = ti.LinearInt(T(w), T(b), 7)
    same(q.accumulate(T(x)), p.accumulate(x))
    same(q(T(x)), p(x))


def test_residual_add():
    rng = np.random.default_rng(7)
    x, y = int8(rng, (4, 256)), int8(rng, (4, 256))
    n = 0
    for fx in range(-8, 17):
        for fy in range(-8, 17):
            for f_out in rng.choice(np.arange(-8, 17), 3, replace=False).tolist() + [max(fx, fy)]:
                same(ti.residual_add(T(x), fx, T(y), fy, f_out), ga.residual_add(x, fx, y, fy, f_out))
                n += 1
    assert n == 25 * 25 * 4


# ------------------------------------------------------------------------------------------------ §5
@pytest.mark.parametrize("f", range(-5, 17))
def test_exp2_neg(f):
    rng = np.random.default_rng(100 + f)
    lim = 1 << (f + 5)
    d = np.concatenate([wide(rng, 3000, f + 7, signed=False), np.arange(0, 64),
                        np.array([lim - 1, lim, lim + 1, 2**31, 2**32])])
    same(ti.exp2_neg(T(d), f), g_exp2_neg(d, f))


def logits(rng, style: str, shape, f: int):
    if style == "uniform":  # the whole int32 range
        return rng.integers(-(2**31), 2**31, shape)
    if style == "gauss":  # realistic: a few units of spread at frac f
        return np.round(rng.normal(0, 3, shape) * 2.0**f).astype(np.int64)
    if style == "equal":  # every entry tied
        return np.full(shape, rng.integers(-(2**20), 2**20))
    if style == "onemax":  # one maximum, many equal
        x = np.full(shape, -(2 ** max(f, 0)))
        x[..., 0] = 2 ** max(f, 0)
        return x
    if style == "extreme":  # int32 corners: differences of 2**32, far past the clamp
        return np.where(rng.random(shape) < 0.5, -(2**31), 2**31 - 1)
    if style == "near":  # differences around the clamp 2**(f+5)
        return -rng.integers(0, 2 ** (f + 6), shape)
    raise ValueError(style)


@pytest.mark.parametrize("n", [1, 2, 3, 17, 65, 197, 1024])
@pytest.mark.parametrize("style", ["uniform", "gauss", "equal", "onemax", "extreme", "near"])
def test_softmax(n, style):
    rng = np.random.default_rng(n * 7 + len(style))
    for f in (-5, 0, 3, 9, 14):
        b, rows = 4, max(1, 2048 // n)
        x = logits(rng, style, (b, rows, n), f)
        same_pair(ti.softmax(T(x), f), g_softmax(x, f))
        mask = prefix_mask(rng, b, n)[:, None, :]  # key mask broadcast over rows, different counts per image
        same_pair(ti.softmax(T(x), f, T(mask)), g_softmax(x, f, mask))
        full = rng.random((b, rows, n)) < 0.6  # arbitrary full-shape masks, at least one entry per row
        full[..., rng.integers(0, n)] = True
        same_pair(ti.softmax(T(x), f, T(full)), g_softmax(x, f, full))


def same_pair(got, want):
    assert len(got) == len(want) == 2
    same(got[0], want[0])
    same(got[1], want[1])


def test_softmax_fully_masked_row_is_zero():
    """Never happens in the model (the class token is always present); golden's numpy divides by zero there
    (a warning, result 0), the torch twin must not raise and gives the same zeros."""
    x = np.arange(12).reshape(2, 6)
    mask = np.array([[True] * 6, [False] * 6])
    with np.errstate(divide="ignore"):
        want = g_softmax(x, 4, mask)
    same_pair(ti.softmax(T(x), 4, T(mask)), want)
    assert not want[0][1].any() and not want[1][1].any()


@pytest.mark.parametrize("heads,n,dh", [(1, 1, 16), (3, 5, 64), (4, 65, 16), (3, 197, 64), (2, 33, 192)])
@pytest.mark.parametrize("masked", [False, True])
def test_attention(heads, n, dh, masked):
    rng = np.random.default_rng(heads * n * dh + masked)
    b = 4
    for fq, fk, fv, f_out in ((5, 4, 4, 5), (-2, -3, 0, 7), (7, 7, 6, -2), (0, 0, 4, 12), (3, 2, 7, 0)):
        q, k, v = int8(rng, (b, heads, n, dh)), int8(rng, (b, heads, n, dh)), int8(rng, (b, heads, n, dh))
        if rng.random() < 0.3:  # saturate the context: every value at the corner
            v[:] = 127
        mask = prefix_mask(rng, b, n) if masked else None
        ctx, cls = ti.attention(T(q), T(k), T(v), fq, fk, fv, f_out, None if mask is None else T(mask))
        want_ctx, want_cls = g_attention(q, k, v, fq, fk, fv, f_out, mask)
        same(ctx, want_ctx)
        same(cls, want_cls)


# ------------------------------------------------------------------------------------------------ §6, §7
@pytest.mark.parametrize("d", D_VALUES + (768,))
def test_layernorm(d):
    rng = np.random.default_rng(d)
    rows = max(8, 4096 // d)
    for trial in range(12):
        x = int8(rng, (2, rows, d))
        x[0, 0] = rng.integers(-128, 128)  # constant token: c = 0, V = E
        x[0, 1] = 0
        x[0, 2] = np.where(np.arange(d) % 2, 127, -128)  # largest variance
        x[1, 0] = rng.integers(-3, 4, d)  # tiny spread
        x[1, 1, :] = -128
        x[1, 1, 0] = 127  # one outlier
        gamma = rng.integers(-(2**15), 2**15, d).astype(np.int16)
        beta = wide(rng, d, 30).astype(np.int32)
        eps = int(rng.choice([1, eps_term(1e-6, 4, d), eps_term(1e-5, 7, d), int(wide(rng, 1, 40, signed=False)[0]) + 1]))
        shift = int(rng.integers(-2, 41)) if trial else 15 + 12 - 5
        same(ti.layernorm(T(x), T(gamma), T(beta), eps, shift), g_layernorm(x, gamma, beta, eps, shift))
        norm = ti.NormInt.from_golden(NormParams(gamma, beta, eps, shift))
        same(norm(T(x)), g_layernorm(x, gamma, beta, eps, shift))


@pytest.mark.parametrize("signed", [True, False])
def test_lut(signed):
    rng = np.random.default_rng(8 + signed)
    x = np.concatenate([np.arange(-128, 128), int8(rng, 10000)]).astype(np.int8).reshape(-1, 4, 4)
    tables = [rng.integers(-128, 128, 256).astype(np.int8) if signed else rng.integers(0, 256, 256).astype(np.uint8)]
    tables += [make_lut("gelu", f_in, f_out) for f_in, f_out in ((4, 5), (0, 7), (7, 0))] if signed else \
              [make_lut("sigmoid", f_in, 8, signed=False) for f_in in (-2, 4, 7)]
    for table in tables:
        same(ti.lut(T(x), T(table)), g_lut(x, table))


# ------------------------------------------------------------------------------------------------ §8
@pytest.mark.parametrize("heads,n,dh", [(1, 5, 16), (3, 197, 64), (4, 65, 16), (12, 50, 64), (16, 9, 64)])
def test_asvit_score(heads, n, dh):
    rng = np.random.default_rng(heads * n)
    for trial in range(20):
        b = 5
        x = logits(rng, "gauss", (b, heads, n), 6)
        mask = prefix_mask(rng, b, n)
        _, p16 = g_softmax(x, 6, mask[:, None, :])
        if trial % 4 == 3:  # raw uint16 extremes
            p16 = np.where(rng.random(p16.shape) < 0.5, 65535, rng.integers(0, 65536, p16.shape))
        ctx = int8(rng, (b, heads, dh))
        ctx[0] = 0  # every head 0: equal weights
        ctx[1, 0] = 0  # one head 0
        ctx[2] = -128  # largest norm: isqrt(dh * 2**14)
        same(ti.asvit_score(T(p16.astype(np.uint16)), T(ctx)), g_asvit(p16, ctx))


def random_selector(rng, d: int, heads: int, se: int, zero_weights: bool = False) -> SelectorParams:
    dh = d // heads

    def lin(*shape, shift):
        w = int8(rng, shape, narrow=True)
        return LinearParams(w, wide(rng, shape[:-1], 16).astype(np.int32), shift)

    def gelu():
        return make_lut("gelu", int(rng.integers(2, 6)), int(rng.integers(3, 7))) if rng.random() < 0.5 else \
            rng.integers(-128, 128, 256).astype(np.int8)

    def sigm():
        return rng.integers(0, 256, 256).astype(np.uint8)

    return SelectorParams(
        norm=NormParams(rng.integers(-(2**15), 2**15, d).astype(np.int16), wide(rng, d, 28).astype(np.int32),
                        int(rng.integers(1, 2**20)), int(rng.integers(14, 26))),
        in_proj=lin(heads, dh, dh, shift=int(rng.integers(3, 9))), in_act=gelu(),
        mlp1=lin(heads, dh // 2, dh, shift=int(rng.integers(3, 9))), mlp1_act=gelu(),
        mlp2=lin(heads, dh // 4, dh // 2, shift=int(rng.integers(3, 9))), mlp2_act=gelu(),
        keep=lin(heads, 1, dh // 4, shift=int(rng.integers(2, 8))), keep_act=sigm(),
        se1=lin(se, heads, shift=int(rng.integers(2, 8))), se1_act=gelu(),
        se2=lin(heads, se, shift=int(rng.integers(2, 8))),
        se2_act=np.zeros(256, np.uint8) if zero_weights else sigm(),
    )


@pytest.mark.parametrize("d,heads", [(16, 2), (64, 4), (192, 3), (64, 1)])
def test_selector(d, heads):
    rng = np.random.default_rng(d * heads)
    for trial in range(6):
        b, n = 4, int(rng.choice([1, 7, 65]))
        p = random_selector(rng, d, heads, max(1, heads // 2), zero_weights=trial == 5)
        x = int8(rng, (b, n, d))
        mask = prefix_mask(rng, b, n)
        want = g_selector(x, mask, p, heads)
        same(ti.selector(T(x), T(mask), ti.SelectorInt.from_golden(p), heads), want)
        if trial == 5:
            assert not want.any()


def test_selector_from_bundle():
    bundle = random_bundle(load_config("digits"), seed=3)
    rng = np.random.default_rng(9)
    x = int8(rng, (6, 65, 64))
    mask = prefix_mask(rng, 6, 65, lo=2)
    for s in range(2):
        p = bundle.selector(s)
        same(ti.selector(T(x), T(mask), ti.SelectorInt.from_golden(p), 4), g_selector(x, mask, p, 4))


# ------------------------------------------------------------------------------------------------ §9, §10
def test_candidates():
    for n in (1, 2, 5, 40):
        n_valid = np.arange(1, n + 1)
        for tail in range(4):
            same(ti.candidates(T(n_valid), tail, n), g_candidates(n_valid, tail, n))


@pytest.mark.parametrize("n", [1, 2, 9, 65, 197])
def test_topk_select(n):
    rng = np.random.default_rng(n)
    b = 6
    count = 0
    for trial in range(60):
        style = trial % 4
        if style == 0:  # heavy ties
            scores = rng.integers(0, 4, (b, n)) * 16384
        elif style == 1:
            scores = rng.integers(0, 65536, (b, n))
        elif style == 2:  # all equal
            scores = np.full((b, n), int(rng.integers(0, 65536)))
        else:  # extremes
            scores = rng.choice([0, 1, 65534, 65535], (b, n))
        scores = scores.astype(np.uint16)
        n_valid = rng.integers(1, n + 1, b)
        n_valid[0] = n
        tail = int(rng.integers(0, 4))
        ks = [0, 1, n, n + 5, int(rng.integers(0, n + 1)), rng.integers(0, n + 1, b)]
        for k in ks:
            thresholds = [None, 0, 65536, int(scores[0, min(1, n - 1)]), rng.integers(0, 65537, b)]
            for th in thresholds:
                want = g_topk(scores, n_valid, tail, k, th)
                got = ti.topk_select(T(scores), T(n_valid), tail, k if np.isscalar(k) else T(k),
                                     th if th is None or np.isscalar(th) else T(th))
                same(got, want)
                count += 1
    assert count == 60 * 6 * 5


@pytest.mark.parametrize("d", D_VALUES)
def test_token_pack(d):
    rng = np.random.default_rng(d)
    for trial in range(30):
        b, n = 5, int(rng.choice([1, 2, 17, 197]))
        x = int8(rng, (b, n, d))
        scores = rng.choice([0, 65535, int(rng.integers(0, 65536))], (b, n)) if trial % 3 else rng.integers(0, 65536, (b, n))
        scores = scores.astype(np.uint16)
        pruned = rng.random((b, n)) < rng.random()
        pruned[0] = False  # nothing pruned: zeros
        pruned[1] = True  # everything pruned
        if b > 2:
            pruned[2] = False
            pruned[2, -1] = True  # exactly one
        want = g_token_pack(x, scores, pruned)
        same(ti.token_pack(T(x), T(scores), T(pruned)), want)
        assert not want[0].any()


def test_gather_tokens():
    rng = np.random.default_rng(11)
    x = int8(rng, (3, 20, 16))
    order = np.stack([rng.permutation(20) for _ in range(3)])
    for n_out in (0, 1, 7, 20):
        same(ti.gather_tokens(T(x), T(order), n_out), g_gather(x, order, n_out))


def test_matmul_f64_path_is_exact():
    """The float64 matmul used off the CPU (no int64 matmul there) equals the int64 one, at the worst case of the
    contract (int8 x int8 over 65,535 terms), and refuses where float64 would not be exact."""
    rng = np.random.default_rng(12)
    a = torch.from_numpy(int8(rng, (3, 65535))).long()
    a[0] = -128
    w = torch.from_numpy(int8(rng, (65535, 4))).long()
    w[:, 0] = -128
    assert torch.equal(ti._matmul_f64(a, w), a @ w)
    assert (a @ w)[0, 0] == 65535 * 2**14
    with pytest.raises(OverflowError):
        ti._matmul_f64(torch.full((1, 2), 2**30), torch.full((2, 1), 2**30))


# ------------------------------------------------------------------------------------------------ chains
def torch_encoder_block(bundle, i: int, x, mask, f_in: int):
    """§11.2 in the torch twin, written out from the ops (golden's model.encoder_block, line for line)."""
    cfg, b = bundle.config, f"blocks.{i}"
    bsz, n, d = x.shape
    h, dh = cfg.num_heads, cfg.head_dim
    y = ti.NormInt.from_golden(bundle.norm(f"{b}.norm1"))(x)
    qkv = ti.LinearInt.from_golden(bundle.linear(f"{b}.attn.qkv", bundle.frac(f"{b}.norm1.out"))).accumulate(y)
    acc_frac = bundle.frac(f"{b}.norm1.out") + bundle.frac(f"{b}.attn.qkv.weight")
    heads = [ti.requantize(qkv[..., j * d:(j + 1) * d], acc_frac - bundle.frac(f"{b}.attn.{part}"))
             .reshape(bsz, n, h, dh).transpose(1, 2) for j, part in enumerate("qkv")]
    ctx, cls_p16 = ti.attention(*heads, *(bundle.frac(f"{b}.attn.{p}") for p in ("q", "k", "v", "ctx")), mask)
    cls_ctx = ctx[:, :, 0, :]
    out = ti.LinearInt.from_golden(bundle.linear(f"{b}.attn.proj", bundle.frac(f"{b}.attn.ctx")))(
        ctx.transpose(1, 2).reshape(bsz, n, d))
    x = ti.residual_add(x, f_in, out, bundle.frac(f"{b}.attn.proj.out"), bundle.frac(f"{b}.attn_res.out"))
    y = ti.NormInt.from_golden(bundle.norm(f"{b}.norm2"))(x)
    y = ti.lut(ti.LinearInt.from_golden(bundle.linear(f"{b}.mlp.fc1", bundle.frac(f"{b}.norm2.out")))(y),
               T(bundle.table(f"{b}.mlp.act")))
    y = ti.LinearInt.from_golden(bundle.linear(f"{b}.mlp.fc2", bundle.frac(f"{b}.mlp.act.out")))(y)
    x = ti.residual_add(x, bundle.frac(f"{b}.attn_res.out"), y, bundle.frac(f"{b}.mlp.fc2.out"), bundle.frac(f"{b}.out"))
    return torch.where(mask[..., None], x, 0), cls_p16, cls_ctx


@pytest.mark.parametrize("name,n", [("digits", 65), ("deit_tiny", 197)])
def test_encoder_block_chain(name, n):
    """LayerNorm -> qkv linear -> softmax attention -> proj -> residual -> LN -> MLP -> residual, then both
    scorings, top-k / threshold selection and the package token: the whole block and stage dataflow, chained."""
    cfg = load_config(name)
    bundle = random_bundle(cfg, seed=1)
    rng = np.random.default_rng(13)
    b = 3
    x = np.where(rng.random((b, n, cfg.embed_dim)) < 0.02, 127, rng.integers(-60, 61, (b, n, cfg.embed_dim)))
    mask = prefix_mask(rng, b, n, lo=2)
    x = np.where(mask[..., None], x, 0).astype(np.int8)
    f = bundle.frac("embed.out")
    gx, tx = x, T(x)
    for i in range(2):
        gx, g_p16, g_ctx = gm.encoder_block(bundle, i, gx, mask, f)
        tx, t_p16, t_ctx = torch_encoder_block(bundle, i, tx, T(mask), f)
        same(tx, gx)
        same(t_p16, g_p16)
        same(t_ctx, g_ctx)
        f = bundle.frac(f"blocks.{i}.out")
    scores = np.where(mask, g_asvit(g_p16, g_ctx), 0)
    same(torch.where(T(mask), ti.asvit_score(t_p16, t_ctx), 0), scores)
    if cfg.prune.score == "spvit":
        scores = g_selector(gx, mask, bundle.selector(0), cfg.num_heads)
        same(ti.selector(tx, T(mask), ti.SelectorInt.from_golden(bundle.selector(0)), cfg.num_heads), scores)
    n_valid = mask.sum(1)
    for k, th in ((1, None), (n // 4, None), (n, None), (n // 2, 32768)):
        keep = g_topk(scores, n_valid, 1, k, th)
        same(ti.topk_select(T(scores), T(n_valid), 1, k, th), keep)
        pruned = g_candidates(n_valid, 1, n) & ~keep
        same(ti.token_pack(tx, T(scores), T(pruned)), g_token_pack(gx, scores, pruned))
