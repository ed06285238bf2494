"""Model configurations: the shipped YAML files and the ModelConfig they load into."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path

import yaml

DEFAULT = "digits"


class ConfigError(ValueError):
    """A model configuration that is not valid."""


@dataclass(frozen=True)
class PruneConfig:
    score: str = "spvit"  # spvit (token selector, §8.2) | asvit (head-weighted class attention, §8.1) | none
    select: str = "topk"  # topk (keep k) | threshold (keep score >= threshold, at most k)
    after_blocks: tuple[int, ...] = ()  # 1-based: a stage after block 3 prunes the output of the 3rd block
    keep_ratios: tuple[float, ...] = ()  # cumulative fraction of the patch tokens kept after each stage
    thresholds: tuple[float, ...] = ()  # threshold mode: keep score threshold per stage, in [0, 1)
    package: bool = True  # SPViT token packaging (§10); False drops pruned tokens (hard pruning)


@dataclass(frozen=True)
class ModelConfig:
    name: str
    img_size: int
    patch_size: int
    in_chans: int
    num_classes: int
    embed_dim: int
    depth: int
    num_heads: int
    mlp_ratio: float = 4.0
    se_hidden: int = 0  # hidden width of the selector's head-weight branch; 0 = max(1, num_heads // 2)
    ln_eps: float = 1e-6
    prune: PruneConfig = field(default_factory=PruneConfig)

    @property
    def num_patches(self) -> int:
        return (self.img_size // self.patch_size) ** 2

    @property
    def head_dim(self) -> int:
        return self.embed_dim // self.num_heads

    @property
    def mlp_hidden(self) -> int:
        return int(self.embed_dim * self.mlp_ratio)

    @property
    def se_width(self) -> int:
        return self.se_hidden or max(1, self.num_heads // 2)

    @property
    def num_stages(self) -> int:
        return 0 if self.prune.score == "none" else len(self.prune.after_blocks)

    def stage_k(self) -> list[int]:
        """Most patch tokens kept after each stage: round-half-up of the cumulative keep ratio."""
        return [max(1, math.floor(r * self.num_patches + 0.5)) for r in self.prune.keep_ratios]

    def to_dict(self) -> dict:
        return asdict(self)

    def _check_types(self) -> None:
        """Types and signs first: every later check divides by these."""
        def is_int(v):
            return isinstance(v, int) and not isinstance(v, bool)

        def is_num(v):
            return isinstance(v, (int, float)) and not isinstance(v, bool)

        p = self.prune
        checks = [(isinstance(self.name, str), "name must be a string")]
        for key in ("img_size", "patch_size", "in_chans", "num_classes", "embed_dim", "depth", "num_heads"):
            checks.append((is_int(getattr(self, key)) and getattr(self, key) > 0, f"{key} must be a positive integer"))
        checks += [
            (is_int(self.se_hidden) and self.se_hidden >= 0, "se_hidden must be an integer >= 0"),
            (is_num(self.mlp_ratio) and self.mlp_ratio > 0, "mlp_ratio must be a positive number"),
            (is_num(self.ln_eps) and self.ln_eps > 0, "ln_eps must be a positive number"),
            (isinstance(p.score, str) and isinstance(p.select, str), "prune.score and prune.select must be strings"),
            (isinstance(p.package, bool), "prune.package must be true or false"),
            (all(is_int(a) for a in p.after_blocks), "prune.after_blocks must be integers"),
            (all(is_num(r) for r in p.keep_ratios + p.thresholds), "keep ratios and thresholds must be numbers"),
        ]
        for ok, message in checks:
            if not ok:
                raise ConfigError(f"config {self.name}: {message}")

    def validate(self) -> "ModelConfig":
        self._check_types()
        p = self.prune
        checks = [
            (float(self.embed_dim * self.mlp_ratio).is_integer(), "embed_dim * mlp_ratio must be an integer"),
            (self.img_size % self.patch_size == 0, "img_size must be a multiple of patch_size"),
            (self.embed_dim % self.num_heads == 0, "embed_dim must be a multiple of num_heads"),
            (self.head_dim % 4 == 0, "head_dim must be a multiple of 4 (selector widths dh/2, dh/4)"),
            (p.score in ("spvit", "asvit", "none"), f"prune.score {p.score!r} is not spvit, asvit or none"),
            (p.select in ("topk", "threshold"), f"prune.select {p.select!r} is not topk or threshold"),
            (list(p.after_blocks) == sorted(set(p.after_blocks)), "prune.after_blocks must increase"),
            (all(1 <= a < self.depth for a in p.after_blocks), "prune.after_blocks must lie in 1..depth-1"),
            (p.score == "none" or len(p.keep_ratios) == len(p.after_blocks), "one keep ratio per stage"),
            (all(0 < r <= 1 for r in p.keep_ratios), "keep ratios must lie in (0, 1]"),
            (list(p.keep_ratios) == sorted(p.keep_ratios, reverse=True), "keep ratios are cumulative"),
            (p.select != "threshold" or len(p.thresholds) == len(p.after_blocks), "one threshold per stage"),
            (all(0 <= t < 1 for t in p.thresholds), "thresholds must lie in [0, 1)"),
        ]
        for ok, message in checks:
            if not ok:
                raise ConfigError(f"config {self.name}: {message}")
        return self

    @classmethod
    def from_dict(cls, data: dict) -> "ModelConfig":
        if not isinstance(data, dict):
            raise ConfigError(f"a model config must be a mapping, not {type(data).__name__}")
        data = dict(data)
        prune = data.pop("prune", None) or {}
        if not isinstance(prune, dict):
            raise ConfigError(f"config {data.get('name', '?')}: prune must be a mapping")
        prune = dict(prune)
        for key in ("after_blocks", "keep_ratios", "thresholds"):
            if not isinstance(prune.get(key, ()), (list, tuple)):
                raise ConfigError(f"config {data.get('name', '?')}: prune.{key} must be a list")
            prune[key] = tuple(prune.get(key, ()))
        try:
            return cls(prune=PruneConfig(**prune), **data).validate()
        except TypeError as exc:  # unknown or missing keys
            raise ConfigError(f"config {data.get('name', '?')}: {exc}") from None


def names() -> list[str]:
    return sorted(p.name[:-5] for p in resources.files(__package__).iterdir() if p.name.endswith(".yaml"))


def load_section(name_or_path: str, section: str) -> dict:
    """One top-level section (`model`, `train`) of a shipped config (by name) or a YAML file (by path)."""
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") and path.exists():
        text = path.read_text()
    elif name_or_path in names():
        text = resources.files(__package__).joinpath(f"{name_or_path}.yaml").read_text()
    else:
        raise ConfigError(f"no config {name_or_path!r}; shipped: {', '.join(names())}")
    data = yaml.safe_load(text)
    if not isinstance(data, dict):
        raise ConfigError(f"{name_or_path}: not a YAML mapping")
    return data.get(section) or {}


def load_config(name_or_path: str = DEFAULT) -> ModelConfig:
    """A shipped config by name (`digits`, `deit_tiny`, `deit_small`) or a YAML file by path."""
    model = load_section(name_or_path, "model")
    if not model:
        raise ConfigError(f"{name_or_path}: no `model` section")
    return ModelConfig.from_dict(model)
