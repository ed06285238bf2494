"""cocotb testbench for hw/rtl/token_pack.sv: every output token checked against the golden model (§10, §11.3).

Run from tests/test_rtl_token_pack.py, which builds with Verilator and passes the build's parameters here through
SPVIT_TB_* environment variables. A frame is n int8 tokens of D channels (BEATS = D / PARALLEL beats each) with
each token's {keep, score} on tuser, and a package_en value. Two kinds of frames:
  - stage frames: keep comes from the golden topk_select (run-time k, threshold, protected tail of earlier package
    tokens) and the expected output is spvit.sim.golden.model.prune_stage itself (tokens and ids: the RTL's source
    index is the id of a kept token, its package marker the package id);
  - mask frames: arbitrary keep masks (the class token always stays) against golden token_pack plus the gather.
Corner frames (nothing pruned, everything pruned, n = 1, 2 and N_MAX, extreme values and scores, rounding ties of the
weighted mean) come first, then SPVIT_TB_FRAMES random frames, under random source idles and sink backpressure.
package_en is scrambled once a frame's first beat has been accepted: the DUT must have sampled it there.
"""
from __future__ import annotations

import logging
import os
import random
import warnings
from types import SimpleNamespace

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.handle import Immediate
from cocotb.triggers import RisingEdge
from cocotbext.axi import AxiStreamBus, AxiStreamFrame, AxiStreamSink, AxiStreamSource

from spvit.sim.golden.model import PACKAGE_ID, Trace, prune_stage
from spvit.sim.golden.token_pack import token_pack
from spvit.sim.golden.topk_select import candidates, topk_select

# cocotbext-axi 0.1.28 still calls cocotb 1.x APIs that cocotb 2.1 deprecates (setimmediatevalue, task.kill, ...);
# they work. Hide those warnings only, attributed to cocotbext.axi: everything else still shows.
warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"cocotbext\.axi")

N_MAX = int(os.environ.get("SPVIT_TB_N_MAX", "256"))
D = int(os.environ.get("SPVIT_TB_D", "192"))
PARALLEL = int(os.environ.get("SPVIT_TB_PARALLEL", "8"))
SCORE_WIDTH = int(os.environ.get("SPVIT_TB_SCORE_WIDTH", "16"))
FRAMES = int(os.environ.get("SPVIT_TB_FRAMES", "50"))
# golden-model override for the must-fail check: weights score + 1 + GOLDEN_W_EXTRA (the contract: 0)
GOLDEN_W_EXTRA = int(os.environ.get("SPVIT_TB_GOLDEN_W_EXTRA", "0"))

BEATS = D // PARALLEL
IDX_WIDTH = max(1, (N_MAX - 1).bit_length())
SCORE_MAX = (1 << SCORE_WIDTH) - 1
TAIL_MAX = 2  # package tokens of earlier stages in the stage frames


class TB:
    def __init__(self, dut):
        self.dut = dut
        self.log = logging.getLogger("cocotb.tb")
        self.log.setLevel(logging.INFO)
        Clock(dut.clk, 10, unit="ns").start()
        # One beat per list element: PARALLEL int8 lanes packed into one integer (no tkeep on this interface).
        self.source = AxiStreamSource(AxiStreamBus.from_prefix(dut, "s_axis"), dut.clk, dut.rst, byte_lanes=1)
        self.sink = AxiStreamSink(AxiStreamBus.from_prefix(dut, "m_axis"), dut.clk, dut.rst, byte_lanes=1)
        dut.package_en.value = 1
        self.scramble = random.Random(9)
        self.in_beat = 0
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

    async def _scramble_config(self):
        """Once the first beat of a frame (not also its last) is accepted, drive garbage on package_en."""
        dut = self.dut
        while True:
            await RisingEdge(dut.clk)
            if dut.rst.value == 1 or not (dut.s_axis_tvalid.value == 1 and dut.s_axis_tready.value == 1):
                continue
            last = dut.s_axis_tlast.value == 1
            if self.in_beat == 0 and not last:
                dut.package_en.value = self.scramble.randrange(2)
            self.in_beat = 0 if last else self.in_beat + 1

    async def send(self, frame: "Frame"):
        # package_en is sampled with a frame's first beat: change it only once the previous frame has gone in.
        await self.source.wait()
        self.dut.package_en.value = int(frame.package)
        await self.source.send(AxiStreamFrame(frame.beats(), tuser=frame.user()))


class Frame:
    """One input frame and its expected output tokens (int8 [m, D]) and tuser values."""

    def __init__(self, x, scores, keep, package: bool, want_x, want_src, label: str):
        self.x, self.scores, self.keep, self.package = x, scores, keep, package
        self.want_x, self.want_src, self.label = want_x, want_src, label

    def beats(self) -> list[int]:
        out = []
        for tok in self.x:
            for b in range(BEATS):
                lanes = tok[b * PARALLEL:(b + 1) * PARALLEL]
                out.append(sum((int(v) & 0xFF) << (8 * l) for l, v in enumerate(lanes)))
        return out

    def user(self) -> list[int]:
        return [(int(k) << SCORE_WIDTH) | int(s) for k, s in zip(self.keep, self.scores) for _ in range(BEATS)]

    def want_user(self) -> list[int]:
        # {package, source}; the package token's source field is 0
        return [(1 << IDX_WIDTH) if s is None else s for s in self.want_src for _ in range(BEATS)]


def random_pause(probability: float, seed: int):
    def generator():
        rng = random.Random(seed)
        while True:
            yield rng.random() < probability
    return generator


def golden_pack(x, scores, pruned):
    """§10 token_pack (with the must-fail weight override)."""
    s = np.asarray(scores, dtype=np.int64) + GOLDEN_W_EXTRA
    return token_pack(x[None], s[None], pruned[None])[0]


def mask_frame(x, scores, keep, package: bool, label: str) -> Frame:
    """Expected output from golden token_pack and the §11.3 gather: staying tokens in order, then the package."""
    keep = np.asarray(keep, dtype=bool)
    src = [int(j) for j in np.flatnonzero(keep)]
    want = [x[j] for j in src]
    if package:
        want.append(golden_pack(x, scores, ~keep))
        src.append(None)
    return Frame(x, scores, keep, package, np.array(want, dtype=np.int64).reshape(-1, D), src, label)


def stage_frame(x, scores, s: int, k: int, threshold, package: bool, label: str) -> Frame:
    """keep from golden topk_select; expected output from golden prune_stage (stage s: s earlier package tokens)."""
    n = len(x)
    tail = s if package else 0
    keep = ~candidates(np.array([n]), tail, n)[0] | topk_select(scores[None], np.array([n]), tail, np.array([k]),
                                                               threshold)[0]
    prune = SimpleNamespace(select="topk" if threshold is None else "threshold", package=package)
    bundle = SimpleNamespace(config=SimpleNamespace(prune=prune))
    ids = np.arange(n)[None]
    out_x, out_ids, n_out = prune_stage(bundle, s, x[None], ids, np.array([n]), scores[None] + GOLDEN_W_EXTRA, k,
                                        threshold)
    m = int(n_out[0])
    src = [None if i == PACKAGE_ID - s else int(i) for i in out_ids[0, :m]]
    assert Trace.PAD_ID not in out_ids[0, :m]
    return Frame(x, scores, keep, package, out_x[0, :m], src, label)


def tokens(rng: np.random.Generator, n: int) -> np.ndarray:
    kind = rng.integers(0, 4)
    if kind == 0:
        return rng.integers(-128, 128, (n, D))
    if kind == 1:  # the extremes
        return rng.choice(np.array([-128, 127, 0, -1, 1]), (n, D))
    if kind == 2:  # a narrow range: weighted means close to .5 ties
        return rng.integers(-2, 2, (n, D))
    return np.full((n, D), rng.choice([-128, 127]))


def score_list(rng: np.random.Generator, n: int) -> np.ndarray:
    kind = rng.integers(0, 6)
    if kind == 0:
        return rng.integers(0, SCORE_MAX + 1, n)
    if kind == 1:
        return rng.choice(rng.integers(0, SCORE_MAX + 1, 3), n)
    if kind == 2:
        return rng.choice(np.array([0, 1, SCORE_MAX - 1, SCORE_MAX]), n)
    if kind == 3:  # small weights: the +1 matters most
        return rng.integers(0, 4, n)
    if kind == 4:
        return rng.choice(np.array([0, 1, 2, 100, 1000]), n)
    return np.full(n, rng.choice([0, SCORE_MAX]))


def random_frame(rng: np.random.Generator) -> Frame:
    n = int(rng.choice([rng.integers(1, N_MAX + 1), N_MAX, rng.integers(1, min(N_MAX, 5) + 1)]))
    x, scores = tokens(rng, n), score_list(rng, n)
    package = bool(rng.random() < 0.75)
    if rng.random() < 0.6:
        s = int(rng.integers(0, TAIL_MAX + 1))
        cand = max(n - 1 - (s if package else 0), 0)
        k = int(rng.integers(0, cand + 2))
        thr = None
        if rng.random() < 0.4:
            thr = int(rng.choice([rng.integers(0, SCORE_MAX + 1), rng.choice(scores), 0, SCORE_MAX]))
        return stage_frame(x, scores, s, k, thr, package, f"stage s={s} k={k} thr={thr}")
    p = rng.random()
    keep = rng.random(n) < p
    keep[0] = True
    return mask_frame(x, scores, keep, package, f"mask p={p:.2f}")


def corner_frames(rng: np.random.Generator) -> list[Frame]:
    frames = []
    for n in sorted({1, 2, 3, N_MAX}):
        if n > N_MAX:
            continue
        for package in (True, False):
            x, scores = rng.integers(-128, 128, (n, D)), rng.integers(0, SCORE_MAX + 1, n)
            everything = np.zeros(n, dtype=bool)
            everything[0] = True
            frames.append(mask_frame(x, scores, np.ones(n, dtype=bool), package, "nothing pruned"))
            frames.append(mask_frame(x, scores, everything, package, "everything pruned"))
            # extremes: all -128 / all 127 at the largest weights (the numerator's extremes)
            for v in (-128, 127):
                frames.append(mask_frame(np.full((n, D), v), np.full(n, SCORE_MAX), everything, package, f"all {v}"))
            frames.append(mask_frame(x, np.zeros(n, dtype=np.int64), everything, package, "zero scores: plain mean"))
            frames.append(mask_frame(x, np.arange(n) % 3, everything, package, "small scores"))
            for s in range(0, min(TAIL_MAX, n) + 1):
                cand = max(n - 1 - (s if package else 0), 0)
                for k in sorted({0, 1, cand, cand + 1}):
                    frames.append(stage_frame(x, scores, s, k, None, package, f"stage s={s} k={k}"))
                frames.append(stage_frame(x, scores, s, cand, 0, package, f"stage s={s} thr=0"))
                frames.append(stage_frame(x, scores, s, cand, SCORE_MAX, package, f"stage s={s} thr=max"))
    if N_MAX >= 3:
        # rounding ties of the mean: equal weights, half-way values of both signs (0.5 -> 1, -0.5 -> 0, -1.5 -> -1)
        for pair in ((0, 1), (-1, 0), (-2, -1), (126, 127), (-128, -127)):
            x = np.zeros((3, D), dtype=np.int64)
            x[1], x[2] = pair
            frames.append(mask_frame(x, np.array([5, 9, 9]), np.array([True, False, False]), True, f"tie {pair}"))
    return frames


def per_beat(side, beats: int) -> list[int]:
    """A received side-band signal, one value per beat (the sink folds a frame's identical values into one)."""
    return [int(v) for v in side] if isinstance(side, (list, tuple)) else [int(side)] * beats


def unpack(beats: list[int]) -> np.ndarray:
    lanes = [[((v >> (8 * l)) & 0xFF) for l in range(PARALLEL)] for v in beats]
    a = np.array(lanes, dtype=np.int64).reshape(-1)
    a = np.where(a >= 128, a - 256, a)
    return a.reshape(-1, D) if a.size % D == 0 else a


async def check_frames(tb: TB, frames: list[Frame]) -> int:
    """Receive one output frame per input frame and compare every beat; returns the number of mismatching frames."""
    bad = 0
    for index, f in enumerate(frames):
        got = await tb.sink.recv()
        got_data = [int(v) for v in got.tdata]
        got_user = per_beat(got.tuser, len(got_data))
        got_x = unpack(got_data)
        ok = got_x.shape == f.want_x.shape and np.array_equal(got_x, f.want_x) and got_user == f.want_user()
        if not ok:
            bad += 1
            if bad <= 5:
                tb.log.error("frame %d (%s) n=%d package=%d keep=%s scores=%s\n  rtl    user=%s tokens=%s\n"
                             "  golden user=%s tokens=%s", index, f.label, len(f.x), f.package,
                             f.keep.astype(int).tolist(), f.scores.tolist(), got_user, got_x.tolist(),
                             f.want_user(), f.want_x.tolist())
    return bad


@cocotb.test()
@cocotb.parametrize(idle=[False, True], backpressure=[False, True])
async def run_test(dut, idle: bool, backpressure: bool):
    tb = TB(dut)
    seed = 3000 + 2 * idle + backpressure
    rng = np.random.default_rng(seed)
    tb.set_idle_generator(random_pause(0.3, seed) if idle else None)
    tb.set_backpressure_generator(random_pause(0.5, seed + 7) if backpressure else None)
    await tb.reset()

    frames = corner_frames(rng) + [random_frame(rng) for _ in range(FRAMES)]
    checker = cocotb.start_soon(check_frames(tb, frames))
    for f in frames:
        await tb.send(f)
    bad = await checker
    assert tb.sink.empty(), "extra output beats after the last frame"
    assert bad == 0, f"{bad} of {len(frames)} frames differ from golden token_pack / prune_stage"
    tb.log.info("%d frames, %d tokens in, %d tokens out: bit-exact", len(frames), sum(len(f.x) for f in frames),
                sum(len(f.want_x) for f in frames))
    for _ in range(4):
        await RisingEdge(dut.clk)


@cocotb.test()
async def test_reset_mid_stream(dut):
    """Reset in the middle of a frame's input, then in the middle of the package divisions, then with the output
    stalled by backpressure: the partial frames vanish and the next frames are exact."""
    tb = TB(dut)
    rng = np.random.default_rng(78)
    await tb.reset()
    n = N_MAX
    for where in ("input", "divide", "output"):
        x, scores = tokens(rng, n), rng.integers(0, SCORE_MAX + 1, n)
        keep = np.zeros(n, dtype=bool)
        keep[0] = True
        f = mask_frame(x, scores, keep, True, "cut")
        tb.sink.pause = where == "output"
        await tb.send(f)
        if where == "input":
            for _ in range(n * BEATS // 2):
                await RisingEdge(dut.clk)
        elif where == "divide":
            await tb.source.wait()
            for _ in range(4):
                await RisingEdge(dut.clk)
        else:
            # the sink never takes a beat: the class token's beats fill the output and hold registers, the input
            # stalls (BEATS > 2) or the package token waits
            for _ in range(n * BEATS + 12 * D + 50):
                await RisingEdge(dut.clk)
            assert dut.m_axis_tvalid.value == 1
        await tb.reset()
        assert dut.m_axis_tvalid.value == 0
        tb.source.clear()
        tb.sink.clear()
        tb.sink.pause = False
        frames = [random_frame(rng) for _ in range(4)]
        checker = cocotb.start_soon(check_frames(tb, frames))
        for fr in frames:
            await tb.send(fr)
        bad = await checker
        assert bad == 0, f"{bad} of {len(frames)} frames after reset differ from golden token_pack / prune_stage"
        assert tb.sink.empty()
    for _ in range(2):
        await RisingEdge(dut.clk)
