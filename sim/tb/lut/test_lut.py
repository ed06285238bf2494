"""cocotb testbench for hw/rtl/lut.sv (through sim/tb/lut/lut_tb.sv: one instance per PARALLEL): tables from the
golden spvit.sim.golden.lut.make_lut loaded through the write port, every output lane checked against the golden
lut, docs/arithmetic.md §7.

Run from tests/test_rtl_lut.py, which passes the instances' PARALLEL values as $SPVIT_TB_PARALLELS (JSON list;
instance k = entry k, chosen by the `sel` port).

Tests, each once per instance
- run_test x (idle, backpressure): GELU (int8 -> int8) and sigmoid (int8 -> uint8 at frac 8) tables for several
  (f_in, f_out), reloaded between tensors; every input byte plus random frames.
- test_table_readback: each entry of a random table, all 256 addresses in every lane position.
- test_reset_mid_stream: reset with a beat held under backpressure; the table survives, the next frame is exact.
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
from cocotb.triggers import ClockCycles, RisingEdge
from cocotbext.axi import AxiStreamBus, AxiStreamFrame, AxiStreamSink, AxiStreamSource

from spvit.sim.golden.lut import lut, make_lut
from spvit.sim.rtl_layout import pack_lanes, unpack_lanes

warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"cocotbext\.axi")

PARALLELS = json.loads(os.environ.get("SPVIT_TB_PARALLELS", "[4]"))
FRAMES = int(os.environ.get("SPVIT_TB_FRAMES", "12"))
# golden-model override for the must-fail check: the golden table is rolled by this many entries
GOLDEN_TABLE_ROLL = int(os.environ.get("SPVIT_TB_GOLDEN_TABLE_ROLL", "0"))
CFG_INDEX = list(range(len(PARALLELS)))
# (function, f_in, f_out, signed): GELU int8 -> int8; sigmoid int8 -> uint8 at frac 8 (§7)
TABLES = [("gelu", 4, 4, True), ("sigmoid", 4, 8, False), ("gelu", 6, 5, True), ("sigmoid", 2, 8, False),
          ("gelu", 0, 3, True), ("gelu", 8, 7, True)]


class TB:
    def __init__(self, dut, cfg: int):
        self.dut = dut
        self.parallel = PARALLELS[cfg]
        self.log = logging.getLogger("cocotb.tb")
        self.log.setLevel(logging.INFO)
        Clock(dut.clk, 10, unit="ns").start()
        # one "byte" per beat: the shared ports are as wide as the widest instance, beats are packed here
        self.source = AxiStreamSource(AxiStreamBus.from_prefix(dut, "s_axis"), dut.clk, dut.rst, byte_lanes=1)
        self.sink = AxiStreamSink(AxiStreamBus.from_prefix(dut, "m_axis"), dut.clk, dut.rst, byte_lanes=1)
        dut.sel.value = cfg
        dut.tbl_wr_en.value = 0

    def set_pause(self, idle: bool, backpressure: bool, seed: int):
        if idle:
            self.source.set_pause_generator(random_pause(0.3, seed)())
        if backpressure:
            self.sink.set_pause_generator(random_pause(0.5, seed + 2)())

    async def reset(self):
        self.dut.rst.value = Immediate(0)
        await ClockCycles(self.dut.clk, 2)
        self.dut.rst.value = 1
        await ClockCycles(self.dut.clk, 2)
        self.dut.rst.value = 0
        await ClockCycles(self.dut.clk, 2)

    async def load(self, table: np.ndarray):
        """256 writes, one per cycle, entry i at address i (as AXI-Lite or a DMA would)."""
        dut = self.dut
        await RisingEdge(dut.clk)
        for addr, value in enumerate(np.asarray(table, dtype=np.int64).tolist()):
            dut.tbl_wr_en.value = 1
            dut.tbl_wr_addr.value = addr
            dut.tbl_wr_data.value = value & 0xFF
            await RisingEdge(dut.clk)
        dut.tbl_wr_en.value = 0
        await RisingEdge(dut.clk)

    async def send(self, x: np.ndarray):
        await self.source.send(AxiStreamFrame([pack_lanes(b, 8) for b in x.reshape(-1, self.parallel)]))

    async def recv(self, n: int, signed: bool) -> np.ndarray:
        frame = await self.sink.recv()
        assert len(frame.tdata) * self.parallel == n, \
            f"{len(frame.tdata)} beats of {self.parallel} lanes for {n} elements (tlast misplaced?)"
        return np.concatenate([unpack_lanes(w, self.parallel, 8, signed) for w in frame.tdata])


def random_pause(probability: float, seed: int):
    def generator():
        rng = random.Random(seed)
        while True:
            yield rng.random() < probability
    return generator


def golden(x, table):
    return lut(x, np.roll(np.asarray(table, dtype=np.int64), GOLDEN_TABLE_ROLL))


def check(tb, name, x, got, want) -> int:
    bad = np.flatnonzero(got != want)
    for i in bad[:5]:
        tb.log.error("P%d %s element %d (x %d): rtl %d, golden %d", tb.parallel, name, i, x[i], got[i], want[i])
    return bad.size


def all_bytes(rng: np.random.Generator, parallel: int) -> np.ndarray:
    """Every int8 value once (shuffled), padded to whole beats."""
    x = rng.permutation(np.arange(-128, 128, dtype=np.int64))
    pad = (-len(x)) % parallel
    return np.concatenate([x, rng.integers(-128, 128, pad)])


@cocotb.test()
@cocotb.parametrize(cfg=CFG_INDEX, idle=[False, True], backpressure=[False, True])
async def run_test(dut, cfg: int, idle: bool, backpressure: bool):
    tb = TB(dut, cfg)
    seed = 700 + 4 * cfg + 2 * idle + backpressure
    rng = np.random.default_rng(seed)
    tb.set_pause(idle, backpressure, seed)
    await tb.reset()
    mismatches = elements = 0
    for fn, f_in, f_out, signed in TABLES:
        table = make_lut(fn, f_in, f_out, signed)
        await tb.load(table)  # the stream is idle: every frame of the previous table has come back
        frames = [all_bytes(rng, tb.parallel)]
        frames += [rng.integers(-128, 128, tb.parallel * int(rng.integers(1, 9))) for _ in range(FRAMES)]
        for x in frames:
            await tb.send(x)
        for k, x in enumerate(frames):
            got = await tb.recv(len(x), signed)
            mismatches += check(tb, f"{fn}({f_in}, {f_out}) frame {k}", x, got, golden(x, table))
            elements += len(x)
    assert tb.sink.empty(), "extra output beats after the last frame"
    assert mismatches == 0, f"{mismatches} of {elements} outputs differ from golden lut"
    tb.log.info("P%d: %d tables, %d elements: bit-exact", tb.parallel, len(TABLES), elements)
    await ClockCycles(dut.clk, 4)


@cocotb.test()
@cocotb.parametrize(cfg=CFG_INDEX)
async def test_table_readback(dut, cfg: int):
    """A random table (all 8-bit patterns possible): every address, in every lane position."""
    tb = TB(dut, cfg)
    rng = np.random.default_rng(50 + cfg)
    await tb.reset()
    table = rng.integers(0, 256, 256)
    await tb.load(table)
    x = np.concatenate([np.roll(np.arange(-128, 128, dtype=np.int64), k) for k in range(tb.parallel)])
    await tb.send(x)
    got = await tb.recv(len(x), signed=False)
    mismatches = check(tb, "readback", x, got, golden(x, table))
    assert mismatches == 0, f"{mismatches} of {len(x)} outputs differ from golden lut"


@cocotb.test()
@cocotb.parametrize(cfg=CFG_INDEX)
async def test_reset_mid_stream(dut, cfg: int):
    """A beat held under backpressure is dropped by reset; the table is kept and the next frame is exact."""
    tb = TB(dut, cfg)
    rng = np.random.default_rng(9 + cfg)
    await tb.reset()
    table = make_lut("gelu", 5, 5, True)
    await tb.load(table)
    tb.sink.pause = True
    await tb.send(rng.integers(-128, 128, tb.parallel * 4))
    await ClockCycles(dut.clk, 10)
    assert dut.m_axis_tvalid.value == 1
    await tb.reset()
    assert dut.m_axis_tvalid.value == 0
    tb.source.clear()
    tb.sink.clear()
    await tb.reset()
    tb.sink.pause = False
    x = rng.integers(-128, 128, tb.parallel * 5)
    await tb.send(x)
    got = await tb.recv(len(x), signed=True)
    assert check(tb, "after reset", x, got, golden(x, table)) == 0, "wrong outputs after reset"
    await ClockCycles(dut.clk, 4)
    assert tb.sink.empty(), "stale output beats after reset"
