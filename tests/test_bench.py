"""spvit.bench (`spvit bench --backend rtl`): design points, composition, the measured-table writer, utilisation
arithmetic, and the bench itself on the RTL at a few digits token counts (the full sweep is behind --slow)."""
from __future__ import annotations

import json

import pytest

from spvit import bench as B
from spvit.configs import load_config
from spvit.quant import latency as L
from spvit.sim import resources, rtl_sim

DIGITS = load_config("digits")


@pytest.mark.parametrize("name", ["digits", "deit_tiny", "deit_small"])
def test_design_points_are_legal_and_fit_the_dsp_budget(name):
    cfg = load_config(name)
    bp = B.effective_block(B.block_parameters(cfg))
    assert bp["N_MAX"] == 1 + cfg.num_patches + cfg.num_stages
    for key in set(B.PARALLEL_KEYS) - {"PARAM_SETS"}:  # linear_wmem / lane_mem need powers of two
        assert bp[key] & (bp[key] - 1) == 0, key
    assert 1 <= bp["PARAM_SETS"] <= cfg.depth
    assert cfg.embed_dim % bp["QKV_PE"] == 0 and cfg.head_dim % bp["QK_SIMD"] == 0
    # packed linear arrays pair their PEs; the block's multipliers leave room for the rest of the DSP48E2
    assert all(bp[k] % bp["LINEAR_MACS_PER_DSP"] == 0 for k in ("QKV_PE", "PROJ_PE", "FC1_PE", "FC2_PE"))
    assert B.mac_dsps(cfg, bp) <= 0.85 * 2520
    assert B.prune_parameters(cfg)["SCORER"] == B.SCORERS[cfg.prune.score]


def test_resources_registry_is_the_deit_tiny_design_point():
    """sim/resources.py's KERNELS defaults are the bench's DeiT-Tiny instances."""
    cfg = load_config("deit_tiny")
    bp, pp = B.effective_block(B.block_parameters(cfg)), B.prune_parameters(cfg)
    inst = {label: (top, params) for label, top, params, _ in B.design_instances(cfg, bp, pp)}
    assert resources.KERNELS["linear"].parameters == inst["linear fc1"][1]
    assert resources.KERNELS["linear_wmem"].parameters == inst["linear_wmem fc1"][1]
    assert resources.KERNELS["attention"].parameters == inst["attention"][1]
    assert resources.KERNELS["layernorm"].parameters == inst["layernorm"][1]
    assert resources.KERNELS["prune_stage"].parameters == pp
    for kernel in ("selector", "topk_select", "token_pack", "token_buffer"):
        assert resources.KERNELS[kernel].parameters == inst[f"prune: {kernel}"][1], kernel
    assert resources.KERNELS["encoder_block"].parameters == B.block_parameters(cfg)
    for label, top, params, count in B.design_instances(cfg, bp, pp):
        src = resources.REPO / "hw" / "rtl" / f"{top}.sv"
        assert set(params) <= set(resources.module_parameters(src, top)), label
        assert count >= 1


def test_compose_and_measured_table():
    cfg = DIGITS
    n_max = cfg.num_patches + 1 + cfg.num_stages
    block = {n: 1000 + 50 * n for n in range(1, n_max + 1)}
    stage = {n: 300 + 20 * n for n in range(1, n_max + 1)}
    fixed = {"patch_embed_cycles": 500, "head_cycles": 150, "overhead_cycles": 900}
    bp = B.effective_block(B.block_parameters(cfg))
    table = B.measured_table(cfg, L.load_board("zcu102"), 300.0, bp, B.prune_parameters(cfg), block, block, stage,
                             fixed, {"x.sv": "0"}, {"shapes": B.fixed_shapes(cfg, bp)}, 72)
    assert L.validate_table(table)["source"] == "measured"
    sched = L.tokens_per_block(cfg)
    want = 1550 + sum(block[n] for n in sched) + stage[sched[1]] + stage[sched[3]]
    assert B.compose(cfg, block, stage, fixed) == want == L.model_cycles(table, sched)
    assert B.compose(cfg, block, stage, fixed, [65] * 6, []) == 1550 + 6 * block[65]
    del block[7]
    with pytest.raises(ValueError, match="every n"):
        B.measured_table(cfg, L.load_board("zcu102"), 300.0, bp, {}, block, {}, stage, fixed, {}, {"shapes": []}, 0)


def test_prefetch_chain_steps_and_blocks():
    """The chain of block runs a prefetching core is measured on: a warm-up (the previous image's last block), then
    block 0 after the patch embedding and head, each later block after its pruning stage (if any)."""
    cfg = load_config("deit_tiny")
    assert B.prefetching(cfg, B.effective_block(B.block_parameters(cfg)))
    assert not B.prefetching(DIGITS, B.effective_block(B.block_parameters(DIGITS)))  # a set per block: resident
    small = load_config("deit_small")  # one set: the next block's head
    assert B.prefetching(small, B.effective_block(B.block_parameters(small)))
    sched = L.tokens_per_block(cfg)
    stage = {n: 1000 + n for n in set(sched)}
    fixed = {"patch_embed_cycles": 500, "head_cycles": 150, "overhead_cycles": 900}
    stages = list(cfg.prune.after_blocks[:cfg.num_stages])
    steps = B.chain_steps(cfg, sched, stage, fixed, stages)
    assert [s["n"] for s in steps] == [sched[-1], *sched]
    assert steps[0]["gap"] == 0 and steps[1]["gap"] == 650
    assert [s["gap"] for s in steps[2:]] == [stage[sched[b - 1]] if b in stages else 0 for b in range(1, cfg.depth)]
    assert sum(s["gap"] for s in steps) == 650 + sum(stage[sched[b - 1]] for b in stages)
    chain = [{"cycles": 7}, {"cycles": 100}, {"cycles": 90}]
    assert B.chain_blocks(chain, 4) == 100 + 3 * 90
    assert B.chain_blocks([{"cycles": 7}, *({"cycles": c} for c in range(1, 5))], 4) == 10


def test_utilisation_arithmetic():
    cfg = DIGITS
    bp = B.effective_block(B.block_parameters(cfg))
    n, units = 10, B.mac_units(cfg, bp)
    useful = B.useful_macs(cfg, n)
    qkv_busy = useful["qkv"] // units["qkv"]
    run = {"n": n, "cycles": 4000, "probes": {
        "qkv": {"busy": qkv_busy, "first": 100, "last": 100 + 2 * qkv_busy - 1},  # busy half its window
        "qk": {"busy": n * n * cfg.head_dim // bp["QK_SIMD"], "first": 0, "last": 3999}}}
    u = B.utilisation(cfg, bp, run)
    assert u["qkv"]["steady"] == pytest.approx(0.5) and u["qkv"]["busy_exact"]
    assert u["qkv"]["block"] == pytest.approx(useful["qkv"] / (units["qkv"] * 4000))
    assert u["qk"]["busy_exact"] and 0 < u["qk"]["steady"] <= 1
    assert u["block"]["useful_macs"] == L.block_macs(cfg, n)


def test_utilisation_target_takes_the_operating_mode():
    """The 70 % target is checked on the runs in the mode the design runs its blocks in: parameters on chip for a
    core that keeps a set per block (digits) or prefetches (DeiT-Tiny), fetched in the run for one set (DeiT-Small)."""
    def util(steady):
        return {"31": {k: {"steady": steady} for k in ("qkv", "proj", "fc1", "fc2")}}

    fetched, on_chip = util(0.3), util(0.9)
    for name, want_on_chip in (("digits", True), ("deit_tiny", True), ("deit_small", False)):
        cfg = load_config(name)
        mode = B.operating_on_chip(cfg, B.effective_block(B.block_parameters(cfg)))
        assert mode == want_on_chip, name
        (t,) = B.issue_targets(cfg, {}, fetched, 300.0, on_chip, mode)
        assert t["met"] == want_on_chip and ("parameters on chip" in t["target"]) == want_on_chip, name
    (t,) = B.issue_targets(DIGITS, {}, fetched, 300.0, {}, True)  # no on-chip runs probed: the fetched ones
    assert not t["met"] and "parameters fetched" in t["target"]


def test_cli_parsing():
    import argparse

    ap = argparse.ArgumentParser()
    B.add_parser(ap.add_subparsers(dest="command"))
    args = ap.parse_args(["bench", "--config", "deit_tiny", "--n", "1-3,9", "--block-par", "QKV_PE=8,QK_SIMD=64"])
    assert args.n == [1, 2, 3, 9] and args.block_par == {"QKV_PE": 8, "QK_SIMD": 64} and args.backend == "rtl"
    assert args.func is B._cmd


# ---- on the RTL --------------------------------------------------------------------------------------------------

@pytest.mark.rtl
def test_bench_digits_few_counts(require_tool, tmp_path, capsys):
    """The bench machinery through the CLI on three token counts: encoder_block, prune_stage (SPViT selector) and
    linear.sv simulated, every output bit-exact against golden, files written."""
    require_tool("verilator")
    out = tmp_path / "bench"
    assert B.main(["--config", "digits", "--n", "1,19,34", "--probe", "34", "--kept", "19,34", "--out", str(out)]) == 0
    res = json.loads((out / "bench.json").read_text())
    assert {p.name for p in out.iterdir()} >= {"report.md", "bench.json", "cycles.png", "utilisation_n34.png",
                                              "utilisation_n34_on_chip.png"}
    block = {int(k): v for k, v in res["block_cycles"].items()}
    alone = {int(k): v for k, v in res["stage_cycles_alone"].items()}
    block_kept = {int(k): v for k, v in res["block_cycles_params_on_chip"].items()}
    assert block[1] < block[19] < block[34] and alone[1] < alone[19] < alone[34]
    # behind its block (the block runs on chip, as the digits design runs them: --kept) the stage takes the tokens as
    # they come and adds less than it takes alone; the replay was exact (no beat held back)
    linked = res["stage_linked"]
    assert set(linked) == {"19", "34"} and res["stage_cycles"] == {n: linked[n]["exposed"] for n in linked}
    for n in (19, 34):
        r = linked[str(n)]
        assert 0 < r["exposed"] < alone[n] and r["late"] == {"m_axis": 0}, r
        # the block's last output beat is its last cycle: the replay starts where the block's run did
        assert r["block_end"] == r["block_cycles"] == block_kept[n] and r["cycles"] == r["block_end"] + r["exposed"]
    assert res["block_cycles_params_on_chip"]["19"] < block[19]  # no parameter fetch in the run
    assert int(res["block_load_cycles"]["19"]) > 0
    assert res["stage_tokens_out"]["34"] == 1 + DIGITS.stage_k()[0] + 1  # class + k kept + package token
    assert res["bit_exact_checked"] and not res["table_written"]  # a few counts: no latency table
    u = res["utilisation"]["34"]
    on_chip = res["utilisation_params_on_chip"]["34"]
    for k in ("qkv", "proj", "fc1", "fc2", "qk", "av"):
        assert 0 < u[k]["block"] <= u[k]["steady"] <= 1 and u[k]["busy_exact"], k
        # the same useful MACs in a shorter run: every array busier over the whole block
        assert on_chip[k]["busy_exact"] and u[k]["block"] < on_chip[k]["block"] <= on_chip[k]["steady"] <= 1, k
    # digits keeps a set per block, so its targets take the runs with the parameters on chip
    util_targets = [t["target"] for t in res["targets"] if "utilisation" in t["target"]]
    assert util_targets == ["linear-layer MAC utilisation >= 70 % at steady state (n = 34, parameters on chip)"]
    assert res["fixed"]["patch_embed_cycles"] >= DIGITS.num_patches * 16 * 64 // (16 * 8)
    assert "pruned_ms" not in res["summary"]  # 65 not simulated: no per-image composition
    report = (out / "report.md").read_text()
    assert "## MAC utilisation" in report and "### Parameters on chip" in report and "| 34 | qkv |" in report


@pytest.mark.rtl
def test_bench_digits_prefetch(require_tool, tmp_path):
    """Two parameter sets (fewer than the six blocks): the image is measured as a chain of block runs, each
    prefetching the next block's parameters, every output bit-exact; the prefetch hides the fetch that every run
    of the schedule otherwise waits for."""
    require_tool("verilator")
    out = tmp_path / "bench"
    assert B.main(["--config", "digits", "--n", "19,34,65", "--block-par", "PARAM_SETS=2", "--out", str(out)]) == 0
    res = json.loads((out / "bench.json").read_text())
    pruned, dense = res["prefetch_chains"]["pruned"], res["prefetch_chains"]["dense"]
    sched = L.tokens_per_block(DIGITS)
    assert [r["n"] for r in pruned] == [sched[-1], *sched] and [r["n"] for r in dense] == [65] * 3
    assert all(r["checked"] for r in pruned + dense)
    assert pruned[0]["load_cycles"] > 0  # the warm-up fetches its own
    kept = {int(k): v for k, v in res["block_cycles_params_on_chip"].items()}
    for r in pruned[1:] + dense[1:]:
        # a run whose parameters were all prefetched is cycle for cycle a run on chip
        assert r["load_cycles"] > 0 or r["cycles"] == kept[r["n"]], r
    s = res["summary"]
    assert s["breakdown"]["blocks"] == sum(r["cycles"] for r in pruned[1:])
    assert s["pruned_ms"] < s["pruned_ms_no_prefetch"] and s["dense_ms"] < s["dense_ms_no_prefetch"]
    assert "prefetches the next block's parameters" in (out / "report.md").read_text()


@pytest.mark.rtl
@pytest.mark.slow
def test_bench_digits_full_sweep(require_tool, tmp_path):
    """Every n = 1 .. n_max: the measured latency table validates, grows with n, and composes to the summary."""
    require_tool("verilator")
    res = B.bench("digits", out=tmp_path, check=True)
    table = L.load_table(tmp_path / "latency_table.json")
    assert table["source"] == "measured" and res["table_written"]
    block = table["block_cycles"]
    assert all(a <= b for a, b in zip(block, block[1:])) and block[0] > 0
    s = L.summary(table, DIGITS)
    assert s["pruned_cycles"] == res["summary"]["pruned_cycles"]
    assert s["dense_cycles"] == res["summary"]["dense_cycles"]
    assert rtl_sim.build_root().is_dir()
