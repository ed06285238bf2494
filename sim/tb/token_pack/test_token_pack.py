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

import random
from types import SimpleNamespace

import cocotb
import numpy as np
from cocotb.triggers import ClockCycles
from cocotbext.axi import AxiStreamFrame

from common import (STALL_VARIANTS, Testbench, lane_words, on_first_beats, per_beat, setting, stream_through,
                    variant_seed, word_lanes)
from spvit.sim.golden.model import PACKAGE_ID, Trace, prune_stage
from spvit.sim.golden.token_pack import token_pack
from spvit.sim.golden.topk_select import candidates, topk_select

N_MAX = setting("N_MAX", 256)
IDX_WIDTH = max(1, (N_MAX - 1).bit_length())
D = setting("D", 192)
PARALLEL = setting("PARALLEL", 8)
BEATS = D // PARALLEL
SCORE_WIDTH = setting("SCORE_WIDTH", 16)
SCORE_MAX = (1 << SCORE_WIDTH) - 1
TAIL_MAX = 2  # package tokens of earlier stages in the stage frames
FRAMES = setting("FRAMES", 50)
# golden-model override for the must-fail check: weights score + 1 + GOLDEN_W_EXTRA (the contract: 0)
GOLDEN_W_EXTRA = setting("GOLDEN_W_EXTRA", 0)


class TB(Testbench):
    def __init__(self, dut):
        super().__init__(dut)
        # One beat per list element: PARALLEL int8 lanes packed into one integer (no tkeep on this interface).
        self.source = self.add_source()
        self.sink = self.add_sink()
        dut.package_en.value = 1
        scramble = random.Random(9)
        cocotb.start_soon(on_first_beats(dut, lambda: setattr(dut.package_en, "value", scramble.randrange(2))))

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
        return lane_words(self.x, PARALLEL)

    def user(self) -> list[int]:
        return [(int(k) << SCORE_WIDTH) | int(s) for k, s in zip(self.keep, self.scores) for _ in range(BEATS)]

    def want_user(self) -> list[int]:
        # {package, source}; the package token's source field is 0
        return [(1 << IDX_WIDTH) if s is None else s for s in self.want_src for _ in range(BEATS)]


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


async def check_frames(tb: TB, frames: list[Frame]) -> int:
    """Receive one output frame per input frame and compare every beat; returns the number of mismatching frames."""
    bad = 0
    for index, f in enumerate(frames):
        got = await tb.sink.recv()
        got_data = [int(v) for v in got.tdata]
        got_user = per_beat(got.tuser, len(got_data))
        got_x = word_lanes(got_data, PARALLEL)
        if got_x.size % D == 0:
            got_x = got_x.reshape(-1, D)
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
@cocotb.parametrize(**STALL_VARIANTS)
async def run_test(dut, idle: bool, backpressure: bool):
    tb = TB(dut)
    seed = variant_seed(3000, idle, backpressure)
    rng = await tb.begin_variant(idle, backpressure, seed)

    frames = corner_frames(rng) + [random_frame(rng) for _ in range(FRAMES)]
    bad = await stream_through(frames, tb.send, lambda fs: check_frames(tb, fs))
    assert tb.sink.empty(), "extra output beats after the last frame"
    assert bad == 0, f"{bad} of {len(frames)} frames differ from golden token_pack / prune_stage"
    tb.log.info("%d frames, %d tokens in, %d tokens out: bit-exact", len(frames), sum(len(f.x) for f in frames),
                sum(len(f.want_x) for f in frames))
    await ClockCycles(dut.clk, 4)


@cocotb.test()
async def test_reset_mid_stream(dut):
    """Reset in the middle of a frame's input, then in the middle of the package divisions, then with the output
    stalled by backpressure: the partial frames vanish and the next frames are exact."""
    tb = TB(dut)
    rng = await tb.begin(78)
    n = N_MAX
    for where in ("input", "divide", "output"):
        x, scores = tokens(rng, n), rng.integers(0, SCORE_MAX + 1, n)
        keep = np.zeros(n, dtype=bool)
        keep[0] = True
        tb.sink.pause = where == "output"
        await tb.send(mask_frame(x, scores, keep, True, "cut"))
        if where == "input":
            await ClockCycles(dut.clk, n * BEATS // 2)
        elif where == "divide":
            await tb.source.wait()
            await ClockCycles(dut.clk, 4)
        else:
            # the sink never takes a beat: the class token's beats fill the output and hold registers, the input
            # stalls (BEATS > 2) or the package token waits
            await ClockCycles(dut.clk, n * BEATS + 12 * D + 50)
            assert dut.m_axis_tvalid.value == 1
        await tb.reset_mid_stream("m_axis_tvalid")
        frames = [random_frame(rng) for _ in range(4)]
        bad = await stream_through(frames, tb.send, lambda fs: check_frames(tb, fs))
        assert bad == 0, f"{bad} of {len(frames)} frames after reset differ from golden token_pack / prune_stage"
        assert tb.sink.empty()
    await ClockCycles(dut.clk, 2)
