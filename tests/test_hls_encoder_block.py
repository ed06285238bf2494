"""The hls backend (spvit.sim.hls_backend: hw/hls/encoder_block.hpp's encoder_block and prune_stage, plus the
linear / residual_add / layernorm kernels for patch embedding and head) against the golden model on whole random
digits bundles: every block's output tokens, every stage's scores and kept ids, and the logits, bit for bit
(docs/arithmetic.md §11.5). The bridge feeds and drains every AXI-Stream exactly (TLAST included)."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from spvit.configs import load_config
from spvit.sim import hls_kernels
from spvit.sim.backends import compare
from spvit.sim.golden import forward, random_bundle
from spvit.sim.hls_backend import HlsBackend

pytestmark = pytest.mark.hls


@pytest.fixture(autouse=True)
def _tools(require_tool):
    require_tool("g++")
    require_tool("ap_types")


def variant(**prune):
    cfg = load_config("digits")
    return dataclasses.replace(cfg, prune=dataclasses.replace(cfg.prune, **prune)).validate()


def images(cfg, n, seed):
    return np.random.default_rng(seed).integers(-128, 128, (n, cfg.in_chans, cfg.img_size, cfg.img_size))


def assert_model_matches(bundle, imgs, **overrides):
    want = forward(bundle, imgs, **overrides).per_image()
    got = HlsBackend(bundle, **overrides).run(imgs)
    compared, mismatched, reports = compare(want, got)
    assert mismatched == 0, "\n".join(reports)
    assert compared == len(imgs) * len(want[0])
    return want


@pytest.mark.parametrize("prune", [
    {}, {"score": "asvit"}, {"select": "threshold"}, {"package": False},
    {"score": "asvit", "select": "threshold", "package": False},
], ids=["spvit-topk", "asvit-topk", "spvit-threshold", "spvit-hard", "asvit-threshold-hard"])
def test_hls_backend_matches_golden(prune):
    cfg = variant(**prune)
    assert_model_matches(random_bundle(cfg, seed=11), images(cfg, 3, seed=12))


@pytest.mark.parametrize("k", [0, 1, 64])
def test_hls_backend_k_extremes(k):
    """k = 0 (everything pruned), 1, and every candidate (nothing pruned: an all-zero package token)."""
    cfg = variant()
    want = assert_model_matches(random_bundle(cfg, seed=13), images(cfg, 2, seed=14), k=k)
    kept = want[0]["stages.0.kept_ids"]
    assert len(kept) == 1 + min(k, 64) + 1  # class token, kept candidates, the package token


@pytest.mark.parametrize("threshold", [0, 65535])
def test_hls_backend_threshold_extremes(threshold):
    cfg = variant(select="threshold")
    assert_model_matches(random_bundle(cfg, seed=15), images(cfg, 2, seed=16), threshold=threshold)


def test_parameter_layout_is_word_aligned():
    """Each array starts on a 128-bit word; lanes are little-endian two's complement (uint8 tables unchanged)."""
    words = hls_kernels.pack_words([(np.array([-1, 2, -128]), 8), (np.array([255]), 8), (np.array([-2, 70000]), 32)])
    assert words.size == 12
    assert words[0] == 0x8002FF and words[4] == 0xFF and words[8] == 0xFFFFFFFE and words[9] == 70000
    with pytest.raises(ValueError):
        hls_kernels.pack_words([(np.array([256]), 8)])


def test_backend_refuses_other_dimensions():
    cfg = dataclasses.replace(load_config("digits"), embed_dim=32).validate()
    with pytest.raises(ValueError, match="built for"):
        HlsBackend(random_bundle(cfg, seed=1))


@pytest.mark.slow
@pytest.mark.parametrize("score", ["spvit", "asvit"])
def test_hls_backend_many_images(score):
    cfg = variant(score=score)
    for seed in range(4):
        assert_model_matches(random_bundle(cfg, seed=100 + seed), images(cfg, 16, seed=200 + seed))


def test_simulate_cli_hls_backend(capsys):
    """`spvit simulate --backend hls --compare golden` runs the C-simulated kernels and reports 0 mismatches;
    a model the csim bridge is not built for is 'unavailable' (exit 2), not a crash."""
    from spvit.cli import main

    assert main(["simulate", "--random", "--config", "digits", "--backend", "hls", "--compare", "golden",
                 "--images", "2"]) == 0
    assert ": 0 mismatched (hls vs golden)" in capsys.readouterr().out
    assert main(["simulate", "--random", "--config", "deit_tiny", "--backend", "hls", "--images", "1"]) == 2
    assert "built for" in capsys.readouterr().err
