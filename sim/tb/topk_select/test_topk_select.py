"""cocotb testbench for hw/rtl/topk_select.sv: every output beat checked against the golden topk_select (§9).

Run from tests/test_rtl_topk_select.py, which builds with Verilator and passes the build's parameters here through
SPVIT_TB_* environment variables. Each frame is n uint16 scores with its run-time registers (k, n_protected_tail,
threshold_en, threshold); the DUT answers one beat per token in original order, {keep, index} with tuser
{kept_count, candidate}, and every field of every beat is compared with spvit.sim.golden.topk_select:
keep = not a candidate, or kept by topk_select; candidate = spvit.sim.golden.topk_select.candidates;
kept_count = the number of kept candidates. Corner frames (ties, k = 0 / 1 / candidates / more, thresholds that
keep nothing or everything, protected tails 0..TAIL_MAX, n = 1, 2 and N_MAX, extreme scores) come first, then
SPVIT_TB_FRAMES random frames, under random source idles and sink backpressure. The run-time registers are
scrambled as soon as a frame's first beat has been accepted: the DUT must have sampled them there.
"""
from __future__ import annotations

import logging
import os
import random
import warnings

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.handle import Immediate
from cocotb.triggers import RisingEdge
from cocotbext.axi import AxiStreamBus, AxiStreamFrame, AxiStreamSink, AxiStreamSource

from spvit.sim.golden.topk_select import candidates, topk_select

# cocotbext-axi 0.1.28 still calls cocotb 1.x APIs that cocotb 2.1 deprecates (setimmediatevalue, task.kill, ...);
# they work. Hide those warnings only, attributed to cocotbext.axi: everything else still shows.
warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"cocotbext\.axi")

N_MAX = int(os.environ.get("SPVIT_TB_N_MAX", "256"))
K_MAX = int(os.environ.get("SPVIT_TB_K_MAX", "64"))
TAIL_MAX = int(os.environ.get("SPVIT_TB_TAIL_MAX", "4"))
SCORE_WIDTH = int(os.environ.get("SPVIT_TB_SCORE_WIDTH", "16"))
FRAMES = int(os.environ.get("SPVIT_TB_FRAMES", "100"))
# golden-model override for the must-fail check: "high" breaks ties towards the HIGHER index
GOLDEN_TIES = os.environ.get("SPVIT_TB_GOLDEN_TIES", "low")

IDX_WIDTH = max(1, (N_MAX - 1).bit_length())
CNT_WIDTH = N_MAX.bit_length()
SCORE_MAX = (1 << SCORE_WIDTH) - 1


class TB:
    def __init__(self, dut):
        self.dut = dut
        self.log = logging.getLogger("cocotb.tb")
        self.log.setLevel(logging.INFO)
        Clock(dut.clk, 10, unit="ns").start()
        self.source = AxiStreamSource(AxiStreamBus.from_prefix(dut, "s_axis"), dut.clk, dut.rst, byte_lanes=1)
        self.sink = AxiStreamSink(AxiStreamBus.from_prefix(dut, "m_axis"), dut.clk, dut.rst, byte_lanes=1)
        self.set_config(dict(k=1, tail=0, thr=None))
        self.scramble = random.Random(5)
        self.in_beat = 0  # index of the next input beat within its frame (tracked for the scrambler)
        if os.environ.get("SPVIT_TB_SCRAMBLE", "1") == "1":
            cocotb.start_soon(self._scramble_config())

    def set_idle_generator(self, generator=None):
        if generator:
            self.source.set_pause_generator(generator())

    def set_backpressure_generator(self, generator=None):
        if generator:
            self.sink.set_pause_generator(generator())

    async def reset(self):
        self.dut.rst.value = Immediate(0)
        for _ in range(2):
            await RisingEdge(self.dut.clk)
        self.dut.rst.value = 1
        for _ in range(2):
            await RisingEdge(self.dut.clk)
        self.dut.rst.value = 0
        self.in_beat = 0
        for _ in range(2):
            await RisingEdge(self.dut.clk)

    def set_config(self, cfg: dict):
        self.dut.k.value = cfg["k"]
        self.dut.n_protected_tail.value = cfg["tail"]
        self.dut.threshold_en.value = int(cfg["thr"] is not None)
        self.dut.threshold.value = 0 if cfg["thr"] is None else cfg["thr"]

    async def _scramble_config(self):
        """Once the first beat of a frame (not also its last) is accepted, drive garbage on the run-time registers."""
        dut = self.dut
        while True:
            await RisingEdge(dut.clk)
            if dut.rst.value == 1 or not (dut.s_axis_tvalid.value == 1 and dut.s_axis_tready.value == 1):
                continue
            last = dut.s_axis_tlast.value == 1
            if self.in_beat == 0 and not last:
                r = self.scramble
                dut.k.value = r.randrange(1 << CNT_WIDTH)
                dut.n_protected_tail.value = r.randrange(TAIL_MAX + 1)
                dut.threshold_en.value = r.randrange(2)
                dut.threshold.value = r.randrange(SCORE_MAX + 1)
            self.in_beat = 0 if last else self.in_beat + 1

    async def send(self, scores, cfg: dict):
        # The registers are sampled with a frame's first beat: change them only once the previous frame has gone in.
        await self.source.wait()
        self.set_config(cfg)
        await self.source.send(AxiStreamFrame([int(s) for s in scores]))


def random_pause(probability: float, seed: int):
    def generator():
        rng = random.Random(seed)
        while True:
            yield rng.random() < probability
    return generator


def n_candidates(n: int, tail: int) -> int:
    return max(n - 1 - tail, 0)


def legal_k(rng: np.random.Generator, cand: int) -> int:
    """k in [0, K_MAX], or beyond K_MAX (up to the port's maximum) when the frame has at most K_MAX candidates."""
    hi = (1 << CNT_WIDTH) - 1 if cand <= K_MAX else K_MAX
    return int(rng.choice([rng.integers(0, hi + 1), rng.integers(0, min(cand, hi) + 1), min(cand, hi)]))


def random_frame(rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    n = int(rng.choice([rng.integers(1, N_MAX + 1), N_MAX, rng.integers(1, min(N_MAX, 6) + 1)]))
    tail = int(rng.integers(0, min(TAIL_MAX, n) + 1))
    kind = rng.integers(0, 4)
    if kind == 0:  # full range
        scores = rng.integers(0, SCORE_MAX + 1, n)
    elif kind == 1:  # few distinct values: many ties
        scores = rng.choice(rng.integers(0, SCORE_MAX + 1, 3), n)
    elif kind == 2:  # small values and the extremes
        scores = rng.choice(np.array([0, 1, 2, SCORE_MAX - 1, SCORE_MAX]), n)
    else:  # all equal
        scores = np.full(n, rng.integers(0, SCORE_MAX + 1))
    cand = n_candidates(n, tail)
    thr = None
    if rng.random() < 0.4:
        pick = rng.integers(0, 4)
        if pick == 0 or n < 2:
            thr = int(rng.integers(0, SCORE_MAX + 1))
        elif pick == 1:  # a score of the frame: ties at the threshold
            thr = int(rng.choice(scores))
        elif pick == 2:
            thr = 0
        else:
            thr = SCORE_MAX
    return scores, dict(k=legal_k(rng, cand), tail=tail, thr=thr)


def corner_frames(rng: np.random.Generator) -> list[tuple[np.ndarray, dict]]:
    frames = []
    sizes = sorted({1, 2, 3, min(N_MAX, K_MAX + 2), N_MAX})
    for n in [s for s in sizes if s <= N_MAX]:
        for tail in range(0, min(TAIL_MAX, n) + 1):
            cand = n_candidates(n, tail)
            rand = rng.integers(0, SCORE_MAX + 1, n)
            equal = np.full(n, 7)
            ks = sorted({0, 1, min(cand, K_MAX), min(cand + 1, (1 << CNT_WIDTH) - 1) if cand < K_MAX else K_MAX})
            for k in ks:
                frames.append((rand, dict(k=k, tail=tail, thr=None)))
                frames.append((equal, dict(k=k, tail=tail, thr=None)))
            kk = min(cand, K_MAX)
            # threshold: everything above (nothing pruned but by k), nothing above (everything pruned), at a tie
            frames.append((rand, dict(k=kk, tail=tail, thr=0)))
            frames.append((np.full(n, SCORE_MAX - 1), dict(k=kk, tail=tail, thr=SCORE_MAX)))
            frames.append((equal, dict(k=kk, tail=tail, thr=7)))
            frames.append((equal, dict(k=kk, tail=tail, thr=8)))
            frames.append((rand, dict(k=max(kk // 2, 1), tail=tail, thr=int(np.median(rand)))))
    # descending, ascending and extreme scores: the network shifting all the way / never
    n = N_MAX
    tail = min(TAIL_MAX, 1)
    k = min(n_candidates(n, tail), K_MAX)
    frames.append((np.linspace(SCORE_MAX, 0, n).astype(np.int64), dict(k=k, tail=tail, thr=None)))
    frames.append((np.linspace(0, SCORE_MAX, n).astype(np.int64), dict(k=k, tail=tail, thr=None)))
    frames.append((np.where(np.arange(n) % 2 == 0, SCORE_MAX, 0), dict(k=k, tail=tail, thr=None)))
    return frames


def golden_beats(scores: np.ndarray, cfg: dict) -> tuple[list[int], list[int]]:
    """Expected (tdata, tuser) of every output beat."""
    n = len(scores)
    s = scores[None, :]
    if GOLDEN_TIES == "high":
        # deliberately wrong tie-break (must-fail check): rank ties towards the higher index by scoring the
        # candidates in reverse order
        c = candidates(np.array([n]), cfg["tail"], n)[0]
        idx = np.flatnonzero(c)
        rev = s.copy()
        rev[0, idx] = s[0, idx[::-1]]
        keep_rev = topk_select(rev, np.array([n]), cfg["tail"], np.array([cfg["k"]]), cfg["thr"])[0]
        keep = np.zeros(n, dtype=bool)
        keep[idx] = keep_rev[idx[::-1]]
    else:
        keep = topk_select(s, np.array([n]), cfg["tail"], np.array([cfg["k"]]), cfg["thr"])[0]
    cand = candidates(np.array([n]), cfg["tail"], n)[0]
    kept = int(keep.sum())
    data = [(int(keep[j] or not cand[j]) << IDX_WIDTH) | j for j in range(n)]
    user = [(kept << 1) | int(cand[j]) for j in range(n)]
    return data, user


def per_beat(side, beats: int) -> list[int]:
    """A received side-band signal, one value per beat (the sink folds a frame's identical values into one)."""
    return [int(v) for v in side] if isinstance(side, (list, tuple)) else [int(side)] * beats


async def check_frames(tb: TB, frames) -> int:
    """Receive one output frame per input frame and compare every beat; returns the number of mismatching frames."""
    bad = 0
    for index, (scores, cfg) in enumerate(frames):
        got = await tb.sink.recv()
        want_data, want_user = golden_beats(scores, cfg)
        got_data, got_user = [int(v) for v in got.tdata], per_beat(got.tuser, len(got.tdata))
        if got_data != want_data or got_user != want_user:
            bad += 1
            if bad <= 5:
                tb.log.error("frame %d n=%d cfg=%s scores=%s\n  rtl    data=%s user=%s\n  golden data=%s user=%s",
                             index, len(scores), cfg, list(scores), got_data, got_user, want_data, want_user)
    return bad


@cocotb.test()
@cocotb.parametrize(idle=[False, True], backpressure=[False, True])
async def run_test(dut, idle: bool, backpressure: bool):
    tb = TB(dut)
    seed = 2000 + 2 * idle + backpressure
    rng = np.random.default_rng(seed)
    tb.set_idle_generator(random_pause(0.3, seed) if idle else None)
    tb.set_backpressure_generator(random_pause(0.5, seed + 7) if backpressure else None)
    await tb.reset()

    frames = corner_frames(rng) + [random_frame(rng) for _ in range(FRAMES)]
    checker = cocotb.start_soon(check_frames(tb, frames))
    for scores, cfg in frames:
        await tb.send(scores, cfg)
    bad = await checker
    tokens = sum(len(s) for s, _ in frames)
    assert tb.sink.empty(), "extra output beats after the last frame"
    assert bad == 0, f"{bad} of {len(frames)} frames differ from golden topk_select"
    tb.log.info("%d frames, %d tokens: bit-exact", len(frames), tokens)
    for _ in range(4):
        await RisingEdge(dut.clk)


@cocotb.test()
async def test_reset_mid_stream(dut):
    """Reset in the middle of a frame's input, and again in the middle of a frame's output under backpressure:
    the partial frames vanish and the next frames are exact."""
    tb = TB(dut)
    rng = np.random.default_rng(77)
    await tb.reset()
    n = N_MAX
    for cut_in_output in (False, True):
        scores, cfg = random_frame(rng)
        scores = rng.integers(0, SCORE_MAX + 1, n)
        cfg = dict(k=min(K_MAX, n_candidates(n, 0)), tail=0, thr=None)
        if cut_in_output:
            tb.sink.pause = True
            await tb.send(scores, cfg)
            await tb.source.wait()
            for _ in range(8):
                await RisingEdge(dut.clk)
            assert dut.m_axis_tvalid.value == 1
        else:
            await tb.send(scores, cfg)
            for _ in range(n // 2):
                await RisingEdge(dut.clk)
        await tb.reset()
        assert dut.m_axis_tvalid.value == 0
        tb.source.clear()
        tb.sink.clear()
        tb.sink.pause = False
        frames = [random_frame(rng) for _ in range(6)]
        checker = cocotb.start_soon(check_frames(tb, frames))
        for s, c in frames:
            await tb.send(s, c)
        bad = await checker
        assert bad == 0, f"{bad} of {len(frames)} frames after reset differ from golden topk_select"
        assert tb.sink.empty()
    for _ in range(2):
        await RisingEdge(dut.clk)
