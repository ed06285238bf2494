"""The pruned DeiT-family ViT in Brevitas fixed point: training forward (fake quantization, token masking,
Gumbel-Softmax or threshold relaxations) and the integer parameters of its eval form (docs/arithmetic.md).

State-dict keys follow timm's VisionTransformer (patch_embed.proj, cls_token, pos_embed, blocks.N.norm1,
blocks.N.attn.qkv, blocks.N.attn.proj, blocks.N.norm2, blocks.N.mlp.fc1/fc2, norm, head), so a timm DeiT
checkpoint loads with `load_timm_checkpoint`. Pruning stages live under `stages.S` (selector, threshold).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from spvit.configs import ModelConfig

from .layers import HeadLinear, PatchEmbed, QAct, QLayerNorm, QLinear, Quantized, fixed_quant

SCORE_EPS = 2.0**-16  # the "+1" of the package weights (§10) in score units


def softmax_with_policy(logits, policy):
    """Softmax over the keys whose policy is 1 (DynamicViT's form). Its values are the masked softmax's; unlike a
    -inf mask, the keep decisions' straight-through gradient reaches the selector through every attention row.
    policy None = every key present: the plain (fused, cheaper) softmax."""
    if policy is None:
        return logits.softmax(-1)
    shift = logits.masked_fill(policy == 0, float("-inf")).amax(-1, keepdim=True).detach()
    e = torch.exp((logits - shift).clamp(max=0)) * policy  # (pruned keys above the max must not overflow)
    return e / e.sum(-1, keepdim=True)


class Attention(Quantized, nn.Module):
    """§5 Multi-head attention; 1/sqrt(d_head) lives in the q rows of qkv (§5.1), so logits are plain q.k.
    The attention weights are quantized to §5.2's fixed formats unless quantization is off (the float phase)."""

    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.qkv = QLinear(dim, 3 * dim)
        self.proj = QLinear(dim, dim)
        self.q_quant, self.k_quant, self.v_quant, self.ctx_quant, self.proj_quant = (QAct() for _ in range(5))
        with torch.no_grad():  # start where timm's attention starts: logits scaled by 1/sqrt(d_head)
            self.qkv.weight[:dim] *= (dim // heads) ** -0.5
            self.qkv.bias[:dim] *= (dim // heads) ** -0.5

    def forward(self, x, present):
        """present: [B, N] keep mask of the keys, or None when every token is present."""
        b, n, d = x.shape
        qkv = self.qkv(x).view(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = self.q_quant(qkv[0]), self.k_quant(qkv[1]), self.v_quant(qkv[2])
        p = softmax_with_policy(q @ k.transpose(-1, -2), None if present is None else present[:, None, None, :])
        cls_p = p[:, :, 0, :]
        if self.quant_enabled:
            p, cls_p = fixed_quant(p, 8, 0, 255), fixed_quant(cls_p, 16, 0, 2**16 - 1)
        ctx = self.ctx_quant(p @ v)
        out = self.proj_quant(self.proj(ctx.transpose(1, 2).reshape(b, n, d)))
        return out, cls_p, ctx[:, :, 0, :]


class Mlp(nn.Module):
    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.fc1, self.fc2 = QLinear(dim, hidden), QLinear(hidden, dim)
        self.fc1_quant, self.act_quant, self.fc2_quant = QAct(), QAct(), QAct()

    def forward(self, x):
        return self.fc2_quant(self.fc2(self.act_quant(F.gelu(self.fc1_quant(self.fc1(x))))))


class Block(nn.Module):
    """§11.2 pre-LN encoder block."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        d = cfg.embed_dim
        self.norm1, self.norm2 = QLayerNorm(d, eps=cfg.ln_eps), QLayerNorm(d, eps=cfg.ln_eps)
        self.attn = Attention(d, cfg.num_heads)
        self.mlp = Mlp(d, cfg.mlp_hidden)
        self.norm1_quant, self.norm2_quant, self.res1_quant, self.out_quant = (QAct() for _ in range(4))

    def forward(self, x, present):
        a, cls_p, cls_ctx = self.attn(self.norm1_quant(self.norm1(x)), present)
        x = self.res1_quant(x + a)
        x = self.out_quant(x + self.mlp(self.norm2_quant(self.norm2(x))))
        return x, cls_p, cls_ctx


class Selector(nn.Module):
    """§8.2 SPViT multi-head token selector; per-head weights are really per head (HeadLinear)."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        h, dh = cfg.num_heads, cfg.head_dim
        self.heads = h
        self.norm = QLayerNorm(cfg.embed_dim, eps=cfg.ln_eps)
        self.in_proj, self.mlp1 = HeadLinear(h, dh, dh), HeadLinear(h, dh, dh // 2)
        self.mlp2, self.keep = HeadLinear(h, dh // 2, dh // 4), HeadLinear(h, dh // 4, 1)
        self.se1, self.se2 = QLinear(h, cfg.se_width), QLinear(cfg.se_width, h)
        names = ("norm", "in_proj", "in_act", "mlp1", "mlp1_act", "mlp2", "mlp2_act", "keep", "se1", "se1_act", "se2")
        self.quants = nn.ModuleDict({n: QAct() for n in names})

    def forward(self, x, present):
        q = self.quants
        b, n, d = x.shape
        dh = d // self.heads
        u = q["in_act"](F.gelu(q["in_proj"](self.in_proj(q["norm"](self.norm(x)).view(b, n, self.heads, dh)))))
        w_tok = present[:, :, None, None]
        glob = q["in_act"]((u[..., dh // 2:] * w_tok).sum(1, keepdim=True) / w_tok.sum(1, keepdim=True).clamp(min=1))
        feat = torch.cat([u[..., : dh // 2], glob.expand(-1, n, -1, -1)], dim=-1)
        hid = q["mlp1_act"](F.gelu(q["mlp1"](self.mlp1(feat))))
        hid = q["mlp2_act"](F.gelu(q["mlp2"](self.mlp2(hid))))
        keep = fixed_quant(torch.sigmoid(q["keep"](self.keep(hid))[..., 0]), 8, 0, 255)
        pooled = q["in_act"](u.mean(-1))
        w = fixed_quant(torch.sigmoid(q["se2"](self.se2(q["se1_act"](F.gelu(q["se1"](self.se1(pooled))))))), 8, 0, 255)
        return (w * keep).sum(-1) / w.sum(-1).clamp(min=2.0**-8)


class Stage(nn.Module):
    """One pruning stage: an SPViT selector or an AS-ViT learnable threshold (in score units, [0, 1))."""

    def __init__(self, cfg: ModelConfig, s: int):
        super().__init__()
        if cfg.prune.score == "spvit":
            self.selector = Selector(cfg)
        init = cfg.prune.thresholds[s] if cfg.prune.thresholds else (0.5 if cfg.prune.score == "spvit" else 0.5 / (cfg.num_patches + 1))
        self.threshold = nn.Parameter(torch.tensor(float(init)))


def asvit_score(cls_p, cls_ctx):
    """§8.1 in float: class-attention rows weighted by the L2 norm of each head's class-token output."""
    n = cls_ctx.norm(dim=-1)  # [B, H]
    n = torch.where(n.sum(-1, keepdim=True) > 0, n, torch.ones_like(n))
    return (n[:, :, None] * cls_p).sum(1) / n.sum(-1, keepdim=True)


def selector_guide_loss(guides) -> torch.Tensor:
    """KL from the class-attention distribution over a stage's candidates (AS-ViT's score, §8.1) to the selector's
    keep logits softmaxed over the same candidates: a teacher for the untrained selector's ranking."""
    total = torch.zeros(())
    for scores, teacher, cand in guides:
        logit = torch.logit(scores.clamp(1e-4, 1 - 1e-4)).masked_fill(cand == 0, float("-inf"))
        t = teacher * cand
        t = t / t.sum(-1, keepdim=True).clamp(min=1e-12)
        log_p = F.log_softmax(logit, -1).masked_fill(cand == 0, 0.0)
        total = total + (t * (torch.log(t.clamp(min=1e-12)) - log_p)).sum(-1).mean()
    return total


def hard_keep(scores, cand, k: int, threshold: float | None):
    """§9 in float: keep the candidates of rank < k (ties to the lower index) and, in threshold mode,
    score >= threshold."""
    b, n = scores.shape
    key = torch.where(cand > 0, -scores, torch.full_like(scores, float("inf")))
    order = torch.sort(key, dim=-1, stable=True).indices
    rank = torch.empty_like(order).scatter_(1, order, torch.arange(n).expand(b, n).contiguous())
    keep = (cand > 0) & (rank < k)
    if threshold is not None:
        keep &= scores >= threshold
    return keep.to(scores.dtype)


def token_pack(x, scores, pruned):
    """§10 in float: the score-weighted mean of the pruned tokens, weights score + 2**-16; zero if none."""
    w = pruned * (scores + SCORE_EPS)
    den = w.sum(-1, keepdim=True)
    return torch.einsum("bn,bnd->bd", w, x) / den.clamp(min=SCORE_EPS) * (den > 0)


def sincos_pos_embed(dim: int, grid: int, scale: float = 0.5) -> torch.Tensor:
    """2-D sine-cosine positional embedding (MAE), [1, 1 + grid², dim], the class token's row zero. Used as the
    initial value of the learnable pos_embed: neighbouring patches start with similar embeddings, so a digit that
    moves over the canvas is recognised without learning every absolute position from scratch."""
    quarter = dim // 4
    omega = 1.0 / 10000 ** (torch.arange(quarter, dtype=torch.float64) / quarter)
    r, c = torch.meshgrid(torch.arange(grid, dtype=torch.float64), torch.arange(grid, dtype=torch.float64), indexing="ij")
    parts = []
    for pos in (r.flatten(), c.flatten()):
        angle = pos[:, None] * omega[None, :]
        parts += [angle.sin(), angle.cos()]
    emb = torch.cat(parts, dim=1)
    emb = torch.cat([emb, torch.zeros(emb.shape[0], dim - emb.shape[1], dtype=emb.dtype)], dim=1)
    return (scale * torch.cat([torch.zeros(1, dim, dtype=emb.dtype), emb])).float()[None]


class PrunedViT(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        d = cfg.embed_dim
        self.patch_embed = PatchEmbed(cfg.in_chans, d, cfg.patch_size)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, d))
        self.pos_embed = nn.Parameter(sincos_pos_embed(d, cfg.img_size // cfg.patch_size))
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.depth))
        self.norm = QLayerNorm(d, eps=cfg.ln_eps)
        self.head = QLinear(d, cfg.num_classes)
        self.input_quant, self.pe_quant, self.pos_quant, self.embed_quant, self.norm_quant = (QAct() for _ in range(5))
        self.stages = nn.ModuleList(Stage(cfg, s) for s in range(cfg.num_stages))
        self.stage_after = {a - 1: s for s, a in enumerate(cfg.prune.after_blocks)} if cfg.num_stages else {}
        self.prune = True  # False: run dense (stage 1 of training, and the dense baseline)
        self.tau = 1.0  # Gumbel-Softmax temperature (SPViT)
        self.gumbel_scale = 1.0  # scale of the Gumbel noise on the keep logits in training (0: deterministic top-k)
        self.asvit_tau = 1e-3  # sigmoid temperature of the AS-ViT threshold relaxation, in score units
        self.calibrate_k: list[int] | None = None  # set by calibrate_thresholds() for one forward pass
        nn.init.trunc_normal_(self.cls_token, std=0.02)

    def stage_k(self) -> list[int]:
        return self.cfg.stage_k()

    def forward(self, images):
        """Returns (logits, aux): aux['keep'] is [B, S], the patch tokens kept after each stage (differentiable
        in training), aux['policy'] the final token mask, aux['scores'] per stage."""
        cfg = self.cfg
        x = self.pe_quant(torch.cat([self.cls_token.expand(images.shape[0], -1, -1),
                                     self.patch_embed(self.input_quant(images))], dim=1))
        x = self.embed_quant(x + self.pos_quant(self.pos_embed))
        b, n, _ = x.shape
        present = torch.ones(b, n, dtype=x.dtype)
        is_patch = torch.ones(b, n, dtype=x.dtype)
        is_patch[:, 0] = 0
        keeps, scores_all, guides = [], [], []
        for i, blk in enumerate(self.blocks):
            x, cls_p, cls_ctx = blk(x, present if keeps else None)  # None until a stage prunes: plain softmax
            if i not in self.stage_after or not self.prune:
                continue
            s = self.stage_after[i]
            stage = self.stages[s]
            scores = stage.selector(x, present) if cfg.prune.score == "spvit" else asvit_score(cls_p, cls_ctx)
            cand = present * is_patch
            if self.calibrate_k is not None:
                self._calibrate(scores.detach(), cand, stage, self.calibrate_k[s])
            m = self._decide(scores, cand, s, stage)
            keep, pruned = cand * m, cand * (1 - m)
            present = present * (1 - is_patch) + keep
            keeps.append(keep.sum(-1))
            scores_all.append(scores)
            if self.training and cfg.prune.score == "spvit":  # what class attention says, for selector_guide_loss
                guides.append((scores, asvit_score(cls_p, cls_ctx).detach(), cand))
            if cfg.prune.package:
                pkg = blk.out_quant(token_pack(x, scores.detach() if cfg.prune.score == "asvit" else scores, pruned))
                x = torch.cat([x, pkg[:, None, :]], dim=1)
                present = torch.cat([present, torch.ones(b, 1, dtype=x.dtype)], dim=1)
                is_patch = torch.cat([is_patch, torch.zeros(b, 1, dtype=x.dtype)], dim=1)
        logits = self.head(self.norm_quant(self.norm(x[:, 0])))
        keep_counts = torch.stack(keeps, dim=1) if keeps else torch.zeros(b, 0)
        return logits, {"keep": keep_counts, "present": present, "scores": scores_all, "guides": guides}

    @torch.no_grad()
    def calibrate_thresholds(self, images, keep: list[int]) -> list[float]:
        """Threshold mode: set each stage's threshold so that a batch keeps `keep[s]` patch tokens per image on
        average, stage after stage (each stage sees what the calibrated earlier ones keep). Learned thresholds then
        start at the budget instead of wherever their initial value happens to fall in this model's score range."""
        was_training, self.calibrate_k = self.training, list(keep)
        try:
            self.eval()
            self(images)
        finally:
            self.calibrate_k = None
            self.train(was_training)
        return [float(st.threshold) for st in self.stages]

    @staticmethod
    def _calibrate(scores, cand, stage: Stage, keep: int) -> None:
        values = scores[cand > 0].sort(descending=True).values
        target = min(max(1, keep * scores.shape[0]), values.numel())
        stage.threshold.fill_(float(values[target - 1]))

    def _decide(self, scores, cand, s: int, stage: Stage):
        """Keep decisions of one stage: relaxed with a straight-through hard value in training, the contract's
        hard rule (§9) in eval."""
        cfg = self.cfg
        k, thresholded = self.stage_k()[s], cfg.prune.select == "threshold"
        if not self.training:
            return hard_keep(scores, cand, k, float(stage.threshold) if thresholded else None)
        # The hard value of training is the eval rule itself (rank < k, and the threshold in threshold mode), so the
        # model trains on the token sets it will see deployed; the gradient goes through the relaxation.
        if cfg.prune.score == "spvit":  # Gumbel-Softmax over keep/drop = logistic noise on the keep logit
            u = torch.rand_like(scores).clamp(1e-6, 1 - 1e-6)
            z = torch.logit(scores.clamp(1e-4, 1 - 1e-4)) + self.gumbel_scale * (torch.log(u) - torch.log1p(-u))
            soft = torch.sigmoid(z / self.tau)
            hard = hard_keep(z.detach(), cand, k, 0.0 if thresholded else None)  # Gumbel top-k
        else:  # AS-ViT: sigmoid((s - theta) / tau), the threshold learns through it
            soft = torch.sigmoid((scores - stage.threshold) / self.asvit_tau)
            hard = hard_keep(scores.detach(), cand, k, float(stage.threshold))
        return hard + (soft - soft.detach())  # exactly the hard values forward, the relaxation backward


def fold_attention_scale(qkv_weight: torch.Tensor, qkv_bias: torch.Tensor, heads: int):
    """§5.1 Multiply the q rows of a float qkv projection by 1/sqrt(d_head) (for checkpoints from timm)."""
    d = qkv_weight.shape[1]
    scale = 1.0 / math.sqrt(d // heads)
    w, b = qkv_weight.clone(), qkv_bias.clone()
    w[:d] *= scale
    b[:d] *= scale
    return w, b


def load_timm_checkpoint(model: PrunedViT, path) -> list[str]:
    """Load a timm VisionTransformer/DeiT state dict (a local file; `model` or `state_dict` wrappers accepted).
    Folds 1/sqrt(d_head) into q (§5.1). Returns the model keys the checkpoint did not provide (quantizer state,
    pruning stages); raises KeyError if the checkpoint has backbone keys the model lacks or shapes differ."""
    state = torch.load(path, map_location="cpu", weights_only=True)
    for wrapper in ("model", "state_dict"):
        if isinstance(state, dict) and wrapper in state and isinstance(state[wrapper], dict):
            state = state[wrapper]
    own = model.state_dict()
    state = {k: v for k, v in state.items() if not k.startswith(("dist_token", "head_dist"))}
    unknown = sorted(k for k in state if k not in own)
    if unknown:
        raise KeyError(f"checkpoint keys the model does not have: {unknown[:8]}")
    wrong = sorted(k for k in state if state[k].shape != own[k].shape)
    if wrong:
        raise KeyError(f"checkpoint shapes differ: {[(k, tuple(state[k].shape), tuple(own[k].shape)) for k in wrong[:5]]}")
    for i in range(model.cfg.depth):
        key = f"blocks.{i}.attn.qkv"
        state[f"{key}.weight"], state[f"{key}.bias"] = fold_attention_scale(state[f"{key}.weight"], state[f"{key}.bias"], model.cfg.num_heads)
    model.load_state_dict(state, strict=False)
    return sorted(k for k in own if k not in state)


__all__ = ["PrunedViT", "load_timm_checkpoint", "fold_attention_scale"]
