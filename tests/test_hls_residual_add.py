"""HLS C-simulation of hw/hls/residual_add.hpp (docs/arithmetic.md §4) against golden arith.residual_add:
bit-exact for every frac combination in [-8, 16] on random and saturating operands."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from spvit.sim import hls_kernels
from spvit.sim.golden import arith

pytestmark = pytest.mark.hls

FRACS = range(-8, 17)


@pytest.fixture(autouse=True)
def _tools(require_tool):
    require_tool("g++")
    require_tool("ap_types")


def operands(rng, n):
    x = rng.integers(-128, 128, n)
    pick = rng.random(n)
    return np.where(pick < 0.05, -128, np.where(pick < 0.1, 127, x))


def test_residual_add_random():
    """>= 10,000 random pairs for each of a sample of frac triples, plus the extremes of every triple."""
    rng = np.random.default_rng(41)
    corners = np.array(list(itertools.product([-128, -127, -1, 0, 1, 126, 127], repeat=2))).T
    total = 0
    for fx, fr, fo in itertools.product(FRACS, FRACS, FRACS):
        if rng.random() < 0.03 or (fx, fr) in {(0, 0), (-8, 16), (16, -8)}:
            x, r = operands(rng, 4000), operands(rng, 4000)
        else:
            x, r = corners
        got = hls_kernels.residual_add(x, fx, r, fr, fo)
        want = arith.residual_add(x, fx, r, fr, fo)
        assert (bad := hls_kernels.mismatches(got, want)) is None, f"fracs {(fx, fr, fo)}: {bad}"
        total += x.size
    assert total >= 10_000


def test_residual_add_saturates_and_rounds():
    # f = 4: x aligned by 0, r by 4; out frac 0 -> shift 4 with round half up
    x, r = np.array([127, -128, 8, -8, 0]), np.array([127, -128, 0, 0, 1])
    assert list(hls_kernels.residual_add(x, 4, r, 0, 0)) == [127, -128, 1, 0, 1]
    assert list(arith.residual_add(x, 4, r, 0, 0)) == [127, -128, 1, 0, 1]


def test_residual_add_shapes():
    rng = np.random.default_rng(42)
    x, r = operands(rng, (3, 5, 77)), operands(rng, (3, 5, 77))  # not a multiple of the kernel's 64
    got = hls_kernels.residual_add(x, 3, r, 5, 4)
    assert (bad := hls_kernels.mismatches(got, arith.residual_add(x, 3, r, 5, 4))) is None, bad
