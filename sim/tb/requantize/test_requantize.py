"""cocotb testbench for hw/rtl/requantize.sv: every output beat checked against the golden requantize.

Run through cocotb's runner from tests/test_rtl_requantize.py (which builds with Verilator and passes the build's
parameters here through SPVIT_TB_* environment variables). Each test streams frames, FRAMES_PER_SHIFT per shift value
in [SHIFT_MIN, SHIFT_MAX] plus RANDOM_FRAMES with random shifts, with random idle cycles on the source and random
backpressure on the sink; frame boundaries (tlast) must come back unchanged.
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

from spvit.sim.golden.arith import requantize

# cocotbext-axi 0.1.28 still calls cocotb 1.x APIs that cocotb 2.1 deprecates (setimmediatevalue, task.kill, ...);
# they work. Hide those warnings only, attributed to cocotbext.axi: everything else still shows.
warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"cocotbext\.axi")

ACC_WIDTH = int(os.environ.get("SPVIT_TB_ACC_WIDTH", "32"))
OUT_WIDTH = int(os.environ.get("SPVIT_TB_OUT_WIDTH", "8"))
SHIFT_WIDTH = int(os.environ.get("SPVIT_TB_SHIFT_WIDTH", "6"))
SHIFT_MIN = int(os.environ.get("SPVIT_TB_SHIFT_MIN", "-8"))
SHIFT_MAX = int(os.environ.get("SPVIT_TB_SHIFT_MAX", "31"))
FRAMES_PER_SHIFT = int(os.environ.get("SPVIT_TB_FRAMES_PER_SHIFT", "3"))
RANDOM_FRAMES = int(os.environ.get("SPVIT_TB_RANDOM_FRAMES", "64"))
ACC_MIN, ACC_MAX = -(1 << (ACC_WIDTH - 1)), (1 << (ACC_WIDTH - 1)) - 1


class TB:
    def __init__(self, dut):
        self.dut = dut
        self.log = logging.getLogger("cocotb.tb")
        self.log.setLevel(logging.INFO)
        Clock(dut.clk, 10, unit="ns").start()
        # One accumulator per beat: a single 32-bit lane (no tkeep on this interface).
        self.source = AxiStreamSource(AxiStreamBus.from_prefix(dut, "s_axis"), dut.clk, dut.rst, byte_lanes=1)
        self.sink = AxiStreamSink(AxiStreamBus.from_prefix(dut, "m_axis"), dut.clk, dut.rst, byte_lanes=1)
        dut.shift.value = 0

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
        for _ in range(2):
            await RisingEdge(self.dut.clk)

    def set_shift(self, shift: int):
        # Two's complement on the SHIFT_WIDTH-bit port.
        self.dut.shift.value = shift & ((1 << SHIFT_WIDTH) - 1)


def random_pause(probability: float, seed: int):
    def generator():
        rng = random.Random(seed)
        while True:
            yield rng.random() < probability
    return generator


def accumulators(rng: np.random.Generator, shift: int, n: int) -> np.ndarray:
    """Random accumulators biased towards the interesting places for this shift.

    Full-range values (mostly saturating), values near the output range boundaries after shifting, exact ties
    (odd multiples of 2**(shift-1)) of both signs, and the int32 extremes.
    """
    out_lim = 1 << (OUT_WIDTH - 1)
    parts = [rng.integers(ACC_MIN, ACC_MAX + 1, n, dtype=np.int64)]
    if shift >= 0:
        k = rng.integers(-out_lim - 2, out_lim + 2, n, dtype=np.int64)
        parts.append((k << shift) + rng.integers(-2, 3, n))
        if shift > 0:
            parts.append(((2 * k + 1) << (shift - 1)))
    else:
        lim = (out_lim + 2) >> -shift
        parts.append(rng.integers(-lim - 1, lim + 2, n, dtype=np.int64))
    parts.append(np.array([ACC_MIN, ACC_MAX, 0, -1, 1], dtype=np.int64))
    pool = np.clip(np.concatenate(parts), ACC_MIN, ACC_MAX)
    return rng.choice(pool, size=n)


def as_signed(values, width: int) -> np.ndarray:
    v = np.asarray(values, dtype=np.int64) & ((1 << width) - 1)
    return np.where(v >= 1 << (width - 1), v - (1 << width), v)


@cocotb.test()
@cocotb.parametrize(idle=[False, True], backpressure=[False, True])
async def run_test(dut, idle: bool, backpressure: bool):
    tb = TB(dut)
    seed = 1000 + 2 * idle + backpressure
    rng = np.random.default_rng(seed)
    tb.set_idle_generator(random_pause(0.3, seed) if idle else None)
    tb.set_backpressure_generator(random_pause(0.5, seed + 7) if backpressure else None)
    await tb.reset()

    shifts = list(range(SHIFT_MIN, SHIFT_MAX + 1)) * FRAMES_PER_SHIFT
    shifts += [int(s) for s in rng.integers(SHIFT_MIN, SHIFT_MAX + 1, RANDOM_FRAMES)]
    shifts = [int(s) for s in rng.permutation(shifts)]
    sent = []
    for shift in shifts:
        acc = accumulators(rng, shift, int(rng.integers(1, 33)))
        # `shift` is sampled per accepted beat: change it only once the previous frame has been accepted.
        await tb.source.wait()
        tb.set_shift(shift)
        await tb.source.send(AxiStreamFrame([int(a) for a in acc]))
        sent.append((shift, acc))

    mismatches = 0
    beats = 0
    for index, (shift, acc) in enumerate(sent):
        frame = await tb.sink.recv()
        got = as_signed(list(frame.tdata), OUT_WIDTH)
        want = requantize(acc, shift, bits=OUT_WIDTH, signed=True)
        assert len(got) == len(acc), \
            f"frame {index} (shift {shift}): {len(got)} beats out, {len(acc)} in (tlast misplaced?)"
        bad = np.flatnonzero(got != want)
        for i in bad[:5]:
            tb.log.error("frame %d shift %d beat %d: acc %d -> rtl %d, golden %d", index, shift, i, acc[i], got[i], want[i])
        mismatches += bad.size
        beats += len(acc)

    assert tb.sink.empty(), "extra output beats after the last frame"
    assert mismatches == 0, f"{mismatches} of {beats} beats differ from golden requantize"
    tb.log.info("%d frames, %d beats, shifts [%d, %d]: bit-exact", len(sent), beats, SHIFT_MIN, SHIFT_MAX)

    for _ in range(4):
        await RisingEdge(dut.clk)


@cocotb.test()
async def test_reset_drops_output(dut):
    """A beat held under backpressure is dropped by reset: m_axis_tvalid falls and the next beat goes through."""
    tb = TB(dut)
    await tb.reset()
    tb.sink.pause = True
    tb.set_shift(0)
    await tb.source.send(AxiStreamFrame([5]))
    await tb.source.wait()
    await RisingEdge(dut.clk)
    assert dut.m_axis_tvalid.value == 1
    await tb.reset()
    assert dut.m_axis_tvalid.value == 0
    tb.sink.clear()
    tb.sink.pause = False
    await tb.source.send(AxiStreamFrame([-3]))
    frame = await tb.sink.recv()
    assert as_signed(list(frame.tdata), OUT_WIDTH).tolist() == [-3]
    for _ in range(2):
        await RisingEdge(dut.clk)
