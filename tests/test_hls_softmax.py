"""HLS C-simulation of hw/hls/softmax.hpp (docs/arithmetic.md §5.2) against golden softmax.softmax: p8 and p16
bit-exact on >= 10,000 rows: random, Gaussian, all-equal (ties), one-max-many-equal, extreme int32 logits
(differences past the 2**(f+5) clamp), short (masked) rows, rows of 1 and of up to 1,024, every f in [-5, 32]."""
from __future__ import annotations

import numpy as np
import pytest

from spvit.sim import hls_kernels
from spvit.sim.golden import softmax as golden

pytestmark = pytest.mark.hls

I32 = (-(2**31), 2**31 - 1)


@pytest.fixture(autouse=True)
def _tools(require_tool):
    require_tool("g++")
    require_tool("ap_types")


def rows(rng, n_rows, length, f):
    """A mix of row kinds at frac f, int32."""
    kind = rng.integers(0, 6, n_rows)
    spread = 2.0 ** (f + rng.integers(-2, 7, (n_rows, 1)))  # real spreads from 1/4 to 64
    x = rng.normal(0, 1, (n_rows, length)) * spread
    x = np.where(kind[:, None] == 1, rng.integers(I32[0], I32[1], (n_rows, length), endpoint=True), x)
    x = np.where(kind[:, None] == 2, rng.integers(-1000, 1000, (n_rows, 1)), x)  # all equal
    one_max = np.where(np.arange(length) == rng.integers(0, length, (n_rows, 1)), 2.0 ** (f + 1), 0)
    x = np.where(kind[:, None] == 3, one_max, x)  # one max, many equal
    x = np.where(kind[:, None] == 4, rng.choice(list(I32), (n_rows, length)), x)  # the extremes only
    return np.clip(np.round(x), *I32).astype(np.int64)


def check(x, f, n):
    mask = np.arange(x.shape[-1]) < n[:, None]
    got8, got16 = hls_kernels.softmax(x, f, mask)
    want8, want16 = golden.softmax(x, f, mask)
    assert (bad := hls_kernels.mismatches(got8, want8)) is None, f"p8, f={f}: {bad}"
    assert (bad := hls_kernels.mismatches(got16, want16)) is None, f"p16, f={f}: {bad}"


def test_constants_match_golden():
    table, log2e = hls_kernels.softmax_constants()
    assert log2e == golden.LOG2E_Q15 == 47274
    assert np.array_equal(table, golden.POW2_LUT)


def test_softmax_short_rows():
    """>= 10,000 rows of up to 16 tokens, each with its own count n >= 1 (the rest masked), every f."""
    rng = np.random.default_rng(91)
    total = 0
    for f in range(-5, 33):
        length = int(rng.integers(1, 17))
        x = rows(rng, 300, length, f)
        n = np.where(rng.random(300) < 0.5, length, rng.integers(1, length + 1, 300))
        check(x, f, n)
        total += x.shape[0]
    assert total >= 10_000


@pytest.mark.parametrize("length", [197, 1024])
def test_softmax_long_rows(length):
    rng = np.random.default_rng(length)
    for f in (-5, 0, 8, 14, 32):
        x = rows(rng, 40, length, f)
        n = np.where(rng.random(40) < 0.5, length, rng.integers(1, length + 1, 40))
        check(x, f, n)


def test_softmax_corners():
    # a single token: p = 1.0 saturates p8 at 255 and p16 at 65535
    for f in (-5, 0, 32):
        p8, p16 = hls_kernels.softmax(np.array([[I32[0]], [I32[1]], [0]]), f)
        assert p8.tolist() == [[255]] * 3 and p16.tolist() == [[65535]] * 3
    # the largest possible difference, both ways round, at the clamp's extremes
    for f in (-5, 0, 26, 27, 32):
        check(np.array([[I32[0], I32[1]], [I32[1], I32[0]], [0, 2 ** (f + 5) if f < 26 else I32[1]]]), f,
              np.array([2, 2, 2]))
    # all-equal rows of every length: 1/n each
    for length in (1, 2, 3, 7, 16, 255, 256, 257, 1024):
        check(np.full((2, length), 12345), 4, np.array([length, max(1, length // 2)]))
    # an empty row (no token present) is all zeros in hardware
    p8, p16 = hls_kernels.softmax(np.array([[5, 6, 7]]), 0, np.array([[False, False, False]]))
    assert not p8.any() and not p16.any()


def test_softmax_rejects():
    with pytest.raises(ValueError, match="prefix"):
        hls_kernels.softmax(np.zeros((1, 3)), 0, np.array([True, False, True]))
    with pytest.raises(ValueError, match="outside"):
        hls_kernels.softmax(np.zeros((1, 3)), -6)
    with pytest.raises(ValueError, match="int32"):
        hls_kernels.softmax(np.array([[2**31]]), 0)


@pytest.mark.slow
def test_softmax_long_sweep():
    rng = np.random.default_rng(92)
    for f in range(-5, 33):
        for length in (1, 2, 5, 16, 64, 197, 577, 1024):
            x = rows(rng, 100, length, f)
            check(x, f, rng.integers(1, length + 1, 100))
