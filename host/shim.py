"""An emulated ZCU102 underneath the real pynq package: a pynq Device subclass for PCs and CI.

`ShimDevice` is what `pynq.Overlay(..., device=shim)`, `pynq.allocate(..., target=shim)` and every `pynq.MMIO` on
it talk to -- pynq's own Overlay, .hwh parser (pynqmetadata, through the board's BitfileHandler), DefaultIP /
register_map, pynq.lib.dma.DMA and PynqBuffer run unchanged above it. Below the device interface it emulates the
hardware of host/hwh.py's design:

- register files (REGISTER_RW: every MMIO access comes here): the two Vitis HLS cores with ap_ctrl_hs (ap_start,
  ap_done clear-on-read, ap_idle, ap_ready, ap_return) and their argument registers decoded with the Vitis layout
  of host/ip.py, and the AXI DMAs (PG021 simple mode: DMACR run / reset, DMASR halted / idle / error bits / IOC,
  address, length; S2MM's length register reads back the bytes a packet delivered, TLAST ending it);
- the PS clock registers pynq.ps.Clocks programs when an overlay is downloaded (CRL_APB / CRF_APB PLLs and the
  PL reference clocks), so `pl_clock_mhz(0)` shows what the overlay set;
- DDR behind non-coherent caches: `allocate` hands out PynqBuffers whose host array is the CPU's view; the
  device's copy changes only through `flush` (dirty bytes written back) and DMA / m_axi writes, and the host's only
  through `invalidate` -- a driver that forgets either gets stale data, as on the board;
- the cores' compute: when a started core has its n tokens in its input FIFO (fed by its MM2S with TLAST on the
  final beat) and its S2MM is armed, a register read lets it run: `engine="golden"` runs host/emulator.py (the
  golden model at register level), `engine="hls"` the C-simulated HLS kernels (spvit.sim.hls_kernels, g++).

Every register write is logged in `writes` as (peripheral, offset, value); `faults` injects failures:
`hang_core` (names of cores that never finish), `dma_error` ({(dma, "mm2s"|"s2mm"): DMASR error bit}, applied to
the next transfer), `dma_hang` ({(dma, channel)}: transfers that never complete).

    with ShimDevice() as dev:                         # makes it pynq's active device for the block
        bit = host.hwh.write_design(tmpdir)
        acc = Accelerator(bundle, "board", bitstream=bit, device=dev)
"""
from __future__ import annotations

import collections
import struct

import numpy as np
import pynq
from pynq.buffer import PynqBuffer
from pynq.pl_server.device import Device

from . import emulator
from .ip import (AP_DONE, AP_IDLE, AP_READY, AP_RETURN, AP_START, CTRL, DMA_BASE, DMA_VLNV, DMACR, DMACR_RESET,
                 DMACR_RS, DMASR, DMASR_ERR_IRQ, DMASR_HALTED, DMASR_IDLE, DMASR_IOC_IRQ, HLS_IP_DIMS, ADDR_HI,
                 ADDR_LO, LENGTH, MM2S, S2MM, IpDims, encoder_block_spec, prune_stage_spec, vitis_registers)

DDR_BASE = 0x8_0000_0000  # the ZCU102's upper DDR window: every buffer address needs its high register word


class BusError(Exception):
    """An access outside every mapped region (an AXI decode error on the board)."""


class _Ddr:
    """Device-side memory: regions handed out by allocate(), addressed physically."""

    def __init__(self, base: int):
        self.next = base
        self.regions: list[tuple[int, bytearray]] = []

    def alloc(self, nbytes: int, align: int = 4096) -> tuple[int, bytearray]:
        addr = -(-self.next // align) * align
        region = bytearray(max(nbytes, 1))
        self.regions.append((addr, region))
        self.next = addr + len(region)
        return addr, region

    def view(self, addr: int, nbytes: int | None = None) -> memoryview:
        """Bytes [addr, addr + nbytes) (to the end of the region when nbytes is None) of one region."""
        for base, region in self.regions:
            if base <= addr < base + len(region):
                end = len(region) if nbytes is None else addr - base + nbytes
                if end > len(region):
                    break
                return memoryview(region)[addr - base:end]
        raise BusError(f"address 0x{addr:X} (+{nbytes}) is outside every allocated buffer")


class _Registers:
    """Plain read-write registers with reset values (the PS clock control blocks)."""

    def __init__(self, name: str, size: int, reset: dict[int, int]):
        self.name, self.size, self.reset_values = name, size, reset
        self.regs = dict(reset)

    def read(self, offset: int) -> int:
        return self.regs.get(offset, 0)

    def write(self, offset: int, value: int) -> None:
        self.regs[offset] = value


def _pll(fbdiv: int) -> int:
    return (fbdiv << 8) | (1 << 16)  # PRE_SRC = PS_REF_CLK (33.333 MHz), FBDIV, DIV2: 33.333 * fbdiv / 2 MHz


def _pl_ref(div0: int) -> int:
    return (1 << 24) | (1 << 16) | (div0 << 8)  # CLKACT, DIVISOR1 = 1, DIVISOR0, SRCSEL = IOPLL


class _HlsCore:
    """A Vitis HLS core: ap_ctrl_hs control word and argument registers; input FIFO of beats."""

    def __init__(self, shim: "ShimDevice", name: str, spec):
        self.shim, self.name, self.spec = shim, name, spec
        self.layout = vitis_registers(spec)
        self.size = 0x1_0000
        self.dma = None
        self.reset()

    def reset(self) -> None:
        self.regs: dict[int, int] = {}
        self.running = self.done = self.ready = False
        self.ap_return = 0
        self.args: dict[str, int] = {}
        self.fifo: collections.deque = collections.deque()  # (16 bytes, tlast) per beat

    def read(self, offset: int) -> int:
        if offset == CTRL:
            value = (AP_START if self.running else 0) | (AP_DONE if self.done else 0) | \
                    (AP_IDLE if not self.running else 0) | (AP_READY if self.ready else 0)
            self.done = self.ready = False  # clear on read
            return value
        if offset == AP_RETURN and self.spec.return_bits:
            return self.ap_return
        return self.regs.get(offset, 0)

    def write(self, offset: int, value: int) -> None:
        if offset == CTRL:
            if value & AP_START and not self.running:
                self.args = self._decode()
                self.running = True
            return
        self.regs[offset] = value

    def _decode(self) -> dict[str, int]:
        from .pack import decode_arg

        raw = collections.defaultdict(int)
        for r in self.layout:
            if r.arg != "ap_return":
                raw[r.arg] |= (self.regs.get(r.offset, 0) & ((1 << r.bits) - 1)) << r.first
        return {a.name: decode_arg(a, raw[a.name]) for a in self.spec.args}

    def step(self) -> None:
        """Run if started, fed and able to deliver (m_axi accesses and S2MM); else keep waiting."""
        if not self.running or self.name in self.shim.faults["hang_core"]:
            return
        dims, n = self.shim.dims, self.args["n"]
        need = n * dims.beats
        if not 1 <= n <= dims.n_max or len(self.fifo) < need or not self.dma.s2mm_armed():
            return
        beats = [self.fifo.popleft() for _ in range(need)]
        data = np.frombuffer(b"".join(b for b, _ in beats), dtype=np.uint8)
        tlast = np.array([t for _, t in beats], dtype=bool)
        try:
            if self.spec.name == "encoder_block":
                mem = np.frombuffer(self.shim.ddr.view(self.args["mem"]), dtype="<u4")
                out, words, ret = self.shim.compute_block(self.args, mem, data, tlast)
                self.shim.ddr.view(self.args["scores"], 4 * words.size)[:] = words.astype("<u4").tobytes()
            else:
                sw = 4 * dims.score_words
                scores = np.frombuffer(self.shim.ddr.view(self.args["scores"], 4 * sw), dtype="<u4")
                out, words, ret = self.shim.compute_prune(self.args, scores, data, tlast)
                self.shim.ddr.view(self.args["sources"], 4 * words.size)[:] = words.astype("<u4").tobytes()
        except BusError as exc:  # an m_axi access the interconnect rejects: the core stalls
            self.shim.errors.append(f"{self.name}: {exc}")
            self.shim.faults["hang_core"].add(self.name)
            return
        self.dma.mm2s_consumed()
        if not self.dma.s2mm_receive(np.asarray(out, dtype=np.uint8).tobytes()):
            return  # S2MM error: the output stalls, the core never finishes
        self.ap_return = int(ret)
        self.running, self.done, self.ready = False, True, True


class _Channel:
    def __init__(self):
        self.dmacr = 0
        self.halted, self.idle, self.errors, self.irq = True, False, 0, 0
        self.addr = self.length = self.received = 0
        self.busy = False

    @property
    def status(self) -> int:
        return (DMASR_HALTED if self.halted else 0) | (DMASR_IDLE if self.idle else 0) | self.errors | self.irq


class _AxiDma:
    """AXI DMA (PG021) in simple mode: MM2S feeds the core's s_axis, the core's m_axis feeds S2MM."""

    def __init__(self, shim: "ShimDevice", name: str):
        self.shim, self.name, self.size = shim, name, 0x1_0000
        self.core = None
        self.reset()

    def reset(self) -> None:
        self.ch = {MM2S: _Channel(), S2MM: _Channel()}

    def _which(self, offset: int) -> tuple[str, int]:
        ch = S2MM if offset >= DMA_BASE[S2MM] else MM2S
        return ch, offset - DMA_BASE[ch]

    def read(self, offset: int) -> int:
        ch, reg = self._which(offset)
        c = self.ch[ch]
        if reg == DMACR:
            return c.dmacr
        if reg == DMASR:
            return c.status
        if reg == ADDR_LO:
            return c.addr & 0xFFFFFFFF
        if reg == ADDR_HI:
            return c.addr >> 32
        if reg == LENGTH:
            return c.received if ch == S2MM and c.idle else c.length
        return 0

    def write(self, offset: int, value: int) -> None:
        ch, reg = self._which(offset)
        c = self.ch[ch]
        if reg == DMACR:
            if value & DMACR_RESET:  # soft reset: both channels back to halted
                self.reset()
                if self.core is not None:
                    self.core.fifo.clear()
                return
            c.dmacr = value
            c.halted = not (value & DMACR_RS) or bool(c.errors)
        elif reg == DMASR:
            c.irq &= ~(value & (DMASR_IOC_IRQ | DMASR_ERR_IRQ))  # write 1 to clear
        elif reg == ADDR_LO:
            c.addr = (c.addr & ~0xFFFFFFFF) | value
        elif reg == ADDR_HI:
            c.addr = (c.addr & 0xFFFFFFFF) | (value << 32)
        elif reg == LENGTH:
            c.length = value
            if not c.halted:
                self._start(ch, c)

    def _error(self, c: _Channel, bit: int) -> None:
        c.errors |= bit
        c.irq |= DMASR_ERR_IRQ
        c.halted, c.busy, c.idle = True, False, False
        c.dmacr &= ~DMACR_RS

    def _start(self, ch: str, c: _Channel) -> None:
        c.idle, c.busy, c.received = False, True, 0
        fault = self.shim.faults["dma_error"].pop((self.name, ch), None)
        if fault:
            self._error(c, fault)
            return
        if c.length == 0:
            self._error(c, 0x10)  # DMAIntErr: zero length
            return
        if (self.name, ch) in self.shim.faults["dma_hang"]:
            return  # never moves a byte
        if ch == MM2S:
            try:
                data = bytes(self.shim.ddr.view(c.addr, c.length))
            except BusError as exc:
                self.shim.errors.append(f"{self.name} MM2S: {exc}")
                self._error(c, 0x40)  # DMADecErr
                return
            data += b"\0" * (-len(data) % 16)  # a partial last beat (TKEEP) reads as zero bytes
            nbeats = len(data) // 16
            for i in range(nbeats):
                self.core.fifo.append((data[16 * i:16 * i + 16], i == nbeats - 1))

    def mm2s_consumed(self) -> None:
        c = self.ch[MM2S]
        if c.busy and not self.core.fifo:
            c.busy, c.idle = False, True
            c.irq |= DMASR_IOC_IRQ

    def s2mm_armed(self) -> bool:
        c = self.ch[S2MM]
        return c.busy and (self.name, S2MM) not in self.shim.faults["dma_hang"]

    def s2mm_receive(self, packet: bytes) -> bool:
        """A packet (TLAST on its last beat) into the armed S2MM buffer; False on an error."""
        c = self.ch[S2MM]
        if len(packet) > c.length:
            self._error(c, 0x10)  # DMAIntErr: the packet is longer than the buffer
            return False
        try:
            self.shim.ddr.view(c.addr, len(packet))[:] = packet
        except BusError as exc:
            self.shim.errors.append(f"{self.name} S2MM: {exc}")
            self._error(c, 0x40)
            return False
        c.received, c.busy, c.idle = len(packet), False, True
        c.irq |= DMASR_IOC_IRQ
        return True


class ShimDevice(Device):
    """A pynq Device emulating the ZCU102 running the spvit HLS design (see the module docstring)."""

    arch = "aarch64"  # the ZCU102's CPU: pynq.ps.Clocks programs the PL clocks through our CRL / CRF registers

    def __init__(self, engine: str = "golden", dims: IpDims = HLS_IP_DIMS, ddr_base: int = DDR_BASE,
                 tag: str = "spvit_shim"):
        super().__init__(tag)
        if engine not in ("golden", "hls"):
            raise ValueError(f"engine {engine!r}: golden | hls")
        self.name = tag
        self.engine, self.dims = engine, dims
        self.capabilities = {"REGISTER_RW": True}
        self.ddr = _Ddr(ddr_base)
        self._buffers: dict[int, tuple[bytearray, bytearray, int]] = {}  # bo -> (host bytes, synced copy, address)
        self.peripherals: list[tuple[int, object]] = []
        self.ps = [(0xFF5E0000, _Registers("crl_apb", 0x100, {0x20: _pll(90), 0x30: _pll(90), 0xC0: _pl_ref(15),
                                                               0xC4: _pl_ref(15), 0xC8: _pl_ref(15),
                                                               0xCC: _pl_ref(15)})),
                   (0xFD1A0000, _Registers("crf_apb", 0x100, {0x20: _pll(72), 0x2C: _pll(64), 0x38: _pll(90)}))]
        self.writes: list[tuple[str, int, int]] = []
        self.cache_ops: list[tuple[str, int, int, int]] = []  # (flush | invalidate, bo, offset, length)
        self.errors: list[str] = []
        self.faults = {"hang_core": set(), "dma_error": {}, "dma_hang": set()}
        self.timestamp = ""
        self.bitfile_name = None
        self._saved = None

    # -- becoming pynq's device ------------------------------------------------------------------------------------------
    def __enter__(self):
        """Make this pynq's active device (restored on exit), with a fresh pynq.ps.Clocks bound to it."""
        from pynq.ps import Clocks

        self._saved = (getattr(Device, "_active_device", None), Clocks.device,
                       Clocks.__dict__.get("_real_instance"))
        Device.active_device = self
        Clocks.device = self
        if "_real_instance" in Clocks.__dict__:
            del Clocks._real_instance
        return self

    def __exit__(self, *exc):
        from pynq.ps import Clocks

        active, clocks_device, clocks = self._saved
        if active is None:
            if "_active_device" in Device.__dict__:
                del Device._active_device
        else:
            Device.active_device = active
        Clocks.device = clocks_device
        if clocks is None:
            if "_real_instance" in Clocks.__dict__:
                del Clocks._real_instance
        else:
            Clocks._real_instance = clocks

    # -- bitstream and metadata: pynq's own board path -------------------------------------------------------------------
    def get_bitfile_metadata(self, bitfile_name: str, partial: bool = False):
        """pynq's board path (EmbeddedDevice -> BitstreamHandler.get_parser): the .bit header through pynq's
        BitfileHandler, the .hwh through pynqmetadata's RuntimeMetadataParser -- without the synthetic xclbin the
        board makes for XRT's allocator (xclbinutil is an XRT tool; this device allocates by itself)."""
        from pathlib import Path

        from pynq.pl_server.embedded_device import _get_bitstream_handler
        from pynqmetadata.frontends import Metadata
        from pynqmetadata.views.runtime import RuntimeMetadataParser

        handler = _get_bitstream_handler(bitfile_name)
        hwh = Path(bitfile_name).with_suffix(".hwh")
        if not hwh.is_file():
            raise RuntimeError("Unable to find metadata for bitstream")
        parser = RuntimeMetadataParser(Metadata(input=hwh))
        parser.refresh_hierarchy_dict()
        parser.bin_data = handler.get_bin_data()
        parser.xclbin_data = None
        parser.dtbo_data = handler.get_dtbo_data()
        return parser

    def download(self, bitstream, parser=None):
        """'Program the FPGA': build the emulated peripherals of the design the .hwh describes."""
        self.peripherals = []
        cores = {}
        for name, d in parser.ip_dict.items():
            for spec in (encoder_block_spec(self.dims), prune_stage_spec(self.dims)):
                if d.get("type") == spec.vlnv:
                    cores[name] = _HlsCore(self, name, spec)
                    self.peripherals.append((d["phys_addr"], cores[name]))
        for name, d in parser.ip_dict.items():
            if d.get("type") == DMA_VLNV:
                dma = _AxiDma(self, name)
                core = cores.get(name.removeprefix("dma_"))
                if core is not None:
                    dma.core, core.dma = core, dma
                self.peripherals.append((d["phys_addr"], dma))
        self.post_download(bitstream, parser)

    def pl_clock_mhz(self, index: int = 0) -> float:
        """The PL reference clock the overlay programmed (IOPLL / DIVISOR0 / DIVISOR1)."""
        crl = self.ps[0][1]
        pll = crl.read(0x20)
        ref = crl.read(0xC0 + 4 * index)
        fbdiv, div2 = (pll >> 8) & 0x7F, (pll >> 16) & 1
        return 33.333 * fbdiv / (2 if div2 else 1) / (((ref >> 8) & 0x3F) * ((ref >> 16) & 0x3F))

    # -- registers (MMIO) ------------------------------------------------------------------------------------------------
    def _find(self, address: int):
        for base, p in [*self.peripherals, *self.ps]:
            if base <= address < base + p.size:
                return p, address - base
        raise BusError(f"no peripheral at 0x{address:X} (is the overlay downloaded?)")

    def read_registers(self, address: int, length: int) -> bytes:
        self._progress()  # the hardware runs while the CPU polls: a fed, started core finishes here
        p, offset = self._find(address)
        return b"".join(struct.pack("<I", p.read(offset + 4 * i) & 0xFFFFFFFF) for i in range(max(1, length // 4)))

    def write_registers(self, address: int, data: bytes) -> None:
        p, offset = self._find(address)
        for i in range(len(data) // 4):
            value = struct.unpack_from("<I", data, 4 * i)[0]
            self.writes.append((getattr(p, "name", "?"), offset + 4 * i, value))
            p.write(offset + 4 * i, value)

    def _progress(self) -> None:
        for _, p in self.peripherals:
            if isinstance(p, _HlsCore):
                p.step()

    # -- compute engines -----------------------------------------------------------------------------------------------
    def compute_block(self, args, mem, data, tlast):
        if self.engine == "golden":
            return emulator.encoder_block(self.dims, args, mem, data, tlast)
        from spvit.sim import hls_kernels as hk

        n = args["n"]
        x, framed = emulator._tokens(data, tlast, n, self.dims)
        y, scores = hk.encoder_block(x, n, np.array(mem, dtype=np.uint32), args)
        from . import pack

        return pack.tokens_to_bytes(y), pack.pack_u16_words(scores, self.dims.score_words), int(framed)

    def compute_prune(self, args, score_words, data, tlast):
        if self.engine == "golden":
            return emulator.prune_stage(self.dims, args, score_words, data, tlast)
        from spvit.sim import hls_kernels as hk

        from . import pack

        n = args["n"]
        x, framed = emulator._tokens(data, tlast, n, self.dims)
        scores = pack.unpack_u16_words(score_words, n)
        y, sources = hk.prune_stage(x, n, scores, args["n_protected_tail"], args["k"],
                                    args["threshold"] if args["threshold_mode"] else None, bool(args["package"]))
        return (pack.tokens_to_bytes(y), pack.pack_u16_words(sources, self.dims.source_words),
                len(y) if framed else 0)

    # -- memory: non-coherent DDR ---------------------------------------------------------------------------------------
    def allocate(self, shape, dtype, **kwargs):
        dtype = np.dtype(dtype)
        nbytes = int(np.prod(shape)) * dtype.itemsize
        addr, device_bytes = self.ddr.alloc(nbytes)
        host = bytearray(len(device_bytes))
        self._buffers[addr] = (host, bytearray(len(device_bytes)), addr)
        return PynqBuffer(shape, dtype, buffer=host, device=self, device_address=addr, bo=addr, coherent=False)

    def flush(self, bo, offset, vaddr, length):
        """Write the CPU's dirty bytes (changed since the last sync) back to the device copy."""
        self.cache_ops.append(("flush", bo, offset, length))
        host, synced, addr = self._buffers[bo]
        dev = self.ddr.view(addr + offset, length)
        h = np.frombuffer(host, dtype=np.uint8)[offset:offset + length]
        s = np.frombuffer(synced, dtype=np.uint8)[offset:offset + length]
        d = np.frombuffer(dev, dtype=np.uint8)
        dirty = h != s
        d[dirty] = h[dirty]
        s[:] = h

    def invalidate(self, bo, offset, vaddr, length):
        """Drop the CPU's copy: reload the device's bytes."""
        self.cache_ops.append(("invalidate", bo, offset, length))
        host, synced, addr = self._buffers[bo]
        dev = bytes(self.ddr.view(addr + offset, length))
        host[offset:offset + length] = dev
        synced[offset:offset + length] = dev


def emulated_board(folder, engine: str = "golden", dims: IpDims = HLS_IP_DIMS, **options):
    """(ShimDevice, path of the emulated design's .bit) -- the .bit and .hwh written into `folder`."""
    from .hwh import write_design

    return ShimDevice(engine=engine, dims=dims, **options), write_design(folder, dims)


__all__ = ["BusError", "ShimDevice", "emulated_board"]
