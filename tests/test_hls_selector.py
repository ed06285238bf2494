"""HLS C-simulation of hw/hls/selector.hpp (docs/arithmetic.md §8.2) against golden scoring.selector: keep scores
bit-exact on >= 10,000 tokens, with the selectors of random model bundles and with synthetic parameters (saturating
layers, all-zero head weights, short images and a single token)."""
from __future__ import annotations

import numpy as np
import pytest

from spvit.configs import load_config
from spvit.sim import hls_kernels
from spvit.sim.golden import random_bundle
from spvit.sim.golden.lut import make_lut
from spvit.sim.golden.params import LinearParams, NormParams
from spvit.sim.golden.scoring import SelectorParams, selector

pytestmark = pytest.mark.hls


@pytest.fixture(autouse=True)
def _tools(require_tool):
    require_tool("g++")
    require_tool("ap_types")


def synthetic(rng, d, heads, se_width, spread=True) -> SelectorParams:
    """Random narrow-range weights; shifts near the unsaturated range (spread) or anywhere (not spread)."""
    dh = d // heads

    def layer(shape):
        n_in = shape[-1]
        bias = rng.integers(-(2**12), 2**12 + 1, shape[:-1])
        typical = int(np.log2(np.sqrt(n_in) * 70 * 70)) - 6
        shift = typical + int(rng.integers(-2, 3)) if spread else int(rng.integers(-8, 30))
        return LinearParams(rng.integers(-127, 128, shape), bias, shift)

    def table(fn, signed):
        return make_lut(fn, int(rng.integers(0, 7)), int(rng.integers(2, 6)) if signed else 8, signed)

    norm = NormParams(rng.integers(-(2**15), 2**15, d), rng.integers(-(2**20), 2**20, d),
                      int(rng.integers(1, 2**20)), int(rng.integers(10, 22)))
    return SelectorParams(
        norm=norm,
        in_proj=layer((heads, dh, dh)), in_act=table("gelu", True),
        mlp1=layer((heads, dh // 2, dh)), mlp1_act=table("gelu", True),
        mlp2=layer((heads, dh // 4, dh // 2)), mlp2_act=table("gelu", True),
        keep=layer((heads, 1, dh // 4)), keep_act=table("sigmoid", False),
        se1=layer((se_width, heads)), se1_act=table("gelu", True),
        se2=layer((heads, se_width)), se2_act=table("sigmoid", False),
    )


def check(x, n, p, heads):
    mask = np.arange(x.shape[1])[None, :] < n[:, None]
    got = hls_kernels.selector(x, mask, p, heads)
    want = np.where(mask, selector(x, mask, p, heads), 0)
    assert (bad := hls_kernels.mismatches(got, want)) is None, bad
    return int(n.sum())


def test_selector_random_bundle():
    """The selectors of a random digits bundle (D = 64, 4 heads, 64 tokens + package tokens), >= 10,000 tokens."""
    cfg = load_config("digits")
    bundle = random_bundle(cfg, seed=3)
    rng = np.random.default_rng(131)
    tokens = 0
    for s in range(cfg.num_stages):
        p = bundle.selector(s)
        for _ in range(10):
            x = rng.integers(-128, 128, (8, 64, cfg.embed_dim))
            n = np.where(rng.random(8) < 0.5, 64, rng.integers(1, 65, 8))
            tokens += check(x, n, p, cfg.num_heads)
    for _ in range(80):
        p = synthetic(rng, 64, 4, 2, spread=rng.random() < 0.8)
        x = rng.integers(-128, 128, (1, 64, 64))
        tokens += check(x, np.array([int(rng.integers(1, 65))]), p, 4)
    assert tokens >= 10_000


def test_selector_deit_tiny_shape():
    """D = 192, 3 heads of 64 channels, 197 tokens, se_width 1."""
    rng = np.random.default_rng(132)
    p = synthetic(rng, 192, 3, 1)
    x = rng.integers(-128, 128, (2, 197, 192))
    check(x, np.array([197, 120]), p, 3)


def test_selector_corners():
    rng = np.random.default_rng(133)
    for _ in range(20):
        p = synthetic(rng, 32, 2, 1, spread=False)
        x = rng.integers(-128, 128, (4, 16, 32))
        x[1] = 127  # constant tokens
        x[2] = np.where(rng.random((16, 32)) < 0.5, -128, 127)
        check(x, np.array([16, 1, 16, 7]), p, 2)
    # all head weights 0 (a sigmoid table of zeros): every score is 0
    p = synthetic(rng, 32, 2, 1)
    p0 = SelectorParams(**{**p.__dict__, "se2_act": np.zeros(256, dtype=np.uint8)})
    x = rng.integers(-128, 128, (2, 16, 32))
    assert check(x, np.array([16, 5]), p0, 2) and not hls_kernels.selector(x, None, p0, 2).any()
    # keep probability saturated at 255 everywhere with equal head weights: 255 << 8 = 65,280
    p1 = SelectorParams(**{**p.__dict__, "keep_act": np.full(256, 255, np.uint8), "se2_act": np.full(256, 9, np.uint8)})
    assert (hls_kernels.selector(x, None, p1, 2) == 65280).all()


@pytest.mark.slow
def test_selector_random_long():
    rng = np.random.default_rng(134)
    for _ in range(300):
        p = synthetic(rng, 64, 4, 2, spread=rng.random() < 0.8)
        check(rng.integers(-128, 128, (4, 64, 64)), rng.integers(1, 65, 4), p, 4)
