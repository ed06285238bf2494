"""cocotb module of `spvit bench --backend rtl`: hw/rtl/prune_stage.sv run once per token count, cycles measured.

Driven like sim/tb/prune_stage: registers over AXI4-Lite (map spvit.sim.prune_regs), ap_start, the n tokens in over
AXI-Stream at one beat per cycle (and, SCORER = 2, the class-token contexts and class-attention rows; SCORER = 0, the
scores), the output sink always ready. prune_stage.sv has no cycle counter of its own, so the testbench counts the
clock cycles from the first cycle its ap_start register reads 1 to the first cycle its ap_done register reads 1
(the same span as encoder_block.sv's `cycles` register: ap_start to ap_done, the input streaming included).

SCORER = 1: the selector's parameters (stage 0 of a random bundle of the config) are streamed in once, before the
runs. Every run is checked bit for bit against the golden prune_stage (scores: golden selector / asvit_score / the
stream) when `check` is set: output tokens, N_OUT.

Linked runs (job `links`, per n): the stage as it runs behind its block on encoder_block.sv's m_axis_link. The stage
is started first, then the block's register writes pass (their measured cycles), then its input beats arrive in the
cycles the block put them out (recorded by bench_block in the block run of the same n: tokens and, SCORER = 2, the
class rows and contexts of the side streams), each offered from its cycle on and held until the stage takes it. The
result: the cycles from the block's ap_start write to the stage's ap_done, and the part of them after the block's
run as the design composes it (`exposed`: what the stage adds to the image); `late` counts, per stream, the cycles
the stage held beats back, which the block would have waited too (all 0: the replay is the linked run exactly).

Job (JSON file named by SPVIT_BENCH_JOB): config, seed, n_list, scorer, check, links ({n: {"m_axis", "p16", "ctx":
beat cycles, "register_cycles", "block_cycles"}}). Result: prune_results.json beside it.
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


async def count_to_done(dut, out: dict):
    """Cycles from now (the first edge) to the first cycle the ap_done register reads 1."""
    cycles = 0
    while True:
        await RisingEdge(dut.clk)
        await ReadOnly()
        if int(dut.ap_done_reg.value):
            break
        cycles += 1
    out["cycles"] = cycles


async def count_run(dut, out: dict):
    """Cycles from ap_start (register high) to ap_done (register high), both counted."""
    while True:
        await RisingEdge(dut.clk)
        await ReadOnly()
        if int(dut.ap_start_reg.value):
            break
    await count_to_done(dut, out)
    out["cycles"] += 1


async def offer(dut, prefix: str, beats: list[int], lasts: list[bool], due: list[int]) -> int:
    """Beats onto {prefix}_t*: beat i offered from cycle due[i] on (cycle 0 = the first edge from now), held until
    taken. Returns the cycles the beats waited past their due cycles."""
    tdata, tvalid, tready, tlast = (getattr(dut, f"{prefix}_{sig}") for sig in ("tdata", "tvalid", "tready", "tlast"))
    late, cycle, i = 0, 0, 0
    await RisingEdge(dut.clk)
    while i < len(beats):
        ready = due[i] <= cycle
        tvalid.value = int(ready)
        if ready:
            tdata.value = beats[i]
            tlast.value = int(lasts[i])
        await ReadOnly()
        taken = ready and int(tready.value)
        await RisingEdge(dut.clk)
        if taken:
            late += cycle - due[i]
            i += 1
        cycle += 1
    tvalid.value = 0
    return late


def words(data: bytes, width: int) -> list[int]:
    """Little-endian beats of `width` bytes."""
    return [int.from_bytes(data[i:i + width], "little") for i in range(0, len(data), width)]


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
        if scorer == 2:
            ctx, p16 = class_rows(rng, heads, d // heads, n)
            scores = asvit_score(p16[None], ctx[None])[0]
        elif scorer == 1:
            scores = selector(x[None], np.ones((1, n), dtype=bool), bundle.selector(s), heads)[0]
        else:
            scores = rng.integers(0, 65536, n)
        want = None
        if job.get("check", True):
            want, _, want_n = prune_stage(bundle, s, x[None], np.arange(n)[None], np.array([n]),
                                          np.asarray(scores, dtype=np.int64)[None], k=k, threshold=thr)
            want = want[0, :int(want_n[0])]

        async def launch():
            for name, value in (("N", n), ("TAIL", 0), ("K", k), ("THR_MODE", int(thr is not None)),
                                ("THRESHOLD", thr or 0), ("PACKAGE", int(cfg.prune.package))):
                await axil.write_dword(R[name], value)

        async def finish(frame, label: str) -> int:
            """ap_done, the registers, the output against golden; N_OUT."""
            while not (await axil.read_dword(R["CTRL"])) & pr.AP_DONE:
                await ClockCycles(dut.clk, 8)
            n_out = await axil.read_dword(R["N_OUT"])
            status = await axil.read_dword(R["STATUS"])
            assert status == 0, f"n = {n} ({label}): STATUS {status:#x}"
            y = np.frombuffer(bytes(frame.tdata), dtype=np.int8).reshape(-1, d).astype(np.int64)
            assert want is None or (n_out == want.shape[0] and np.array_equal(y, want)), \
                f"n = {n} ({label}): {n_out} tokens out, golden {want.shape[0]}; tokens differ from the golden " \
                "prune_stage"
            return n_out

        # alone: the inputs at one beat per cycle
        await launch()
        counted: dict = {}
        counter = cocotb.start_soon(count_run(dut, counted))
        await axil.write_dword(R["CTRL"], pr.AP_START)
        if scorer == 2:
            await ctx_source.send(AxiStreamFrame(ctx.astype(np.int8).tobytes()))
            for h in range(heads):
                await p16_source.send(AxiStreamFrame([int(v) for v in p16[h]]))
        elif scorer == 0:
            await score_source.send(AxiStreamFrame([int(v) for v in scores]))
        await source.send(AxiStreamFrame(np.asarray(x, dtype=np.int8).tobytes()))
        n_out = await finish(await sink.recv(), "alone")
        await counter
        run = {"n": n, "k": k, "n_out": n_out, "cycles": counted["cycles"], "checked": want is not None}

        link = job.get("links", {}).get(str(n))
        if link is not None:  # behind the block: its beats as the block put them out
            assert scorer != 0, "a linked run needs the scores from inside the stage"
            assert len(link["m_axis"]) == n * d // 16, f"n = {n}: {len(link['m_axis'])} recorded beats"
            await launch()
            await axil.write_dword(R["CTRL"], pr.AP_START)
            await ClockCycles(dut.clk, int(link["register_cycles"]))  # the block's registers
            done: dict = {}
            counter = cocotb.start_soon(count_to_done(dut, done))
            feeds = {"m_axis": offer(dut, "s_axis", words(np.asarray(x, dtype=np.int8).tobytes(), 16),
                                     [i == n * d // 16 - 1 for i in range(n * d // 16)], link["m_axis"])}
            if scorer == 2:
                feeds["ctx"] = offer(dut, "s_axis_ctx", words(ctx.astype(np.int8).tobytes(), d // heads),
                                     [h == heads - 1 for h in range(heads)], link["ctx"])
                feeds["p16"] = offer(dut, "s_axis_p16", [int(v) for v in p16.reshape(-1)],
                                     [j % n == n - 1 for j in range(heads * n)], link["p16"])
            tasks = {name: cocotb.start_soon(feed) for name, feed in feeds.items()}
            late = {name: await task for name, task in tasks.items()}
            await finish(await sink.recv(), "linked")
            await counter
            end = 1 + max(c[-1] for c in (link["m_axis"], link["p16"], link["ctx"]) if c)
            run["linked"] = {"cycles": done["cycles"], "block_end": end, "block_cycles": link["block_cycles"],
                             "exposed": max(done["cycles"] - link["block_cycles"], 0), "late": late}
        results["runs"].append(run)
        log.info("n=%d k=%d: %d cycles%s, %d tokens out%s", n, k, run["cycles"],
                 f" (linked: {run['linked']['exposed']} after the block)" if "linked" in run else "", n_out,
                 " bit-exact" if want is not None else "")
    results["seconds"] = round(time.monotonic() - t0, 1)
    (job_file.parent / "prune_results.json").write_text(json.dumps(results, indent=1))
