"""Token keep scores, uint16 at frac 16 (docs/arithmetic.md §8)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .arith import as_i64, isqrt, rdiv
from .layernorm import layernorm
from .lut import lut
from .params import LinearParams, NormParams

SCORE_MAX = 2**16 - 1


def asvit_score(cls_p16, cls_ctx):
    """§8.1 Adaptive Sparse ViT: the class-attention row weighted by head importance.

    cls_p16: [B, H, N] class-token attention (frac 16); cls_ctx: int8 [B, H, dh], the class token's context
    per head. n_h = isqrt(sum ctx**2); score_j = rdiv(sum_h n_h * p_hj, sum_h n_h); equal weights if all n_h = 0.
    """
    ctx = as_i64(cls_ctx)
    n = isqrt(np.sum(ctx * ctx, axis=-1))  # [B, H]
    n = np.where(np.sum(n, axis=-1, keepdims=True) == 0, 1, n)
    num = np.sum(n[:, :, None] * as_i64(cls_p16), axis=1)
    return rdiv(num, np.sum(n, axis=-1, keepdims=True))


@dataclass(frozen=True)
class SelectorParams:
    """§8.2 One SPViT multi-head token selector (per-head weights are really per head)."""

    norm: NormParams
    in_proj: LinearParams  # [H, dh, dh]
    in_act: np.ndarray  # GELU table
    mlp1: LinearParams  # [H, dh/2, dh]
    mlp1_act: np.ndarray
    mlp2: LinearParams  # [H, dh/4, dh/2]
    mlp2_act: np.ndarray
    keep: LinearParams  # [H, 1, dh/4] -> keep logit
    keep_act: np.ndarray  # sigmoid table, uint8 frac 8
    se1: LinearParams  # [Hs, H] head-weight branch
    se1_act: np.ndarray
    se2: LinearParams  # [H, Hs]
    se2_act: np.ndarray  # sigmoid table, uint8 frac 8


def selector(x, mask, p: SelectorParams, num_heads: int):
    """§8.2 SPViT keep score of every token: x int8 [B, N, D], mask bool [B, N] -> uint16 [B, N] frac 16."""
    b, n, d = x.shape
    dh = d // num_heads
    h_in = layernorm(x, p.norm.gamma, p.norm.beta, p.norm.eps_term, p.norm.shift).reshape(b, n, num_heads, dh)
    u = lut(p.in_proj(h_in), p.in_act)  # [B, N, H, dh]
    # global context: rounded mean of the second half over the tokens present
    present = as_i64(mask)[:, :, None, None]
    count = np.maximum(np.sum(as_i64(mask), axis=1), 1)[:, None, None, None]
    glob = rdiv(np.sum(u[..., dh // 2 :] * present, axis=1, keepdims=True), count)
    feat = np.concatenate([u[..., : dh // 2], np.broadcast_to(glob, u[..., dh // 2 :].shape)], axis=-1)
    hid = lut(p.mlp1(feat), p.mlp1_act)
    hid = lut(p.mlp2(hid), p.mlp2_act)
    keep = lut(p.keep(hid)[..., 0], p.keep_act)  # [B, N, H] uint8 frac 8
    pooled = rdiv(np.sum(u, axis=-1), dh)  # [B, N, H] int8
    w = lut(p.se2(lut(p.se1(pooled), p.se1_act)), p.se2_act)  # [B, N, H] uint8 frac 8
    num = np.sum(w * keep, axis=-1) << 8  # frac 16 + 8
    return np.where(mask, rdiv(num, np.maximum(np.sum(w, axis=-1), 1)), 0)
