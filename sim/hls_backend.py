"""The `hls` backend of `spvit simulate`: a model bundle run image by image through the HLS kernels' C-simulation.

Each encoder block runs in hw/hls/encoder_block.hpp (with its stage's scores), each pruning stage in its
prune_stage, the patch embedding and the head in linear.hpp / residual_add.hpp / layernorm.hpp; the host part is
what a driver does: packing the bundle's parameters into the m_axi layout once, deriving every register from the
fracs, and keeping the token ids. `run(images)` returns the per-image trace dicts of golden `Trace.per_image()`
(docs/arithmetic.md §11.5), to be compared bit for bit.
"""
from __future__ import annotations

import numpy as np

from . import block_regs
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
        self.stages = block_regs.stage_blocks(bundle)
        self.weights, self.offsets = block_regs.pack_blocks(bundle, self.stages)
        self.regs = [self._block_regs(i) for i in range(cfg.depth)]

    # -- host-side preparation (spvit.sim.block_regs, shared with the RTL backend and the drivers) ------------------
    def _block_arrays(self, i: int) -> list[tuple[np.ndarray, int]]:
        """encoder_block.hpp load_block_params() order."""
        return block_regs.block_arrays(self.bundle, i, self.stages)

    def _block_regs(self, i: int) -> dict[str, int]:
        """The s_axilite registers of block i, every shift derived from the bundle's fracs (§2.3, §4, §5, §6)."""
        return block_regs.block_regs(self.bundle, i, self.offsets[i], self.stages)

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
