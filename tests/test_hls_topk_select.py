"""HLS C-simulation of hw/hls/topk_select.hpp (docs/arithmetic.md §9) against golden topk_select: bit-exact keep
sets on >= 10,000 images, kept indices streamed in original order and drained exactly; ties (all-equal scores),
k = 0, 1 and the candidate count (and beyond), threshold mode keeping nothing or everything, short images and
protected package tokens."""
from __future__ import annotations

import numpy as np
import pytest

from spvit.sim import hls_kernels
from spvit.sim.golden.topk_select import candidates, topk_select

pytestmark = pytest.mark.hls


@pytest.fixture(autouse=True)
def _tools(require_tool):
    require_tool("g++")
    require_tool("ap_types")


def scores_for(rng, b, n):
    kind = rng.integers(0, 5, b)
    s = rng.integers(0, 65536, (b, n))
    s = np.where(kind[:, None] == 1, rng.integers(0, 4, (b, n)), s)  # many ties
    s = np.where(kind[:, None] == 2, rng.integers(0, 65536, (b, 1)), s)  # all equal
    s = np.where(kind[:, None] == 3, np.where(rng.random((b, n)) < 0.5, 0, 65535), s)  # the extremes
    return s


def check(scores, n, tail, k, threshold=None, config=None):
    want = topk_select(scores, n, tail, np.broadcast_to(k, (len(n),)),
                       None if threshold is None else np.broadcast_to(threshold, (len(n),)))
    kept = hls_kernels.topk_select_indices(scores, n, tail, k, threshold, config=config)
    got = np.zeros(scores.shape, dtype=bool)
    for i, idx in enumerate(kept):
        assert np.all(np.diff(idx) > 0), f"image {i}: indices not in original order: {idx}"
        got[i, idx] = True
    assert (bad := hls_kernels.mismatches(got, want)) is None, f"tail={tail}: {bad}"
    return got


def test_topk_random():
    rng = np.random.default_rng(111)
    images = 0
    for trial in range(400):
        b, length = 32, int(rng.integers(1, 17))
        s = scores_for(rng, b, length)
        n = np.where(rng.random(b) < 0.5, length, rng.integers(0, length + 1, b))
        tail = int(rng.integers(0, 4))
        n_cand = candidates(n, tail, length).sum(axis=1)
        k = np.where(rng.random(b) < 0.3, n_cand, rng.integers(0, 17, b))
        k = np.where(rng.random(b) < 0.1, 1, k)
        th = None if trial % 2 == 0 else np.where(rng.random(b) < 0.2, rng.choice([0, 65535], b),
                                                   rng.integers(0, 65536, b))
        check(s, n, tail, k, th, config=0)
        images += b
    assert images >= 10_000


def test_topk_short_network():
    """k_max = 4 and k_max = 1 networks: the best k of many candidates, ties to the lower index."""
    rng = np.random.default_rng(112)
    for config, k_max, length in ((1, 4, 16), (3, 1, 64)):
        for _ in range(30):
            s = scores_for(rng, 16, length)
            n = rng.integers(0, length + 1, 16)
            check(s, n, int(rng.integers(0, 3)), rng.integers(0, k_max + 1, 16), config=config)


def test_topk_deit_length():
    rng = np.random.default_rng(113)
    for _ in range(10):
        s = scores_for(rng, 8, 197)
        n = np.array([197, 197, 150, 100, 60, 5, 2, 1])
        check(s, n, int(rng.integers(0, 3)), rng.integers(0, 198, 8))
        check(s, n, 1, rng.integers(0, 198, 8), rng.integers(0, 65536, 8))


def test_topk_corners():
    n = np.array([16, 16, 16, 16])
    equal = np.full((4, 16), 777)
    # all-equal scores: the k lowest candidate indices
    got = check(equal, n, 0, np.array([1, 5, 15, 20]))
    assert np.flatnonzero(got[0]).tolist() == [1] and np.flatnonzero(got[1]).tolist() == [1, 2, 3, 4, 5]
    assert got[2].sum() == 15 and got[3].sum() == 15 and not got[:, 0].any()
    # k = 0 keeps nothing; threshold above every score keeps nothing; threshold 0 keeps k
    assert not check(equal, n, 0, 0).any()
    assert not check(equal, n, 0, 15, 778).any()
    assert check(equal, n, 0, 15, 777).sum() == 4 * 15
    assert check(equal, n, 2, 15, 0).sum() == 4 * 13
    # protected tail covering every candidate, or more than the image
    assert not check(equal, n, 15, 15).any() and not check(equal, n, 16, 15).any()
    # no token, a class token alone
    assert not check(equal, np.array([0, 1, 0, 1]), 0, 5).any()
    # strictly decreasing and increasing scores
    ramp = np.tile(np.arange(16) * 1000, (4, 1))
    assert np.flatnonzero(check(ramp, n, 0, 3)[0]).tolist() == [13, 14, 15]
    assert np.flatnonzero(check(ramp[:, ::-1].copy(), n, 0, 3)[0]).tolist() == [1, 2, 3]


def test_topk_rejects():
    with pytest.raises(ValueError):
        hls_kernels.topk_select_indices(np.zeros((1, 16)), [16], 0, 5, config=1)  # k above k_max = 4


@pytest.mark.slow
def test_topk_random_long():
    rng = np.random.default_rng(114)
    for trial in range(200):
        b, length = 16, int(rng.integers(1, 201))
        s = scores_for(rng, b, length)
        n = rng.integers(0, length + 1, b)
        check(s, n, int(rng.integers(0, 4)), rng.integers(0, length + 1, b),
              None if trial % 2 else rng.integers(0, 65536, b))
