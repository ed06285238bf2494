"""HLS C-simulation of hw/hls/arith.hpp (rdiv, reciprocal, isqrt, bit_length, round_shift; docs/arithmetic.md §2)
against the golden primitives: bit-exact on random and corner vectors."""
from __future__ import annotations

import numpy as np
import pytest

from spvit.sim import hls_kernels
from spvit.sim.golden import arith

pytestmark = pytest.mark.hls

N = 20_000


@pytest.fixture(autouse=True)
def _tools(require_tool):
    require_tool("g++")
    require_tool("ap_types")


def assert_equal(got, want, *inputs):
    got, want = np.asarray(got), np.asarray(want)
    if not np.array_equal(got, want):
        bad = np.flatnonzero(got.ravel() != want.ravel())
        rows = [f"inputs={[np.ravel(a)[i] for a in inputs]}: hls={got.ravel()[i]} golden={want.ravel()[i]}"
                for i in bad[:10]]
        pytest.fail(f"{bad.size} of {got.size} mismatches:\n" + "\n".join(rows))


def log_uniform(rng, n, hi_bits, lo=0):
    """Integers spread over every magnitude below 2**hi_bits."""
    bits = rng.integers(0, hi_bits + 1, n)
    return np.maximum(lo, (rng.random(n) * 2.0 ** bits).astype(np.int64) & ((1 << hi_bits) - 1))


def test_bit_length():
    rng = np.random.default_rng(1)
    x = np.concatenate([[0, 1, 2, 3, 2**52, 2**53 - 1], [2**i for i in range(53)], [2**i - 1 for i in range(1, 54)],
                        log_uniform(rng, N, 53)])
    assert_equal(hls_kernels.bit_length(x), arith.bit_length(x), x)


def test_rdiv():
    rng = np.random.default_rng(2)
    num = np.concatenate([
        rng.integers(-(2**47), 2**47, N), log_uniform(rng, N, 46) * rng.choice([-1, 1], N),
        rng.integers(-20, 21, N),
        [-(2**47), 2**47 - 1, 0, -1, 1, -5, 5, -3, 3],
    ])
    den = np.concatenate([
        log_uniform(rng, N, 33, 1), log_uniform(rng, N, 20, 1), rng.integers(1, 7, N),
        [1, 1, 2**33 - 1, 2, 2, 2, 2, 2, 2],
    ])
    assert_equal(hls_kernels.rdiv(num, den), arith.rdiv(num, den), num, den)
    # exact ties of both signs round up: rdiv(-5, 2) = -2, rdiv(5, 2) = 3, rdiv(-3, 2) = -1
    assert list(hls_kernels.rdiv([-5, 5, -3, 3, -1, 1], 2)) == [-2, 3, -1, 2, 0, 1]


def test_reciprocal():
    rng = np.random.default_rng(3)
    den = np.concatenate([log_uniform(rng, N, 62, 1), [1, 2, 3, 2**62 - 1, 2**61, 2**61 + 1]])
    k = np.concatenate([rng.integers(0, 63, N), [0, 62, 62, 62, 62, 62]])
    want = np.floor_divide(np.left_shift(np.int64(1), k), den)
    golden = np.array([arith.reciprocal(d, int(kk)) for d, kk in zip(den[:2000], k[:2000])])
    assert np.array_equal(golden, want[:2000])
    assert_equal(hls_kernels.reciprocal(den, k), want, den, k)


def test_softmax_reciprocal():
    """§5.2 step 4: the normalised 17-bit reciprocal of a row sum, whatever its size."""
    rng = np.random.default_rng(4)
    total = np.concatenate([rng.integers(2**23, 2**40, N), 2**23 + log_uniform(rng, N, 39) % (2**40 - 2**23),
                            [2**23, 2**24 - 1, 2**24, 2**40 - 1, 2**39, 2**39 + 1]])
    s = arith.bit_length(total) - 24
    want = np.array([int(arith.reciprocal(t, 39 + int(si))) for t, si in zip(total, s)])
    # R in [2**15, 2**16] (the contract's "(2**15, 2**16]" misses S = 2**24 - 1, where R = 2**15 exactly)
    assert ((want >= 2**15) & (want <= 2**16)).all() and (want == 2**15).any()
    assert_equal(hls_kernels.softmax_reciprocal(total), want, total)


def test_isqrt():
    rng = np.random.default_rng(5)
    roots = rng.integers(0, 2**31, N)
    n = np.concatenate([
        log_uniform(rng, N, 62), roots * roots, roots * roots - 1, roots * roots + 2 * roots,
        [0, 1, 2, 3, 4, 2**62 - 1, 2**62, 2**63 - 1],
    ])
    n = np.maximum(n, 0)
    want = arith.isqrt(np.minimum(n, 2**62 - 1))
    ok = n < 2**62  # the golden isqrt's stated domain
    assert_equal(hls_kernels.isqrt(n[ok]), want[ok], n[ok])
    # beyond it (2**62 = 2**62 // V for V = 1 in LayerNorm, §6): checked with Python's exact integer sqrt
    import math
    assert [int(v) for v in hls_kernels.isqrt(n[~ok])] == [math.isqrt(int(v)) for v in n[~ok]]


def test_round_shift():
    rng = np.random.default_rng(6)
    x = np.concatenate([rng.integers(-(2**47), 2**47, N), log_uniform(rng, N, 46) * rng.choice([-1, 1], N),
                        [-(2**47), 2**47 - 1, -1, 1, 0]])
    s = np.concatenate([rng.integers(0, 64, N), rng.integers(0, 20, N), [47, 47, 1, 1, 5]])
    assert_equal(hls_kernels.round_shift(x, s), arith.round_shift(x, s), x, s)
