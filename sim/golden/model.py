"""The whole pruned-ViT forward in integers (docs/arithmetic.md §11).

A batch is carried as padded token arrays [B, N, D] plus `n_valid` [B]: the tokens present in image b are
x[b, :n_valid[b]] (class token first, package tokens last), so images may keep different numbers of tokens.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .arith import as_i64, requantize, residual_add
from .attention import attention
from .bundle import Bundle
from .layernorm import layernorm
from .lut import lut
from .params import LinearParams
from .scoring import asvit_score, selector
from .token_pack import gather_tokens, token_pack
from .topk_select import candidates, topk_select

PACKAGE_ID = -1  # token id of a package token (patch tokens are 1..num_patches, the class token 0)


@dataclass
class Trace:
    """§11.5 What a backend must reproduce bit for bit: logits, every block's output tokens, and per stage the
    original ids of the tokens kept, in order (padding = PAD_ID)."""

    logits: np.ndarray
    blocks: list[np.ndarray] = field(default_factory=list)
    n_valid: list[np.ndarray] = field(default_factory=list)
    kept_ids: list[np.ndarray] = field(default_factory=list)
    scores: list[np.ndarray] = field(default_factory=list)
    stage_n_in: list[np.ndarray] = field(default_factory=list)  # tokens present when each stage scored

    PAD_ID = -(2**31)  # far below every package id

    def per_image(self) -> list[dict[str, np.ndarray]]:
        """§11.5 The trace of each image alone, padding removed: comparable whatever the batch composition."""
        images = []
        for b in range(self.logits.shape[0]):
            t = {"logits": self.logits[b]}
            for i, (x, n) in enumerate(zip(self.blocks, self.n_valid)):
                t[f"blocks.{i}.out"] = x[b, : n[b]]
            for s, (ids, sc, n) in enumerate(zip(self.kept_ids, self.scores, self.stage_n_in)):
                t[f"stages.{s}.kept_ids"] = ids[b][ids[b] != self.PAD_ID]
                t[f"stages.{s}.scores"] = sc[b, : n[b]]
            images.append(t)
        return images


def quantize_input(images, f_in: int):
    """§12.1 Host side: float image -> int8 at frac f_in, round half up, saturate (the only float step)."""
    return requantize(np.floor(np.asarray(images, dtype=np.float64) * 2.0**f_in + 0.5).astype(np.int64), 0)


def patch_embed(bundle: Bundle, images):
    """§11.1 int8 images [B, C, H, W] -> tokens [B, 1 + num_patches, D] at frac embed.out."""
    cfg = bundle.config
    b, c, hgt, wid = images.shape
    p = cfg.patch_size
    patches = as_i64(images).reshape(b, c, hgt // p, p, wid // p, p).transpose(0, 2, 4, 1, 3, 5)
    patches = patches.reshape(b, (hgt // p) * (wid // p), c * p * p)  # (c, py, px) order = conv weight order
    proj = bundle.linear("patch_embed.proj", bundle.frac("input"))
    flat = LinearParams(proj.weight.reshape(cfg.embed_dim, -1), proj.bias, proj.shift)(patches)
    cls = np.broadcast_to(as_i64(bundle.arrays["cls_token"]), (b, 1, cfg.embed_dim))
    tokens = np.concatenate([cls, flat], axis=1)
    return residual_add(tokens, bundle.frac("patch_embed.proj.out"), bundle.arrays["pos_embed"],
                        bundle.frac("pos_embed"), bundle.frac("embed.out"))


def encoder_block(bundle: Bundle, i: int, x, mask, f_in: int):
    """§11.2 Pre-LN block: x + proj(attn(LN1(x))), then + fc2(GELU(fc1(LN2(.)))).

    Returns (tokens at frac blocks.i.out, class-attention row p16 [B, H, N], class context [B, H, dh]).
    """
    cfg, b = bundle.config, f"blocks.{i}"
    bsz, n, d = x.shape
    h, dh = cfg.num_heads, cfg.head_dim
    norm1 = bundle.norm(f"{b}.norm1")
    y = layernorm(x, norm1.gamma, norm1.beta, norm1.eps_term, norm1.shift)
    qkv = bundle.linear(f"{b}.attn.qkv", bundle.frac(f"{b}.norm1.out")).accumulate(y)
    acc_frac = bundle.frac(f"{b}.norm1.out") + bundle.frac(f"{b}.attn.qkv.weight")
    heads = {}
    for j, part in enumerate("qkv"):
        t = requantize(qkv[..., j * d:(j + 1) * d], acc_frac - bundle.frac(f"{b}.attn.{part}"))
        heads[part] = t.reshape(bsz, n, h, dh).transpose(0, 2, 1, 3)
    ctx, cls_p16 = attention(heads["q"], heads["k"], heads["v"], bundle.frac(f"{b}.attn.q"),
                             bundle.frac(f"{b}.attn.k"), bundle.frac(f"{b}.attn.v"), bundle.frac(f"{b}.attn.ctx"), mask)
    cls_ctx = ctx[:, :, 0, :]
    ctx = ctx.transpose(0, 2, 1, 3).reshape(bsz, n, d)
    out = bundle.linear(f"{b}.attn.proj", bundle.frac(f"{b}.attn.ctx"))(ctx)
    x = residual_add(x, f_in, out, bundle.frac(f"{b}.attn.proj.out"), bundle.frac(f"{b}.attn_res.out"))
    norm2 = bundle.norm(f"{b}.norm2")
    y = layernorm(x, norm2.gamma, norm2.beta, norm2.eps_term, norm2.shift)
    y = lut(bundle.linear(f"{b}.mlp.fc1", bundle.frac(f"{b}.norm2.out"))(y), bundle.table(f"{b}.mlp.act"))
    y = bundle.linear(f"{b}.mlp.fc2", bundle.frac(f"{b}.mlp.act.out"))(y)
    x = residual_add(x, bundle.frac(f"{b}.attn_res.out"), y, bundle.frac(f"{b}.mlp.fc2.out"), bundle.frac(f"{b}.out"))
    return np.where(mask[..., None], x, 0), cls_p16, cls_ctx


def prune_stage(bundle: Bundle, s: int, x, ids, n_valid, scores, k=None, threshold=None):
    """§11.3 Keep the class token, the selected candidates (original order), the package tokens of earlier
    stages, then append this stage's package token (when packaging is on).

    Returns (x, ids, n_valid) of the shortened, re-padded sequence.
    """
    cfg = bundle.config
    bsz, n, _ = x.shape
    k = bundle.stage_k(s) if k is None else k
    if cfg.prune.select == "threshold":
        threshold = bundle.stage_threshold(s) if threshold is None else threshold
    elif threshold is not None:
        raise ValueError(f"a threshold was given, but model {cfg.name} selects by top-k (prune.select: topk)")
    keep = topk_select(scores, n_valid, s if cfg.prune.package else 0, np.full(bsz, k), threshold)
    cand = candidates(n_valid, s if cfg.prune.package else 0, n)
    pruned = cand & ~keep
    # one spare zero slot at the end: room for the package token even when nothing was pruned
    stays = np.arange(n + 1)[None, :] < n_valid[:, None]
    stays[:, :n] &= ~pruned  # class token, kept candidates, earlier package tokens: order preserved
    order = np.argsort(~stays, axis=-1, kind="stable")
    n_out = np.sum(stays, axis=-1)
    width = int(n_out.max()) + (1 if cfg.prune.package else 0)
    new_x = gather_tokens(np.concatenate([x, np.zeros_like(x[:, :1])], axis=1), order, width)
    new_ids = np.take_along_axis(np.concatenate([ids, np.full((bsz, 1), Trace.PAD_ID)], axis=1), order[:, :width], axis=1)
    slot = np.arange(width)[None, :]
    if cfg.prune.package:
        at_pkg = slot == n_out[:, None]
        new_x = np.where(at_pkg[..., None], token_pack(x, scores, pruned)[:, None, :], new_x)
        new_ids = np.where(at_pkg, PACKAGE_ID - s, new_ids)
        n_out = n_out + 1
    valid = slot < n_out[:, None]
    return np.where(valid[..., None], new_x, 0), np.where(valid, new_ids, Trace.PAD_ID), n_out


def head(bundle: Bundle, x, f_in: int):
    """§11.4 Final LayerNorm of the class token, then the classifier: int32 logits (no requantization)."""
    norm = bundle.norm("norm")
    y = layernorm(x[:, 0, :], norm.gamma, norm.beta, norm.eps_term, norm.shift)
    return bundle.linear("head", bundle.frac("norm.out")).accumulate(y)


def per_stage(value, s: int):
    """§11.3 A run-time override for stage s: None (the bundle's value), one int for every stage, or one per stage."""
    return value[s] if isinstance(value, (list, tuple)) else value


def forward(bundle: Bundle, images, k=None, threshold=None) -> Trace:
    """§11 int8 images [B, C, H, W] -> Trace. `k` / `threshold` override the bundle's run-time values
    (an int for all stages or a list per stage), as the accelerator's registers would."""
    cfg = bundle.config
    x = patch_embed(bundle, np.asarray(images))
    bsz, n, _ = x.shape
    n_valid = np.full(bsz, n, dtype=np.int64)
    ids = np.broadcast_to(np.arange(n), (bsz, n)).copy()
    f = bundle.frac("embed.out")
    stages = {a - 1: s for s, a in enumerate(cfg.prune.after_blocks)} if cfg.num_stages else {}
    trace = Trace(logits=np.empty(0))
    for i in range(cfg.depth):
        mask = np.arange(x.shape[1])[None, :] < n_valid[:, None]
        x, cls_p16, cls_ctx = encoder_block(bundle, i, x, mask, f)
        f = bundle.frac(f"blocks.{i}.out")
        trace.blocks.append(x)
        trace.n_valid.append(n_valid)
        if i in stages:
            s = stages[i]
            if cfg.prune.score == "asvit":
                scores = asvit_score(cls_p16, cls_ctx)
            else:
                scores = selector(x, mask, bundle.selector(s), cfg.num_heads)
            scores = np.where(mask, scores, 0)
            trace.stage_n_in.append(n_valid)
            x, ids, n_valid = prune_stage(bundle, s, x, ids, n_valid, scores, per_stage(k, s), per_stage(threshold, s))
            trace.scores.append(scores)
            trace.kept_ids.append(ids)
    trace.logits = head(bundle, x, f)
    return trace
