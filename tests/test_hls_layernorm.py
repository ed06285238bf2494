"""HLS C-simulation of hw/hls/layernorm.hpp (docs/arithmetic.md §6) against golden layernorm.layernorm:
bit-exact on >= 10,000 tokens for D in {16, 32, 64, 192, 384, 768}, with constant tokens (V = E, down to E = 1
where 2**62 // V = 2**62), maximal variance, extreme gains and biases and every shift the fracs allow."""
from __future__ import annotations

import numpy as np
import pytest

from spvit.sim import hls_kernels
from spvit.sim.golden.layernorm import eps_term, layernorm

pytestmark = pytest.mark.hls

# D -> tokens per test run
TOKENS = {16: 5000, 32: 2000, 64: 2000, 192: 1000, 384: 500, 768: 200}
SHIFTS = (-9, 39)  # 15 + f_g - f_out with fracs in [-8, 16]


@pytest.fixture(autouse=True)
def _tools(require_tool):
    require_tool("g++")
    require_tool("ap_types")


def tokens(rng, n, d):
    """Random tokens; a share constant (V = E), a share of maximal spread, a share of small values."""
    x = rng.integers(-128, 128, (n, d))
    kind = rng.integers(0, 6, n)
    x[kind == 1] = rng.integers(-128, 128, (int((kind == 1).sum()), 1))  # constant token
    x[kind == 2] = np.where(rng.random((int((kind == 2).sum()), d)) < 0.5, -128, 127)  # extremes only
    x[kind == 3] = rng.integers(-2, 3, (int((kind == 3).sum()), d))  # tiny spread
    one_hot = np.full((int((kind == 4).sum()), d), -128)
    one_hot[:, 0] = 127
    x[kind == 4] = one_hot
    return x


def params(rng, d):
    g = rng.integers(-(2**15), 2**15, d)
    if rng.random() < 0.3:
        g = np.where(rng.random(d) < 0.5, -(2**15), 2**15 - 1)
    bscale = int(rng.choice([0, 2**12, 2**20, 2**30]))
    b = rng.integers(-bscale, bscale + 1, d)
    e = int(rng.choice([1, 2, int(rng.integers(1, 2**40)), 2**40, eps_term(1e-6, int(rng.integers(-8, 17)), d)]))
    shift = int(rng.integers(SHIFTS[0], SHIFTS[1] + 1)) if rng.random() < 0.3 else int(rng.integers(12, 24))
    return g, b, e, shift


def test_configs_built():
    assert set(hls_kernels.layernorm_configs()) == set(TOKENS)


@pytest.mark.parametrize("d", list(TOKENS))
def test_layernorm_random(d):
    rng = np.random.default_rng(60 + d)
    for _ in range(10):
        g, b, e, shift = params(rng, d)
        x = tokens(rng, TOKENS[d] // 10, d)
        got = hls_kernels.layernorm(x, g, b, e, shift)
        assert (bad := hls_kernels.mismatches(got, layernorm(x, g, b, e, shift))) is None, f"E={e} shift={shift}: {bad}"


@pytest.mark.parametrize("d", list(TOKENS))
def test_layernorm_corners(d):
    """V = E = 1 (r = 2**31, the isqrt of 2**62), the largest V, both shift extremes, saturation both ways."""
    rng = np.random.default_rng(70 + d)
    x = np.stack([np.full(d, 5), np.full(d, -128), np.where(np.arange(d) % 2 == 0, 127, -128),
                  np.where(np.arange(d) == 0, 127, -128), np.where(np.arange(d) == 0, -128, 127)])
    for e in (1, 2**40):
        for shift in (*SHIFTS, 0, 15):
            for g in (np.full(d, 2**15 - 1), np.full(d, -(2**15)), rng.integers(-(2**15), 2**15, d)):
                for b in (np.zeros(d, int), np.full(d, 2**30), np.full(d, -(2**30))):
                    got = hls_kernels.layernorm(x, g, b, e, shift)
                    assert (bad := hls_kernels.mismatches(got, layernorm(x, g, b, e, shift))) is None, bad


def test_layernorm_rejects():
    with pytest.raises(ValueError, match="no layernorm.hpp configuration"):
        hls_kernels.layernorm(np.zeros((1, 17)), np.zeros(17), np.zeros(17), 1, 0)
    with pytest.raises(ValueError, match="outside"):
        hls_kernels.layernorm(np.zeros((1, 16)), np.zeros(16), np.zeros(16), 0, 0)


@pytest.mark.slow
@pytest.mark.parametrize("d", list(TOKENS))
def test_layernorm_random_long(d):
    rng = np.random.default_rng(80 + d)
    for _ in range(100):
        g, b, e, shift = params(rng, d)
        x = tokens(rng, TOKENS[d] // 5, d)
        got = hls_kernels.layernorm(x, g, b, e, shift)
        assert (bad := hls_kernels.mismatches(got, layernorm(x, g, b, e, shift))) is None, bad
