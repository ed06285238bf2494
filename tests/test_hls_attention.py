"""HLS C-simulation of hw/hls/attention.hpp against the golden model: attention (docs/arithmetic.md §5: context,
class-attention row p16 and class context) and asvit_score (§8.1), bit-exact on >= 10,000 query rows / tokens,
with short images (masked keys), one-token images, saturating contexts and extreme logits."""
from __future__ import annotations

import numpy as np
import pytest

from spvit.sim import hls_kernels
from spvit.sim.golden.attention import attention
from spvit.sim.golden.scoring import asvit_score

pytestmark = pytest.mark.hls


@pytest.fixture(autouse=True)
def _tools(require_tool):
    require_tool("g++")
    require_tool("ap_types")


def qkv(rng, b, heads, n, dh, extreme=False):
    if extreme:
        return tuple(rng.choice([-128, 127], (b, heads, n, dh)) for _ in range(3))
    scale = rng.choice([4, 32, 128], (b, 1, 1, 1))
    return tuple(np.clip(rng.normal(0, 1, (b, heads, n, dh)) * scale, -128, 127).round().astype(np.int64)
                 for _ in range(3))


def check(q, k, v, fq, fk, fv, fo, n):
    mask = np.arange(q.shape[2])[None, :] < n[:, None]
    ctx, p16, cls_ctx = hls_kernels.attention(q, k, v, fq, fk, fv, fo, mask, return_cls_ctx=True)
    want_ctx, want_p16 = attention(q, k, v, fq, fk, fv, fo, mask)
    where = f"fracs {(fq, fk, fv, fo)}"
    assert (bad := hls_kernels.mismatches(ctx, want_ctx)) is None, f"ctx, {where}: {bad}"
    assert (bad := hls_kernels.mismatches(p16, want_p16)) is None, f"p16, {where}: {bad}"
    assert (bad := hls_kernels.mismatches(cls_ctx, want_ctx[:, :, 0, :])) is None, f"cls_ctx, {where}: {bad}"
    return int(n.sum()) * q.shape[1]


def fracs(rng):
    fq, fk = (int(f) for f in rng.integers(-2, 9, 2))
    fv = int(rng.integers(-8, 17))
    if rng.random() < 0.7:
        fo = fv + int(rng.integers(-3, 4))
    else:
        fo = int(rng.integers(max(-8, fv - 24), min(16, fv + 24) + 1))
    return fq, fk, fv, fo


def test_attention_random():
    rng = np.random.default_rng(101)
    rows = 0
    for _ in range(60):  # 2 heads x 16 channels, up to 32 tokens
        b, n_tok = 4, int(rng.integers(1, 33))
        q, k, v = qkv(rng, b, 2, n_tok, 16, extreme=rng.random() < 0.1)
        n = np.where(rng.random(b) < 0.5, n_tok, rng.integers(1, n_tok + 1, b))
        rows += check(q, k, v, *fracs(rng), n)
    for _ in range(30):  # 4 heads x 8 channels, up to 8 tokens
        q, k, v = qkv(rng, 8, 4, 8, 8)
        rows += check(q, k, v, *fracs(rng), rng.integers(1, 9, 8))
    for _ in range(3):  # 1 head x 32 channels, up to 65 tokens
        q, k, v = qkv(rng, 2, 1, 65, 32)
        rows += check(q, k, v, *fracs(rng), np.array([65, int(rng.integers(1, 66))]))
    assert rows >= 10_000


def test_attention_deit_tiny_shape():
    """DeiT-Tiny's attention: 3 heads of 64 channels over 197 tokens (and a pruned image of 120)."""
    rng = np.random.default_rng(102)
    q, k, v = qkv(rng, 2, 3, 197, 64)
    check(q, k, v, 4, 5, 5, 6, np.array([197, 120]))


def test_attention_corners():
    rng = np.random.default_rng(103)
    # one token: p = 1.0 -> p8 = 255, ctx = requantize(255 v)
    q, k, v = qkv(rng, 3, 2, 32, 16)
    check(q, k, v, 0, 0, 0, 0, np.array([1, 1, 1]))
    # largest logits (|q k| = 2**14 * 16) at the largest frac, all-equal keys (ties), saturating context
    ext = np.full((2, 2, 32, 16), -128)
    check(ext, ext, ext, 16, 16, 0, 8, np.array([32, 17]))
    check(ext, -ext.clip(-127), ext, -2, -3, 16, -8, np.array([32, 5]))
    # f_q + f_k at both ends of [-5, 32]
    q, k, v = qkv(rng, 2, 2, 32, 16, extreme=True)
    check(q, k, v, -2, -3, 4, 4, np.array([32, 9]))
    check(q, k, v, 16, 16, 4, 4, np.array([32, 9]))


def test_asvit_score_random():
    """>= 10,000 tokens of random class rows and contexts, including all-zero contexts (equal head weights)."""
    rng = np.random.default_rng(104)
    tokens = 0
    for heads, dh, n_max in ((2, 16, 32), (3, 64, 197), (4, 8, 8), (1, 32, 65)):
        for trial in range(12):
            b = 8
            p16 = rng.integers(0, 65536, (b, heads, n_max))
            p16 = np.where(rng.random((b, 1, 1)) < 0.2, 65535, p16)
            ctx = rng.integers(-128, 128, (b, heads, dh))
            ctx[0] = 0  # every n_h = 0: all heads weigh 1
            ctx[1, 0] = 0  # one head without weight
            ctx[2] = -128  # the largest n_h
            ctx[3] = np.where(rng.random((heads, dh)) < 0.9, 0, rng.integers(-2, 3, (heads, dh)))  # tiny norms
            got = hls_kernels.asvit_score(p16, ctx)
            assert (bad := hls_kernels.mismatches(got, asvit_score(p16, ctx))) is None, bad
            tokens += b * n_max
    assert tokens >= 10_000


def test_asvit_score_from_attention():
    """The chain the model runs (§11.3): attention's class row and class context into asvit_score."""
    rng = np.random.default_rng(105)
    q, k, v = qkv(rng, 4, 2, 32, 16)
    n = np.array([32, 20, 7, 1])
    mask = np.arange(32)[None, :] < n[:, None]
    ctx, p16, cls_ctx = hls_kernels.attention(q, k, v, 3, 3, 5, 5, mask, return_cls_ctx=True)
    got = hls_kernels.asvit_score(p16, cls_ctx, n)
    want_ctx, want_p16 = attention(q, k, v, 3, 3, 5, 5, mask)
    want = np.where(mask, asvit_score(want_p16, want_ctx[:, :, 0, :]), 0)
    assert (bad := hls_kernels.mismatches(got, want)) is None, bad


@pytest.mark.slow
def test_attention_random_long():
    rng = np.random.default_rng(106)
    for _ in range(400):
        b, n_tok = 4, int(rng.integers(1, 33))
        q, k, v = qkv(rng, b, 2, n_tok, 16, extreme=rng.random() < 0.1)
        check(q, k, v, *fracs(rng), rng.integers(1, n_tok + 1, b))
    for _ in range(5):
        q, k, v = qkv(rng, 2, 3, 197, 64)
        check(q, k, v, *fracs(rng), rng.integers(1, 198, 2))
