"""End-of-run report: accuracies (float, int8 dense, int8 pruned at several budgets), kept tokens, block MACs,
and plots (accuracy per epoch, kept tokens per stage, keep maps over sample images)."""
from __future__ import annotations

import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from . import latency as lat  # noqa: E402
from .export import IntegerModel, quantize_images  # noqa: E402

BUDGET_SCALES = (1.0, 1.5, 0.75)  # the trained keep schedule, and looser / tighter top-k budgets at inference


def budgets(cfg) -> list[list[int]]:
    ks = cfg.stage_k()
    return [[max(1, min(cfg.num_patches, round(k * s))) for k in ks] for s in BUDGET_SCALES]


def block_mac_ratio(cfg, kept_patches) -> tuple[int, int]:
    """(dense, pruned) MACs over all blocks for mean kept patch counts per stage (package tokens included)."""
    dense = cfg.depth * lat.block_macs(cfg, cfg.num_patches + 1)
    if not kept_patches:
        return int(dense), int(dense)
    pruned = sum(lat.block_macs(cfg, n) for n in lat.tokens_per_block(cfg, [int(round(k)) for k in kept_patches]))
    return int(dense), int(pruned)


def write_report(trainer, seconds: float) -> dict:
    from .train import integer_accuracy

    cfg, model, out, history = trainer.cfg, trainer.model, trainer.out, trainer.history
    model.eval()
    float_acc = next((r["test_acc"] for r in reversed(history) if r["phase"] == "float"), None)
    dense = trainer.int8_dense or integer_accuracy(model, trainer.test_set, dense=True)
    rows = []
    if cfg.num_stages:
        for ks in budgets(cfg):
            res = integer_accuracy(model, trainer.test_set, k=ks)
            d, p = block_mac_ratio(cfg, res["kept_patches"])
            rows.append({"k": ks, "accuracy": res["accuracy"], "kept_patches": res["kept_patches"],
                         "block_macs": p, "mac_reduction": 1 - p / d})
    summary = {"config": cfg.name, "train_seconds": round(seconds, 1), "float_acc": float_acc,
               "int8_dense_acc": dense["accuracy"], "pruned": rows,
               "dense_block_macs": block_mac_ratio(cfg, [])[0]}
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    lines = [f"# Training report: {cfg.name}", "", f"Trained in {seconds / 60:.1f} min. Accuracies on the held-out "
             f"test set ({len(trainer.test_set)} images); int8 = the integer eval form (bit-exact with every backend).", "",
             "| model | top-1 | kept patch tokens per stage | block MACs | MAC reduction |", "|---|---|---|---|---|",
             f"| float (dense, fake-quant off, last float epoch) | {float_acc:.4f} | - | - | - |" if float_acc is not None else "",
             f"| int8 dense (QAT model, before pruning) | {dense['accuracy']:.4f} | {cfg.num_patches} | {summary['dense_block_macs']:,} | 0 % |"]
    for r in rows:
        lines.append(f"| int8 pruned, k = {r['k']} | {r['accuracy']:.4f} | {', '.join(f'{v:.1f}' for v in r['kept_patches'])} "
                     f"| {r['block_macs']:,} | {100 * r['mac_reduction']:.1f} % |")
    lines += ["", "![accuracy](accuracy.png)", "", "![kept tokens](kept_tokens.png)", "", "![keep maps](keep_maps.png)", ""]
    (out / "report.md").write_text("\n".join(line for line in lines if line is not None))
    _plot_history(history, out)
    if cfg.num_stages:
        _plot_keep_maps(model, trainer.test_set, out)
    return summary


def _plot_history(history, out) -> None:
    fig, ax = plt.subplots(figsize=(7, 3.5))
    x = np.arange(1, len(history) + 1)
    ax.plot(x, [r["test_acc"] for r in history], label="test (fake-quant eval)")
    ax.plot(x, [r["train_acc"] for r in history], label="train", alpha=0.6)
    for i in range(1, len(history)):
        if history[i]["phase"] != history[i - 1]["phase"]:
            ax.axvline(i + 0.5, color="grey", ls=":")
            ax.text(i + 0.7, 0.05, history[i]["phase"], color="grey")
    ax.set(xlabel="epoch", ylabel="top-1", ylim=(0, 1), title="accuracy per epoch")
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(out / "accuracy.png", dpi=100)
    plt.close(fig)
    pr = [r for r in history if r["phase"] == "prune"]
    fig, ax = plt.subplots(figsize=(7, 3.5))
    for key in sorted(k for k in (pr[0] if pr else {}) if k.startswith("kept_stage")):
        ax.plot([r["epoch"] for r in pr], [r[key] for r in pr], marker="o", label=key.replace("kept_", ""))
    ax.set(xlabel="pruning epoch", ylabel="patch tokens kept", title="kept tokens per stage")
    if pr:
        ax.legend()
    fig.tight_layout()
    fig.savefig(out / "kept_tokens.png", dpi=100)
    plt.close(fig)


def _plot_keep_maps(model, dataset, out, count: int = 6) -> None:
    """For sample test images: the canvas, and which patches survive each stage (integer eval form)."""
    cfg = model.cfg
    xs = torch.stack([dataset[i][0] for i in range(count)])
    trace = IntegerModel(model).forward(quantize_images(model, xs))
    g = cfg.img_size // cfg.patch_size
    stages = len(trace.kept_ids)
    fig, axes = plt.subplots(count, stages + 1, figsize=(1.8 * (stages + 1), 1.8 * count), squeeze=False)
    for b in range(count):
        axes[b, 0].imshow(xs[b, 0], cmap="gray")
        for s in range(stages):
            ids = trace.kept_ids[s][b]
            mask = np.zeros(g * g)
            mask[ids[(ids > 0)] - 1] = 1
            axes[b, s + 1].imshow(xs[b, 0], cmap="gray")
            axes[b, s + 1].imshow(np.kron(mask.reshape(g, g), np.ones((cfg.patch_size, cfg.patch_size))),
                                  cmap="Reds", alpha=0.45, vmin=0, vmax=1)
            if b == 0:
                axes[b, s + 1].set_title(f"after block {cfg.prune.after_blocks[s]}", fontsize=8)
        for ax in axes[b]:
            ax.axis("off")
    fig.suptitle("kept patches (red)", fontsize=9)
    fig.tight_layout()
    fig.savefig(out / "keep_maps.png", dpi=100)
    plt.close(fig)
