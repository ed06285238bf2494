"""The released training runs (quant/pretrained/<config>) that `spvit demo` reuses: each is what `spvit train` made
from the config as it is now, its recorded accuracies are what the checkpoint computes, and its torch integer mode
equals golden on its own export in both scoring modes (SPViT selector, AS-ViT thresholds)."""
from __future__ import annotations

import json

import pytest

from spvit.cli import test_images as canvas_images  # (renamed: pytest would collect test_*)
from spvit.demo import finished
from spvit.quant import pretrained
from spvit.quant.data import make_datasets
from spvit.quant.export import IntegerModel
from spvit.quant.train import integer_accuracy, load_checkpoint
from spvit.sim.backends import compare, make_backend

RELEASED = ("digits", "digits_asvit")


@pytest.mark.parametrize("config", RELEASED)
def test_release_matches_its_config(config):
    assert pretrained.matches(config), (f"quant/pretrained/{config} was trained with other settings than "
                                        f"configs/{config}.yaml: retrain and release it again")


@pytest.mark.parametrize("config", RELEASED)
def test_release_reproduces_its_summary(config, tmp_path):
    run = tmp_path / "run"
    assert pretrained.restore(config, run) and finished(run, config)
    assert not pretrained.restore(config, run), "a run folder with its own checkpoint must not be overwritten"
    summary = json.loads((run / "summary.json").read_text())
    model = load_checkpoint(run / "ckpt.pt")
    _, test_set = make_datasets(model.cfg, None, 0, 1)
    row = summary["pruned"][0]  # the trained keep schedule
    got = integer_accuracy(model, test_set, k=row["k"])
    assert got["accuracy"] == row["accuracy"] and got["kept_patches"] == pytest.approx(row["kept_patches"])
    assert summary["int8_dense_acc"] > 0.9 and row["accuracy"] > 0.9


@pytest.mark.parametrize("config", RELEASED)
def test_release_torch_integer_mode_equals_golden(config):
    model = load_checkpoint(pretrained.folder(config) / "ckpt.pt")
    bundle = IntegerModel(model).bundle()
    x, _ = canvas_images(bundle, 32, seed=0)
    golden = make_backend("golden", bundle).run(x)
    compared, mismatched, reports = compare(golden, make_backend("torch", bundle, model=model).run(x))
    assert compared > 0 and mismatched == 0, reports
