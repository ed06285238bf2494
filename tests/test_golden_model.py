"""The whole integer forward (golden model) on random bundles: determinism, batch independence, the token
bookkeeping of every pruning stage (counts, kept ids, selection, packaging) and the scoring modes."""
from __future__ import annotations

import dataclasses
from fractions import Fraction
import math

import numpy as np
import pytest

from spvit.configs import ModelConfig, load_config
from spvit.sim.golden import Bundle, Trace, forward, random_bundle
from spvit.sim.golden.bundle import frac_names, layout, scalar_specs


# ---------------------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------------------
def variant(cfg: ModelConfig, name: str | None = None, **prune) -> ModelConfig:
    new = dataclasses.replace(cfg, prune=dataclasses.replace(cfg.prune, **prune))
    return (dataclasses.replace(new, name=name) if name else new).validate()


def images_for(cfg: ModelConfig, b: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(-128, 128, (b, cfg.in_chans, cfg.img_size, cfg.img_size))


def stage_blocks(cfg: ModelConfig) -> list[int]:
    """0-based index of the block after which each stage prunes."""
    return [a - 1 for a in cfg.prune.after_blocks[: cfg.num_stages]]


def n_out_of_stage(trace: Trace, cfg: ModelConfig, s: int) -> np.ndarray:
    """Tokens present after stage s (= at the input of the block after it)."""
    return trace.n_valid[stage_blocks(cfg)[s] + 1]


def n_in_of_stage(trace: Trace, cfg: ModelConfig, s: int) -> np.ndarray:
    return trace.n_valid[stage_blocks(cfg)[s]]


def image_view(trace: Trace, cfg: ModelConfig, b: int) -> dict:
    """Everything the trace says about image b, padding removed."""
    out = {"logits": trace.logits[b]}
    for i, (x, n) in enumerate(zip(trace.blocks, trace.n_valid)):
        out[f"n_valid.{i}"] = int(n[b])
        out[f"blocks.{i}"] = x[b, : n[b]]
    for s in range(len(trace.kept_ids)):
        n_in = int(n_in_of_stage(trace, cfg, s)[b])
        out[f"scores.{s}"] = trace.scores[s][b, :n_in]
        ids = trace.kept_ids[s][b]
        out[f"kept_ids.{s}"] = ids[ids != Trace.PAD_ID]
    return out


def assert_same_view(a: dict, b: dict, label=""):
    assert sorted(a) == sorted(b)
    for key in a:
        assert np.array_equal(a[key], b[key]), f"{label}{key}"


def assert_padding_clean(trace: Trace, cfg: ModelConfig):
    """Beyond n_valid: block outputs are 0, kept ids are PAD_ID, scores are 0."""
    for x, n in zip(trace.blocks, trace.n_valid):
        pad = np.arange(x.shape[1])[None, :] >= n[:, None]
        assert np.all(x[pad] == 0)
    for s, ids in enumerate(trace.kept_ids):
        n = n_out_of_stage(trace, cfg, s)
        pad = np.arange(ids.shape[1])[None, :] >= n[:, None]
        assert np.all(ids[pad] == Trace.PAD_ID) and not np.any(ids[~pad] == Trace.PAD_ID)
        sc = trace.scores[s]
        assert np.all(sc[np.arange(sc.shape[1])[None, :] >= n_in_of_stage(trace, cfg, s)[:, None]] == 0)


def ref_kept(scores: list[int], n_in: int, tail: int, k: int, threshold: int | None) -> list[int]:
    """Plain-Python §9: kept candidate positions, in index order."""
    cands = range(1, n_in - tail)
    ranked = sorted(cands, key=lambda j: (-scores[j], j))[:k]
    if threshold is not None:
        ranked = [j for j in ranked if scores[j] >= threshold]
    return sorted(ranked)


def expected_ids(trace: Trace, bundle: Bundle, k=None, threshold=None) -> list[list[np.ndarray]]:
    """Per stage, per image: the kept ids the contract prescribes, from the trace's own scores."""
    cfg = bundle.config
    n_patches = cfg.num_patches
    out = []
    prev = [np.arange(n_patches + 1) for _ in range(trace.logits.shape[0])]
    for s in range(cfg.num_stages):
        kk = bundle.stage_k(s) if k is None else k
        thr = None
        if cfg.prune.select == "threshold":
            thr = bundle.stage_threshold(s) if threshold is None else threshold
        tail = s if cfg.prune.package else 0
        stage = []
        for b, ids_pre in enumerate(prev):
            n_in = len(ids_pre)
            row = trace.scores[s][b].tolist()
            kept = ref_kept(row, n_in, tail, kk, thr)
            ids = [ids_pre[0]] + [ids_pre[j] for j in kept] + list(ids_pre[n_in - tail:])
            if cfg.prune.package:
                ids.append(-1 - s)
            stage.append(np.array(ids))
        out.append(stage)
        prev = stage
    return out


@pytest.fixture(scope="module")
def digits() -> ModelConfig:
    return load_config("digits")


@pytest.fixture(scope="module")
def digits_bundle(digits) -> Bundle:
    return random_bundle(digits, seed=0)


@pytest.fixture(scope="module")
def mini_deit() -> ModelConfig:
    """deit_tiny's widths (192 dims, 3 heads, 3 channels, patch 16) on a 64 px image, 4 blocks, 3 stages."""
    t = load_config("deit_tiny")
    return dataclasses.replace(t, name="deit_tiny_mini", img_size=64, depth=4,
                               prune=dataclasses.replace(t.prune, after_blocks=(1, 2, 3))).validate()


# ---------------------------------------------------------------------------------------------------------
# determinism and batch independence
# ---------------------------------------------------------------------------------------------------------
def test_deterministic(digits, digits_bundle):
    imgs = images_for(digits, 3, seed=1)
    t1, t2 = forward(digits_bundle, imgs), forward(random_bundle(digits, seed=0), imgs.copy())
    for b in range(3):
        assert_same_view(image_view(t1, digits, b), image_view(t2, digits, b))
    assert t1.logits.shape == (3, digits.num_classes)
    assert np.issubdtype(t1.logits.dtype, np.integer)


def test_forward_does_not_modify_inputs(digits, digits_bundle):
    imgs = images_for(digits, 2, seed=2)
    before = imgs.copy()
    arrays = {k: v.copy() for k, v in digits_bundle.arrays.items()}
    forward(digits_bundle, imgs)
    assert np.array_equal(imgs, before)
    for k, v in arrays.items():
        assert np.array_equal(digits_bundle.arrays[k], v), k


def _batch_vs_singles(bundle, imgs, **kw):
    cfg = bundle.config
    batch = forward(bundle, imgs, **kw)
    assert_padding_clean(batch, cfg)
    for b in range(imgs.shape[0]):
        alone = forward(bundle, imgs[b : b + 1], **kw)
        assert_padding_clean(alone, cfg)
        assert_same_view(image_view(batch, cfg, b), image_view(alone, cfg, 0), label=f"image {b}: ")
    return batch


@pytest.mark.parametrize("kind", ["topk", "threshold", "asvit", "hard", "asvit-threshold-hard"])
def test_batch_independence_digits(digits, kind):
    cfg = {"topk": digits,
           "threshold": variant(digits, select="threshold"),
           "asvit": variant(digits, score="asvit"),
           "hard": variant(digits, package=False),
           "asvit-threshold-hard": variant(digits, score="asvit", select="threshold", package=False)}[kind]
    bundle = random_bundle(cfg, seed=2)
    imgs = images_for(cfg, 4, seed=3)
    kw = {}
    if cfg.prune.select == "threshold":  # a threshold that some but not all candidates pass
        scores = forward(bundle, imgs).scores[0][:, 1:]
        kw["threshold"] = int(np.quantile(scores, 0.8))
    _batch_vs_singles(bundle, imgs, **kw)


def test_batch_independence_deit_tiny():
    cfg = load_config("deit_tiny")
    bundle = random_bundle(cfg, seed=0)
    batch = _batch_vs_singles(bundle, images_for(cfg, 2, seed=4))
    assert [int(n[0]) for n in batch.n_valid] == [197] * 3 + [123] * 3 + [75] * 3 + [31] * 3  # 1 + k + s + 1


def test_batch_independence_mini_deit_threshold(mini_deit):
    cfg = variant(mini_deit, select="threshold", thresholds=(0.5, 0.5, 0.5))
    bundle = random_bundle(cfg, seed=5)
    imgs = images_for(cfg, 3, seed=6)
    thr = int(np.quantile(forward(bundle, imgs).scores[0][:, 1:], 0.5))
    _batch_vs_singles(bundle, imgs, threshold=thr)


# ---------------------------------------------------------------------------------------------------------
# token counts and kept ids
# ---------------------------------------------------------------------------------------------------------
def check_stage_bookkeeping(trace: Trace, bundle: Bundle, k=None, threshold=None):
    cfg = bundle.config
    bsz = trace.logits.shape[0]
    assert len(trace.kept_ids) == len(trace.scores) == cfg.num_stages
    assert len(trace.blocks) == len(trace.n_valid) == cfg.depth
    assert np.all(trace.n_valid[0] == cfg.num_patches + 1)
    stage_at = stage_blocks(cfg)
    for i in range(1, cfg.depth):  # the count only changes right after a stage
        if i - 1 not in stage_at:
            assert np.array_equal(trace.n_valid[i], trace.n_valid[i - 1])
    want = expected_ids(trace, bundle, k, threshold)
    for s in range(cfg.num_stages):
        n_in, n_out = n_in_of_stage(trace, cfg, s), n_out_of_stage(trace, cfg, s)
        kk = bundle.stage_k(s) if k is None else k
        thr = None
        if cfg.prune.select == "threshold":
            thr = bundle.stage_threshold(s) if threshold is None else threshold
        earlier = s if cfg.prune.package else 0
        for b in range(bsz):
            cand = int(n_in[b]) - 1 - earlier
            row = trace.scores[s][b]
            passing = cand if thr is None else int(np.sum(row[1 : 1 + cand] >= thr))
            kept = min(kk, passing)
            # contract: class token + kept + earlier package tokens + this stage's package token
            assert int(n_out[b]) == 1 + kept + earlier + (1 if cfg.prune.package else 0), (s, b)
            ids = trace.kept_ids[s][b]
            ids = ids[ids != Trace.PAD_ID]
            assert len(ids) == int(n_out[b])
            assert ids[0] == 0  # class token first
            patch = ids[1 : 1 + kept]
            assert np.all(patch >= 1) and np.all(patch <= cfg.num_patches)
            assert np.all(np.diff(patch) > 0)  # original order
            pkgs = ids[1 + kept :]
            if cfg.prune.package:
                assert pkgs.tolist() == [-1 - t for t in range(s + 1)]  # package tokens last, in stage order
            else:
                assert pkgs.size == 0 and np.all(ids >= 0)
            if s:
                prev = trace.kept_ids[s - 1][b]
                assert set(patch.tolist()) <= set(prev[prev > 0].tolist())
            assert np.array_equal(ids, want[s][b]), (s, b, ids, want[s][b])
            assert np.all((row >= 0) & (row <= 65535))


@pytest.mark.parametrize("kind", ["topk", "hard", "asvit", "threshold"])
def test_stage_bookkeeping(digits, kind):
    cfg = {"topk": digits, "hard": variant(digits, package=False), "asvit": variant(digits, score="asvit"),
           "threshold": variant(digits, select="threshold")}[kind]
    bundle = random_bundle(cfg, seed=7)
    trace = forward(bundle, images_for(cfg, 3, seed=8))
    check_stage_bookkeeping(trace, bundle)
    assert_padding_clean(trace, cfg)


def test_digits_counts(digits, digits_bundle):
    trace = forward(digits_bundle, images_for(digits, 2))
    # 64 patches, k = 32 then 16 (cumulative), one package token per stage
    assert [int(n[0]) for n in trace.n_valid] == [65, 65, 34, 34, 19, 19]
    hard = random_bundle(variant(digits, package=False), 0)
    trace = forward(hard, images_for(digits, 2))
    assert [int(n[0]) for n in trace.n_valid] == [65, 65, 33, 33, 17, 17]


@pytest.mark.parametrize("k", [1, 2, 5, 16, 31, 32, 33, 63, 64, 1000])
@pytest.mark.parametrize("package", [True, False])
def test_k_override(digits, k, package):
    cfg = variant(digits, package=package)
    bundle = random_bundle(cfg, seed=9)
    trace = forward(bundle, images_for(cfg, 2, seed=10), k=k)
    check_stage_bookkeeping(trace, bundle, k=k)
    extra = 1 if package else 0
    n1 = 1 + min(k, 64) + extra
    n2 = 1 + min(k, n1 - 1 - extra) + 2 * extra
    assert [int(n[0]) for n in trace.n_valid] == [65, 65, n1, n1, n2, n2]


def test_nothing_pruned_still_appends_package(digits):
    """k >= every candidate: nothing is pruned, yet each stage appends its (all-zero) package token."""
    bundle = random_bundle(digits, seed=1)
    trace = forward(bundle, images_for(digits, 2), k=digits.num_patches)
    assert [int(n[0]) for n in trace.n_valid] == [65, 65, 66, 66, 67, 67]
    assert trace.kept_ids[1][0].tolist() == list(range(65)) + [-1, -2]


def test_threshold_mode_counts_differ_per_image(digits):
    cfg = variant(digits, select="threshold")
    bundle = random_bundle(cfg, seed=2)
    imgs = images_for(cfg, 6, seed=11)
    thr = int(np.quantile(forward(bundle, imgs).scores[0][:, 1:], 0.7))
    trace = forward(bundle, imgs, threshold=thr)
    n1 = n_out_of_stage(trace, cfg, 0)
    assert len(set(n1.tolist())) > 1, n1
    check_stage_bookkeeping(trace, bundle, threshold=thr)
    for b in range(imgs.shape[0]):
        alone = forward(bundle, imgs[b : b + 1], threshold=thr)
        assert_same_view(image_view(trace, cfg, b), image_view(alone, cfg, 0), label=f"image {b}: ")


def test_threshold_from_bundle(digits):
    cfg = variant(digits, select="threshold", thresholds=(0.45, 0.48))
    bundle = random_bundle(cfg, seed=3)
    assert bundle.stage_threshold(0) == math.floor(0.45 * 65536 + 0.5)
    trace = forward(bundle, images_for(cfg, 3, seed=12))
    check_stage_bookkeeping(trace, bundle)


@pytest.mark.parametrize("thr", [0, 65535])
def test_threshold_extremes(digits, thr):
    cfg = variant(digits, select="threshold")
    bundle = random_bundle(cfg, seed=4)
    trace = forward(bundle, images_for(cfg, 2, seed=13), threshold=thr)
    check_stage_bookkeeping(trace, bundle, threshold=thr)
    if thr == 0:  # every candidate passes: the same as top-k
        topk = forward(random_bundle(digits, seed=4), images_for(cfg, 2, seed=13))
        assert np.array_equal(trace.logits, topk.logits)


def test_topk_mode_refuses_threshold_override(digits, digits_bundle):
    """A threshold only exists in threshold mode (§9): giving one to a top-k model is a caller error, not a no-op."""
    imgs = images_for(digits, 2, seed=14)
    with pytest.raises(ValueError, match="top-k"):
        forward(digits_bundle, imgs, threshold=65535)


# ---------------------------------------------------------------------------------------------------------
# scoring modes, packaging, no pruning
# ---------------------------------------------------------------------------------------------------------
def test_asvit_scores_are_class_attention(digits):
    """AS-ViT scores are a head-weighted mean of class-attention rows: each row sums to 65536 within n/2 + 1
    (per-entry rounding), the weighted mean adds up to n/2 more, so sum_j score_j is within n + 1 of 65536."""
    cfg = variant(digits, score="asvit")
    bundle = random_bundle(cfg, seed=6)
    trace = forward(bundle, images_for(cfg, 3, seed=15))
    for s in range(cfg.num_stages):
        n_in = n_in_of_stage(trace, cfg, s)
        for b in range(3):
            n = int(n_in[b])
            total = int(trace.scores[s][b, :n].sum())
            assert abs(total - 65536) <= n + 1, (s, b, total)
    spvit = forward(random_bundle(digits, seed=6), images_for(cfg, 3, seed=15))
    assert not np.array_equal(spvit.scores[0], trace.scores[0])


def test_package_token_is_weighted_mean_of_pruned(digits):
    """§10 through the model's own prune step: the appended token is rdiv(sum w x, sum w), w = score + 1."""
    from spvit.sim.golden.model import prune_stage

    bundle = random_bundle(digits, seed=8)
    imgs = images_for(digits, 2, seed=16)
    trace = forward(bundle, imgs)
    s, blk = 0, stage_blocks(digits)[0]
    x = trace.blocks[blk]
    n_valid = trace.n_valid[blk]
    ids = np.broadcast_to(np.arange(x.shape[1]), x.shape[:2]).copy()
    new_x, new_ids, n_out = prune_stage(bundle, s, x, ids, n_valid, trace.scores[s])
    assert np.array_equal(new_ids, trace.kept_ids[s]) and np.array_equal(n_out, n_out_of_stage(trace, digits, s))
    for b in range(2):
        kept_pos = set(new_ids[b][new_ids[b] >= 0].tolist())
        pruned = [j for j in range(1, int(n_valid[b])) if j not in kept_pos]
        assert len(pruned) == digits.num_patches - bundle.stage_k(s)
        w = [int(trace.scores[s][b, j]) + 1 for j in pruned]
        want = [math.floor(Fraction(sum(wj * int(x[b, j, c]) for wj, j in zip(w, pruned)), sum(w)) + Fraction(1, 2))
                for c in range(x.shape[2])]
        n = int(n_out[b])
        assert new_x[b, n - 1].tolist() == want
        # the kept tokens are copied unchanged, in order
        for slot, pos in enumerate(new_ids[b, : n - 1].tolist()):
            assert np.array_equal(new_x[b, slot], x[b, pos])


def _none_bundle_from(hard: Bundle) -> Bundle:
    cfg = variant(hard.config, score="none")
    return Bundle(cfg, {k: hard.arrays[k] for k in layout(cfg)}, {k: hard.fracs[k] for k in frac_names(cfg)},
                  {k: hard.scalars[k] for k in scalar_specs(cfg)})


def test_score_none_keeps_all_tokens(digits):
    hard = random_bundle(variant(digits, package=False), seed=10)
    none = _none_bundle_from(hard)
    assert none.config.num_stages == 0
    imgs = images_for(digits, 2, seed=17)
    trace = forward(none, imgs)
    assert trace.kept_ids == [] and trace.scores == []
    assert all(np.all(n == digits.num_patches + 1) for n in trace.n_valid)
    assert all(x.shape[1] == digits.num_patches + 1 for x in trace.blocks)
    # hard pruning that keeps every candidate computes exactly the unpruned model
    full = forward(hard, imgs, k=digits.num_patches)
    assert np.array_equal(full.logits, trace.logits)
    for a, b in zip(full.blocks, trace.blocks):
        assert np.array_equal(a, b)
    _batch_vs_singles(none, imgs)


def test_score_none_random_bundle(digits):
    cfg = variant(digits, score="none")
    bundle = random_bundle(cfg, seed=0)
    assert not any(k.startswith("stages.") for k in bundle.arrays) and not any(k.startswith("stages.") for k in bundle.scalars)
    trace = forward(bundle, images_for(cfg, 1))
    assert [int(n[0]) for n in trace.n_valid] == [65] * cfg.depth


def test_pruning_changes_the_result(digits, digits_bundle):
    """The stages are live: different k give different logits."""
    imgs = images_for(digits, 2, seed=18)
    assert not np.array_equal(forward(digits_bundle, imgs, k=1).logits, forward(digits_bundle, imgs, k=40).logits)
