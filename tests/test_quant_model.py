"""The Brevitas model: torch integer mode equals golden bit for bit, export, timm keys, deterministic inference,
and the training CLI (phases, checkpoints, resume, report, torchrun with gloo)."""
from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from spvit.cli import main as spvit_main
from spvit.configs import ModelConfig, PruneConfig, load_config
from spvit.quant.data import DigitsCanvas
from spvit.quant.export import IntegerModel, export_qonnx_model, quantize_images
from spvit.quant.layers import set_quant
from spvit.quant.model import PrunedViT, fold_attention_scale, load_timm_checkpoint
from spvit.sim.backends import compare
from spvit.sim.golden import forward, load_bundle

warnings.filterwarnings("ignore", category=DeprecationWarning)

SMALL = dict(name="digits", img_size=32, patch_size=4, in_chans=1, num_classes=10, embed_dim=32, depth=3,
             num_heads=2, mlp_ratio=2.0)


def small_config(**prune) -> ModelConfig:
    base = dict(score="spvit", select="topk", after_blocks=(1, 2), keep_ratios=(0.5, 0.25), thresholds=(0.5, 0.5))
    return ModelConfig(prune=PruneConfig(**(base | prune)), **SMALL).validate()


def calibrated(cfg: ModelConfig, seed: int = 0, steps: int = 32) -> PrunedViT:
    """A model whose activation scales have left Brevitas' statistics phase, with some training signal."""
    torch.manual_seed(seed)
    model = PrunedViT(cfg)
    ds = DigitsCanvas(cfg, train=True, seed=seed)
    x = torch.stack([ds[i][0] for i in range(16)])
    y = torch.tensor([ds[i][1] for i in range(16)])
    opt = torch.optim.AdamW(model.parameters(), 1e-3)
    model.train()
    for _ in range(steps):
        logits, _ = model(x)
        loss = torch.nn.functional.cross_entropy(logits, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.eval()


def digit_images(cfg, n=24, seed=0):
    ds = DigitsCanvas(cfg, train=False, seed=seed)
    return torch.stack([ds[i][0] for i in range(n)])


@pytest.mark.parametrize("prune", [
    dict(score="spvit", select="topk"),
    dict(score="spvit", select="threshold"),
    dict(score="asvit", select="threshold", keep_ratios=(1.0, 1.0), thresholds=(0.02, 0.02)),
    dict(score="asvit", select="topk", package=False),
], ids=["spvit-topk", "spvit-threshold", "asvit-threshold", "asvit-topk-hard"])
def test_torch_integer_mode_equals_golden(prune):
    """Every int8 block output, every stage's scores and kept ids, and the logits: 0 mismatches."""
    cfg = small_config(**prune)
    model = calibrated(cfg)
    im = IntegerModel(model)
    images = quantize_images(model, digit_images(cfg))
    torch_trace = im.forward(images).per_image()
    golden_trace = forward(im.bundle(), images).per_image()
    compared, mismatched, reports = compare(torch_trace, golden_trace)
    assert compared >= 24 * (1 + cfg.depth) and mismatched == 0, reports


def test_threshold_mode_is_adaptive_per_image_at_batch_size_above_one():
    cfg = small_config(score="asvit", select="threshold", keep_ratios=(1.0, 1.0), thresholds=(0.015, 0.015))
    model = calibrated(cfg)
    im = IntegerModel(model)
    images = quantize_images(model, digit_images(cfg, 16))
    batch = im.forward(images).per_image()
    counts = {len(t["stages.0.kept_ids"]) for t in batch}
    assert len(counts) > 1, "threshold mode should keep a per-image number of tokens"
    alone = [im.forward(images[i:i + 1]).per_image()[0] for i in range(len(images))]
    assert compare(batch, alone)[1] == 0


def test_eval_is_deterministic_and_removes_tokens():
    cfg = small_config()
    model = calibrated(cfg)
    x = digit_images(cfg, 8)
    with torch.no_grad():
        a, aux_a = model(x)
        b, aux_b = model(x)
    assert torch.equal(a, b) and torch.equal(aux_a["keep"], aux_b["keep"])
    assert aux_a["keep"].tolist() == [cfg.stage_k()] * 8
    trace = IntegerModel(model).forward(quantize_images(model, x))
    assert [t.shape[1] for t in trace.blocks] == [65, 34, 19]  # real removal: class + kept + package tokens


def test_export_round_trip_and_simulate_cli(tmp_path):
    cfg = small_config()
    model = calibrated(cfg)
    ckpt = tmp_path / "ckpt.pt"
    torch.save({"config": cfg.to_dict(), "model": model.state_dict()}, ckpt)
    out = tmp_path / "model.npz"
    assert spvit_main(["export", str(ckpt), "--out", str(out)]) == 0
    bundle = load_bundle(out)
    assert bundle.checksum() == IntegerModel(model).bundle().checksum()
    assert spvit_main(["simulate", str(ckpt), "--backend", "torch", "--compare", "golden", "--images", "12"]) == 0
    assert spvit_main(["simulate", str(out), "--backend", "torch"]) == 2  # a bundle alone cannot run torch


def test_qonnx_export_runs_in_qonnx_executor(tmp_path):
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.core.onnx_exec import execute_onnx
    from qonnx.util.cleanup import cleanup_model

    cfg = small_config()
    model = calibrated(cfg)
    path = tmp_path / "model.onnx"
    export_qonnx_model(model, path)
    graph = cleanup_model(ModelWrapper(str(path)))
    assert "Quant" in {n.op_type for n in graph.graph.node}
    x = digit_images(cfg, 1)
    got = execute_onnx(graph, {graph.graph.input[0].name: x.numpy()})[graph.graph.output[0].name]
    model.prune = False
    with torch.no_grad():
        want = model(x)[0].numpy()
    assert np.allclose(got, want, atol=1e-5), np.abs(got - want).max()  # float graph executor vs torch: float


TIMM_BLOCK_KEYS = ["norm1.weight", "norm1.bias", "attn.qkv.weight", "attn.qkv.bias", "attn.proj.weight",
                   "attn.proj.bias", "norm2.weight", "norm2.bias", "mlp.fc1.weight", "mlp.fc1.bias",
                   "mlp.fc2.weight", "mlp.fc2.bias"]


def timm_state_dict(cfg: ModelConfig) -> dict:
    """A synthetic checkpoint with timm VisionTransformer's real key layout and shapes."""
    d, hid, p = cfg.embed_dim, cfg.mlp_hidden, cfg.patch_size
    shapes = {"cls_token": (1, 1, d), "pos_embed": (1, cfg.num_patches + 1, d),
              "patch_embed.proj.weight": (d, cfg.in_chans, p, p), "patch_embed.proj.bias": (d,),
              "norm.weight": (d,), "norm.bias": (d,), "head.weight": (cfg.num_classes, d), "head.bias": (cfg.num_classes,)}
    block = {"norm1.weight": (d,), "norm1.bias": (d,), "attn.qkv.weight": (3 * d, d), "attn.qkv.bias": (3 * d,),
             "attn.proj.weight": (d, d), "attn.proj.bias": (d,), "norm2.weight": (d,), "norm2.bias": (d,),
             "mlp.fc1.weight": (hid, d), "mlp.fc1.bias": (hid,), "mlp.fc2.weight": (d, hid), "mlp.fc2.bias": (d,)}
    assert sorted(block) == sorted(TIMM_BLOCK_KEYS)
    for i in range(cfg.depth):
        shapes |= {f"blocks.{i}.{k}": s for k, s in block.items()}
    g = torch.Generator().manual_seed(0)
    return {k: torch.randn(s, generator=g) for k, s in shapes.items()}


def test_timm_checkpoint_loads_with_q_scale_folded(tmp_path):
    cfg = small_config()
    state = timm_state_dict(cfg)
    path = tmp_path / "deit.pth"
    torch.save({"model": state}, path)
    model = PrunedViT(cfg)
    missing = load_timm_checkpoint(model, path)
    assert all(not k.startswith(("blocks.0.attn.qkv.weight", "head.weight")) for k in missing)
    own = model.state_dict()
    w, b = fold_attention_scale(state["blocks.1.attn.qkv.weight"], state["blocks.1.attn.qkv.bias"], cfg.num_heads)
    assert torch.equal(own["blocks.1.attn.qkv.weight"], w) and torch.equal(own["blocks.1.attn.qkv.bias"], b)
    assert torch.allclose(w[: cfg.embed_dim], state["blocks.1.attn.qkv.weight"][: cfg.embed_dim] / (cfg.head_dim ** 0.5))
    assert torch.equal(own["head.weight"], state["head.weight"])
    state["blocks.0.attn.bogus"] = torch.zeros(1)
    torch.save(state, path)
    with pytest.raises(KeyError, match="bogus"):
        load_timm_checkpoint(PrunedViT(cfg), path)


def tiny_config_file(tmp_path: Path, **train) -> Path:
    data = {"model": dict(SMALL, depth=2, embed_dim=16, prune=dict(score="spvit", select="topk", after_blocks=[1],
                                                                 keep_ratios=[0.5], thresholds=[0.5])),
            "train": dict(dict(epochs={"float": 1, "qat": 1, "prune": 1}, batch_size=64, repeats=1) | train)}
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_train_cli_phases_checkpoint_resume_and_report(tmp_path):
    config = tiny_config_file(tmp_path)
    out = tmp_path / "run"
    assert spvit_main(["train", "--config", str(config), "--out", str(out), "--epochs", "1,1,1"]) == 0
    for name in ("ckpt.pt", "log.csv", "log.json", "report.md", "summary.json", "accuracy.png", "kept_tokens.png", "keep_maps.png"):
        assert (out / name).is_file(), name
    log = (out / "log.csv").read_text().splitlines()
    assert len(log) == 4 and [row.split(",")[0] for row in log[1:]] == ["float", "qat", "prune"]
    # resume: more pruning epochs continue from the checkpoint instead of starting over
    assert spvit_main(["train", "--config", str(config), "--out", str(out), "--epochs", "1,1,2", "--resume"]) == 0
    log = (out / "log.csv").read_text().splitlines()
    assert [row.split(",")[:2] for row in log[1:]] == [["float", "1"], ["qat", "1"], ["prune", "1"], ["prune", "2"]]
    assert spvit_main(["simulate", str(out / "ckpt.pt"), "--backend", "torch", "--compare", "golden", "--images", "8"]) == 0


def test_pruning_run_starts_from_dense_pt(tmp_path):
    """dense.pt (the QAT model, saved with its integer accuracy) resumes into the pruning phase of another run, whose
    pruning stages' quantizers have not run yet; the guided, distilled, noise-free recipe of configs/digits trains."""
    config = tiny_config_file(tmp_path, gumbel_scale=0.0, distill_weight=1.0, guide_weight=1.0)
    first = tmp_path / "first"
    assert spvit_main(["train", "--config", str(config), "--out", str(first), "--epochs", "1,1,1"]) == 0
    dense = torch.load(first / "dense.pt", weights_only=False)
    assert [r["phase"] for r in dense["history"]] == ["float", "qat"] and 0 <= dense["int8_dense"]["accuracy"] <= 1
    second = tmp_path / "second"
    second.mkdir()
    (second / "ckpt.pt").write_bytes((first / "dense.pt").read_bytes())
    assert spvit_main(["train", "--config", str(config), "--out", str(second), "--epochs", "1,1,2", "--resume"]) == 0
    phases = [r["phase"] for r in torch.load(second / "ckpt.pt", weights_only=False)["history"]]
    assert phases == ["float", "qat", "prune", "prune"]
    assert "int8 dense (QAT model, before pruning)" in (second / "report.md").read_text()


def test_training_keeps_the_eval_rule_tokens():
    """Without Gumbel noise the hard decision in training is the eval rule (§9) itself, in both selection modes."""
    for prune in (dict(score="spvit", select="topk"), dict(score="asvit", select="threshold", thresholds=(0.02, 0.02))):
        model = calibrated(small_config(**prune), steps=2)
        model.gumbel_scale = 0.0
        torch.manual_seed(1)
        scores, cand = torch.rand(4, 17), (torch.rand(4, 17) > 0.2).float()
        stage = model.stages[0]
        model.train()
        trained = model._decide(scores, cand, 0, stage)
        model.eval()
        assert torch.equal(trained, model._decide(scores, cand, 0, stage)), prune


def test_softmax_with_policy_is_the_masked_softmax_with_a_gradient():
    from spvit.quant.model import softmax_with_policy

    torch.manual_seed(0)
    logits = torch.randn(2, 3, 5, 7) * 30
    policy = (torch.rand(2, 1, 1, 7) > 0.4).float()
    policy[..., 0] = 1
    policy.requires_grad_()
    p = softmax_with_policy(logits, policy)
    masked = logits.masked_fill(policy == 0, float("-inf")).softmax(-1)
    assert torch.allclose(p, masked, atol=1e-6, rtol=0) and torch.isfinite(p).all()
    (p[..., 1:] * torch.randn_like(p[..., 1:])).sum().backward()
    assert policy.grad.abs().sum() > 0


def test_selector_guide_loss_is_zero_at_the_teacher():
    from spvit.quant.model import selector_guide_loss

    torch.manual_seed(0)
    cand = torch.ones(3, 9)
    cand[:, 0] = 0
    teacher = torch.rand(3, 9)
    t = teacher * cand / (teacher * cand).sum(-1, keepdim=True)
    at_teacher = torch.sigmoid(torch.log(t.clamp(min=1e-9)) + 2.0)  # logits = log t + const: the same softmax
    elsewhere = torch.rand(3, 9, requires_grad=True)
    assert selector_guide_loss([(at_teacher, teacher, cand)]).abs() < 1e-4
    loss = selector_guide_loss([(elsewhere, teacher, cand)])
    loss.backward()
    assert loss > 1e-3 and elsewhere.grad.abs().sum() > 0


def test_torchrun_gloo_two_processes(tmp_path):
    """Multi-process training through torch.distributed as launched by torchrun (gloo backend on CPU)."""
    config = tiny_config_file(tmp_path)
    out = tmp_path / "ddp"
    torchrun = Path(sys.executable).parent / "torchrun"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.run([str(torchrun), "--nproc_per_node=2", "--master_port=29533", "-m", "spvit.cli", "train",
                           "--config", str(config), "--out", str(out), "--epochs", "1,0,1"],
                          capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (out / "ckpt.pt").is_file() and (out / "report.md").is_file()
