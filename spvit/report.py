"""The demo's report: report.md with PNG plots, from the training run, the latency table, the resource estimates
and the backends' bit-exact verdicts. Every figure says where it comes from (measured, analytic, estimated)."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from spvit.quant import latency as lat  # noqa: E402

BOARD = "zcu102"
RESOURCES = Path(__file__).resolve().parents[1] / "boards" / BOARD / "resources.json"


def _plot_accuracy_vs_latency(summary: dict, cfg, table: dict, path: Path) -> list[dict]:
    ms = 1e3 / (table["clock_mhz"] * 1e6)
    dense = lat.model_cycles(table, [cfg.num_patches + 1] * cfg.depth, stages=[]) * ms
    points = [{"label": "dense", "ms": dense, "accuracy": summary["int8_dense_acc"]}]
    for row in summary.get("pruned", []):
        kept = [int(round(k)) for k in row["kept_patches"]]
        points.append({"label": f"k={row['k']}", "ms": lat.model_cycles(table, lat.tokens_per_block(cfg, kept)) * ms,
                       "accuracy": row["accuracy"]})
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot([p["ms"] for p in points], [100 * p["accuracy"] for p in points], "o")
    for p in points:
        ax.annotate(p["label"], (p["ms"], 100 * p["accuracy"]), textcoords="offset points", xytext=(4, 4), fontsize=7)
    ax.set(xlabel=f"latency per image on {table['board']} at {table['clock_mhz']:g} MHz, ms ({table['source']} table)",
           ylabel="int8 top-1 (%)", title="accuracy against latency budget")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return points


def _plot_block_cycles(table: dict, path: Path) -> None:
    n = np.arange(1, table["n_max"] + 1)
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(n, table["block_cycles"], label="encoder block")
    if any(table["selector_cycles"]):
        # a measured table's stage cost is what the stage adds behind its block; the stage alone beside it
        linked = "selector_cycles_alone" in table
        ax.plot(n, table["selector_cycles"], label="pruning stage, behind its block" if linked else "pruning stage")
        if linked:
            ax.plot(n, table["selector_cycles_alone"], ":", label="pruning stage alone")
    ax.set(xlabel="tokens", ylabel="cycles", title=f"cycles per block against token count ({table['source']})")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _resources(out: Path) -> list[str]:
    """The resource table `spvit bench` stored for the board, with its plot, or a line saying it is missing."""
    if not RESOURCES.is_file():
        return [f"No resource estimates stored yet ({RESOURCES.relative_to(RESOURCES.parents[2])}: run `spvit bench "
                "--backend rtl`)."]
    from spvit.sim import resources

    rows = json.loads(RESOURCES.read_text())["rows"]
    resources.plot(rows, BOARD, out / "resources.png")
    return [resources.report(rows, BOARD), "", "![resources](resources.png)"]


def write_demo_report(out: Path, run: Path, bundle, images, golden: list[dict], verdicts: list[tuple]) -> Path:
    cfg = bundle.config
    summary = json.loads((run / "summary.json").read_text())
    table = lat.board_table(cfg, BOARD)
    points = _plot_accuracy_vs_latency(summary, cfg, table, out / "accuracy_vs_latency.png")
    _plot_block_cycles(table, out / "block_cycles.png")
    if (run / "keep_maps.png").is_file():
        shutil.copy(run / "keep_maps.png", out / "keep_maps.png")
    kept = np.array([[len(t[f"stages.{s}.kept_ids"]) for s in range(cfg.num_stages)] for t in golden])
    lines = [f"# spvit demo: {cfg.name}", "",
             "## Bit-exact verdict (every tensor of docs/arithmetic.md §11.5 against golden)", "",
             "| backend | tensors compared | mismatched | note |", "|---|---|---|---|"]
    for name, compared, mismatched, note in verdicts:
        lines.append(f"| {name} | {'-' if compared is None else compared} | "
                     f"{'-' if mismatched is None else mismatched} | {note} |")
    acc = np.mean([int(np.argmax(t["logits"])) for t in golden] == _labels(cfg, len(golden)))
    lines += ["", "## Accuracy and latency", "",
              f"int8 top-1 on these {len(golden)} test images: {100 * acc:.2f} %. Training run: {run} "
              f"(report.md there). Float {_pct(summary.get('float_acc'))}, int8 dense "
              f"{_pct(summary['int8_dense_acc'])}.", "",
              "| model | int8 top-1 | latency (ms) |", "|---|---|---|"]
    lines += [f"| {p['label']} | {_pct(p['accuracy'])} | {p['ms']:.4f} |" for p in points]
    lines += ["", f"Latencies from the {table['source']} latency table of {table['board']} at {table['clock_mhz']:g} MHz "
              f"(`boards/{BOARD}/latency/{cfg.name}.json` when measured by `spvit bench --backend rtl`).", "",
              "![accuracy against latency](accuracy_vs_latency.png)", "",
              "## Tokens", ""]
    if kept.size:
        for s in range(cfg.num_stages):
            lines.append(f"- after stage {s} (block {cfg.prune.after_blocks[s]}): min {kept[:, s].min()}, mean "
                         f"{kept[:, s].mean():.1f}, max {kept[:, s].max()} tokens of {cfg.num_patches + 1}")
    lines += ["", "![keep maps](keep_maps.png)", "", "## Cycles per block", "", "![block cycles](block_cycles.png)",
              "", "## Resources on the ZCU102 (yosys estimates, not Vivado)", ""]
    lines += _resources(out)
    path = out / "report.md"
    path.write_text("\n".join(lines) + "\n")
    return path


def _labels(cfg, count: int) -> np.ndarray:
    from spvit.quant.data import DigitsCanvas

    return DigitsCanvas(cfg, train=False, seed=0).labels[:count]


def _pct(v) -> str:
    return "-" if v is None else f"{100 * v:.2f} %"
