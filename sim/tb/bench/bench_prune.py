"""cocotb module of `spvit bench --backend rtl`: hw/rtl/prune_stage.sv run once per token count, cycles measured.

Driven like sim/tb/prune_stage: registers over AXI4-Lite (map spvit.sim.prune_regs), ap_start, the n tokens in over
AXI-Stream at one beat per cycle (and, SCORER = 2, the class-token contexts and class-attention rows; SCORER = 0, the
scores), the output sink always ready. prune_stage.sv has no cycle counter of its own, so the testbench counts the
clock cycles from the first cycle its ap_start register reads 1 to the first cycle its ap_done register reads 1
(the same span as encoder_block.sv's `cycles` register: ap_start to ap_done, the input streaming included).

SCORER = 1: the selector's parameters (stage 0 of a random bundle of the config) are streamed in once, before the
runs. Every run is checked bit for bit against the golden prune_stage (scores: golden selector / asvit_score / the
stream) when `check` is set: output tokens, N_OUT.

Job (JSON file named by SPVIT_BENCH_JOB): config, seed, n_list, scorer, check. Result: prune_results.json beside it.
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
from cocotb.triggers import ClockCycles, ReadOnly, RisingEdge
from cocotbext.axi import AxiLiteBus, AxiLiteMaster, AxiStreamBus, AxiStreamFrame, AxiStreamSink, AxiStreamSource

from spvit.configs import load_config
from spvit.sim import prune_regs as pr
from spvit.sim.golden import random_bundle
from spvit.sim.golden.model import patch_embed, prune_stage
from spvit.sim.golden.scoring import asvit_score, selector

warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"cocotbext\.axi")
R = pr.PRUNE_REGS


async def count_run(dut, out: dict):
    """Cycles from ap_start (register high) to ap_done (register high)."""
    while True:
        await RisingEdge(dut.clk)
        await ReadOnly()
        if int(dut.ap_start_reg.value):
            break
    cycles = 0
    while True:
        await RisingEdge(dut.clk)
        await ReadOnly()
        cycles += 1
        if int(dut.ap_done_reg.value):
            break
    out["cycles"] = cycles


def class_rows(rng, heads: int, dh: int, n: int):
    ctx = rng.integers(-128, 128, (heads, dh))
    logits = rng.normal(0, 2.0, (heads, n))
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p16 = np.minimum(np.floor(p / p.sum(axis=1, keepdims=True) * 65536 + 0.5), 65535).astype(np.int64)
    return ctx, p16


@cocotb.test()
async def bench_prune(dut):
    job_file = Path(os.environ["SPVIT_BENCH_JOB"])
    job = json.loads(job_file.read_text())
    log = logging.getLogger("cocotb.tb")
    log.setLevel(logging.INFO)
    cfg = load_config(job["config"])
    bundle = random_bundle(cfg, seed=int(job.get("seed", 0)))
    rng = np.random.default_rng(int(job.get("seed", 0)) + 2)
    scorer = int(job["scorer"])
    d, heads = cfg.embed_dim, cfg.num_heads
    s = 0  # stage 0: no package tokens of earlier stages (tail 0)

    Clock(dut.clk, 10, unit="ns").start()
    axil = AxiLiteMaster(AxiLiteBus.from_prefix(dut, "s_axil"), dut.clk, dut.rst)
    source = AxiStreamSource(AxiStreamBus.from_prefix(dut, "s_axis"), dut.clk, dut.rst)
    score_source = AxiStreamSource(AxiStreamBus.from_prefix(dut, "s_axis_score"), dut.clk, dut.rst, byte_lanes=1)
    prm_source = AxiStreamSource(AxiStreamBus.from_prefix(dut, "s_axis_prm"), dut.clk, dut.rst)
    ctx_source = AxiStreamSource(AxiStreamBus.from_prefix(dut, "s_axis_ctx"), dut.clk, dut.rst)
    p16_source = AxiStreamSource(AxiStreamBus.from_prefix(dut, "s_axis_p16"), dut.clk, dut.rst, byte_lanes=1)
    sink = AxiStreamSink(AxiStreamBus.from_prefix(dut, "m_axis"), dut.clk, dut.rst)
    for port in (axil.read_if, axil.write_if, source, score_source, prm_source, ctx_source, p16_source, sink):
        port.log.setLevel(logging.WARNING)

    dut.rst.value = Immediate(0)
    await RisingEdge(dut.clk)
    dut.rst.value = 1
    await ClockCycles(dut.clk, 3)
    dut.rst.value = 0
    await ClockCycles(dut.clk, 2)

    if scorer == 1:
        p = bundle.selector(s)
        await prm_source.send(AxiStreamFrame(pr.selector_param_bytes(p)))
        await prm_source.wait()
        for name, value in pr.selector_regs(p).items():
            await axil.write_dword(R[name], value & 0xFFFFFFFF)

    img = rng.integers(-128, 128, (1, cfg.in_chans, cfg.img_size, cfg.img_size))
    pool = patch_embed(bundle, img)[0]
    results = {"config": cfg.name, "scorer": scorer, "runs": []}
    t0 = time.monotonic()
    for n in job["n_list"]:
        x = pool[rng.permutation(pool.shape[0])[:n]] if n <= pool.shape[0] else \
            np.concatenate([pool, rng.integers(-128, 128, (n - pool.shape[0], d))])
        k = min(int(job.get("k") or bundle.stage_k(s)), max(n - 1, 0))
        thr = int(bundle.stage_threshold(s)) if cfg.prune.select == "threshold" else None
        for name, value in (("N", n), ("TAIL", 0), ("K", k), ("THR_MODE", int(thr is not None)),
                            ("THRESHOLD", thr or 0),
                            ("PACKAGE", int(cfg.prune.package))):
            await axil.write_dword(R[name], value)
        counted: dict = {}
        counter = cocotb.start_soon(count_run(dut, counted))
        await axil.write_dword(R["CTRL"], pr.AP_START)
        if scorer == 1:
            scores = selector(x[None], np.ones((1, n), dtype=bool), bundle.selector(s), heads)[0]
        elif scorer == 2:
            ctx, p16 = class_rows(rng, heads, d // heads, n)
            await ctx_source.send(AxiStreamFrame(ctx.astype(np.int8).tobytes()))
            for h in range(heads):
                await p16_source.send(AxiStreamFrame([int(v) for v in p16[h]]))
            scores = asvit_score(p16[None], ctx[None])[0]
        else:
            scores = rng.integers(0, 65536, n)
            await score_source.send(AxiStreamFrame([int(v) for v in scores]))
        await source.send(AxiStreamFrame(np.asarray(x, dtype=np.int8).tobytes()))
        frame = await sink.recv()
        await counter
        while not (await axil.read_dword(R["CTRL"])) & pr.AP_DONE:
            await ClockCycles(dut.clk, 8)
        n_out = await axil.read_dword(R["N_OUT"])
        status = await axil.read_dword(R["STATUS"])
        assert status == 0, f"n = {n}: STATUS {status:#x}"
        y = np.frombuffer(bytes(frame.tdata), dtype=np.int8).reshape(-1, d).astype(np.int64)
        checked = False
        if job.get("check", True):
            want, _, want_n = prune_stage(bundle, s, x[None], np.arange(n)[None], np.array([n]),
                                          np.asarray(scores, dtype=np.int64)[None], k=k, threshold=thr)
            want = want[0, :int(want_n[0])]
            assert n_out == int(want_n[0]) and np.array_equal(y, want), \
                f"n = {n}: {n_out} tokens out, golden {int(want_n[0])}; tokens differ from the golden prune_stage"
            checked = True
        results["runs"].append({"n": n, "k": k, "n_out": n_out, "cycles": counted["cycles"], "checked": checked})
        log.info("n=%d k=%d: %d cycles, %d tokens out%s", n, k, counted["cycles"], n_out,
                 " bit-exact" if checked else "")
    results["seconds"] = round(time.monotonic() - t0, 1)
    (job_file.parent / "prune_results.json").write_text(json.dumps(results, indent=1))
