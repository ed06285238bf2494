"""Datasets: the embedded digits-on-canvas default and any ImageFolder directory (ImageNet layout).

Digits-on-canvas: sklearn's bundled UCI handwritten digits (1,797 images of 8x8, values 0..16, shipped inside the
wheel, so nothing is downloaded), upscaled 2x and placed at a random position on a noisy canvas. Most patches are
background, so token pruning has real work to do. Train and test use disjoint source digits; the test canvases are
fixed by a seed, the training canvases are redrawn every epoch.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from spvit.configs import ModelConfig

DIGIT_UPSCALE = 2  # 8x8 digits become 16x16: a quarter of a 32x32 canvas
NOISE_STD = 0.15  # background noise, in units of the full pixel range
MEAN, STD = 0.1, 0.3  # normalisation of canvases (pixel values in [0, 1])
TEST_FRACTION = 0.2


@dataclass(frozen=True)
class Split:
    images: np.ndarray  # float32 [N, 1, 8, 8] in [0, 1]
    labels: np.ndarray  # int64 [N]


def digits_splits(seed: int = 0) -> tuple[Split, Split]:
    """A fixed, stratified-by-shuffle split of sklearn's digits into train and test source images."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    order = np.random.default_rng(seed).permutation(len(digits.target))
    n_test = int(round(len(order) * TEST_FRACTION))
    images = (digits.images / 16.0).astype(np.float32)[:, None]
    labels = digits.target.astype(np.int64)
    test, train = order[:n_test], order[n_test:]
    return Split(images[train], labels[train]), Split(images[test], labels[test])


def place_on_canvas(digit: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """One normalised canvas [1, size, size] with the (upscaled) digit at a random position plus noise."""
    big = np.kron(digit, np.ones((1, DIGIT_UPSCALE, DIGIT_UPSCALE), dtype=np.float32))
    span = size - big.shape[-1]
    r, c = rng.integers(0, span + 1, size=2)
    canvas = np.clip(rng.normal(0.0, NOISE_STD, (1, size, size)), 0.0, 1.0).astype(np.float32)
    canvas[:, r:r + big.shape[-2], c:c + big.shape[-1]] = np.maximum(canvas[:, r:r + big.shape[-2], c:c + big.shape[-1]], big)
    return (canvas - MEAN) / STD


class DigitsCanvas(Dataset):
    """Digits on a canvas of the config's image size. `epoch_seed` redraws placements (training); a fixed seed
    gives a fixed set (test). `repeats` places every source digit that many times per epoch."""

    def __init__(self, cfg: ModelConfig, train: bool, seed: int = 0, repeats: int = 1):
        if cfg.in_chans != 1:
            raise ValueError(f"digits-on-canvas is single-channel; config {cfg.name} has in_chans={cfg.in_chans}")
        self.size = cfg.img_size
        self.split = digits_splits(seed)[0 if train else 1]
        self.train = train
        self.repeats = repeats
        self.seed = seed
        self.set_epoch(0)

    def set_epoch(self, epoch: int) -> None:
        base = (self.seed, 1 if self.train else 2, epoch if self.train else 0)
        rng = np.random.default_rng(base)
        idx = np.tile(np.arange(len(self.split.labels)), self.repeats)
        self.canvases = np.stack([place_on_canvas(self.split.images[i], self.size, rng) for i in idx])
        self.labels = self.split.labels[idx]

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i):
        return torch.from_numpy(self.canvases[i]), int(self.labels[i])


class ImageFolder(Dataset):
    """`root/<class>/<image>` (ImageNet layout), resized to the config's image size, normalised per channel with
    the ImageNet mean and standard deviation. Classes are the sorted folder names."""

    MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
    STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
    SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp"}

    def __init__(self, root, cfg: ModelConfig):
        root = Path(root)
        self.classes = sorted(p.name for p in root.iterdir() if p.is_dir())
        if not self.classes:
            raise ValueError(f"{root}: no class folders (expected root/<class>/<image>)")
        self.items = [(p, c) for c, name in enumerate(self.classes)
                      for p in sorted((root / name).rglob("*")) if p.suffix.lower() in self.SUFFIXES]
        if not self.items:
            raise ValueError(f"{root}: no images with suffix {sorted(self.SUFFIXES)}")
        self.size, self.chans = cfg.img_size, cfg.in_chans

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i):
        from PIL import Image

        path, label = self.items[i]
        img = Image.open(path).convert("RGB" if self.chans == 3 else "L").resize((self.size, self.size), Image.BILINEAR)
        x = np.asarray(img, dtype=np.float32).reshape(self.size, self.size, self.chans) / 255.0
        mean, std = (self.MEAN, self.STD) if self.chans == 3 else (self.MEAN.mean(), self.STD.mean())
        return torch.from_numpy(((x - mean) / std).transpose(2, 0, 1).copy()), label


def make_datasets(cfg: ModelConfig, data: str | None, seed: int = 0, repeats: int = 1):
    """(train, test): digits-on-canvas when `data` is None or 'digits', else ImageFolder `data`/{train,val}."""
    if data in (None, "digits"):
        return DigitsCanvas(cfg, True, seed, repeats), DigitsCanvas(cfg, False, seed)
    root = Path(data)
    return ImageFolder(root / "train", cfg), ImageFolder(root / "val", cfg)
