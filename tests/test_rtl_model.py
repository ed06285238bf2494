"""The whole model in RTL: sim/tb/model/model_tb.sv (patch embedding, encoder_block.sv, prune_stage.sv with the SPViT
selector or asvit_score inside, head) driven by spvit.sim.rtl_backend.RtlBackend, every tensor of golden
Trace.per_image() (docs/arithmetic.md §11.5) bit for bit against the golden forward.

Random digits bundles: SPViT top-k, SPViT threshold, Adaptive Sparse ViT threshold with and without package tokens,
and the extremes of k and of the threshold through the run-time overrides (a stage that keeps every candidate, one
that keeps none, a sequence of the class token alone). One Verilator build (the digits model's, shared with
`spvit simulate --backend rtl`) and one simulator session for all the cases (spvit.sim.rtl_backend.run_together).
"""
from __future__ import annotations

import dataclasses
import multiprocessing
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest

from spvit.configs import load_config
from spvit.sim import rtl_backend, rtl_sim
from spvit.sim.backends import compare
from spvit.sim.golden import forward, random_bundle

pytestmark = pytest.mark.rtl

DIGITS = load_config("digits")
BIG_K = 10**9  # beyond every candidate count: keeps them all


def variant(**prune):
    return dataclasses.replace(DIGITS, prune=dataclasses.replace(DIGITS.prune, **prune)).validate()


def images(cfg, seed: int, count: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).integers(-128, 128, (count, cfg.in_chans, cfg.img_size, cfg.img_size))


def quartile_thresholds(bundle, imgs) -> list[int]:
    """Per stage, a threshold equal to one of the stage's candidate scores (ties at the threshold), about a quarter of
    the candidates at or above it, found stage by stage on the golden model."""
    cfg, thr = bundle.config, []
    for s in range(cfg.num_stages):
        tr = forward(bundle, imgs[:1], threshold=thr + [None] * (cfg.num_stages - s))
        n = int(tr.stage_n_in[s][0])
        tail = s if cfg.prune.package else 0
        cand = np.sort(tr.scores[s][0, 1:n - tail])[::-1]
        thr.append(int(cand[len(cand) // 4]))
    return thr


# name -> (config, bundle seed, k override, threshold override: a list, "quartile" or None)
CASES = {
    "spvit-topk": (DIGITS, 31, None, None),
    "spvit-threshold": (variant(select="threshold"), 32, None, "quartile"),
    "asvit-threshold": (variant(score="asvit", select="threshold"), 33, None, "quartile"),
    "asvit-threshold-hard": (variant(score="asvit", select="threshold", package=False), 34, None, "quartile"),
    # stage 0 keeps every candidate, stage 1 none (k = 0): 66 then 3 tokens
    "spvit-k-extremes": (DIGITS, 35, [BIG_K, 0], None),
    # a threshold above every uint16 score keeps none: the class token alone runs through blocks 2..5 and stage 1
    "asvit-class-token-only": (variant(score="asvit", select="threshold", package=False), 36, [BIG_K, BIG_K],
                               [70000, 0]),
}


@pytest.mark.parametrize("scorers", [3, 2, 1], ids=["both", "asvit", "spvit"])
def test_lint(scorers):
    params = dict(rtl_backend.model_parameters(DIGITS), SCORERS=scorers)
    rtl_sim.lint_clean(rtl_backend.MODEL_SOURCES, rtl_backend.MODEL_TOP, params)


@pytest.fixture(scope="module")
def runs(require_tool):
    """Every case in one simulator session: name -> (backend, bundle, images, rtl results, golden trace)."""
    require_tool("verilator")
    todo = {}
    for name, (cfg, seed, k, threshold) in CASES.items():
        bundle = random_bundle(cfg, seed=seed)
        imgs = images(cfg, seed + 100)
        if threshold == "quartile":
            threshold = quartile_thresholds(bundle, imgs)
        backend = rtl_backend.RtlBackend(bundle, k=k, threshold=threshold,
                                         build_dir=rtl_backend.model_build_dir(DIGITS))
        todo[name] = (backend, bundle, imgs, forward(bundle, imgs, k=k, threshold=threshold).per_image())
    results = rtl_backend.run_together([(b, imgs) for b, _, imgs, _ in todo.values()], run_name="test_rtl_model")
    return {name: (*todo[name], got) for name, got in zip(todo, results)}


@pytest.mark.parametrize("name", CASES)
def test_model_matches_golden(runs, name):
    backend, bundle, imgs, want, got = runs[name]
    cfg = bundle.config
    compared, mismatched, reports = compare(want, got)
    assert mismatched == 0, "\n".join(reports)
    assert compared == len(imgs) * (1 + cfg.depth + 2 * cfg.num_stages)
    assert backend.rtl_parts == ["patch_embed", "encoder_block", "prune_stage", "head"]
    assert [len(c) for c in backend.block_cycles] == [cfg.depth] * len(imgs)
    assert [len(c) for c in backend.stage_cycles] == [cfg.num_stages] * len(imgs)
    assert all(c > 0 for per in backend.block_cycles + backend.stage_cycles for c in per)
    # The host has each block run prefetch the next block's parameters: the first run after the bundle's words were
    # written fetches its own, block 1 (after 65 tokens of block 0) finds its parameters on chip in every image.
    load = backend.block_load_cycles
    assert load[0][0] > 0 and all(per[1] == 0 for per in load), load
    # Each stage is started before its block and takes the block's tokens on the link as they come: it runs through
    # the whole block run (a stage fed after the block would take far fewer cycles than the block).
    before = [a - 1 for a in cfg.prune.after_blocks[:cfg.num_stages]]  # the block each stage follows
    for blocks, stages in zip(backend.block_cycles, backend.stage_cycles):
        assert all(stages[s] > blocks[b] for s, b in enumerate(before)), (blocks, stages)
    kept = [len(got[0][f"stages.{s}.kept_ids"]) for s in range(cfg.num_stages)]
    if name == "spvit-k-extremes":
        assert kept == [1 + cfg.num_patches + 1, 3]  # all candidates + package; class token + two package tokens
    elif name == "asvit-class-token-only":
        assert kept == [1, 1] and got[0]["blocks.5.out"].shape == (1, cfg.embed_dim)
    else:
        assert 2 < kept[1] < kept[0] < cfg.num_patches  # something was pruned, something kept


def test_harness_can_fail(runs):
    """The comparison sees a wrong model: the k-extremes run against golden without the k override differs (the
    kept ids, the later blocks and the logits), and a single flipped logit is reported."""
    _, bundle, imgs, _, got = runs["spvit-k-extremes"]
    compared, mismatched, reports = compare(forward(bundle, imgs).per_image(), got)
    assert mismatched >= 1 + 4 + 2 and any("stages.0.kept_ids" in r for r in reports)
    _, _, _, want, got = runs["spvit-topk"]
    bad = [dict(t) for t in got]
    bad[0]["logits"] = bad[0]["logits"].copy()
    bad[0]["logits"][3] += 1
    assert compare(want, bad)[1] == 1


def _mismatches_of_own_run(seed: int) -> int:
    bundle, imgs = random_bundle(DIGITS, seed=seed), images(DIGITS, seed)
    return compare(forward(bundle, imgs).per_image(), rtl_backend.RtlBackend(bundle).run(imgs))[1]


def test_concurrent_runs_of_one_build_keep_their_own_jobs(require_tool):
    """Two processes (as pytest-xdist workers) running different bundles on the same build at once each get their own
    bundle's results: the job files in the build folder are written, run and read under its lock."""
    require_tool("verilator")
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("fork")) as pool:
        assert list(pool.map(_mismatches_of_own_run, [41, 42])) == [0, 0]


def test_rtl_backend_refuses_what_the_cores_cannot_run():
    cfg = dataclasses.replace(DIGITS, embed_dim=72, num_heads=3).validate()
    with pytest.raises(ValueError, match="multiples of 16"):
        rtl_backend.RtlBackend(random_bundle(cfg, seed=0))
    with pytest.raises(ValueError, match="selects by top-k"):
        rtl_backend.RtlBackend(random_bundle(DIGITS, seed=0), threshold=5)
    backend = rtl_backend.RtlBackend(random_bundle(DIGITS, seed=0))
    with pytest.raises(ValueError, match="int8"):
        backend.run(np.full((1, 1, 32, 32), 200))
    with pytest.raises(ValueError, match="shape"):
        backend.run(np.zeros((1, 1, 8, 8), dtype=np.int64))


def test_simulate_cli_rtl_backend(capsys):
    """`spvit simulate --backend rtl --compare golden` goes through the RTL backend with 0 mismatches."""
    from spvit.cli import main

    assert main(["simulate", "--random", "--config", "digits", "--backend", "rtl", "--compare", "golden",
                 "--images", "1"]) == 0
    assert ": 0 mismatched (rtl vs golden)" in capsys.readouterr().out
