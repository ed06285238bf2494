"""cocotb testbench for hw/rtl/prune_stage.sv: every run checked against the golden prune_stage (§11.3).

Run from tests/test_rtl_prune_stage.py, which builds with Verilator and passes the build's parameters here through
SPVIT_TB_* environment variables. A run: the registers are written over AXI4-Lite (cocotbext-axi AxiLiteMaster, map
from spvit.sim.prune_regs), ap_start is set, the n tokens (and, SCORER = 0, the n scores) are streamed in, and the
output frame is received; CTRL is then polled for ap_done and N_OUT / N_KEPT / STATUS are read back. Compared with
spvit.sim.golden.model.prune_stage (through a minimal stand-in for the bundle: only prune.select / prune.package are
read), bit for bit: every output token, the source index of every output token (n = the package token, mapped to
golden's package id), N_OUT and N_KEPT (golden topk_select). Hard pruning with a protected tail, which the golden model
never produces (its tail is the stage index when packaging, else 0), is checked against golden topk_select / candidates
and the §11.3 order directly.

SCORER = 1 (the internal selector): the selector's parameters are streamed in first (s_axis_prm, the HLS m_axi word
layout of spvit.sim.hls_kernels.pack_words) and its registers written; the scores are then golden's selector(x) of a
random digits-shaped bundle, and the expectation is golden prune_stage with those scores.
SCORER = 2 (asvit_score inside): each run also sends random class-token contexts (s_axis_ctx, sometimes all zero) and
class-attention rows (s_axis_p16, softmax-like rows); the scores are golden's asvit_score of them.

The host registers are overwritten with garbage right after ap_start (the run must use its sampled copies). Runs: a
list of corners (k = 0, 1, all, beyond; threshold 0 / max / at ties; package on and off; every tail; n = 1, 2, N_MAX;
all-equal scores; extreme tokens), then SPVIT_TB_RUNS random runs, under random source idles and sink backpressure.
"""
from __future__ import annotations

import random
from types import SimpleNamespace

import cocotb
import numpy as np
from cocotb.triggers import ClockCycles
from cocotbext.axi import AxiLiteBus, AxiLiteMaster, AxiStreamFrame

from common import (STALL_VARIANTS, Testbench, int8_bytes, int8_values, per_beat, setting, stream_source,
                    variant_seed)
from spvit.sim import prune_regs as pr
from spvit.sim.golden.model import PACKAGE_ID, Trace, prune_stage
from spvit.sim.golden.topk_select import candidates, topk_select

N_MAX = setting("N_MAX", 67)
D = setting("D", 64)
LANES = setting("LANES", 16)
K_MAX = setting("K_MAX", N_MAX)
TAIL_MAX = setting("TAIL_MAX", 2)
SCORER = setting("SCORER", 0)
HEADS = setting("HEADS", 4)
DH = D // HEADS
RUNS = setting("RUNS", 20)
BUNDLE_SEED = setting("BUNDLE_SEED", 3)
# must-fail check: the golden model is asked for k + GOLDEN_K_OFFSET
GOLDEN_K_OFFSET = setting("GOLDEN_K_OFFSET", 0)

SCORE_MAX = 0xFFFF
R = pr.PRUNE_REGS


class TB(Testbench):
    def __init__(self, dut):
        super().__init__(dut)
        self.axil = AxiLiteMaster(AxiLiteBus.from_prefix(dut, "s_axil"), dut.clk, dut.rst)
        self.source = self.add_source(byte_lanes=None)
        self.score_source = self.add_source("s_axis_score")
        self.ctx_source = self.add_source("s_axis_ctx", byte_lanes=None)
        self.p16_source = self.add_source("s_axis_p16")
        self.sink = self.add_sink(byte_lanes=None)
        # the selector's parameters go in once, before the runs: no stalls, kept over a reset
        self.prm_source = stream_source(dut, "s_axis_prm", byte_lanes=None)
        self.selector = None  # (SelectorParams, num_heads) once loaded (SCORER = 1)

    async def write(self, name: str, value: int):
        await self.axil.write_dword(R[name], value & 0xFFFFFFFF)

    async def read(self, name: str) -> int:
        return await self.axil.read_dword(R[name])

    async def load_selector(self, seed: int):
        """SCORER = 1: a random digits-shaped bundle's selector: parameter words in, SEL_* registers written."""
        from spvit.configs import load_config
        from spvit.sim.golden import random_bundle

        cfg = load_config("digits")
        bundle = random_bundle(cfg, seed)
        p = bundle.selector(0)
        await self.prm_source.send(AxiStreamFrame(pr.selector_param_bytes(p)))
        await self.prm_source.wait()
        for name, value in pr.selector_regs(p).items():
            await self.write(name, value)
        self.selector = (p, cfg.num_heads)

    async def start(self, n: int, tail: int, k: int, thr: int | None, package: bool):
        for name, value in (("N", n), ("TAIL", tail), ("K", k), ("THR_MODE", int(thr is not None)),
                            ("THRESHOLD", 0 if thr is None else thr), ("PACKAGE", int(package))):
            await self.write(name, value)
        await self.write("CTRL", pr.AP_START)
        # The run samples its registers at the start: scribble over them at once.
        for name in ("N", "TAIL", "K", "THR_MODE", "THRESHOLD", "PACKAGE"):
            await self.write(name, random.getrandbits(32))

    async def wait_done(self, limit: int = 100_000):
        """Poll CTRL (every 16 cycles) until ap_done."""
        for _ in range(limit // 16):
            ctrl = await self.read("CTRL")
            if ctrl & pr.AP_DONE:
                assert ctrl & pr.AP_IDLE, f"ap_done without ap_idle (CTRL {ctrl:#x})"
                return
            await ClockCycles(self.dut.clk, 16)
        raise AssertionError("prune_stage: no ap_done")


def golden_selector_scores(tb: TB, x: np.ndarray) -> np.ndarray:
    from spvit.sim.golden.scoring import selector
    p, heads = tb.selector
    n = x.shape[0]
    return selector(x[None], np.ones((1, n), dtype=bool), p, heads)[0]


def class_rows(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """SCORER = 2: random class-token contexts [H, DH] (sometimes all zero: equal head weights) and softmax-like
    class-attention rows [H, n] (uint16 at frac 16)."""
    ctx = rng.integers(-128, 128, (HEADS, DH))
    if rng.random() < 0.15:
        ctx[:] = 0
    elif rng.random() < 0.3:
        ctx[rng.random(HEADS) < 0.5] = 0
    logits = rng.normal(0, rng.choice([0.5, 2.0, 6.0]), (HEADS, n))
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p16 = np.minimum(np.floor(p / p.sum(axis=1, keepdims=True) * 65536 + 0.5), 65535).astype(np.int64)
    return ctx, p16


async def send_scores(tb: TB, rng: np.random.Generator, x: np.ndarray, run: dict) -> np.ndarray:
    """Send what the score source of this build needs for the run; return the golden scores."""
    n = x.shape[0]
    if SCORER == 1:
        return golden_selector_scores(tb, x)
    if SCORER == 2:
        from spvit.sim.golden.scoring import asvit_score
        ctx, p16 = class_rows(rng, n)
        await tb.ctx_source.send(AxiStreamFrame(int8_bytes(ctx)))
        for h in range(HEADS):
            await tb.p16_source.send(AxiStreamFrame([int(v) for v in p16[h]]))
        return asvit_score(p16[None], ctx[None])[0]
    scores = np.asarray(run["scores"], dtype=np.int64)
    await tb.score_source.send(AxiStreamFrame([int(v) for v in scores]))
    return scores


def expected(x: np.ndarray, scores: np.ndarray, tail: int, k: int, thr: int | None, package: bool):
    """Golden (tokens out [n_out, D], source index per output token (n = package), kept candidates)."""
    n = x.shape[0]
    k_gold = k + GOLDEN_K_OFFSET
    nv = np.array([n])
    keep = topk_select(scores[None], nv, tail, np.array([k_gold]), thr)[0]
    cand = candidates(nv, tail, n)[0]
    n_kept = int((keep & cand).sum())
    if package or tail == 0:
        s = tail if package else 0
        bundle = SimpleNamespace(config=SimpleNamespace(
            prune=SimpleNamespace(select="threshold" if thr is not None else "topk", package=package)))
        new_x, new_ids, n_out = prune_stage(bundle, s, x[None], np.arange(n)[None], nv, scores[None], k=k_gold,
                                            threshold=thr)
        m = int(n_out[0])
        ids = new_ids[0, :m]
        assert not np.any(ids == Trace.PAD_ID)
        src = np.where(ids == PACKAGE_ID - s, n, ids)
        return new_x[0, :m], src, n_kept
    # hard pruning behind a protected tail (§11.3 order, §9 membership): golden's prune_stage ties the tail to
    # packaging, so compose its definition from golden topk_select / candidates
    stays = ~(cand & ~keep)
    src = np.flatnonzero(stays)
    return x[src], src, n_kept


def random_tokens(rng: np.random.Generator, n: int) -> np.ndarray:
    kind = rng.integers(0, 4)
    if kind == 0:
        return rng.integers(-128, 128, (n, D))
    if kind == 1:
        return rng.choice(np.array([-128, 127, -1, 0]), (n, D))
    return np.clip(np.round(rng.normal(0, 30, (n, D))), -128, 127).astype(np.int64)


def random_scores(rng: np.random.Generator, n: int) -> np.ndarray:
    kind = rng.integers(0, 4)
    if kind == 0:
        return rng.integers(0, SCORE_MAX + 1, n)
    if kind == 1:
        return rng.choice(rng.integers(0, SCORE_MAX + 1, 3), n)
    if kind == 2:
        return rng.choice(np.array([0, 1, SCORE_MAX - 1, SCORE_MAX]), n)
    return np.full(n, rng.integers(0, SCORE_MAX + 1))


def random_run(rng: np.random.Generator) -> dict:
    n = int(rng.choice([rng.integers(1, N_MAX + 1), N_MAX, rng.integers(1, min(N_MAX, 5) + 1)]))
    tail = int(rng.integers(0, min(TAIL_MAX, n) + 1))
    cand = max(n - 1 - tail, 0)
    k = int(rng.choice([rng.integers(0, cand + 2), rng.integers(0, 2**32), min(cand, K_MAX), 0, 1]))
    if K_MAX < cand:
        k = min(k, K_MAX)
    scores = random_scores(rng, n)
    thr = None
    if rng.random() < 0.4:
        thr = int(rng.choice([rng.integers(0, SCORE_MAX + 1), rng.choice(scores), 0, SCORE_MAX]))
    return dict(x=random_tokens(rng, n), scores=scores, tail=tail, k=k, thr=thr, package=bool(rng.random() < 0.7))


def corner_runs(rng: np.random.Generator) -> list[dict]:
    runs = []
    for n in sorted({1, 2, 3, N_MAX}):
        for tail in range(0, min(TAIL_MAX, n) + 1):
            cand = max(n - 1 - tail, 0)
            kk = min(cand, K_MAX)
            for k in sorted({0, 1, kk, 2**32 - 1 if cand <= K_MAX else kk}):
                for package in (True, False):
                    runs.append(dict(x=random_tokens(rng, n), scores=random_scores(rng, n), tail=tail, k=k,
                                     thr=None, package=package))
            eq = np.full(n, 9)
            runs.append(dict(x=random_tokens(rng, n), scores=eq, tail=tail, k=max(kk // 2, 1), thr=None, package=True))
            runs.append(dict(x=random_tokens(rng, n), scores=eq, tail=tail, k=kk, thr=9, package=True))
            runs.append(dict(x=random_tokens(rng, n), scores=eq, tail=tail, k=kk, thr=10, package=True))
            runs.append(dict(x=random_tokens(rng, n), scores=rng.integers(0, SCORE_MAX + 1, n), tail=tail, k=kk,
                             thr=0, package=False))
            runs.append(dict(x=random_tokens(rng, n), scores=np.full(n, SCORE_MAX), tail=tail, k=kk,
                             thr=SCORE_MAX, package=True))
    # extreme tokens and weights: the package rdiv at its limits
    n = N_MAX
    runs.append(dict(x=np.full((n, D), -128), scores=np.full(n, SCORE_MAX), tail=0, k=0, thr=None, package=True))
    runs.append(dict(x=np.full((n, D), 127), scores=np.zeros(n, dtype=np.int64), tail=0, k=1, thr=None, package=True))
    runs.append(dict(x=rng.choice(np.array([-128, 127]), (n, D)), scores=rng.choice(np.array([0, SCORE_MAX]), n),
                     tail=min(TAIL_MAX, 1), k=n // 3, thr=None, package=True))
    return runs


async def do_run(tb: TB, run: dict, index: int, rng: np.random.Generator, check: bool = True) -> int:
    """Start one run, stream it, check it; returns the number of mismatching things (0 = bit-exact)."""
    x = np.asarray(run["x"], dtype=np.int64)
    n = x.shape[0]
    await tb.start(n, run["tail"], run["k"], run["thr"], run["package"])
    await tb.source.send(AxiStreamFrame(int8_bytes(x)))
    scores = await send_scores(tb, rng, x, run)
    frame = await tb.sink.recv()
    await tb.wait_done()
    n_out = await tb.read("N_OUT")
    n_kept = await tb.read("N_KEPT")
    status = await tb.read("STATUS")
    if not check:
        return 0
    want_x, want_src, want_kept = expected(x, scores, run["tail"], run["k"], run["thr"], run["package"])
    got = int8_values(frame)
    user = per_beat(frame.tuser, len(frame.tdata))
    bad = 0
    desc = (f"run {index}: n {n} tail {run['tail']} k {run['k']} thr {run['thr']} package {run['package']}")
    if got.size != want_x.size:
        tb.log.error("%s: %d output tokens (%d bytes), golden %d", desc, got.size / D, got.size, want_x.shape[0])
        return 1
    got = got.reshape(-1, D)
    src = np.array(user[::D], dtype=np.int64)
    if not np.array_equal(np.array(user).reshape(-1, D), np.repeat(src[:, None], D, axis=1)):
        tb.log.error("%s: tuser not constant over a token", desc)
        bad += 1
    rows = np.flatnonzero(np.any(got != want_x, axis=1))
    if rows.size:
        tb.log.error("%s: output tokens %s differ (first: rtl %s golden %s)", desc, rows[:8].tolist(),
                     got[rows[0], :8].tolist(), want_x[rows[0], :8].tolist())
        bad += rows.size
    if not np.array_equal(src, want_src):
        tb.log.error("%s: sources rtl %s golden %s", desc, src.tolist(), want_src.tolist())
        bad += 1
    if n_out != want_x.shape[0] or n_kept != want_kept or status != 0:
        tb.log.error("%s: N_OUT %d (golden %d), N_KEPT %d (golden %d), STATUS %d", desc, n_out, want_x.shape[0],
                     n_kept, want_kept, status)
        bad += 1
    return bad


@cocotb.test()
@cocotb.parametrize(**STALL_VARIANTS)
async def run_test(dut, idle: bool, backpressure: bool):
    tb = TB(dut)
    seed = variant_seed(2000, idle, backpressure)
    random.seed(seed)
    rng = await tb.begin_variant(idle, backpressure, seed)
    if SCORER == 1:
        await tb.load_selector(BUNDLE_SEED + seed)

    corners = corner_runs(rng) if not (idle or backpressure) else []
    if SCORER == 1:
        # the selector costs ~150 cycles per token: every short corner, a sixth of the long ones
        corners = [c for i, c in enumerate(corners) if c["x"].shape[0] <= 3 or i % 6 == 0]
    runs = corners + [random_run(rng) for _ in range(RUNS)]
    bad_runs = 0
    for i, run in enumerate(runs):
        bad_runs += await do_run(tb, run, i, rng) > 0
    assert tb.sink.empty(), "extra output after the last run"
    assert bad_runs == 0, f"{bad_runs} of {len(runs)} runs differ from golden prune_stage"
    tb.log.info("%d runs bit-exact", len(runs))


@cocotb.test()
async def test_reset_mid_stream(dut):
    """Reset in the middle of a run (input half in, and again with the output half out): the next run is exact."""
    tb = TB(dut)
    random.seed(77)
    rng = await tb.begin(77)
    if SCORER == 1:
        await tb.load_selector(BUNDLE_SEED)
    for phase in ("input", "output"):
        n = N_MAX
        x = random_tokens(rng, n)
        await tb.start(n, 0, n // 2, None, True)
        if phase == "input":
            await tb.source.send(AxiStreamFrame(int8_bytes(x[: n // 2])))  # tlast early: the run waits for more
            await ClockCycles(dut.clk, n * D // LANES)
        else:
            tb.sink.pause = True
            await tb.source.send(AxiStreamFrame(int8_bytes(x)))
            await send_scores(tb, rng, x, dict(scores=random_scores(rng, n)))
            await ClockCycles(dut.clk, 6 * n * D // LANES + (20000 if SCORER == 1 else 400))
            assert dut.m_axis_tvalid.value == 1, "no output under backpressure"
        await tb.reset_mid_stream("m_axis_tvalid")
        ctrl = await tb.read("CTRL")
        assert ctrl & pr.AP_IDLE and not ctrl & (pr.AP_START | pr.AP_DONE), f"CTRL {ctrl:#x} after reset"
        if SCORER == 1:
            await tb.load_selector(BUNDLE_SEED)  # reset forgets the loader position, not the memories: reload
        for i in range(3):
            bad = await do_run(tb, random_run(rng), i, rng)
            assert bad == 0, f"after a reset in the {phase} phase: run {i} differs from golden prune_stage"


@cocotb.test()
async def test_control(dut):
    """Registers out of range, misplaced tlast, interrupts, auto_restart and the register read-back."""
    tb = TB(dut)
    random.seed(99)
    rng = await tb.begin(99)
    if SCORER == 1:
        await tb.load_selector(BUNDLE_SEED)
    await tb.write("GIE", 1)
    await tb.write("IER", 3)
    # read-back of the parameter registers
    for name in ("N", "TAIL", "K", "THR_MODE", "THRESHOLD", "PACKAGE"):
        v = random.getrandbits(32)
        await tb.write(name, v)
        assert await tb.read(name) == v, f"{name} read-back"
    # out-of-range registers: done at once, nothing consumed
    for n, tail in ((0, 0), (N_MAX + 1, 0), (3, TAIL_MAX + 1)):
        await tb.start(n, tail, 1, None, True)
        await tb.wait_done()
        assert await tb.read("STATUS") == pr.STATUS_BAD_REGS
        assert await tb.read("N_OUT") == 0
        assert dut.irq.value == 1, "ap_done interrupt"
        isr = await tb.read("ISR")
        assert isr == 3, f"ISR {isr}"
        await tb.write("ISR", 3)  # toggle both off
        assert await tb.read("ISR") == 0 and dut.irq.value == 0
    assert await tb.read("CTRL") & (pr.AP_DONE | pr.AP_READY) == 0, "ap_done / ap_ready clear on read"
    # misplaced tlast on the token stream (and on the score stream): flagged, the run is still exact
    n = 5
    x = random_tokens(rng, n)
    await tb.start(n, 0, 2, None, True)
    for token in x:  # one frame per token: tlast on every token (the core frames the image by N)
        await tb.source.send(AxiStreamFrame(int8_bytes(token)))
    if SCORER == 1:
        scores = golden_selector_scores(tb, x)
    elif SCORER == 0:
        scores = random_scores(rng, n)
        await tb.score_source.send(AxiStreamFrame([int(s) for s in scores[:2]]))
        await tb.score_source.send(AxiStreamFrame([int(s) for s in scores[2:]]))
    elif SCORER == 2:
        scores = await send_scores(tb, rng, x, {})
    frame = await tb.sink.recv()
    await tb.wait_done()
    want_x, _, _ = expected(x, scores, 0, 2, None, True)
    got = int8_values(frame).reshape(-1, D)
    assert np.array_equal(got, want_x), "run with misplaced tlast differs from golden"
    want_status = pr.STATUS_TOKEN_TLAST | (pr.STATUS_SCORE_TLAST if SCORER == 0 else 0)
    assert await tb.read("STATUS") == want_status
    # auto_restart: two runs from one start
    await tb.write("ISR", await tb.read("ISR"))
    r0 = random_run(rng)
    r0["x"], r0["scores"] = r0["x"][:4], r0["scores"][:4]
    n = r0["x"].shape[0]
    r0["tail"] = min(r0["tail"], n - 1)
    for name, value in (("N", n), ("TAIL", r0["tail"]), ("K", r0["k"]), ("THR_MODE", int(r0["thr"] is not None)),
                        ("THRESHOLD", r0["thr"] or 0), ("PACKAGE", int(r0["package"]))):
        await tb.write(name, value)
    await tb.write("CTRL", pr.AP_START | pr.AUTO_RESTART)
    for _ in range(2):
        x = r0["x"]
        await tb.source.send(AxiStreamFrame(int8_bytes(x)))
        s = await send_scores(tb, rng, x, r0)
        frame = await tb.sink.recv()
        want_x, want_src, _ = expected(x, s, r0["tail"], r0["k"], r0["thr"], r0["package"])
        got = int8_values(frame).reshape(-1, D)
        assert np.array_equal(got, want_x), "auto-restarted run differs from golden"
    await tb.write("CTRL", 0)  # auto_restart off: the run in flight is the last
    assert await tb.read("CTRL") & pr.AUTO_RESTART == 0
    await tb.source.send(AxiStreamFrame(int8_bytes(r0["x"])))
    await send_scores(tb, rng, r0["x"], r0)
    await tb.sink.recv()
    await tb.wait_done()
    await ClockCycles(dut.clk, 50)
    assert await tb.read("CTRL") & pr.AP_IDLE, "still running after auto_restart was cleared"
