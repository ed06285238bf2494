"""HLS C-simulation of hw/hls/linear.hpp (docs/arithmetic.md §3) against golden arith.linear / LinearParams:
bit-exact on >= 10,000 random token vectors over every instantiated size, per-head layers included."""
from __future__ import annotations

import numpy as np
import pytest

from spvit.sim import hls_kernels
from spvit.sim.golden import arith
from spvit.sim.golden.params import LinearParams

pytestmark = pytest.mark.hls

# (heads, in, out) -> tokens per test run (>= 10,000 in all)
TOKENS = {(1, 16, 8): 3000, (1, 64, 32): 2000, (1, 192, 48): 1000, (1, 384, 16): 1000, (1, 3, 5): 2000,
          (4, 16, 16): 1000, (3, 64, 32): 500, (2, 8, 4): 1000, (1, 16, 64): 500, (1, 64, 10): 500}


@pytest.fixture(autouse=True)
def _tools(require_tool):
    require_tool("g++")
    require_tool("ap_types")


def int8_corners(rng, shape, lo=-128):
    x = rng.integers(lo, 128, shape)
    pick = rng.random(shape)
    return np.where(pick < 0.05, lo, np.where(pick < 0.1, 127, np.where(pick < 0.12, 0, x)))


def layer(rng, heads, n_in, n_out, shift=None, bias_scale=None):
    shape = (heads, n_out, n_in) if heads > 1 else (n_out, n_in)
    w = int8_corners(rng, shape, lo=-127)  # narrow-range weights (§1.1)
    bscale = bias_scale if bias_scale is not None else int(rng.choice([0, 2**10, 2**16, 2**30]))
    b = rng.integers(-bscale, bscale + 1, shape[:-1])
    if shift is None:  # mostly around the unsaturated range of the accumulator, sometimes anywhere in [-32, 40]
        typical = int(np.log2(np.sqrt(n_in) * 75 * 73 + bscale + 1)) - 6
        shift = int(rng.integers(-32, 41)) if rng.random() < 0.2 else typical + int(rng.integers(-2, 3))
    return LinearParams(w, b, shift)


def test_configs_built():
    assert set(hls_kernels.linear_configs()) == set(TOKENS)


def test_linear_random():
    rng = np.random.default_rng(31)
    total = 0
    for (heads, n_in, n_out), n_tok in TOKENS.items():
        for chunk in range(4):  # a fresh layer (weights, bias, shift) per quarter
            p = layer(rng, heads, n_in, n_out)
            x = int8_corners(rng, (n_tok // 4, heads, n_in) if heads > 1 else (n_tok // 4, n_in))
            got = hls_kernels.linear_layer(p, x)
            assert (bad := hls_kernels.mismatches(got, p(x))) is None, f"{(heads, n_in, n_out)} shift {p.shift}: {bad}"
            if heads == 1:
                acc = hls_kernels.linear(x, p.weight, p.bias)
                assert (bad := hls_kernels.mismatches(acc, arith.linear(x, p.weight, p.bias))) is None, bad
            total += x.shape[0]
    assert total >= 10_000


@pytest.mark.parametrize("key", list(TOKENS))
def test_linear_corners(key):
    """Largest accumulators of both signs with the extreme biases; shifts at both ends of [-32, 40]."""
    heads, n_in, n_out = key
    rng = np.random.default_rng(hash(key) % 2**32)
    xshape = (heads, n_in) if heads > 1 else (n_in,)
    xs = np.stack([np.full(xshape, -128), np.full(xshape, 127), np.zeros(xshape, int), np.full(xshape, -1)])
    for shift in (-32, -1, 0, 1, 7, 20, 31, 32, 40):
        for bias_scale in (0, 2**30):
            p = layer(rng, heads, n_in, n_out, shift=shift, bias_scale=bias_scale)
            w = np.where(rng.random(p.weight.shape) < 0.5, -127, 127)
            w[..., 0, :], w[..., 1, :] = -127, 127  # the largest accumulators of both signs
            p = LinearParams(w, np.where(rng.random(p.bias.shape) < 0.5, -bias_scale, bias_scale), shift)
            got = hls_kernels.linear_layer(p, xs)
            assert (bad := hls_kernels.mismatches(got, p(xs))) is None, f"shift {shift}: {bad}"
            if heads == 1:
                acc = hls_kernels.linear(xs, p.weight, p.bias)
                assert np.abs(acc).max() >= n_in * 127 * 127 or bias_scale
                assert (bad := hls_kernels.mismatches(acc, arith.linear(xs, p.weight, p.bias))) is None, bad


def test_linear_rejects_unbuilt_size_and_bad_shift():
    with pytest.raises(ValueError, match="no linear.hpp configuration"):
        hls_kernels.linear(np.zeros((1, 7)), np.zeros((2, 7)))
    with pytest.raises(ValueError, match="outside"):
        hls_kernels.linear_layer(LinearParams(np.zeros((8, 16)), np.zeros(8), 41), np.zeros((1, 16)))


@pytest.mark.slow
def test_linear_random_long():
    rng = np.random.default_rng(32)
    for (heads, n_in, n_out), n_tok in TOKENS.items():
        for _ in range(20):
            p = layer(rng, heads, n_in, n_out)
            x = int8_corners(rng, (n_tok, heads, n_in) if heads > 1 else (n_tok, n_in))
            assert (bad := hls_kernels.mismatches(hls_kernels.linear_layer(p, x), p(x))) is None, bad
