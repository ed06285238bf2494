"""HLS C-simulation of hw/hls/token_pack.hpp (docs/arithmetic.md §10, §11.3) against the golden model: the package
token (token_pack) and the kept sequence bit-exact on >= 10,000 images; nothing pruned (zero package token),
everything pruned, all-zero and all-maximal scores, extreme tokens."""
from __future__ import annotations

import numpy as np
import pytest

from spvit.sim import hls_kernels
from spvit.sim.golden.token_pack import token_pack

pytestmark = pytest.mark.hls


@pytest.fixture(autouse=True)
def _tools(require_tool):
    require_tool("g++")
    require_tool("ap_types")


def sample(rng, b, n, d):
    x = rng.integers(-128, 128, (b, n, d))
    x = np.where(rng.random((b, 1, 1)) < 0.1, rng.choice([-128, 127], (b, n, d)), x)
    scores = rng.integers(0, 65536, (b, n))
    kind = rng.integers(0, 6, b)
    scores = np.where(kind[:, None] == 1, 0, scores)
    scores = np.where(kind[:, None] == 2, 65535, scores)
    pruned = rng.random((b, n)) < rng.random((b, 1))
    pruned = np.where(kind[:, None] == 3, False, pruned)  # nothing pruned
    pruned = np.where(kind[:, None] == 4, True, pruned)  # everything pruned
    return x, scores, pruned


def expected_sequence(x, pruned, n, package_token):
    b, length, d = x.shape
    out = np.zeros((b, length + 1, d), dtype=np.int64)
    count = np.zeros(b, dtype=np.int64)
    for i in range(b):
        stay = [j for j in range(n[i]) if not pruned[i, j]]
        out[i, : len(stay)] = x[i, stay]
        if package_token is not None:
            out[i, len(stay)] = package_token[i]
        count[i] = len(stay) + (package_token is not None)
    return out, count


def test_token_pack_random():
    rng = np.random.default_rng(121)
    images = 0
    for length, d, trials in ((16, 16, 300), (64, 64, 60), (8, 384, 30)):
        for _ in range(trials):
            b, n_tok = 32, int(rng.integers(1, length + 1))
            x, scores, pruned = sample(rng, b, n_tok, d)
            got = hls_kernels.token_pack(x, scores, pruned)
            assert (bad := hls_kernels.mismatches(got, token_pack(x, scores, pruned))) is None, bad
            images += b
    assert images >= 10_000


@pytest.mark.parametrize("package", [True, False])
def test_token_pack_sequence(package):
    """Short images (tokens past n ignored), the kept tokens in order, then the package token."""
    rng = np.random.default_rng(122)
    for length, d in ((16, 16), (64, 64), (197, 192)):
        x, scores, pruned = sample(rng, 8, length, d)
        n = np.array([length, length, length - 1, length // 2, 3, 2, 1, 0])
        out, count = hls_kernels.token_pack_sequence(x, scores, pruned, n, package)
        present = np.arange(length)[None, :] < n[:, None]
        pkg = np.where((pruned & present).any(axis=1)[:, None], token_pack(x, scores, pruned & present), 0)
        want_out, want_count = expected_sequence(x, pruned, n, pkg if package else None)
        assert (bad := hls_kernels.mismatches(count, want_count)) is None, bad
        assert (bad := hls_kernels.mismatches(out, want_out)) is None, bad


def test_token_pack_corners():
    d = 16
    x = np.stack([np.full((16, d), -128), np.full((16, d), 127), np.tile([-128, 127], (16, d // 2))])
    for scores in (np.zeros((3, 16)), np.full((3, 16), 65535)):
        for pruned in (np.ones((3, 16), bool), np.zeros((3, 16), bool), np.eye(16, dtype=bool)[None, 3].repeat(3, 0)):
            got = hls_kernels.token_pack(x, scores, pruned)
            assert (bad := hls_kernels.mismatches(got, token_pack(x, scores, pruned))) is None, bad
    # nothing pruned: an all-zero package token, still emitted
    out, count = hls_kernels.token_pack_sequence(x, np.zeros((3, 16)), np.zeros((3, 16), bool))
    assert count.tolist() == [17, 17, 17] and not out[:, 16].any()
    # rounding half up on the mean: tokens 1 and 2 with equal weights -> rdiv(3, 2) = 2; -1 and -2 -> -1
    xs = np.array([[[1] * d, [2] * d], [[-1] * d, [-2] * d]])
    assert hls_kernels.token_pack(xs, np.zeros((2, 2)), np.ones((2, 2), bool))[:, 0].tolist() == [2, -1]


@pytest.mark.slow
def test_token_pack_random_long():
    rng = np.random.default_rng(123)
    for _ in range(300):
        x, scores, pruned = sample(rng, 16, int(rng.integers(1, 201)), 192)
        got = hls_kernels.token_pack(x, scores, pruned)
        assert (bad := hls_kernels.mismatches(got, token_pack(x, scores, pruned))) is None, bad
