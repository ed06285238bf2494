"""cocotb testbench for hw/rtl/residual_add.sv (through sim/tb/residual_add/residual_add_tb.sv: one instance per
PARALLEL): every output lane checked against the golden residual_add, docs/arithmetic.md §4.

Run from tests/test_rtl_residual_add.py, which passes the instances' PARALLEL values as $SPVIT_TB_PARALLELS (JSON
list; instance k = entry k, chosen by the `sel` port).

Tests, each once per instance
- run_test x (idle, backpressure): frames of 1..8 beats, random fracs in [-8, 16] per frame (several frames per
  frac setting stream back to back), independent random idle on the x and r sources, random backpressure.
- test_frac_sweep: every (fx, fr) pair in [-8, 16]^2 with f_out cycling through [-8, 16], extreme operands.
- test_reset_mid_stream: reset with a beat held under backpressure; the next frame must be exact.
"""
from __future__ import annotations

import cocotb
import numpy as np
from cocotb.triggers import ClockCycles
from cocotbext.axi import AxiStreamFrame

from common import (STALL_VARIANTS, Testbench, count_mismatches, json_setting, lane_words, setting, variant_seed,
                    word_lanes)
from spvit.sim.golden.arith import residual_add

PARALLELS = json_setting("PARALLELS", [4])
FRAC_WIDTH = setting("FRAC_WIDTH", 6)
FRAMES = setting("FRAMES", 100)
# golden-model override for the must-fail check: added to f_out in the golden model only
GOLDEN_FOUT_OFFSET = setting("GOLDEN_FOUT_OFFSET", 0)
FRAC_MIN, FRAC_MAX = -8, 16  # docs/arithmetic.md §1.1
CFG_INDEX = list(range(len(PARALLELS)))


class TB(Testbench):
    def __init__(self, dut, cfg: int):
        super().__init__(dut)
        self.parallel = PARALLELS[cfg]
        # one "byte" per beat: the shared ports are as wide as the widest instance, beats are packed here
        self.source_x = self.add_source("s_axis_x")
        self.source_r = self.add_source("s_axis_r")
        self.sink = self.add_sink()
        dut.sel.value = cfg
        self.set_fracs(0, 0, 0)

    def set_fracs(self, fx: int, fr: int, f_out: int):
        mask = (1 << FRAC_WIDTH) - 1
        self.dut.fx.value = fx & mask
        self.dut.fr.value = fr & mask
        self.dut.f_out.value = f_out & mask

    async def idle(self):
        """Both sources have handed over every beat (the fracs are sampled per accepted beat)."""
        await self.source_x.wait()
        await self.source_r.wait()

    async def send(self, x: np.ndarray, r: np.ndarray):
        await self.source_x.send(AxiStreamFrame(lane_words(x, self.parallel)))
        await self.source_r.send(AxiStreamFrame(lane_words(r, self.parallel)))

    async def recv(self, n: int) -> np.ndarray:
        frame = await self.sink.recv()
        assert len(frame.tdata) * self.parallel == n, \
            f"{len(frame.tdata)} beats of {self.parallel} lanes for {n} elements (tlast misplaced?)"
        return word_lanes(frame.tdata, self.parallel)


def operands(rng: np.random.Generator, n: int) -> np.ndarray:
    """int8 values: uniform, extremes and small magnitudes (rounding ties at small output shifts)."""
    pool = np.concatenate([rng.integers(-128, 128, n), rng.choice([-128, 127, -127, 0, -1, 1], n),
                           rng.integers(-4, 5, n)])
    return rng.choice(pool, n).astype(np.int64)


def golden(x, fx, r, fr, f_out):
    return residual_add(x, fx, r, fr, f_out + GOLDEN_FOUT_OFFSET)


def check(tb, name, got, want) -> int:
    return count_mismatches(got, want, lambda i: tb.log.error(
        "P%d %s element %d: rtl %d, golden %d", tb.parallel, name, i, got[i], want[i]))


@cocotb.test()
@cocotb.parametrize(cfg=CFG_INDEX, **STALL_VARIANTS)
async def run_test(dut, cfg: int, idle: bool, backpressure: bool):
    tb = TB(dut, cfg)
    seed = variant_seed(300, idle, backpressure, cfg)
    rng = await tb.begin_variant(idle, backpressure, seed)
    mismatches = elements = frames = 0
    while frames < FRAMES:
        fx, fr, f_out = (int(v) for v in rng.integers(FRAC_MIN, FRAC_MAX + 1, 3))
        await tb.idle()
        tb.set_fracs(fx, fr, f_out)
        sent = []
        for _ in range(int(rng.integers(1, 4))):
            n = tb.parallel * int(rng.integers(1, 9))
            x, r = operands(rng, n), operands(rng, n)
            await tb.send(x, r)
            sent.append((x, r))
            frames += 1
        for x, r in sent:
            got = await tb.recv(len(x))
            mismatches += check(tb, f"frame {frames} fracs ({fx}, {fr}, {f_out})", got, golden(x, fx, r, fr, f_out))
            elements += len(x)
    assert tb.sink.empty(), "extra output beats after the last frame"
    assert mismatches == 0, f"{mismatches} of {elements} outputs differ from golden residual_add"
    tb.log.info("P%d: %d frames, %d elements: bit-exact", tb.parallel, frames, elements)
    await ClockCycles(dut.clk, 4)


@cocotb.test()
@cocotb.parametrize(cfg=CFG_INDEX)
async def test_frac_sweep(dut, cfg: int):
    """Every (fx, fr) in [-8, 16]^2 (alignment shifts 0..24 on either side), f_out cycling through [-8, 16]
    (output shifts -24..24)."""
    tb = TB(dut, cfg)
    rng = await tb.begin(40 + cfg)
    mismatches = elements = 0
    n = tb.parallel * max(1, 8 // tb.parallel)
    k = 0
    for fx in range(FRAC_MIN, FRAC_MAX + 1):
        for fr in range(FRAC_MIN, FRAC_MAX + 1):
            f_out = FRAC_MIN + k % (FRAC_MAX - FRAC_MIN + 1)
            k += 7  # coprime with 25: every f_out with every fx
            x, r = operands(rng, n), operands(rng, n)
            x[:2], r[:2] = [127, -128], [127, -128]  # extreme sums
            await tb.idle()
            tb.set_fracs(fx, fr, f_out)
            await tb.send(x, r)
            got = await tb.recv(n)
            mismatches += check(tb, f"fracs ({fx}, {fr}, {f_out})", got, golden(x, fx, r, fr, f_out))
            elements += n
    assert mismatches == 0, f"{mismatches} of {elements} outputs differ from golden residual_add"
    tb.log.info("P%d frac sweep: %d elements: bit-exact", tb.parallel, elements)


@cocotb.test()
@cocotb.parametrize(cfg=CFG_INDEX)
async def test_reset_mid_stream(dut, cfg: int):
    """A beat held under backpressure is dropped by reset; the next frame goes through exactly."""
    tb = TB(dut, cfg)
    rng = await tb.begin(9 + cfg)
    tb.set_fracs(3, -2, 1)
    tb.sink.pause = True
    n = tb.parallel * 4
    await tb.send(operands(rng, n), operands(rng, n))
    await ClockCycles(dut.clk, 10)
    assert dut.m_axis_tvalid.value == 1
    await tb.reset_mid_stream("m_axis_tvalid")
    x, r = operands(rng, n), operands(rng, n)
    await tb.send(x, r)
    got = await tb.recv(n)
    assert check(tb, "after reset", got, golden(x, 3, r, -2, 1)) == 0, "wrong outputs after reset"
    await ClockCycles(dut.clk, 4)
    assert tb.sink.empty(), "stale output beats after reset"
