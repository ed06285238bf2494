"""Released training runs: a finished `spvit train` run folder, stripped to what inference and the reports need,
shipped in quant/pretrained/<config>/ so that `spvit demo` on a fresh machine does not spend its ten minutes
training (`spvit demo --retrain` trains instead).

A release keeps ckpt.pt without the optimizer state and RNG (the model, its config, the training settings, the
history and the int8 dense baseline), the logs, summary.json, report.md and the plots. Make one from a finished run:

    python -m spvit.quant.pretrained runs/digits --config digits
"""
from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import torch

PRETRAINED = Path(__file__).resolve().parent / "pretrained"
FILES = ("log.csv", "log.json", "summary.json", "report.md", "accuracy.png", "kept_tokens.png", "keep_maps.png")
KEPT_STATE = ("config", "train", "model", "phase", "epoch", "history", "int8_dense")


def folder(config: str) -> Path:
    return PRETRAINED / Path(config).stem


def release(run: Path, config: str) -> Path:
    """Copy the finished run `run` into quant/pretrained/<config>/ (ckpt.pt stripped)."""
    run, dest = Path(run), folder(config)
    state = torch.load(run / "ckpt.pt", map_location="cpu", weights_only=False)
    dest.mkdir(parents=True, exist_ok=True)
    torch.save({k: state[k] for k in KEPT_STATE if k in state}, dest / "ckpt.pt")
    for name in FILES:
        if (run / name).is_file():
            shutil.copy(run / name, dest / name)
    return dest


def matches(config: str) -> bool:
    """A release of `config` exists and was trained with the model and training settings the config has now."""
    from dataclasses import asdict

    from spvit.configs import load_config

    from .train import TrainConfig

    path = folder(config) / "ckpt.pt"
    if not path.is_file():
        return False
    state = torch.load(path, map_location="cpu", weights_only=False)
    # settings added after the release compare at their defaults, which keep the behaviour it was trained with
    trained = asdict(TrainConfig(**state["train"]))
    return state["config"] == load_config(config).to_dict() and trained == asdict(TrainConfig.from_yaml(config))


def restore(config: str, run: Path) -> bool:
    """Copy the release of `config` into the run folder `run` if it matches the config and `run` holds no training
    of its own; False otherwise."""
    run = Path(run)
    if (run / "ckpt.pt").exists() or not matches(config):
        return False
    shutil.copytree(folder(config), run, dirs_exist_ok=True)
    return True


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="python -m spvit.quant.pretrained", description=__doc__.split("\n\n")[0])
    p.add_argument("run", type=Path, help="a finished run folder of `spvit train`")
    p.add_argument("--config", required=True, help="the config the run was trained with (names the release)")
    args = p.parse_args(argv)
    print(release(args.run, args.config))


if __name__ == "__main__":
    main()
