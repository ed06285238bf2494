"""Torch integer mode and export: the trained model's integers, run by spvit.quant.integer and written as a bundle.

`IntegerModel(model)` reads every integer the hardware needs from the model's Brevitas quantizers once (weights,
biases at accumulator scale, LayerNorm G/B/E, tables, fractional bits, run-time k and thresholds). `forward`
runs the integer eval form of the model in torch (docs/arithmetic.md §11) with real token removal; `bundle()`
writes the same integers as a golden bundle (§12.2). The torch backend compares the first against the golden
model run on the second.
"""
from __future__ import annotations

import numpy as np
import torch

from spvit.sim.golden.bundle import Bundle, layout
from spvit.sim.golden.generate import round_half_up
from spvit.sim.golden.model import PACKAGE_ID, Trace, per_stage
from spvit.sim.golden.scoring import SCORE_MAX

from . import integer as I
from .layers import gelu_table, sigmoid_table
from .model import PrunedViT


def quant_points(model: PrunedViT) -> dict:
    """Bundle frac name -> the QAct quantizing that tensor (§1.1)."""
    points = {"input": model.input_quant, "patch_embed.proj.out": model.pe_quant, "pos_embed": model.pos_quant,
              "embed.out": model.embed_quant, "norm.out": model.norm_quant}
    for i, blk in enumerate(model.blocks):
        b = f"blocks.{i}"
        points |= {f"{b}.norm1.out": blk.norm1_quant, f"{b}.attn.q": blk.attn.q_quant, f"{b}.attn.k": blk.attn.k_quant,
                   f"{b}.attn.v": blk.attn.v_quant, f"{b}.attn.ctx": blk.attn.ctx_quant,
                   f"{b}.attn.proj.out": blk.attn.proj_quant, f"{b}.attn_res.out": blk.res1_quant,
                   f"{b}.norm2.out": blk.norm2_quant, f"{b}.mlp.fc1.out": blk.mlp.fc1_quant,
                   f"{b}.mlp.act.out": blk.mlp.act_quant, f"{b}.mlp.fc2.out": blk.mlp.fc2_quant, f"{b}.out": blk.out_quant}
    if model.cfg.prune.score == "spvit":
        for s, stage in enumerate(model.stages):
            points |= {f"stages.{s}.selector.{n}.out": q for n, q in stage.selector.quants.items()}
    return points


class IntegerModel:
    """The integer eval form of a PrunedViT."""

    def __init__(self, model: PrunedViT):
        self.cfg = cfg = model.cfg
        fr = self.fracs = {name: q.frac() for name, q in quant_points(model).items()}
        self.layers: dict = {}
        self.arrays: dict[str, np.ndarray] = {}
        self.scalars: dict[str, int] = {}
        with torch.no_grad():
            self._linear("patch_embed.proj", model.patch_embed, fr["input"], "patch_embed.proj.out")
            self.arrays["cls_token"] = model.pe_quant.to_int(model.cls_token).numpy().astype(np.int8)
            self.arrays["pos_embed"] = model.pos_quant.to_int(model.pos_embed).numpy().astype(np.int8)
            f_x = "embed.out"
            for i, blk in enumerate(model.blocks):
                b = f"blocks.{i}"
                self._norm(f"{b}.norm1", blk.norm1, fr[f_x])
                self._linear(f"{b}.attn.qkv", blk.attn.qkv, fr[f"{b}.norm1.out"], None)
                self._linear(f"{b}.attn.proj", blk.attn.proj, fr[f"{b}.attn.ctx"], f"{b}.attn.proj.out")
                self._norm(f"{b}.norm2", blk.norm2, fr[f"{b}.attn_res.out"])
                self._linear(f"{b}.mlp.fc1", blk.mlp.fc1, fr[f"{b}.norm2.out"], f"{b}.mlp.fc1.out")
                self._table(f"{b}.mlp.act", gelu_table(fr[f"{b}.mlp.fc1.out"], fr[f"{b}.mlp.act.out"]))
                self._linear(f"{b}.mlp.fc2", blk.mlp.fc2, fr[f"{b}.mlp.act.out"], f"{b}.mlp.fc2.out")
                f_x = f"{b}.out"
                if i in model.stage_after:
                    self._stage(model, model.stage_after[i], fr[f_x])
            self._norm("norm", model.norm, fr[f_x])
            self._linear("head", model.head, fr["norm.out"], None)

    # -- collection --------------------------------------------------------------------------------------
    def _linear(self, name, module, f_in, out_name):
        p, f_w = module.to_int(f_in, None if out_name is None else self.fracs[out_name])
        self.layers[name], self.fracs[f"{name}.weight"] = p, f_w
        self.arrays[f"{name}.weight"] = p.weight.numpy().astype(np.int8)
        self.arrays[f"{name}.bias"] = p.bias.numpy().astype(np.int32)

    def _norm(self, name, module, f_in):
        p, f_g = module.to_int(f_in, self.fracs[f"{name}.out"])
        self.layers[name], self.fracs[f"{name}.weight"] = p, f_g
        self.arrays[f"{name}.weight"] = p.gamma.numpy().astype(np.int16)
        self.arrays[f"{name}.bias"] = p.beta.numpy().astype(np.int32)
        self.scalars[f"{name}.eps_term"] = p.eps_term

    def _table(self, name, table, signed=True):
        self.layers[name] = table
        self.arrays[f"{name}.lut"] = table.numpy().astype(np.int8 if signed else np.uint8)

    def _stage(self, model, s, f_x):
        cfg, fr = self.cfg, self.fracs
        self.scalars[f"stages.{s}.k"] = cfg.stage_k()[s]
        threshold = float(model.stages[s].threshold)
        self.scalars[f"stages.{s}.threshold"] = int(min(max(round_half_up(threshold * 2**16), 0), SCORE_MAX))
        if cfg.prune.score != "spvit":
            return
        sel, p = model.stages[s].selector, f"stages.{s}.selector"
        self._norm(f"{p}.norm", sel.norm, f_x)
        f_u = fr[f"{p}.in_act.out"]
        self._linear(f"{p}.in_proj", sel.in_proj, fr[f"{p}.norm.out"], f"{p}.in_proj.out")
        self._table(f"{p}.in_act", gelu_table(fr[f"{p}.in_proj.out"], f_u))
        self._linear(f"{p}.mlp1", sel.mlp1, f_u, f"{p}.mlp1.out")
        self._table(f"{p}.mlp1_act", gelu_table(fr[f"{p}.mlp1.out"], fr[f"{p}.mlp1_act.out"]))
        self._linear(f"{p}.mlp2", sel.mlp2, fr[f"{p}.mlp1_act.out"], f"{p}.mlp2.out")
        self._table(f"{p}.mlp2_act", gelu_table(fr[f"{p}.mlp2.out"], fr[f"{p}.mlp2_act.out"]))
        self._linear(f"{p}.keep", sel.keep, fr[f"{p}.mlp2_act.out"], f"{p}.keep.out")
        self._table(f"{p}.keep_act", sigmoid_table(fr[f"{p}.keep.out"]), signed=False)
        self._linear(f"{p}.se1", sel.se1, f_u, f"{p}.se1.out")
        self._table(f"{p}.se1_act", gelu_table(fr[f"{p}.se1.out"], fr[f"{p}.se1_act.out"]))
        self._linear(f"{p}.se2", sel.se2, fr[f"{p}.se1_act.out"], f"{p}.se2.out")
        self._table(f"{p}.se2_act", sigmoid_table(fr[f"{p}.se2.out"]), signed=False)

    def selector(self, s: int) -> I.SelectorInt:
        p = f"stages.{s}.selector"
        return I.SelectorInt(**{n: self.layers[f"{p}.{n}"] for n in I.SelectorInt.__dataclass_fields__})

    def bundle(self) -> Bundle:
        """§12.2 The golden bundle of these integers (validated on construction)."""
        arrays = {k: v.reshape(spec.shape) for k, v in self.arrays.items() for spec in [layout(self.cfg)[k]]}
        return Bundle(self.cfg, arrays, self.fracs, self.scalars)

    # -- integer forward (§11) ---------------------------------------------------------------------------
    def forward(self, images, k: int | None = None, threshold: int | None = None) -> Trace:
        cfg, fr, L = self.cfg, self.fracs, self.layers
        x = I._i64(images)
        b = x.shape[0]
        p = cfg.patch_size
        g = cfg.img_size // p
        patches = x.reshape(b, cfg.in_chans, g, p, g, p).permute(0, 2, 4, 1, 3, 5).reshape(b, g * g, -1)
        pe = L["patch_embed.proj"]
        tok = I.LinearInt(pe.weight.reshape(pe.weight.shape[0], -1), pe.bias, pe.shift)(patches)
        cls = torch.from_numpy(self.arrays["cls_token"].astype(np.int64)).expand(b, 1, -1)
        pos = torch.from_numpy(self.arrays["pos_embed"].astype(np.int64))
        x = I.residual_add(torch.cat([cls, tok], 1), fr["patch_embed.proj.out"], pos, fr["pos_embed"], fr["embed.out"])
        n = x.shape[1]
        n_valid = torch.full((b,), n, dtype=torch.int64)
        ids = torch.arange(n).expand(b, n).clone()
        f = fr["embed.out"]
        stages = {a - 1: s for s, a in enumerate(cfg.prune.after_blocks)} if cfg.num_stages else {}
        trace = Trace(logits=np.empty(0))
        for i in range(cfg.depth):
            mask = torch.arange(x.shape[1])[None, :] < n_valid[:, None]
            x, cls_p16, cls_ctx = self._block(i, x, mask, f)
            f = fr[f"blocks.{i}.out"]
            trace.blocks.append(x.numpy())
            trace.n_valid.append(n_valid.numpy())
            if i in stages:
                s = stages[i]
                scores = I.asvit_score(cls_p16, cls_ctx) if cfg.prune.score == "asvit" else I.selector(x, mask, self.selector(s), cfg.num_heads)
                scores = torch.where(mask, scores, 0)
                trace.stage_n_in.append(n_valid.numpy())
                x, ids, n_valid = self._prune(s, x, ids, n_valid, scores, per_stage(k, s), per_stage(threshold, s))
                trace.scores.append(scores.numpy())
                trace.kept_ids.append(ids.numpy())
        y = L["norm"](x[:, 0, :])
        trace.logits = L["head"].accumulate(y).numpy()
        return trace

    def _block(self, i, x, mask, f_in):
        """§11.2"""
        cfg, fr, L, b = self.cfg, self.fracs, self.layers, f"blocks.{i}"
        bsz, n, d = x.shape
        h, dh = cfg.num_heads, cfg.head_dim
        qkv = L[f"{b}.attn.qkv"].accumulate(L[f"{b}.norm1"](x))
        f_acc = fr[f"{b}.norm1.out"] + fr[f"{b}.attn.qkv.weight"]
        q, k, v = (I.requantize(qkv[..., j * d:(j + 1) * d], f_acc - fr[f"{b}.attn.{part}"]).reshape(bsz, n, h, dh).permute(0, 2, 1, 3)
                   for j, part in enumerate("qkv"))
        ctx, cls_p16 = I.attention(q, k, v, fr[f"{b}.attn.q"], fr[f"{b}.attn.k"], fr[f"{b}.attn.v"], fr[f"{b}.attn.ctx"], mask)
        cls_ctx = ctx[:, :, 0, :]
        out = L[f"{b}.attn.proj"](ctx.permute(0, 2, 1, 3).reshape(bsz, n, d))
        x = I.residual_add(x, f_in, out, fr[f"{b}.attn.proj.out"], fr[f"{b}.attn_res.out"])
        y = L[f"{b}.mlp.fc2"](I.lut(L[f"{b}.mlp.fc1"](L[f"{b}.norm2"](x)), L[f"{b}.mlp.act"]))
        x = I.residual_add(x, fr[f"{b}.attn_res.out"], y, fr[f"{b}.mlp.fc2.out"], fr[f"{b}.out"])
        return torch.where(mask[..., None], x, 0), cls_p16, cls_ctx

    def _prune(self, s, x, ids, n_valid, scores, k, threshold):
        """§11.3 Real token removal: class token, kept candidates in order, earlier packages, new package."""
        cfg = self.cfg
        bsz, n, _ = x.shape
        tail = s if cfg.prune.package else 0
        k = self.scalars[f"stages.{s}.k"] if k is None else k
        if cfg.prune.select == "threshold":
            threshold = self.scalars[f"stages.{s}.threshold"] if threshold is None else threshold
        elif threshold is not None:
            raise ValueError(f"a threshold was given, but model {cfg.name} selects by top-k (prune.select: topk)")
        keep = I.topk_select(scores, n_valid, tail, k, threshold)
        pruned = I.candidates(n_valid, tail, n) & ~keep
        stays = torch.arange(n + 1)[None, :] < n_valid[:, None]
        stays[:, :n] &= ~pruned
        order = torch.sort((~stays).to(torch.int64), dim=-1, stable=True).indices
        n_out = stays.sum(-1)
        width = int(n_out.max()) + (1 if cfg.prune.package else 0)
        new_x = I.gather_tokens(torch.cat([x, torch.zeros_like(x[:, :1])], 1), order, width)
        new_ids = torch.gather(torch.cat([ids, torch.full((bsz, 1), Trace.PAD_ID)], 1), 1, order[:, :width])
        slot = torch.arange(width)[None, :]
        if cfg.prune.package:
            at_pkg = slot == n_out[:, None]
            new_x = torch.where(at_pkg[..., None], I.token_pack(x, scores, pruned)[:, None, :], new_x)
            new_ids = torch.where(at_pkg, PACKAGE_ID - s, new_ids)
            n_out = n_out + 1
        valid = slot < n_out[:, None]
        return torch.where(valid[..., None], new_x, 0), torch.where(valid, new_ids, Trace.PAD_ID), n_out


def quantize_images(model: PrunedViT, images: torch.Tensor) -> np.ndarray:
    """§12.1 Float images -> int8 at the model's input frac (host side, round half up, saturate)."""
    from spvit.sim.golden.model import quantize_input

    return quantize_input(images.numpy(), model.input_quant.frac()).astype(np.int8)


def export_qonnx_model(model: PrunedViT, path) -> None:
    """The dense quantized backbone as QONNX (FINN's input format), via Brevitas. Pruning stages are left out:
    data-dependent token removal has no QONNX form; the bundle carries them for the accelerator."""
    import copy

    from brevitas.export import export_qonnx

    dense = copy.deepcopy(model).eval()
    dense.prune = False
    cfg = model.cfg
    example = torch.zeros(1, cfg.in_chans, cfg.img_size, cfg.img_size)
    export_qonnx(dense, args=example, export_path=str(path))
