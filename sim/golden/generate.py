"""Random but valid bundles for any config: float parameters drawn at realistic scales, then quantized the
way the exporter quantizes trained ones (docs/arithmetic.md §12.2). Used by the tests and the self-check."""
from __future__ import annotations

import math

import numpy as np

from spvit.configs import ModelConfig

from .arith import MAX_ABS_BIAS, saturate
from .bundle import FRAC_RANGE, Bundle, frac_names, layout, scalar_specs
from .layernorm import eps_term
from .lut import make_lut
from .scoring import SCORE_MAX

# Fractional bits of activations by the last part of their name: int8 covers +-2**(7 - f).
ACTIVATION_FRACS = {
    "input": 5, "pos_embed": 5, "embed.out": 4, "proj.out": 4, "norm.out": 5, "norm1.out": 5, "norm2.out": 5,
    "attn.q": 5, "attn.k": 4, "attn.v": 4, "attn.ctx": 5, "attn_res.out": 4, "fc1.out": 4, "act.out": 5,
    "fc2.out": 5, "blocks.out": 4, "in_proj.out": 4, "mlp1.out": 4, "mlp2.out": 4, "keep.out": 4,
    "se1.out": 4, "se2.out": 4, "_act.out": 5,
}


def activation_frac(name: str) -> int:
    """§1.1 Default fractional bits of an activation in a random bundle."""
    if name.startswith("blocks.") and name.endswith(".out") and name.count(".") == 2:
        return ACTIVATION_FRACS["blocks.out"]
    for suffix in sorted(ACTIVATION_FRACS, key=len, reverse=True):
        if name.endswith(suffix):
            return ACTIVATION_FRACS[suffix]
    raise KeyError(name)


def round_half_up(x) -> np.ndarray:
    """§12.2 Export rounding of float parameters: floor(x + 1/2)."""
    return np.floor(np.asarray(x, dtype=np.float64) + 0.5).astype(np.int64)


def weight_frac(w: np.ndarray, limit: float = 127) -> int:
    """§1.1 Largest fractional bits that keep max|w| * 2**f within `limit` (Brevitas fixed-point, power-of-two)."""
    peak = float(np.max(np.abs(w))) or 1.0
    return int(np.clip(math.floor(math.log2(limit / peak)), *FRAC_RANGE))


def quantize_weight(w: np.ndarray) -> tuple[np.ndarray, int]:
    """§1.1 Narrow-range int8 weight at its largest fitting frac."""
    f = weight_frac(w)
    return saturate(round_half_up(w * 2.0**f), 8).clip(-127, 127).astype(np.int8), f


def quantize_bias(b: np.ndarray, f_acc: int) -> np.ndarray:
    """§1.3 int32 bias at the accumulator's frac, |bias| <= 2**30."""
    return np.clip(round_half_up(b * 2.0**f_acc), -MAX_ABS_BIAS, MAX_ABS_BIAS).astype(np.int32)


def quantize_norm(gamma: np.ndarray, beta: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """§6 gamma * sqrt(D) in int16 at f_g, beta at 15 + f_g."""
    folded = gamma * math.sqrt(gamma.shape[0])
    f_g = weight_frac(folded, 2**15 - 1)
    g = np.clip(round_half_up(folded * 2.0**f_g), -(2**15), 2**15 - 1).astype(np.int16)
    return g, quantize_bias(beta, 15 + f_g), f_g


def random_bundle(cfg: ModelConfig, seed: int = 0) -> Bundle:
    """§12.2 A valid bundle with random parameters at realistic scales, reproducible from `seed`."""
    rng = np.random.default_rng(seed)
    fracs = {n: activation_frac(n) for n in frac_names(cfg) if not n.endswith(".weight")}
    arrays, scalars = {}, {}
    producer = _producers(cfg)
    for name, spec in layout(cfg).items():
        prefix, _, kind = name.rpartition(".")
        if kind == "weight" and spec.dtype == "int8":
            fan_in = int(np.prod(spec.shape[1:])) if len(spec.shape) != 3 else spec.shape[-1]
            arrays[name], fracs[name] = quantize_weight(rng.normal(0, 1 / math.sqrt(fan_in), spec.shape))
        elif kind == "weight":  # LayerNorm gamma
            beta = rng.normal(0, 0.2, spec.shape)
            g, b, fracs[name] = quantize_norm(rng.normal(1, 0.2, spec.shape), beta)
            arrays[name], arrays[f"{prefix}.bias"] = g, b
            scalars[f"{prefix}.eps_term"] = eps_term(cfg.ln_eps, fracs[producer[prefix]], spec.shape[0])
        elif kind == "lut":
            f_in = fracs[producer[prefix]]
            if spec.dtype == "uint8":
                arrays[name] = make_lut("sigmoid", f_in, 8, signed=False)
            else:
                arrays[name] = make_lut("gelu", f_in, fracs[f"{prefix}.out"])
        elif name in ("cls_token", "pos_embed"):
            arrays[name] = saturate(round_half_up(rng.normal(0, 0.5, spec.shape) * 2.0 ** fracs.get(name, fracs["patch_embed.proj.out"])), 8).astype(np.int8)
    for name, spec in layout(cfg).items():  # biases last: they sit at the accumulator's scale
        prefix, _, kind = name.rpartition(".")
        if kind == "bias" and name not in arrays:
            f_acc = fracs[producer[prefix]] + fracs[f"{prefix}.weight"]
            arrays[name] = quantize_bias(rng.normal(0, 0.1, spec.shape), f_acc)
    for s, k in enumerate(cfg.stage_k()[: cfg.num_stages]):
        scalars[f"stages.{s}.k"] = k
        t = cfg.prune.thresholds[s] if cfg.prune.thresholds else 0.5
        scalars[f"stages.{s}.threshold"] = min(SCORE_MAX, int(round_half_up(t * 2**16)))
    assert set(scalars) == set(scalar_specs(cfg))
    return Bundle(cfg, arrays, fracs, scalars)


def _producers(cfg: ModelConfig) -> dict[str, str]:
    """§11 For every layer, the frac name of its input (what its bias scale and LUT input scale derive from)."""
    prev = {"patch_embed.proj": "input"}
    f_x = "embed.out"
    stage_after = {a - 1: s for s, a in enumerate(cfg.prune.after_blocks)}
    for i in range(cfg.depth):
        b = f"blocks.{i}"
        prev |= {f"{b}.norm1": f_x, f"{b}.attn.qkv": f"{b}.norm1.out", f"{b}.attn.proj": f"{b}.attn.ctx",
                 f"{b}.norm2": f"{b}.attn_res.out", f"{b}.mlp.fc1": f"{b}.norm2.out", f"{b}.mlp.act": f"{b}.mlp.fc1.out",
                 f"{b}.mlp.fc2": f"{b}.mlp.act.out"}
        f_x = f"{b}.out"
        if i in stage_after and cfg.prune.score == "spvit":
            sel = f"stages.{stage_after[i]}.selector"
            prev |= {f"{sel}.norm": f_x, f"{sel}.in_proj": f"{sel}.norm.out", f"{sel}.in_act": f"{sel}.in_proj.out",
                     f"{sel}.mlp1": f"{sel}.in_act.out", f"{sel}.mlp1_act": f"{sel}.mlp1.out",
                     f"{sel}.mlp2": f"{sel}.mlp1_act.out", f"{sel}.mlp2_act": f"{sel}.mlp2.out",
                     f"{sel}.keep": f"{sel}.mlp2_act.out", f"{sel}.keep_act": f"{sel}.keep.out",
                     f"{sel}.se1": f"{sel}.in_act.out", f"{sel}.se1_act": f"{sel}.se1.out",
                     f"{sel}.se2": f"{sel}.se1_act.out", f"{sel}.se2_act": f"{sel}.se2.out"}
    return prev | {"norm": f_x, "head": "norm.out"}
