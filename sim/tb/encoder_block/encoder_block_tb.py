"""The host side of hw/rtl/encoder_block.sv in cocotb: what a driver does (register writes from
spvit.sim.block_regs, parameter words in DDR, tokens over AXI-Stream), used by the block tests (test_encoder_block.py).

Ports: s_axil (cocotbext-axi AxiLiteMaster), m_axi (AxiRamRead: the DDR holding the packed parameters), s_axis /
m_axis / m_axis_link (16 int8 channels per beat), m_axis_cls_p16 (uint16 per beat) and m_axis_cls_ctx (D / H int8 per
beat).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from cocotb.triggers import ClockCycles
from cocotbext.axi import AxiLiteBus, AxiLiteMaster, AxiRamRead, AxiReadBus, AxiStreamFrame

from common import Testbench, int8_bytes, int8_values, quiet
from spvit.sim.block_regs import RTL_CTRL, RTL_REGS, RTL_STATUS, rtl_reg_writes

MEM_SIZE = 1 << 22  # the simulated DDR
PARAM_BASE = 0x10F0  # parameters start 16-byte aligned but not 4 KiB aligned: bursts split at 4 KiB boundaries


@dataclass
class BlockResult:
    tokens: np.ndarray      # int8 [n, D]
    cls_p16: np.ndarray     # uint16 [H, n] (empty without cls_out)
    cls_ctx: np.ndarray     # int8 [H, D / H] (empty without cls_out)
    cycles: int             # the cycles register: ap_start -> ap_done
    load_cycles: int        # cycles spent fetching parameters
    status: int


class BlockTB(Testbench):
    def __init__(self, dut):
        super().__init__(dut)
        self.axil = AxiLiteMaster(AxiLiteBus.from_prefix(dut, "s_axil"), dut.clk, dut.rst)
        self.ram = AxiRamRead(AxiReadBus.from_prefix(dut, "m_axi"), dut.clk, dut.rst, size=MEM_SIZE)
        for port in (self.axil.read_if, self.axil.write_if, self.ram):
            quiet(port)
        self.source = self.add_source(byte_lanes=16)
        self.sink = self.add_sink(byte_lanes=16)
        self.link_sink = self.add_sink("m_axis_link", byte_lanes=16)
        self.p16_sink = self.add_sink("m_axis_cls_p16", byte_lanes=2)
        self.dh = len(dut.m_axis_cls_ctx_tdata) // 8
        self.ctx_sink = self.add_sink("m_axis_cls_ctx", byte_lanes=self.dh)
        self.d = self.m = self.n_max = self.heads = self.param_words = self.param_sets = 0

    async def read_info(self):
        """The dimensions the core was built with (read-only registers)."""
        info0 = await self.axil.read_dword(RTL_REGS["info0"])
        info1 = await self.axil.read_dword(RTL_REGS["info1"])
        self.d, self.m = info0 & 0xFFFF, info0 >> 16
        self.n_max, self.heads = info1 & 0xFFFF, info1 >> 16
        self.param_words = await self.axil.read_dword(RTL_REGS["param_words"])
        self.param_sets = await self.axil.read_dword(RTL_REGS["param_sets"])
        return self

    def store_words(self, words_u32: np.ndarray, base: int = PARAM_BASE):
        """Parameter words (uint32, 4 per 128-bit word, little-endian) into the simulated DDR."""
        self.ram.write(base, np.asarray(words_u32, dtype="<u4").tobytes())

    async def run_block(self, x: np.ndarray, regs: dict, weights_addr: int, cls_out: bool = True,
                        reload: bool = False, prefetch_addr: int | None = None, link: bool = False,
                        reg_skew: dict | None = None, axi_error: bool = False) -> BlockResult:
        """One run: registers from `regs` (spvit.sim.block_regs.block_regs names), ap_start, the tokens in, the
        outputs out, ap_done, the cycle counters. `prefetch_addr`: the core fetches those parameters during the
        run (and perhaps after it). `link`: the tokens must come out on m_axis_link too, the same frame.
        `axi_error`: the run's status must report an AXI read error (else none)."""
        n = x.shape[0]
        regs = dict(regs)
        for name, skew in (reg_skew or {}).items():
            regs[name] += skew
        for offset, value in rtl_reg_writes(regs, n, weights_addr, cls_out=cls_out, reload=reload,
                                            prefetch_addr=prefetch_addr, link=link):
            await self.axil.write_dword(offset, value)
        await self.axil.write_dword(RTL_REGS["ctrl"], RTL_CTRL["ap_start"])
        await self.source.send(AxiStreamFrame(int8_bytes(x)))
        tokens = int8_values(await self.sink.recv()).reshape(-1, self.d)
        assert tokens.shape[0] == n, f"{tokens.shape[0]} tokens out (tlast), {n} in"
        if link:
            linked = int8_values(await self.link_sink.recv()).reshape(-1, self.d)
            assert np.array_equal(linked, tokens), "m_axis_link carried other tokens than m_axis"
        p16 = np.zeros((0, n), dtype=np.int64)
        ctx = np.zeros((0, self.dh), dtype=np.int64)
        if cls_out:
            rows = [await self.p16_sink.recv() for _ in range(self.heads)]
            p16 = np.stack([np.frombuffer(bytes(r.tdata), dtype="<u2").astype(np.int64) for r in rows]) \
                if all(len(r.tdata) == 2 * n for r in rows) else None
            assert p16 is not None, f"class rows of {[len(r.tdata) // 2 for r in rows]} values, want {n} each"
            ctx = int8_values(await self.ctx_sink.recv()).reshape(-1, self.dh)
            assert ctx.shape[0] == self.heads, f"class context of {ctx.shape[0]} heads (tlast), want {self.heads}"
        while not (await self.axil.read_dword(RTL_REGS["ctrl"])) & RTL_CTRL["ap_done"]:
            await ClockCycles(self.dut.clk, 16)
        cycles = await self.axil.read_dword(RTL_REGS["cycles"])
        load_cycles = await self.axil.read_dword(RTL_REGS["load_cycles"])
        status = await self.axil.read_dword(RTL_REGS["status"])
        assert not status & RTL_STATUS["framing_error"], "the core saw a misplaced tlast on its input"
        assert bool(status & RTL_STATUS["axi_error"]) == axi_error, \
            f"status.axi_error {'clear' if axi_error else 'set'} (status {status:#x})"
        for sink in self.sinks:
            assert sink.empty(), "extra output after the run"
        return BlockResult(tokens, p16, ctx, cycles, load_cycles, status)

    async def fetching(self) -> bool:
        """The core's loader is busy (after a run: its prefetch)."""
        return bool(await self.axil.read_dword(RTL_REGS["status"]) & RTL_STATUS["fetching"])

    async def loader_idle(self):
        """Wait until the core's loader is idle (a run's prefetch has ended)."""
        while await self.fetching():
            await ClockCycles(self.dut.clk, 64)
