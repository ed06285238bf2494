"""cocotb testbench for hw/rtl/requantize.sv: every output beat checked against the golden requantize.

Run through cocotb's runner from tests/test_rtl_requantize.py (which builds with Verilator and passes the build's
parameters here through SPVIT_TB_* environment variables). Each test streams frames, FRAMES_PER_SHIFT per shift value
in [SHIFT_MIN, SHIFT_MAX] plus RANDOM_FRAMES with random shifts, with random idle cycles on the source and random
backpressure on the sink; frame boundaries (tlast) must come back unchanged.
"""
from __future__ import annotations

import cocotb
import numpy as np
from cocotb.triggers import ClockCycles
from cocotbext.axi import AxiStreamFrame

from common import STALL_VARIANTS, Testbench, beat_values, count_mismatches, setting, variant_seed
from spvit.sim.golden.arith import requantize

ACC_WIDTH = setting("ACC_WIDTH", 32)
OUT_WIDTH = setting("OUT_WIDTH", 8)
SHIFT_WIDTH = setting("SHIFT_WIDTH", 6)
SHIFT_MIN = setting("SHIFT_MIN", -8)
SHIFT_MAX = setting("SHIFT_MAX", 31)
FRAMES_PER_SHIFT = setting("FRAMES_PER_SHIFT", 3)
RANDOM_FRAMES = setting("RANDOM_FRAMES", 64)
ACC_MIN, ACC_MAX = -(1 << (ACC_WIDTH - 1)), (1 << (ACC_WIDTH - 1)) - 1


class TB(Testbench):
    def __init__(self, dut):
        super().__init__(dut)
        # One accumulator per beat: a single 32-bit lane (no tkeep on this interface).
        self.source = self.add_source()
        self.sink = self.add_sink()
        dut.shift.value = 0

    def set_shift(self, shift: int):
        # Two's complement on the SHIFT_WIDTH-bit port.
        self.dut.shift.value = shift & ((1 << SHIFT_WIDTH) - 1)


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


@cocotb.test()
@cocotb.parametrize(**STALL_VARIANTS)
async def run_test(dut, idle: bool, backpressure: bool):
    tb = TB(dut)
    seed = variant_seed(1000, idle, backpressure)
    rng = await tb.begin_variant(idle, backpressure, seed)

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
        got = beat_values(await tb.sink.recv(), OUT_WIDTH)
        want = requantize(acc, shift, bits=OUT_WIDTH, signed=True)
        assert len(got) == len(acc), \
            f"frame {index} (shift {shift}): {len(got)} beats out, {len(acc)} in (tlast misplaced?)"
        mismatches += count_mismatches(got, want, lambda i: tb.log.error(
            "frame %d shift %d beat %d: acc %d -> rtl %d, golden %d", index, shift, i, acc[i], got[i], want[i]))
        beats += len(acc)

    assert tb.sink.empty(), "extra output beats after the last frame"
    assert mismatches == 0, f"{mismatches} of {beats} beats differ from golden requantize"
    tb.log.info("%d frames, %d beats, shifts [%d, %d]: bit-exact", len(sent), beats, SHIFT_MIN, SHIFT_MAX)
    await ClockCycles(dut.clk, 4)


@cocotb.test()
async def test_reset_drops_output(dut):
    """A beat held under backpressure is dropped by reset: m_axis_tvalid falls and the next beat goes through."""
    tb = TB(dut)
    await tb.reset()
    tb.sink.pause = True
    tb.set_shift(0)
    await tb.source.send(AxiStreamFrame([5]))
    await tb.source.wait()
    await ClockCycles(dut.clk, 1)
    assert dut.m_axis_tvalid.value == 1
    await tb.reset_mid_stream("m_axis_tvalid")
    await tb.source.send(AxiStreamFrame([-3]))
    assert beat_values(await tb.sink.recv(), OUT_WIDTH).tolist() == [-3]
    await ClockCycles(dut.clk, 2)
