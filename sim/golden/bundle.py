"""The model bundle: one .npz holding every integer the accelerator needs (docs/arithmetic.md §12).

Arrays are stored under their timm-style names; a JSON document (array `__meta__`, UTF-8 bytes) holds the
format version, the model config, the fractional bits of every tensor, integer scalars and a SHA-256
checksum. `layout()` is the one schema: the generator, the exporter and the loader all follow it.
"""
from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from spvit.configs import ConfigError, ModelConfig

from .arith import MAX_ABS_BIAS, MAX_REDUCTION
from .params import LinearParams, NormParams
from .scoring import SCORE_MAX, SelectorParams

FORMAT = "spvit-bundle"
FORMAT_VERSION = 1
META_KEY = "__meta__"
FRAC_RANGE = (-8, 16)  # every tensor's fractional bits; keeps all shifts inside [-24, 40]


class BundleError(Exception):
    """§12.2 Base of every reason a bundle is refused."""


class BundleFormatError(BundleError):
    """Not a readable bundle file (not an npz, truncated, no metadata)."""


class BundleVersionError(BundleError):
    """Written by an incompatible format version."""


class BundleChecksumError(BundleError):
    """Contents do not match the recorded checksum (corrupted or edited)."""


class BundleSchemaError(BundleError):
    """An array or scalar is missing, extra, or has the wrong shape, dtype or range for the config."""


@dataclass(frozen=True)
class ArraySpec:
    """§12.2 Shape, dtype and value range of one bundle array."""

    shape: tuple[int, ...]
    dtype: str
    lo: int
    hi: int


def _weight(*shape):
    """§1.1 Brevitas narrow-range int8 weights: -127..127."""
    return ArraySpec(tuple(shape), "int8", -127, 127)


def _bias(n):
    """§1.3"""
    return ArraySpec((n,), "int32", -MAX_ABS_BIAS, MAX_ABS_BIAS)


def _linear(prefix, *shape):
    """§3 weight [out, in] + bias."""
    return {f"{prefix}.weight": _weight(*shape), f"{prefix}.bias": _bias(shape[-2] if len(shape) == 2 else shape[0])}


def _head_linear(prefix, heads, out, inp):
    """§8.2 per-head weight [H, out, in] + bias [H, out]."""
    return {f"{prefix}.weight": _weight(heads, out, inp), f"{prefix}.bias": ArraySpec((heads, out), "int32", -MAX_ABS_BIAS, MAX_ABS_BIAS)}


def _norm(prefix, dim):
    """§6 G (int16) and B (int32)."""
    return {f"{prefix}.weight": ArraySpec((dim,), "int16", -(2**15), 2**15 - 1), f"{prefix}.bias": _bias(dim)}


def _lut(prefix, signed=True):
    """§7 GELU (int8) or sigmoid (uint8) table."""
    return {f"{prefix}.lut": ArraySpec((256,), "int8", -128, 127) if signed else ArraySpec((256,), "uint8", 0, 255)}


def layout(cfg: ModelConfig) -> dict[str, ArraySpec]:
    """§12.2 Every array of a bundle for `cfg`, with its shape, dtype and value range."""
    d, h, dh, p = cfg.embed_dim, cfg.num_heads, cfg.head_dim, cfg.patch_size
    spec = {
        "patch_embed.proj.weight": _weight(d, cfg.in_chans, p, p),
        "patch_embed.proj.bias": _bias(d),
        "cls_token": ArraySpec((1, 1, d), "int8", -128, 127),
        "pos_embed": ArraySpec((1, cfg.num_patches + 1, d), "int8", -128, 127),
    }
    for i in range(cfg.depth):
        b = f"blocks.{i}"
        spec |= _norm(f"{b}.norm1", d) | _linear(f"{b}.attn.qkv", 3 * d, d) | _linear(f"{b}.attn.proj", d, d)
        spec |= _norm(f"{b}.norm2", d) | _linear(f"{b}.mlp.fc1", cfg.mlp_hidden, d) | _lut(f"{b}.mlp.act")
        spec |= _linear(f"{b}.mlp.fc2", d, cfg.mlp_hidden)
    if cfg.prune.score == "spvit":
        for s in range(cfg.num_stages):
            sel = f"stages.{s}.selector"
            spec |= _norm(f"{sel}.norm", d) | _head_linear(f"{sel}.in_proj", h, dh, dh) | _lut(f"{sel}.in_act")
            spec |= _head_linear(f"{sel}.mlp1", h, dh // 2, dh) | _lut(f"{sel}.mlp1_act")
            spec |= _head_linear(f"{sel}.mlp2", h, dh // 4, dh // 2) | _lut(f"{sel}.mlp2_act")
            spec |= _head_linear(f"{sel}.keep", h, 1, dh // 4) | _lut(f"{sel}.keep_act", signed=False)
            spec |= _linear(f"{sel}.se1", cfg.se_width, h) | _lut(f"{sel}.se1_act")
            spec |= _linear(f"{sel}.se2", h, cfg.se_width) | _lut(f"{sel}.se2_act", signed=False)
    spec |= _norm("norm", d) | _linear("head", cfg.num_classes, d)
    return spec


def _linear_fracs(prefix):
    """§2.3 the two fracs a requantizing layer needs."""
    return [f"{prefix}.weight", f"{prefix}.out"]


def frac_names(cfg: ModelConfig) -> list[str]:
    """§1.1 Every tensor whose fractional bits the bundle records (activations `.out`, weights `.weight`)."""
    names = ["input", *_linear_fracs("patch_embed.proj"), "pos_embed", "embed.out"]
    for i in range(cfg.depth):
        b = f"blocks.{i}"
        names += [*_linear_fracs(f"{b}.norm1"), f"{b}.attn.qkv.weight", f"{b}.attn.q", f"{b}.attn.k"]
        names += [f"{b}.attn.v", f"{b}.attn.ctx", *_linear_fracs(f"{b}.attn.proj"), f"{b}.attn_res.out"]
        names += [*_linear_fracs(f"{b}.norm2"), *_linear_fracs(f"{b}.mlp.fc1"), f"{b}.mlp.act.out"]
        names += [*_linear_fracs(f"{b}.mlp.fc2"), f"{b}.out"]
    if cfg.prune.score == "spvit":
        for s in range(cfg.num_stages):
            sel = f"stages.{s}.selector"
            for layer in ("norm", "in_proj", "mlp1", "mlp2", "keep", "se1", "se2"):
                names += _linear_fracs(f"{sel}.{layer}")
            names += [f"{sel}.in_act.out", f"{sel}.mlp1_act.out", f"{sel}.mlp2_act.out", f"{sel}.se1_act.out"]
    return names + [*_linear_fracs("norm"), "head.weight"]


def scalar_specs(cfg: ModelConfig) -> dict[str, tuple[int, int]]:
    """§6, §9 Integer scalars with their ranges: LayerNorm eps terms (§6) and per-stage run-time k and threshold (§9)."""
    norms = [f"blocks.{i}.{n}" for i in range(cfg.depth) for n in ("norm1", "norm2")] + ["norm"]
    if cfg.prune.score == "spvit":
        norms += [f"stages.{s}.selector.norm" for s in range(cfg.num_stages)]
    specs = {f"{n}.eps_term": (1, 2**40) for n in norms}
    for s in range(cfg.num_stages):
        specs[f"stages.{s}.k"] = (1, cfg.num_patches)
        specs[f"stages.{s}.threshold"] = (0, SCORE_MAX)
    return specs


class Bundle:
    """§12.2 A validated bundle; the accessors turn fractional bits into the shifts the operations take."""

    def __init__(self, config: ModelConfig, arrays: dict, fracs: dict, scalars: dict):
        for kind, table in (("fracs", fracs), ("scalars", scalars)):
            if not isinstance(table, dict):
                raise BundleSchemaError(f"{kind} must be a mapping of names to integers")
            bad = [k for k, v in table.items() if not isinstance(v, (int, np.integer)) or isinstance(v, bool)]
            if bad:
                raise BundleSchemaError(f"{kind} must be integers: {bad[:5]}")
        self.config = config
        self.arrays = {k: np.asarray(v) for k, v in arrays.items()}
        self.fracs = {k: int(v) for k, v in fracs.items()}
        self.scalars = {k: int(v) for k, v in scalars.items()}
        validate(self)

    def frac(self, name: str) -> int:
        """§1.1"""
        return self.fracs[name]

    def linear(self, name: str, f_in: int) -> LinearParams:
        """§2.3 shift = f_in + f_w - f_out. Layers without an `.out` frac (qkv: three outputs; head: int32 logits) keep the accumulator scale."""
        f_acc = f_in + self.frac(f"{name}.weight")
        shift = f_acc - self.fracs.get(f"{name}.out", f_acc)
        return LinearParams(self.arrays[f"{name}.weight"], self.arrays[f"{name}.bias"], shift)

    def norm(self, name: str) -> NormParams:
        """§6 shift = 15 + f_g - f_out."""
        shift = 15 + self.frac(f"{name}.weight") - self.frac(f"{name}.out")
        return NormParams(self.arrays[f"{name}.weight"], self.arrays[f"{name}.bias"], self.scalars[f"{name}.eps_term"], shift)

    def table(self, name: str) -> np.ndarray:
        """§7"""
        return self.arrays[f"{name}.lut"]

    def selector(self, stage: int) -> SelectorParams:
        """§8.2 The selector of one stage, every shift derived from the fracs."""
        sel = f"stages.{stage}.selector"
        f_u = self.frac(f"{sel}.in_act.out")
        return SelectorParams(
            norm=self.norm(f"{sel}.norm"),
            in_proj=self.linear(f"{sel}.in_proj", self.frac(f"{sel}.norm.out")),
            in_act=self.table(f"{sel}.in_act"),
            mlp1=self.linear(f"{sel}.mlp1", f_u),
            mlp1_act=self.table(f"{sel}.mlp1_act"),
            mlp2=self.linear(f"{sel}.mlp2", self.frac(f"{sel}.mlp1_act.out")),
            mlp2_act=self.table(f"{sel}.mlp2_act"),
            keep=self.linear(f"{sel}.keep", self.frac(f"{sel}.mlp2_act.out")),
            keep_act=self.table(f"{sel}.keep_act"),
            se1=self.linear(f"{sel}.se1", f_u),
            se1_act=self.table(f"{sel}.se1_act"),
            se2=self.linear(f"{sel}.se2", self.frac(f"{sel}.se1_act.out")),
            se2_act=self.table(f"{sel}.se2_act"),
        )

    def stage_k(self, stage: int) -> int:
        """§9 run-time k of a stage."""
        return self.scalars[f"stages.{stage}.k"]

    def stage_threshold(self, stage: int) -> int:
        """§9 run-time threshold of a stage (uint16, frac 16)."""
        return self.scalars[f"stages.{stage}.threshold"]

    # -- file format ---------------------------------------------------------------------------------
    def meta(self) -> dict:
        """§12.2 The `__meta__` document, checksum aside."""
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "config": self.config.to_dict(),
            "fracs": self.fracs,
            "scalars": self.scalars,
        }

    def checksum(self) -> str:
        """§12.2"""
        return checksum(self.meta(), self.arrays)

    def save(self, path) -> Path:
        """§12.2 Write the .npz with its checksummed metadata."""
        meta = self.meta() | {"checksum": self.checksum()}
        blob = np.frombuffer(json.dumps(meta, sort_keys=True).encode(), dtype=np.uint8)
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as fh:
            np.savez_compressed(fh, **{META_KEY: blob}, **self.arrays)
        return path


def checksum(meta: dict, arrays: dict) -> str:
    """§12.2 SHA-256 over the canonical JSON metadata and every array's name, dtype, shape and bytes."""
    digest = hashlib.sha256(json.dumps({k: v for k, v in meta.items() if k != "checksum"}, sort_keys=True).encode())
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}|{a.dtype.str}|{a.shape}".encode())
        digest.update(a.tobytes())
    return digest.hexdigest()


def validate(bundle: Bundle) -> None:
    """§12.2 Raise BundleSchemaError unless every array, frac and scalar matches the config's layout."""
    cfg = bundle.config
    spec = layout(cfg)
    missing = sorted(set(spec) - set(bundle.arrays))
    extra = sorted(set(bundle.arrays) - set(spec))
    if missing or extra:
        raise BundleSchemaError(f"arrays do not match config {cfg.name}: missing {missing[:5]}, unexpected {extra[:5]}")
    for name, s in spec.items():
        a = bundle.arrays[name]
        if a.dtype != np.dtype(s.dtype) or a.shape != s.shape:
            raise BundleSchemaError(f"array {name}: expected {s.dtype}{list(s.shape)}, found {a.dtype}{list(a.shape)}")
        if a.size and (a.min() < s.lo or a.max() > s.hi):
            raise BundleSchemaError(f"array {name}: values outside [{s.lo}, {s.hi}]")
    for kind, have, want in (("fracs", bundle.fracs, frac_names(cfg)), ("scalars", bundle.scalars, scalar_specs(cfg))):
        if set(have) != set(want):
            raise BundleSchemaError(f"{kind} do not match config {cfg.name}: missing {sorted(set(want) - set(have))[:5]}, unexpected {sorted(set(have) - set(want))[:5]}")
    lo, hi = FRAC_RANGE
    for name, f in bundle.fracs.items():
        if not lo <= f <= hi:
            raise BundleSchemaError(f"frac {name} = {f} outside [{lo}, {hi}]")
    for name, (lo, hi) in scalar_specs(cfg).items():
        if not lo <= bundle.scalars[name] <= hi:
            raise BundleSchemaError(f"scalar {name} = {bundle.scalars[name]} outside [{lo}, {hi}]")
    reduction = max(cfg.embed_dim, cfg.mlp_hidden, cfg.in_chans * cfg.patch_size**2, cfg.num_patches + 1)
    if reduction > MAX_REDUCTION:
        raise BundleSchemaError(f"a dot product of length {reduction} could overflow int32 (limit {MAX_REDUCTION}, §1.2)")


def load_bundle(path) -> Bundle:
    """§12.2 Read and check a bundle; every way it can be wrong is a BundleError subclass with a plain message."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise BundleFormatError(f"{path}: cannot read ({exc.strerror})") from None
    try:
        npz = np.load(io.BytesIO(raw), allow_pickle=False)
        if not isinstance(npz, np.lib.npyio.NpzFile):
            raise ValueError("a single array (.npy), not an archive")
        with npz:  # members decompress on access: a corrupted one fails here
            arrays = {name: npz[name] for name in npz.files}
    except Exception as exc:  # zipfile, zlib, numpy format errors...: any of them means an unreadable file
        raise BundleFormatError(f"{path}: not a readable .npz bundle (truncated or corrupted?): "
                                f"{type(exc).__name__}: {exc}") from None
    if META_KEY not in arrays:
        raise BundleFormatError(f"{path}: no {META_KEY} record; not an spvit bundle")
    try:
        meta = json.loads(arrays.pop(META_KEY).tobytes().decode())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BundleFormatError(f"{path}: metadata is not valid JSON: {exc}") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise BundleFormatError(f"{path}: metadata does not describe an {FORMAT}")
    version = meta.get("format_version")
    if type(version) is not int or version != FORMAT_VERSION:
        raise BundleVersionError(f"{path}: format version {version!r}, this spvit reads version {FORMAT_VERSION}")
    for key in ("config", "fracs", "scalars", "checksum"):
        if key not in meta:
            raise BundleFormatError(f"{path}: metadata lacks {key!r}")
    if checksum(meta, arrays) != meta["checksum"]:
        raise BundleChecksumError(f"{path}: checksum mismatch: the file was corrupted or edited after export")
    try:
        config = ModelConfig.from_dict(meta["config"])
    except ConfigError as exc:
        raise BundleSchemaError(f"{path}: {exc}") from None
    return Bundle(config, arrays, meta["fracs"], meta["scalars"])
