"""The golden model's self-check on a generated model: the main job until training lands."""
from __future__ import annotations

import dataclasses
import tempfile
import time
from pathlib import Path

import numpy as np

from spvit.configs import ModelConfig

from .backends import compare
from .golden import Bundle, forward, load_bundle, random_bundle
from .golden.model import PACKAGE_ID


def variants(cfg: ModelConfig) -> list[ModelConfig]:
    """The config as shipped, plus the other scoring / selection modes on the same shapes."""
    if cfg.prune.score == "none":
        return [cfg]
    other = "asvit" if cfg.prune.score == "spvit" else "spvit"
    # AS-ViT scores are attention weights (mean 1/N): half the uniform level keeps a per-image number of tokens
    level = 0.5 if other == "spvit" else 0.5 / (cfg.num_patches + 1)
    thresholds = tuple(level for _ in cfg.prune.after_blocks)
    alt = dataclasses.replace(cfg, name=f"{cfg.name}-{other}-threshold",
                              prune=dataclasses.replace(cfg.prune, score=other, select="threshold", thresholds=thresholds))
    return [cfg, alt]


def check_trace_invariants(bundle: Bundle, images: list[dict]) -> list[str]:
    """Contract facts every trace must satisfy (§9-§11); returns the violations."""
    cfg, errors = bundle.config, []
    for b, t in enumerate(images):
        n_tail = 0
        for s in range(cfg.num_stages):
            ids = t[f"stages.{s}.kept_ids"]
            n_in = len(t[f"stages.{s}.scores"])
            patches = ids[ids > 0]
            cand = n_in - 1 - n_tail
            kept = len(patches) if s == 0 else len(patches)
            if ids[0] != 0:
                errors.append(f"image {b} stage {s}: class token not first")
            if np.any(np.diff(patches) <= 0):
                errors.append(f"image {b} stage {s}: kept tokens out of original order")
            if cfg.prune.select == "topk" and kept != min(bundle.stage_k(s), cand):
                errors.append(f"image {b} stage {s}: kept {kept}, expected min(k={bundle.stage_k(s)}, {cand})")
            if kept > bundle.stage_k(s):
                errors.append(f"image {b} stage {s}: kept {kept} > k")
            if cfg.prune.package:
                n_tail += 1
                expect = [PACKAGE_ID - j for j in range(n_tail)]
                if list(ids[-n_tail:]) != expect:
                    errors.append(f"image {b} stage {s}: package tokens {list(ids[-n_tail:])}, expected {expect}")
        for name, x in t.items():
            if name.startswith("blocks.") and (x.min(initial=0) < -128 or x.max(initial=0) > 127):
                errors.append(f"image {b}: {name} leaves int8")
        if np.abs(t["logits"]).max() >= 2**31:
            errors.append(f"image {b}: logits leave int32")
    return errors


def selfcheck(cfg: ModelConfig, images: int = 32, seed: int = 0) -> bool:
    ok = True
    rng = np.random.default_rng(seed)
    for variant in variants(cfg):
        start = time.perf_counter()
        bundle = random_bundle(variant, seed=seed)
        with tempfile.TemporaryDirectory() as tmp:
            reloaded = load_bundle(bundle.save(Path(tmp) / "model.npz"))
        same_file = reloaded.checksum() == bundle.checksum()
        x = rng.integers(-128, 128, size=(images, variant.in_chans, variant.img_size, variant.img_size))
        batch = forward(reloaded, x).per_image()
        alone = [forward(reloaded, x[i:i + 1]).per_image()[0] for i in range(images)]
        compared, mismatched, reports = compare(batch, alone)
        repeat = compare(batch, forward(reloaded, x).per_image())[1]
        errors = check_trace_invariants(reloaded, batch)
        passed = same_file and mismatched == 0 and repeat == 0 and not errors
        ok &= passed
        counts = np.array([[len(t[f"stages.{s}.kept_ids"]) for s in range(variant.num_stages)] for t in batch])
        print(f"[{'PASS' if passed else 'FAIL'}] {variant.name}: {sum(a.size for a in bundle.arrays.values()):,} "
              f"integer parameters, {images} images, {time.perf_counter() - start:.1f} s")
        print(f"       bundle save/load round trip: {'identical' if same_file else 'CHANGED'}")
        print(f"       batch vs one image at a time: {compared} tensors compared, {mismatched} mismatched; "
              f"rerun: {repeat} mismatched")
        if counts.size:
            for s in range(variant.num_stages):
                c = counts[:, s]
                print(f"       tokens after stage {s} (after block {variant.prune.after_blocks[s]}): "
                      f"min {c.min()}, mean {c.mean():.1f}, max {c.max()} of {1 + variant.num_patches} at input")
        for line in reports + errors[:10]:
            print(f"       {line}")
    print(f"golden self-check: {'PASS' if ok else 'FAIL'}")
    return ok
