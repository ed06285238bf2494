"""The latency-sparsity lookup table and the latency-aware sparsity losses (issue 3, item 5).

Why a table: token pruning only pays if the hardware gets faster, and hardware cost is not proportional to FLOPs
(tiling granularity, element-wise passes, weight streaming that does not shrink with the token count). So training
reads the cost of ONE encoder block for every token count the pruned model can reach, composed over the blocks, and
penalises the excess over a latency budget. This module ships an *analytic* table for the ZCU102 now; the RTL issue
writes the *measured* one (cycles from Verilator) in the same format, and nothing downstream changes: training and
the reports read `board_table`, the measured table where `spvit bench --store` wrote one.

Table (JSON, one per board and config; `load_table` validates it):
    format, version, source ("analytic" | "measured"), board, part, clock_mhz, config,
    model       the shape facts the table is valid for (depth, num_patches, num_stages, prune_after_blocks, ...)
    parallelism the MAC array / vector unit / DRAM bandwidth assumed, with how each number was derived
    assumptions every modelling assumption, in words
    n_max       num_patches + 1 + num_stages: the most tokens any block can see (class + patches + package tokens)
    block_cycles[i], selector_cycles[i], block_macs[i]   for n = i + 1 tokens, i = 0 .. n_max - 1
    patch_embed_cycles, head_cycles, overhead_cycles     fixed per-image costs

`block_gemms` is the one description of a block's matrix products: `block_macs` (reports, the FLOPs-budget loss)
and the analytic cycle count both derive from it, so the two can never disagree about what a block computes.
torch is imported lazily: the table itself needs only numpy/yaml (the `train` extra brings torch).
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

from spvit.configs import ModelConfig, load_config

FORMAT = "spvit-latency-table"
VERSION = 1
SOURCES = ("analytic", "measured")
BOARDS_DIR = Path(__file__).resolve().parents[1] / "boards"
SHIPPED_CONFIGS = ("digits", "deit_tiny", "deit_small")

# Analytic-model assumptions that are design choices, not board facts (board facts come from board.yaml).
MACS_PER_DSP = 2            # two int8 products per DSP48E2 sharing the activation operand (Xilinx WP487 packing)
DSP_BUDGET = 0.85           # at most 85 % of the DSPs for the MAC array: issue 5 asks >= 15 % headroom per class
PE_IN = 128                 # reduction width of the MAC array (input channels summed per cycle)
VECTOR_LANES = 64           # LUT-fabric vector unit (LayerNorm, softmax, packing): elements per cycle
PIPELINE_FILL = 16          # cycles to fill/drain the array or the vector pipeline, per GEMM or per pass
DDR_EFFICIENCY = 0.75       # reachable fraction of the PS DDR4 peak from the PL (board.yaml comment, ANCHORS.md)
BRAM_BYTES = 4096           # bytes of one BRAM36 used as 8-bit memory (32 Kib, parity bits unused)
WEIGHT_BRAM_SHARE = 0.5     # weights stay on chip if they fit in half of the BRAM (the rest buffers activations)
CONTROL_CYCLES = 256        # per image: AXI-Lite register writes, start/done handshake, DMA descriptor set-up


class LatencyTableError(ValueError):
    """A latency table file that cannot be used: unreadable, truncated, wrong version, missing or bad fields."""


@dataclass(frozen=True)
class Gemm:
    """`count` independent products of [rows, inner] x [inner, outer]; `weighted`: the right operand is a weight."""

    name: str
    count: int
    rows: object  # int, float or torch tensor: the token count n
    inner: int
    outer: int
    weighted: bool = True

    @property
    def macs(self):
        return self.count * self.rows * self.inner * self.outer


def block_gemms(cfg: ModelConfig, n) -> list[Gemm]:
    """§11.2 one encoder block on n tokens.

    qkv 3nD², attention 2n²D (QK^T and A·V per head), proj nD², MLP 2nD·hidden."""
    d, h, dh, hid = cfg.embed_dim, cfg.num_heads, cfg.head_dim, cfg.mlp_hidden
    return [Gemm("qkv", 1, n, d, 3 * d), Gemm("qk", h, n, dh, n, False), Gemm("av", h, n, n, dh, False),
            Gemm("proj", 1, n, d, d), Gemm("fc1", 1, n, d, hid), Gemm("fc2", 1, n, hid, d)]


def selector_gemms(cfg: ModelConfig, n) -> list[Gemm]:
    """§8.2 the SPViT selector's per-head layers (d_h → d_h → d_h/2 → d_h/4 → 1) and the head-weight branch."""
    h, dh, se = cfg.num_heads, cfg.head_dim, cfg.se_width
    if cfg.prune.score != "spvit":
        return []
    return [Gemm("sel.in", h, n, dh, dh), Gemm("sel.mlp1", h, n, dh, dh // 2), Gemm("sel.mlp2", h, n, dh // 2, dh // 4),
            Gemm("sel.keep", h, n, dh // 4, 1), Gemm("sel.se1", 1, n, h, se), Gemm("sel.se2", 1, n, se, h)]


def block_macs(cfg: ModelConfig, n):
    """Useful MACs of one encoder block on n tokens (n may be a float or a torch tensor: differentiable)."""
    return sum(g.macs for g in block_gemms(cfg, n))


# ----------------------------------------------------------------------------------------------------- the table
def load_board(board: str | Path) -> dict:
    """A board's facts: `boards/<name>/board.yaml` by name, or a YAML path."""
    path = Path(board)
    if path.suffix not in (".yaml", ".yml"):
        path = BOARDS_DIR / str(board) / "board.yaml"
    if not path.exists():
        raise FileNotFoundError(f"no board file {path}")
    return yaml.safe_load(path.read_text())


def parallelism(board: dict, clock_mhz: float | None = None) -> dict:
    """The accelerator the analytic model assumes, derived from the board's DSP count, BRAM and DDR figures."""
    clock = float(clock_mhz or board["clock_mhz"])
    res, mem = board["resources"], board["memory"]
    lanes = 2 ** int(math.log2(res["dsp48e2"] * DSP_BUDGET * MACS_PER_DSP))  # power of two: clean tiling
    port_gbps = len(mem["hp_ports"]) * mem["hp_port_bits"] / 8 * clock / 1e3
    gbps = min(mem["peak_gbps"] * DDR_EFFICIENCY, port_gbps)
    return {"mac_units": lanes, "pe_in": PE_IN, "pe_out": lanes // PE_IN, "macs_per_dsp": MACS_PER_DSP,
            "dsp48e2_used": lanes // MACS_PER_DSP, "dsp48e2_available": res["dsp48e2"],
            "vector_lanes": VECTOR_LANES, "pipeline_fill": PIPELINE_FILL,
            "dram_gbps": round(gbps, 3), "dram_bytes_per_cycle": round(gbps * 1e3 / clock, 3),
            "weight_buffer_bytes": int(res["bram36"] * BRAM_BYTES * WEIGHT_BRAM_SHARE)}


def _gemm_cycles(gemms: list[Gemm], par: dict) -> int:
    """Weight-stationary tiles: each row (token) takes ceil(inner/pe_in) x ceil(outer/pe_out) cycles, plus fill."""
    return sum(g.count * (g.rows * math.ceil(g.inner / par["pe_in"]) * math.ceil(g.outer / par["pe_out"])
                          + par["pipeline_fill"]) for g in gemms)


def _vector_cycles(elements_per_pass: list[int], par: dict) -> int:
    return sum(math.ceil(e / par["vector_lanes"]) + par["pipeline_fill"] for e in elements_per_pass)


def _weight_bytes(cfg: ModelConfig) -> dict[str, int]:
    """Bytes of every parameter group, from the bundle schema (one source: sim.golden.bundle.layout)."""
    from spvit.sim.golden.bundle import layout

    import numpy as np

    groups: dict[str, int] = {}
    for name, spec in layout(cfg).items():
        parts = name.split(".")
        key = ".".join(parts[:2]) if parts[0] in ("blocks", "stages") else ("head" if parts[0] in ("norm", "head")
                                                                            else "patch_embed")
        groups[key] = groups.get(key, 0) + math.prod(spec.shape) * np.dtype(spec.dtype).itemsize
    return groups


def _stream(cycles: int, weight_bytes: int, par: dict, streamed: bool) -> int:
    """Weights prefetched through a FIFO while the array computes: the slower of the two bounds the layer group."""
    return max(cycles, math.ceil(weight_bytes / par["dram_bytes_per_cycle"])) if streamed else cycles


def analytic_table(cfg: ModelConfig | str, board: dict | str = "zcu102", clock_mhz: float | None = None) -> dict:
    """The analytic latency-sparsity table of `cfg` on `board` (cycles at the board's clock)."""
    cfg = load_config(cfg) if isinstance(cfg, str) else cfg
    board = load_board(board) if isinstance(board, (str, Path)) else board
    clock = float(clock_mhz or board["clock_mhz"])
    par = parallelism(board, clock)
    d, h, hid = cfg.embed_dim, cfg.num_heads, cfg.mlp_hidden
    n_max = cfg.num_patches + 1 + cfg.num_stages
    wb = _weight_bytes(cfg)
    streamed = sum(wb.values()) > par["weight_buffer_bytes"]
    par["weights"] = "streamed" if streamed else "on_chip"
    stage_bytes = wb.get("stages.0", 0)

    def block(n):
        # LN1, LN2: 2 passes each (statistics, normalise); softmax: 2 passes over H·n² (exp+sum, ×reciprocal), the
        # row max rides on the QK^T output stream. GELU/requantize/residual are fused into the array's output.
        vec = _vector_cycles([n * d] * 4 + [h * n * n] * 2, par)
        return _stream(_gemm_cycles(block_gemms(cfg, n), par) + vec, wb["blocks.0"], par, streamed)

    def selector(n):
        if cfg.num_stages == 0:
            return 0
        if cfg.prune.score == "spvit":  # LN 2 passes, global mean, head-weighted combine
            vec = _vector_cycles([n * d] * 2 + [n * d // 2, n * h], par)
        else:  # asvit: head-importance-weighted class-attention row, n divisions in a pipelined divider
            vec = _vector_cycles([n * h], par) + n
        # top-k: one candidate per cycle into the insertion network; package: every candidate streams through the
        # weighted accumulator (kept ones masked) then D pipelined divisions.
        pack = _vector_cycles([n * d], par) + d if cfg.prune.package else 0
        return _stream(_gemm_cycles(selector_gemms(cfg, n), par) + vec + n + pack, stage_bytes, par, streamed)

    p = cfg.num_patches
    embed = _gemm_cycles([Gemm("patch_embed", 1, p, cfg.in_chans * cfg.patch_size ** 2, d)], par)
    head = _gemm_cycles([Gemm("head", 1, 1, d, cfg.num_classes)], par) + _vector_cycles([d] * 2, par)
    bpc = par["dram_bytes_per_cycle"]
    io_bytes = cfg.in_chans * cfg.img_size ** 2 + 4 * cfg.num_classes  # int8 image in, int32 logits out
    return {
        "format": FORMAT, "version": VERSION, "source": "analytic",
        "board": board["board"], "part": board.get("part", ""), "clock_mhz": clock, "config": cfg.name,
        "model": {"embed_dim": d, "depth": cfg.depth, "num_heads": h, "mlp_hidden": hid, "num_patches": p,
                  "num_stages": cfg.num_stages, "prune_after_blocks": list(cfg.prune.after_blocks[:cfg.num_stages]),
                  "score": cfg.prune.score, "package": cfg.prune.package},
        "parallelism": par,
        "assumptions": [
            f"MAC array of {par['mac_units']} int8 lanes = largest power of two <= {par['dsp48e2_available']} DSP48E2 "
            f"x {DSP_BUDGET} budget (>= 15 % headroom) x {MACS_PER_DSP} int8 MACs/DSP (WP487 packing); "
            f"{PE_IN} inputs reduced x {par['pe_out']} outputs per cycle, weight-stationary, one token row at a time",
            "a GEMM [n, in] x [in, out] costs n * ceil(in/pe_in) * ceil(out/pe_out) + pipeline_fill cycles; attention "
            "is per head (QK^T: in = d_head, out = n; A.V: in = n, out = d_head); selector layers per head",
            f"vector unit of {VECTOR_LANES} elements/cycle, serial with the array (not overlapped): LayerNorm 2 passes "
            "over n*D, softmax 2 passes over H*n^2 (row max fused into the QK^T output); GELU/sigmoid LUTs, "
            "requantize and residual adds fused into the array output stream (free)",
            "selector stage: selector GEMMs + LN/global-mean/head-combine vector passes + top-k insertion at 1 "
            "candidate/cycle + packaging (every candidate through the weighted accumulator, D pipelined divisions)",
            f"weights on chip if the whole model fits {WEIGHT_BRAM_SHARE:.0%} of BRAM ({par['weight_buffer_bytes']} "
            f"B), else streamed from DDR at {DDR_EFFICIENCY:.0%} of peak = {par['dram_bytes_per_cycle']} B/cycle "
            "and "
            "prefetched during compute: a block costs max(compute, weight bytes / bandwidth) "
            f"(this model: {sum(wb.values())} B -> {par['weights']})",
            f"overhead: {CONTROL_CYCLES} control cycles + int8 image in and int32 logits out over DDR, not overlapped",
            "batch 1, one image at a time; cycles at clock_mhz; estimates to be replaced by RTL-measured cycles",
        ],
        "n_max": n_max,
        "block_cycles": [block(n) for n in range(1, n_max + 1)],
        "selector_cycles": [selector(n) for n in range(1, n_max + 1)],
        "block_macs": [block_macs(cfg, n) for n in range(1, n_max + 1)],
        "patch_embed_cycles": _stream(embed, wb["patch_embed"], par, streamed),
        "head_cycles": _stream(head, wb["head"], par, streamed),
        "overhead_cycles": CONTROL_CYCLES + math.ceil(io_bytes / bpc),
    }


def write_table(table: dict, path) -> Path:
    """Validated, deterministic JSON: one top-level key per line (diffs stay readable), lists on one line."""
    validate_table(table)
    body = ",\n".join(f" {json.dumps(k)}: {json.dumps(v)}" for k, v in table.items())
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("{\n" + body + "\n}\n")
    return path


def _is_count(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def validate_table(table) -> dict:
    """Raise LatencyTableError naming the first problem; return the table."""
    def need(ok, msg):
        if not ok:
            raise LatencyTableError(f"latency table: {msg}")

    need(isinstance(table, dict), "not a JSON object")
    need(table.get("format") == FORMAT, f"format {table.get('format')!r} is not {FORMAT!r}")
    need(table.get("version") == VERSION, f"version {table.get('version')!r}; this reader understands {VERSION}")
    for key in ("source", "board", "clock_mhz", "model", "parallelism", "assumptions", "n_max", "block_cycles",
                "selector_cycles", "patch_embed_cycles", "head_cycles", "overhead_cycles"):
        need(key in table, f"missing {key!r}")
    need(table["source"] in SOURCES, f"source {table['source']!r} is not one of {SOURCES}")
    need(isinstance(table["clock_mhz"], (int, float)) and table["clock_mhz"] > 0, "clock_mhz must be > 0")
    model = table["model"]
    for key in ("depth", "num_patches", "num_stages", "prune_after_blocks"):
        need(isinstance(model, dict) and key in model, f"model.{key} missing")
    n_max = model["num_patches"] + 1 + model["num_stages"]
    need(table["n_max"] == n_max, f"n_max {table['n_max']} != num_patches + 1 + num_stages = {n_max}")
    need(len(model["prune_after_blocks"]) == model["num_stages"], "one prune_after_blocks entry per stage")
    for key in ("block_cycles", "selector_cycles") + (("block_macs",) if "block_macs" in table else ()):
        vals = table[key]
        need(isinstance(vals, list) and len(vals) == n_max, f"{key} must list n = 1 .. {n_max} ({n_max} counts)")
        need(all(_is_count(v) for v in vals), f"{key} must hold integers >= 0")
    for key in ("patch_embed_cycles", "head_cycles", "overhead_cycles"):
        need(_is_count(table[key]), f"{key} must be an integer >= 0")
    return table


def load_table(path) -> dict:
    """Read and validate a table; any problem (unreadable, truncated JSON, bad fields) is a LatencyTableError."""
    try:
        table = json.loads(Path(path).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise LatencyTableError(f"latency table {path}: cannot read ({exc})") from None
    try:
        return validate_table(table)
    except LatencyTableError as exc:
        raise LatencyTableError(f"{path}: {exc}") from None


def shipped_path(config: str, board: str = "zcu102") -> Path:
    return BOARDS_DIR / board / "latency" / f"{config}.json"


def board_table(cfg: ModelConfig, board: str = "zcu102") -> dict:
    """The board's table for this model: the stored one (measured where `spvit bench --store` wrote it) if it was
    made for this model's depth, patches and stages; else the analytic one."""
    path = shipped_path(cfg.name, board)
    if path.is_file():
        table = load_table(path)
        try:
            _check_model(table, cfg)
            return table
        except LatencyTableError:
            pass
    return analytic_table(cfg, board)


def write_shipped(board: str = "zcu102") -> list[Path]:
    """Regenerate the shipped analytic tables (tests check the files equal what this writes)."""
    return [write_table(analytic_table(c, board), shipped_path(c, board)) for c in SHIPPED_CONFIGS]


# ------------------------------------------------------------------------------------------ composing the blocks
def tokens_per_block(cfg: ModelConfig, kept=None) -> list:
    """Tokens each block sees: class + patches until the first stage, then class + kept + package tokens so far.

    `kept`: kept patch tokens after each stage (ints, or torch tensors [B] / one tensor [B, S]); default the
    config's top-k schedule (`stage_k`)."""
    kept = cfg.stage_k() if kept is None else kept
    if hasattr(kept, "dim") and kept.dim() == 2:
        kept = kept.unbind(-1)
    n, out = cfg.num_patches + 1, []
    after = list(cfg.prune.after_blocks[:cfg.num_stages])
    for b in range(1, cfg.depth + 1):
        out.append(n)
        if b in after:
            s = after.index(b)
            n = 1 + kept[s] + (s + 1 if cfg.prune.package else 0)
    return out


def _check_model(table: dict, cfg: ModelConfig) -> None:
    m = table["model"]
    same = (m["depth"], m["num_patches"], list(m["prune_after_blocks"])) == (
        cfg.depth, cfg.num_patches, list(cfg.prune.after_blocks[:cfg.num_stages]))
    if not same:
        raise LatencyTableError(f"latency table for {table.get('config')!r} does not fit config {cfg.name!r}")


def model_cycles(table: dict, tokens: list[int], stages: list[int] | None = None) -> int:
    """Per-image cycles: fixed costs + block_cycles[n_b] over the blocks + selector_cycles at each stage.

    `stages`: 1-based blocks followed by a selector stage (default the table's `prune_after_blocks`; `[]` = dense)."""
    m = table["model"]
    stages = m["prune_after_blocks"] if stages is None else stages
    if len(tokens) != m["depth"] or not all(1 <= n <= table["n_max"] for n in tokens):
        raise ValueError(f"need {m['depth']} token counts in 1..{table['n_max']}, got {tokens}")
    return (table["patch_embed_cycles"] + table["head_cycles"] + table["overhead_cycles"]
            + sum(table["block_cycles"][n - 1] for n in tokens)
            + sum(table["selector_cycles"][tokens[b - 1] - 1] for b in stages))


def _interp(values, n):
    """values[i] is the cost at n = i + 1; piecewise linear in n (exact at integers), clamped to 1..len(values)."""
    import torch

    v = torch.as_tensor(values, dtype=n.dtype, device=n.device)
    x = n.clamp(1, len(values)) - 1
    lo = x.detach().floor().clamp(max=len(values) - 2).long()
    frac = x - lo.to(x.dtype)
    return v[lo] * (1 - frac) + v[lo + 1] * frac


def expected_latency(table: dict, keep_counts, cfg: ModelConfig):
    """Differentiable per-image cycles [B] from expected kept patch tokens [B, S] (float) after each stage.

    Block and selector costs are interpolated linearly between integer token counts, so the gradient w.r.t. a
    stage's keep count is the table's local slope summed over the blocks that follow it. Where a block is bound
    by weight streaming the slope is 0: pruning more there saves nothing, and the loss rightly stops pushing."""
    import torch

    _check_model(table, cfg)
    keep_counts = torch.as_tensor(keep_counts)
    keep_counts = keep_counts if keep_counts.is_floating_point() else keep_counts.double()
    if keep_counts.dim() != 2 or keep_counts.shape[1] != cfg.num_stages:
        raise ValueError(f"keep_counts must be [B, {cfg.num_stages}], got {list(keep_counts.shape)}")
    fixed = table["patch_embed_cycles"] + table["head_cycles"] + table["overhead_cycles"]
    tokens = tokens_per_block(cfg, keep_counts)
    lat = keep_counts.new_full(keep_counts.shape[:1], float(fixed))
    for n in tokens:
        lat = lat + _interp(table["block_cycles"], torch.as_tensor(n, dtype=lat.dtype).expand_as(lat))
    for b in table["model"]["prune_after_blocks"]:
        lat = lat + _interp(table["selector_cycles"], torch.as_tensor(tokens[b - 1], dtype=lat.dtype).expand_as(lat))
    return lat


def latency_loss(latency, budget_cycles: float, two_sided: float = 0.1, per_image: bool = False):
    """Latency-aware sparsity loss: relu(r)² + two_sided · r², r = latency / budget − 1 (relative, unit-free).

    The one-sided term is zero at or below the budget and grows quadratically above it: it is what enforces the
    budget. The small two-sided term (0 turns it off) also pulls an under-budget model back up to the budget, like
    SPViT's MSE towards the target keep ratio: cross-entropy alone would settle wherever accuracy balances, while
    deployment runs top-k at the budget's keep counts, so training should sit at the budget, not below it. By
    default r is taken on the batch-mean latency (a throughput budget: images may trade tokens, which keeps AS-ViT's
    per-image adaptivity); `per_image=True` penalises each image's own excess (a latency bound)."""
    import torch

    lat = latency if per_image else latency.mean()
    r = lat / budget_cycles - 1
    return (torch.relu(r) ** 2 + two_sided * r ** 2).mean()


def flops_budget_loss(keep_counts, cfg: ModelConfig, keep_ratio: float):
    """AS-ViT's budget form: |mean block MACs − keep_ratio × dense block MACs| / dense block MACs.

    Block MACs come from `block_macs` (the same GEMM list the table uses); the mean runs over the blocks of each
    image and over the batch, as AS-ViT takes the batch-mean FLOPs."""
    import torch

    keep_counts = torch.as_tensor(keep_counts)
    keep_counts = keep_counts if keep_counts.is_floating_point() else keep_counts.double()
    dense = float(block_macs(cfg, cfg.num_patches + 1))
    macs = torch.stack([block_macs(cfg, torch.as_tensor(n, dtype=keep_counts.dtype).expand(keep_counts.shape[0]))
                        for n in tokens_per_block(cfg, keep_counts)], -1)
    return (macs.mean() - keep_ratio * dense).abs() / dense


# ---------------------------------------------------------------------------------------------------- reporting
def summary(table: dict, cfg: ModelConfig) -> dict:
    """Dense and scheduled per-image cycles, ms and block MACs (labelled with the table's source)."""
    _check_model(table, cfg)
    dense_tokens, sched = [cfg.num_patches + 1] * cfg.depth, tokens_per_block(cfg)
    dense = model_cycles(table, dense_tokens, stages=[])
    pruned = model_cycles(table, sched)
    ms = 1e3 / (table["clock_mhz"] * 1e6)
    return {"source": table["source"], "config": cfg.name, "board": table["board"], "clock_mhz": table["clock_mhz"],
            "tokens_per_block": sched, "dense_cycles": dense, "pruned_cycles": pruned,
            "dense_ms": dense * ms, "pruned_ms": pruned * ms, "speedup": dense / pruned,
            "dense_block_macs": sum(block_macs(cfg, n) for n in dense_tokens),
            "pruned_block_macs": sum(block_macs(cfg, n) for n in sched)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m spvit.quant.latency", description="Write an analytic latency table.")
    ap.add_argument("--config", default="digits", help="shipped config name or YAML path")
    ap.add_argument("--board", default="zcu102", help="board name (boards/<name>/board.yaml) or YAML path")
    ap.add_argument("--clock-mhz", type=float, default=None, help="override the board's clock")
    ap.add_argument("--out", default=None, help="output JSON (default boards/<board>/latency/<config>.json)")
    args = ap.parse_args(argv)
    cfg = load_config(args.config)
    table = analytic_table(cfg, args.board, args.clock_mhz)
    path = write_table(table, args.out or shipped_path(cfg.name, table["board"]))
    s = summary(table, cfg)
    print(f"wrote {path}")
    print(f"{s['source']} estimate, {cfg.name} on {s['board']} at {s['clock_mhz']:g} MHz: dense "
          f"{s['dense_cycles']:,} cycles = {s['dense_ms']:.3f} ms; keep schedule {s['tokens_per_block']} tokens/block: "
          f"{s['pruned_cycles']:,} cycles = {s['pruned_ms']:.3f} ms ({s['speedup']:.2f}x); block MACs "
          f"{s['dense_block_macs']:,} -> {s['pruned_block_macs']:,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
