"""The `hls` backend of `spvit simulate`: a model bundle run image by image through the HLS kernels' C-simulation.

Each encoder block runs in hw/hls/encoder_block.hpp (with its stage's scores), each pruning stage in its
prune_stage, the patch embedding and the head in linear.hpp / residual_add.hpp / layernorm.hpp; the host part is
what a driver does: packing the bundle's parameters into the m_axi layout once, deriving every register from the
fracs, and keeping the token ids. `run(images)` returns the per-image trace dicts of golden `Trace.per_image()`
(docs/arithmetic.md §11.5), to be compared bit for bit.
"""
from __future__ import annotations

import numpy as np

from . import hls_kernels as hk
from .golden import Bundle
from .golden.model import PACKAGE_ID
from .golden.params import LinearParams


class HlsBackend:
    name = "hls"

    def __init__(self, bundle: Bundle, k=None, threshold=None):
        """`k` / `threshold`: run-time overrides as in golden `forward` (one value for every stage, or a list)."""
        self.bundle = bundle
        self.k, self.threshold = k, threshold
        cfg = bundle.config
        hw = hk.encoder_block_config()
        want = dict(n_max=1 + cfg.num_patches + cfg.num_stages, embed_dim=cfg.embed_dim, num_heads=cfg.num_heads,
                    mlp_hidden=cfg.mlp_hidden, se_width=cfg.se_width)
        if any(hw[key] < v if key == "n_max" else hw[key] != v for key, v in want.items()):
            raise ValueError(f"the encoder_block C-simulation is built for {hw}; model {cfg.name} needs {want}")
        self.stages = {a - 1: s for s, a in enumerate(cfg.prune.after_blocks)} if cfg.num_stages else {}
        arrays, self.offsets = [], []
        words = 0
        for i in range(cfg.depth):
            self.offsets.append(words)
            block = self._block_arrays(i)
            arrays += block
            words += sum(-(-np.asarray(a).size * bits // 128) for a, bits in block)
        self.weights = hk.pack_words(arrays)
        assert self.weights.size == 4 * words
        self.regs = [self._block_regs(i) for i in range(cfg.depth)]

    # -- host-side preparation ---------------------------------------------------------------------------------------
    def _block_arrays(self, i: int) -> list[tuple[np.ndarray, int]]:
        """encoder_block.hpp load_block_params() order."""
        a, b = self.bundle.arrays, f"blocks.{i}"
        out = [(a[f"{b}.norm1.weight"], 16), (a[f"{b}.norm1.bias"], 32), (a[f"{b}.attn.qkv.weight"], 8),
               (a[f"{b}.attn.qkv.bias"], 32), (a[f"{b}.attn.proj.weight"], 8), (a[f"{b}.attn.proj.bias"], 32),
               (a[f"{b}.norm2.weight"], 16), (a[f"{b}.norm2.bias"], 32), (a[f"{b}.mlp.fc1.weight"], 8),
               (a[f"{b}.mlp.fc1.bias"], 32), (self.bundle.table(f"{b}.mlp.act"), 8), (a[f"{b}.mlp.fc2.weight"], 8),
               (a[f"{b}.mlp.fc2.bias"], 32)]
        if i in self.stages and self.bundle.config.prune.score == "spvit":
            p = self.bundle.selector(self.stages[i])
            out += [(p.norm.gamma, 16), (p.norm.beta, 32)]
            for layer, table in ((p.in_proj, p.in_act), (p.mlp1, p.mlp1_act), (p.mlp2, p.mlp2_act),
                                 (p.keep, p.keep_act), (p.se1, p.se1_act), (p.se2, p.se2_act)):
                out += [(layer.weight, 8), (layer.bias, 32), (table, 8)]
        return out

    def _block_regs(self, i: int) -> dict[str, int]:
        """The s_axilite registers of block i, every shift derived from the bundle's fracs (§2.3, §4, §5, §6)."""
        bd, b = self.bundle, f"blocks.{i}"
        fr = bd.frac
        f_in = fr("embed.out") if i == 0 else fr(f"blocks.{i - 1}.out")
        norm1, norm2 = bd.norm(f"{b}.norm1"), bd.norm(f"{b}.norm2")
        acc = fr(f"{b}.norm1.out") + fr(f"{b}.attn.qkv.weight")

        def res(fx, fy, fo):
            f = max(fx, fy)
            return f - fx, f - fy, f - fo

        r1 = res(f_in, fr(f"{b}.attn.proj.out"), fr(f"{b}.attn_res.out"))
        r2 = res(fr(f"{b}.attn_res.out"), fr(f"{b}.mlp.fc2.out"), fr(f"{b}.out"))
        regs = dict(
            n=0, weights=self.offsets[i], ln1_eps=norm1.eps_term, ln1_shift=norm1.shift,
            q_shift=acc - fr(f"{b}.attn.q"), k_shift=acc - fr(f"{b}.attn.k"), v_shift=acc - fr(f"{b}.attn.v"),
            f_qk=fr(f"{b}.attn.q") + fr(f"{b}.attn.k"), ctx_shift=8 + fr(f"{b}.attn.v") - fr(f"{b}.attn.ctx"),
            proj_shift=bd.linear(f"{b}.attn.proj", fr(f"{b}.attn.ctx")).shift,
            res1_x=r1[0], res1_r=r1[1], res1_out=r1[2], ln2_eps=norm2.eps_term, ln2_shift=norm2.shift,
            fc1_shift=bd.linear(f"{b}.mlp.fc1", fr(f"{b}.norm2.out")).shift,
            fc2_shift=bd.linear(f"{b}.mlp.fc2", fr(f"{b}.mlp.act.out")).shift,
            res2_x=r2[0], res2_r=r2[1], res2_out=r2[2], score_mode=0, sel_eps=1,
            **{f"sel_{n}_shift": 0 for n in ("norm", "in", "mlp1", "mlp2", "keep", "se1", "se2")},
        )
        if i in self.stages:
            regs["score_mode"] = hk.SCORE_MODES[bd.config.prune.score]
            if bd.config.prune.score == "spvit":
                p = bd.selector(self.stages[i])
                regs.update(sel_eps=p.norm.eps_term, sel_norm_shift=p.norm.shift, sel_in_shift=p.in_proj.shift,
                            sel_mlp1_shift=p.mlp1.shift, sel_mlp2_shift=p.mlp2.shift, sel_keep_shift=p.keep.shift,
                            sel_se1_shift=p.se1.shift, sel_se2_shift=p.se2.shift)
        return regs

    @staticmethod
    def _per_stage(value, s: int):
        return value[s] if isinstance(value, (list, tuple)) else value

    # -- the model, image by image -------------------------------------------------------------------------------------
    def _patch_embed(self, image: np.ndarray) -> np.ndarray:
        """§11.1 with the linear and residual_add kernels."""
        bd, cfg = self.bundle, self.bundle.config
        c, hgt, wid = image.shape
        p = cfg.patch_size
        patches = image.reshape(c, hgt // p, p, wid // p, p).transpose(1, 3, 0, 2, 4).reshape(-1, c * p * p)
        proj = bd.linear("patch_embed.proj", bd.frac("input"))
        flat = hk.linear_layer(LinearParams(proj.weight.reshape(cfg.embed_dim, -1), proj.bias, proj.shift), patches)
        tokens = np.concatenate([bd.arrays["cls_token"].reshape(1, -1), flat], axis=0)
        return hk.residual_add(tokens, bd.frac("patch_embed.proj.out"), bd.arrays["pos_embed"][0],
                               bd.frac("pos_embed"), bd.frac("embed.out"))

    def _image(self, image: np.ndarray) -> dict[str, np.ndarray]:
        bd, cfg = self.bundle, self.bundle.config
        x = self._patch_embed(image)
        n = x.shape[0]
        ids = np.arange(n)
        trace: dict[str, np.ndarray] = {}
        for i in range(cfg.depth):
            y, scores = hk.encoder_block(x, n, self.weights, self.regs[i])
            trace[f"blocks.{i}.out"] = y.astype(np.int64)
            x = y
            if i in self.stages:
                s = self.stages[i]
                trace[f"stages.{s}.scores"] = scores.astype(np.int64)
                k = self._per_stage(self.k, s)
                k = bd.stage_k(s) if k is None else k
                threshold = None
                if cfg.prune.select == "threshold":
                    threshold = self._per_stage(self.threshold, s)
                    threshold = bd.stage_threshold(s) if threshold is None else threshold
                tail = s if cfg.prune.package else 0
                x, sources = hk.prune_stage(y, n, scores, tail, k, threshold, cfg.prune.package)
                ids = np.where(sources < n, ids[np.minimum(sources, n - 1)], PACKAGE_ID - s)
                n = x.shape[0]
                trace[f"stages.{s}.kept_ids"] = ids.astype(np.int64)
        # §11.4 head: LayerNorm of the class token, then the classifier's int32 accumulators
        norm = bd.norm("norm")
        cls = hk.layernorm(x[:1], norm.gamma, norm.beta, norm.eps_term, norm.shift)
        head = bd.linear("head", bd.frac("norm.out"))
        trace["logits"] = hk.linear(cls, head.weight, head.bias)[0]
        return trace

    def run(self, images: np.ndarray) -> list[dict[str, np.ndarray]]:
        return [self._image(np.asarray(img)) for img in images]
