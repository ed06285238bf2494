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

import os
import random

import cocotb
import numpy as np
from cocotb.triggers import ClockCycles
from cocotbext.axi import AxiStreamFrame

from common import STALL_VARIANTS, Testbench, on_first_beats, per_beat, setting, stream_through, variant_seed
from spvit.sim.golden.topk_select import candidates, topk_select

N_MAX = setting("N_MAX", 256)
K_MAX = setting("K_MAX", 64)
TAIL_MAX = setting("TAIL_MAX", 4)
SCORE_WIDTH = setting("SCORE_WIDTH", 16)
FRAMES = setting("FRAMES", 100)
# golden-model override for the must-fail check: "high" breaks ties towards the HIGHER index
GOLDEN_TIES = os.environ.get("SPVIT_TB_GOLDEN_TIES", "low")

IDX_WIDTH = max(1, (N_MAX - 1).bit_length())
CNT_WIDTH = N_MAX.bit_length()
SCORE_MAX = (1 << SCORE_WIDTH) - 1


class TB(Testbench):
    def __init__(self, dut):
        super().__init__(dut)
        self.source = self.add_source()
        self.sink = self.add_sink()
        self.set_config(dict(k=1, tail=0, thr=None))
        self.scramble = random.Random(5)
        if setting("SCRAMBLE", 1) == 1:
            cocotb.start_soon(on_first_beats(dut, self._scramble_config))

    def set_config(self, cfg: dict):
        self.dut.k.value = cfg["k"]
        self.dut.n_protected_tail.value = cfg["tail"]
        self.dut.threshold_en.value = int(cfg["thr"] is not None)
        self.dut.threshold.value = 0 if cfg["thr"] is None else cfg["thr"]

    def _scramble_config(self):
        """Garbage on the run-time registers (once a frame's first beat is in)."""
        r = self.scramble
        self.dut.k.value = r.randrange(1 << CNT_WIDTH)
        self.dut.n_protected_tail.value = r.randrange(TAIL_MAX + 1)
        self.dut.threshold_en.value = r.randrange(2)
        self.dut.threshold.value = r.randrange(SCORE_MAX + 1)

    async def send(self, frame: tuple[np.ndarray, dict]):
        # The registers are sampled with a frame's first beat: change them only once the previous frame has gone in.
        scores, cfg = frame
        await self.source.wait()
        self.set_config(cfg)
        await self.source.send(AxiStreamFrame([int(s) for s in scores]))


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
@cocotb.parametrize(**STALL_VARIANTS)
async def run_test(dut, idle: bool, backpressure: bool):
    tb = TB(dut)
    seed = variant_seed(2000, idle, backpressure)
    rng = await tb.begin_variant(idle, backpressure, seed)

    frames = corner_frames(rng) + [random_frame(rng) for _ in range(FRAMES)]
    bad = await stream_through(frames, tb.send, lambda fs: check_frames(tb, fs))
    tokens = sum(len(s) for s, _ in frames)
    assert tb.sink.empty(), "extra output beats after the last frame"
    assert bad == 0, f"{bad} of {len(frames)} frames differ from golden topk_select"
    tb.log.info("%d frames, %d tokens: bit-exact", len(frames), tokens)
    await ClockCycles(dut.clk, 4)


@cocotb.test()
async def test_reset_mid_stream(dut):
    """Reset in the middle of a frame's input, and again in the middle of a frame's output under backpressure:
    the partial frames vanish and the next frames are exact."""
    tb = TB(dut)
    rng = await tb.begin(77)
    n = N_MAX
    for cut_in_output in (False, True):
        scores, cfg = random_frame(rng)
        scores = rng.integers(0, SCORE_MAX + 1, n)
        cfg = dict(k=min(K_MAX, n_candidates(n, 0)), tail=0, thr=None)
        if cut_in_output:
            tb.sink.pause = True
            await tb.send((scores, cfg))
            await tb.source.wait()
            await ClockCycles(dut.clk, 8)
            assert dut.m_axis_tvalid.value == 1
        else:
            await tb.send((scores, cfg))
            await ClockCycles(dut.clk, n // 2)
        await tb.reset_mid_stream("m_axis_tvalid")
        frames = [random_frame(rng) for _ in range(6)]
        bad = await stream_through(frames, tb.send, lambda fs: check_frames(tb, fs))
        assert bad == 0, f"{bad} of {len(frames)} frames after reset differ from golden topk_select"
        assert tb.sink.empty()
    await ClockCycles(dut.clk, 2)
