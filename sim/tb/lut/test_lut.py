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

import cocotb
import numpy as np
from cocotb.triggers import ClockCycles
from cocotbext.axi import AxiStreamFrame

from common import (STALL_VARIANTS, Testbench, count_mismatches, json_setting, lane_words, setting, variant_seed,
                    word_lanes, write_memory)
from spvit.sim.golden.lut import lut, make_lut

PARALLELS = json_setting("PARALLELS", [4])
FRAMES = setting("FRAMES", 12)
# golden-model override for the must-fail check: the golden table is rolled by this many entries
GOLDEN_TABLE_ROLL = setting("GOLDEN_TABLE_ROLL", 0)
CFG_INDEX = list(range(len(PARALLELS)))
# (function, f_in, f_out, signed): GELU int8 -> int8; sigmoid int8 -> uint8 at frac 8 (§7)
TABLES = [("gelu", 4, 4, True), ("sigmoid", 4, 8, False), ("gelu", 6, 5, True), ("sigmoid", 2, 8, False),
          ("gelu", 0, 3, True), ("gelu", 8, 7, True)]


class TB(Testbench):
    def __init__(self, dut, cfg: int):
        super().__init__(dut)
        self.parallel = PARALLELS[cfg]
        # one "byte" per beat: the shared ports are as wide as the widest instance, beats are packed here
        self.source = self.add_source()
        self.sink = self.add_sink()
        dut.sel.value = cfg
        dut.tbl_wr_en.value = 0

    async def load(self, table: np.ndarray):
        """256 writes, one per cycle, entry i at address i (as AXI-Lite or a DMA would)."""
        await write_memory(self.dut, "tbl_wr", np.asarray(table, dtype=np.int64) & 0xFF)

    async def send(self, x: np.ndarray):
        await self.source.send(AxiStreamFrame(lane_words(x, self.parallel)))

    async def recv(self, n: int, signed: bool) -> np.ndarray:
        frame = await self.sink.recv()
        assert len(frame.tdata) * self.parallel == n, \
            f"{len(frame.tdata)} beats of {self.parallel} lanes for {n} elements (tlast misplaced?)"
        return word_lanes(frame.tdata, self.parallel, signed=signed)


def golden(x, table):
    return lut(x, np.roll(np.asarray(table, dtype=np.int64), GOLDEN_TABLE_ROLL))


def check(tb, name, x, got, want) -> int:
    return count_mismatches(got, want, lambda i: tb.log.error(
        "P%d %s element %d (x %d): rtl %d, golden %d", tb.parallel, name, i, x[i], got[i], want[i]))


def all_bytes(rng: np.random.Generator, parallel: int) -> np.ndarray:
    """Every int8 value once (shuffled), padded to whole beats."""
    x = rng.permutation(np.arange(-128, 128, dtype=np.int64))
    pad = (-len(x)) % parallel
    return np.concatenate([x, rng.integers(-128, 128, pad)])


@cocotb.test()
@cocotb.parametrize(cfg=CFG_INDEX, **STALL_VARIANTS)
async def run_test(dut, cfg: int, idle: bool, backpressure: bool):
    tb = TB(dut, cfg)
    seed = variant_seed(700, idle, backpressure, cfg)
    rng = await tb.begin_variant(idle, backpressure, seed)
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
    rng = await tb.begin(50 + cfg)
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
    rng = await tb.begin(9 + cfg)
    table = make_lut("gelu", 5, 5, True)
    await tb.load(table)
    tb.sink.pause = True
    await tb.send(rng.integers(-128, 128, tb.parallel * 4))
    await ClockCycles(dut.clk, 10)
    assert dut.m_axis_tvalid.value == 1
    await tb.reset_mid_stream("m_axis_tvalid")
    x = rng.integers(-128, 128, tb.parallel * 5)
    await tb.send(x)
    got = await tb.recv(len(x), signed=True)
    assert check(tb, "after reset", x, got, golden(x, table)) == 0, "wrong outputs after reset"
    await ClockCycles(dut.clk, 4)
    assert tb.sink.empty(), "stale output beats after reset"
