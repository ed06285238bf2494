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

import json
import logging
import os
import random
import warnings

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.handle import Immediate
from cocotb.triggers import ClockCycles
from cocotbext.axi import AxiStreamBus, AxiStreamFrame, AxiStreamSink, AxiStreamSource

from spvit.sim.golden.arith import residual_add
from spvit.sim.rtl_layout import pack_lanes, unpack_lanes

warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"cocotbext\.axi")

PARALLELS = json.loads(os.environ.get("SPVIT_TB_PARALLELS", "[4]"))
FRAC_WIDTH = int(os.environ.get("SPVIT_TB_FRAC_WIDTH", "6"))
FRAMES = int(os.environ.get("SPVIT_TB_FRAMES", "100"))
# golden-model override for the must-fail check: added to f_out in the golden model only
GOLDEN_FOUT_OFFSET = int(os.environ.get("SPVIT_TB_GOLDEN_FOUT_OFFSET", "0"))
FRAC_MIN, FRAC_MAX = -8, 16  # docs/arithmetic.md §1.1
CFG_INDEX = list(range(len(PARALLELS)))


class TB:
    def __init__(self, dut, cfg: int):
        self.dut = dut
        self.parallel = PARALLELS[cfg]
        self.log = logging.getLogger("cocotb.tb")
        self.log.setLevel(logging.INFO)
        Clock(dut.clk, 10, unit="ns").start()
        # one "byte" per beat: the shared ports are as wide as the widest instance, beats are packed here
        self.source_x = AxiStreamSource(AxiStreamBus.from_prefix(dut, "s_axis_x"), dut.clk, dut.rst, byte_lanes=1)
        self.source_r = AxiStreamSource(AxiStreamBus.from_prefix(dut, "s_axis_r"), dut.clk, dut.rst, byte_lanes=1)
        self.sink = AxiStreamSink(AxiStreamBus.from_prefix(dut, "m_axis"), dut.clk, dut.rst, byte_lanes=1)
        dut.sel.value = cfg
        self.set_fracs(0, 0, 0)

    def set_pause(self, idle: bool, backpressure: bool, seed: int):
        if idle:
            self.source_x.set_pause_generator(random_pause(0.3, seed)())
            self.source_r.set_pause_generator(random_pause(0.3, seed + 1)())
        if backpressure:
            self.sink.set_pause_generator(random_pause(0.5, seed + 2)())

    async def reset(self):
        self.dut.rst.value = Immediate(0)
        await ClockCycles(self.dut.clk, 2)
        self.dut.rst.value = 1
        await ClockCycles(self.dut.clk, 2)
        self.dut.rst.value = 0
        await ClockCycles(self.dut.clk, 2)

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
        p = self.parallel
        await self.source_x.send(AxiStreamFrame([pack_lanes(b, 8) for b in x.reshape(-1, p)]))
        await self.source_r.send(AxiStreamFrame([pack_lanes(b, 8) for b in r.reshape(-1, p)]))

    async def recv(self, n: int) -> np.ndarray:
        frame = await self.sink.recv()
        assert len(frame.tdata) * self.parallel == n, \
            f"{len(frame.tdata)} beats of {self.parallel} lanes for {n} elements (tlast misplaced?)"
        return np.concatenate([unpack_lanes(w, self.parallel, 8) for w in frame.tdata])


def random_pause(probability: float, seed: int):
    def generator():
        rng = random.Random(seed)
        while True:
            yield rng.random() < probability
    return generator


def operands(rng: np.random.Generator, n: int) -> np.ndarray:
    """int8 values: uniform, extremes and small magnitudes (rounding ties at small output shifts)."""
    pool = np.concatenate([rng.integers(-128, 128, n), rng.choice([-128, 127, -127, 0, -1, 1], n),
                           rng.integers(-4, 5, n)])
    return rng.choice(pool, n).astype(np.int64)


def golden(x, fx, r, fr, f_out):
    return residual_add(x, fx, r, fr, f_out + GOLDEN_FOUT_OFFSET)


def check(tb, name, got, want) -> int:
    bad = np.flatnonzero(got != want)
    for i in bad[:5]:
        tb.log.error("P%d %s element %d: rtl %d, golden %d", tb.parallel, name, i, got[i], want[i])
    return bad.size


@cocotb.test()
@cocotb.parametrize(cfg=CFG_INDEX, idle=[False, True], backpressure=[False, True])
async def run_test(dut, cfg: int, idle: bool, backpressure: bool):
    tb = TB(dut, cfg)
    seed = 300 + 4 * cfg + 2 * idle + backpressure
    rng = np.random.default_rng(seed)
    tb.set_pause(idle, backpressure, seed)
    await tb.reset()
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
    rng = np.random.default_rng(40 + cfg)
    await tb.reset()
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
    rng = np.random.default_rng(9 + cfg)
    await tb.reset()
    tb.set_fracs(3, -2, 1)
    tb.sink.pause = True
    n = tb.parallel * 4
    await tb.send(operands(rng, n), operands(rng, n))
    await ClockCycles(dut.clk, 10)
    assert dut.m_axis_tvalid.value == 1
    await tb.reset()
    assert dut.m_axis_tvalid.value == 0
    tb.source_x.clear()
    tb.source_r.clear()
    tb.sink.clear()
    await tb.reset()
    tb.sink.pause = False
    x, r = operands(rng, n), operands(rng, n)
    await tb.send(x, r)
    got = await tb.recv(n)
    assert check(tb, "after reset", got, golden(x, 3, r, -2, 1)) == 0, "wrong outputs after reset"
    await ClockCycles(dut.clk, 4)
    assert tb.sink.empty(), "stale output beats after reset"
