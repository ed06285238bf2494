"""cocotb module of `spvit bench --backend rtl`: hw/rtl/encoder_block.sv run once per token count, cycles measured.

Driven as a host driver drives the core (and as sim/tb/encoder_block does): the block's parameter words in the
simulated DDR (cocotbext-axi AxiRamRead, one 128-bit beat per cycle, no latency), registers over AXI4-Lite from
spvit.sim.block_regs, the n tokens in over AXI-Stream at one beat per cycle, the output sink always ready. Per token
count it reads the core's own `cycles` register (0x80: ap_start to ap_done) and `load_cycles` (0x84), in two modes:

  fetch   flags.reload = 1: the parameters are fetched from DDR during the run (what a model of several blocks on one
          core costs: every block brings its own parameters)
  kept    flags.reload = 0 right after a run of the same block: the parameters stay on chip

and, for a core with two or more parameter sets, a chain: the runs of a model's blocks in order, each at its own
address and prefetching the next one's parameters (flags.prefetch), with the host's idle time between runs (the
pruning stage, the next image's patch embedding) as idle cycles; per run the same two registers.

Optionally (probe_n, in the modes of probe_modes) it samples, every clock cycle of a run, the valid flag of each MAC
array's multiply stage: linear.sv's d_valid_reg in qkv / proj / fc1 / fc2 (SIMD x PE products per cycle) and, in
head 0's attention.sv, issue (QK^T: a QK_SIMD-product step enters its pipeline) and av_valid_reg (A.V: DH products per
cycle); per array it records the cycles it was busy and the first and last busy cycle (counted from the ap_start
write), from which the bench derives the MAC utilisation. Every output is checked bit for bit against the golden
encoder_block when `check` is set.

Job (JSON file named by SPVIT_BENCH_JOB): config (name or YAML path), seed, n_list, modes, kept_n (counts also run
in `kept` mode right after `fetch`), probe_n, probe_modes (the modes probed at those counts), trace_n and trace_mode
(the runs whose output beats are recorded: m_axis and the side streams, the cycle of each, for bench_prune's linked
runs), trace_cls_out (the traced runs repeated with flags.cls_out, the side streams on, as for an Adaptive Sparse ViT
stage's block: mode "<mode>+cls_out"), check, chains
({name: [{"n", "gap"}, ...]}: the runs of each chain, the first one a warm-up whose parameters are fetched). Result:
SPVIT_BENCH_JOB's folder / block_results.json.
"""
from __future__ import annotations

import json
import logging
import os
import time
import warnings
from pathlib import Path

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.handle import Immediate
from cocotb.triggers import ClockCycles, Event, ReadOnly, RisingEdge
from cocotb.utils import get_sim_time
from cocotbext.axi import (AxiLiteBus, AxiLiteMaster, AxiRamRead, AxiReadBus, AxiStreamBus, AxiStreamFrame,
                           AxiStreamSink, AxiStreamSource)

from spvit.configs import load_config
from spvit.sim.block_regs import RTL_CTRL, RTL_REGS, RTL_STATUS, block_regs, dense_block_arrays, rtl_reg_writes
from spvit.sim.golden import random_bundle
from spvit.sim.golden.model import encoder_block, patch_embed
from spvit.sim.hls_kernels import pack_words

# cocotbext-axi 0.1.28 still calls cocotb 1.x APIs that cocotb 2.1 deprecates; they work. Hide those warnings only.
warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"cocotbext\.axi")

PARAM_BASE = 0x1000
# (probe name, path below the top): the multiply stage of each MAC array
LINEAR_PROBES = ("qkv", "proj", "fc1", "fc2")


def _resolve(dut, path: str):
    h = dut
    for part in path.split("."):
        if "[" in part:
            name, idx = part[:-1].split("[")
            h = getattr(h, name)[int(idx)]
        else:
            h = getattr(h, part)
    return h


def probe_handles(dut) -> dict:
    out = {}
    paths = {name: f"{name}.d_valid_reg" for name in LINEAR_PROBES}
    paths.update(qk="g_head[0].head.issue", av="g_head[0].head.av_valid_reg")
    for name, path in paths.items():
        try:
            out[name] = _resolve(dut, path)
        except (AttributeError, IndexError, KeyError, ValueError) as exc:
            logging.getLogger("cocotb.tb").warning("probe %s (%s) not found: %s", name, path, exc)
    return out


async def record_beats(dut, stop: Event, beats: dict):
    """The cycles (cycle 0 = the first edge after the start) in which each output stream hands over a beat: what a
    pruning stage linked to the block (m_axis_link) receives, and when (bench_prune replays it)."""
    ports = {name: (getattr(dut, f"{prefix}_tvalid"), getattr(dut, f"{prefix}_tready"))
             for name, prefix in (("m_axis", "m_axis"), ("p16", "m_axis_cls_p16"), ("ctx", "m_axis_cls_ctx"))}
    out = {name: [] for name in ports}
    cycle = 0
    while not stop.is_set():
        await RisingEdge(dut.clk)
        await ReadOnly()
        for name, (valid, ready) in ports.items():
            if int(valid.value) and int(ready.value):
                out[name].append(cycle)
        cycle += 1
    beats.update(out)


async def sample(dut, handles: dict, stop: Event, stats: dict):
    """Busy cycles, first and last busy cycle of every probe, cycle 0 = the first edge after the start."""
    busy = {k: 0 for k in handles}
    first: dict = {}
    last: dict = {}
    items = list(handles.items())
    cycle = 0
    while not stop.is_set():
        await RisingEdge(dut.clk)
        await ReadOnly()
        for name, h in items:
            if int(h.value):
                busy[name] += 1
                last[name] = cycle
                if name not in first:
                    first[name] = cycle
        cycle += 1
    stats.update({k: {"busy": busy[k], "first": first.get(k), "last": last.get(k)} for k in handles},
                 sampled_cycles=cycle)


@cocotb.test()
async def bench_block(dut):
    job_file = Path(os.environ["SPVIT_BENCH_JOB"])
    job = json.loads(job_file.read_text())
    log = logging.getLogger("cocotb.tb")
    log.setLevel(logging.INFO)
    cfg = load_config(job["config"])
    bundle = random_bundle(cfg, seed=int(job.get("seed", 0)))
    rng = np.random.default_rng(int(job.get("seed", 0)) + 1)

    Clock(dut.clk, 10, unit="ns").start()
    axil = AxiLiteMaster(AxiLiteBus.from_prefix(dut, "s_axil"), dut.clk, dut.rst)
    job_steps = max((len(s) for s in job.get("chains", {}).values()), default=1)
    words = pack_words(dense_block_arrays(bundle, 0))
    stride = (4 * words.size + 0xFFF) & ~0xFFF  # one 4 KiB-aligned copy of a block's words per chain step
    ram = AxiRamRead(AxiReadBus.from_prefix(dut, "m_axi"), dut.clk, dut.rst,
                     size=max(1 << 23, 1 << (PARAM_BASE + job_steps * stride).bit_length()))
    source = AxiStreamSource(AxiStreamBus.from_prefix(dut, "s_axis"), dut.clk, dut.rst, byte_lanes=16)
    sink = AxiStreamSink(AxiStreamBus.from_prefix(dut, "m_axis"), dut.clk, dut.rst, byte_lanes=16)
    for port in (axil.read_if, axil.write_if, ram, source, sink):
        port.log.setLevel(logging.WARNING)
    dut.m_axis_cls_p16_tready.value = 1  # the side streams (job cls_out) always ready, as the output
    dut.m_axis_cls_ctx_tready.value = 1

    dut.rst.value = Immediate(0)
    await RisingEdge(dut.clk)
    dut.rst.value = 1
    await ClockCycles(dut.clk, 3)
    dut.rst.value = 0
    await ClockCycles(dut.clk, 2)

    info0 = await axil.read_dword(RTL_REGS["info0"])
    info1 = await axil.read_dword(RTL_REGS["info1"])
    d, m, n_max, heads = info0 & 0xFFFF, info0 >> 16, info1 & 0xFFFF, info1 >> 16
    assert (d, m, heads) == (cfg.embed_dim, cfg.mlp_hidden, cfg.num_heads), \
        f"core built for D, M, H = {(d, m, heads)}, config {cfg.name} needs " \
        f"{(cfg.embed_dim, cfg.mlp_hidden, cfg.num_heads)}"
    param_words = await axil.read_dword(RTL_REGS["param_words"])
    assert words.size == 4 * param_words, f"the core fetches {param_words} words, the host packs {words.size // 4}"
    for k in range(job_steps):
        ram.write(PARAM_BASE + k * stride, np.asarray(words, dtype="<u4").tobytes())
    regs = block_regs(bundle, 0, 0, stages={})
    f_in = bundle.frac("embed.out")

    # realistic block-0 tokens: the patch embedding of a random image (then tokens drawn from it)
    img = rng.integers(-128, 128, (1, cfg.in_chans, cfg.img_size, cfg.img_size))
    pool = patch_embed(bundle, img)[0]
    handles = probe_handles(dut) if job.get("probe_n") else {}
    results = {"config": cfg.name, "d": d, "m": m, "heads": heads, "n_max": n_max, "param_words": param_words,
               "runs": []}
    def tokens(n: int) -> np.ndarray:
        return pool[rng.permutation(pool.shape[0])[:n]] if n <= pool.shape[0] else \
            np.concatenate([pool, rng.integers(-128, 128, (n - pool.shape[0], d))])

    async def run_once(n: int, label: str, addr: int = PARAM_BASE, reload: bool = False,
                       prefetch_addr: int | None = None, probe: bool = False, trace: bool = False,
                       cls_out: bool = False) -> dict:
        """One block run on n tokens: registers, ap_start, tokens in and out, ap_done, the cycle registers
        (`trace`: and the cycles of every output beat from the ap_start write on)."""
        assert 1 <= n <= n_max, f"n = {n} outside 1..{n_max}"
        x = tokens(n)
        writes = rtl_reg_writes(regs, n, addr, cls_out=cls_out, reload=reload, prefetch_addr=prefetch_addr)
        t_regs = get_sim_time("ns")
        for offset, value in writes:
            await axil.write_dword(offset, value)
        reg_cycles = round((get_sim_time("ns") - t_regs) / 10)
        stats: dict = {}
        stop = Event()
        if probe:
            sampler = cocotb.start_soon(sample(dut, handles, stop, stats))
        beats: dict = {}
        if trace:
            recorder = cocotb.start_soon(record_beats(dut, stop, beats))
        await axil.write_dword(RTL_REGS["ctrl"], RTL_CTRL["ap_start"])
        await source.send(AxiStreamFrame(np.asarray(x, dtype=np.int8).tobytes()))
        frame = await sink.recv()
        while not (await axil.read_dword(RTL_REGS["ctrl"])) & RTL_CTRL["ap_done"]:
            await ClockCycles(dut.clk, 8)
        stop.set()
        if probe:
            await sampler
        if trace:
            await recorder
        cycles = await axil.read_dword(RTL_REGS["cycles"])
        load_cycles = await axil.read_dword(RTL_REGS["load_cycles"])
        status = await axil.read_dword(RTL_REGS["status"])
        assert not status & (RTL_STATUS["framing_error"] | RTL_STATUS["axi_error"]), f"status {status:#x}"
        y = np.frombuffer(bytes(frame.tdata), dtype=np.int8).reshape(-1, d).astype(np.int64)
        checked = False
        if job.get("check", True):
            want = encoder_block(bundle, 0, x[None], np.ones((1, n), dtype=bool), f_in)[0][0]
            assert y.shape == want.shape and np.array_equal(y, want), \
                f"n = {n} ({label}): {int(np.sum(y != want)) if y.shape == want.shape else 'shape'} outputs " \
                "differ from the golden encoder_block"
            checked = True
        run = {"n": n, "cycles": cycles, "load_cycles": load_cycles, "checked": checked,
               "register_writes": len(writes) + 1, "register_cycles": reg_cycles}
        if probe:
            run["probes"] = stats
        if trace:
            run["beats"] = beats
        log.info("n=%d %s: %d cycles (%d fetching)%s", n, label, cycles, load_cycles, " bit-exact" if checked else "")
        return run

    t0 = time.monotonic()
    trace_cls_out = bool(job.get("trace_cls_out", False))
    for n in job["n_list"]:
        modes = ["fetch", "kept"] if n in job.get("kept_n", []) else job.get("modes", ["fetch"])
        for mode in modes:
            probe = mode in job.get("probe_modes", ["fetch"]) and n in job.get("probe_n", [])
            trace = mode == job.get("trace_mode") and n in job.get("trace_n", [])
            run = await run_once(n, mode, reload=mode == "fetch", probe=probe, trace=trace and not trace_cls_out)
            assert (run["load_cycles"] > 0) == (mode == "fetch"), f"{mode} run with load_cycles {run['load_cycles']}"
            results["runs"].append({"mode": mode, **run})
            if trace and trace_cls_out:  # the stage's block sends the side streams: the same run with them on
                run = await run_once(n, f"{mode}, side streams on", reload=mode == "fetch", trace=True, cls_out=True)
                results["runs"].append({"mode": f"{mode}+cls_out", **run})
    # Chains: every run at its own address (the same words: the timing does not depend on them), prefetching the
    # next run's; the first run of a chain fetches its own (a warm-up), the last prefetches the first's.
    chains = job.get("chains", {})
    for name, steps in chains.items():
        addrs = [PARAM_BASE + k * stride for k in range(len(steps))]
        runs = []
        for k, step in enumerate(steps):
            await ClockCycles(dut.clk, max(int(step["gap"]), 1))
            run = await run_once(int(step["n"]), f"chain {name} [{k}]", addr=addrs[k], reload=k == 0,
                                 prefetch_addr=addrs[(k + 1) % len(steps)])
            runs.append({"gap": int(step["gap"]), **run})
        results.setdefault("chains", {})[name] = runs
    results["seconds"] = round(time.monotonic() - t0, 1)
    (job_file.parent / "block_results.json").write_text(json.dumps(results, indent=1))
