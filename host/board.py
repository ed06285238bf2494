"""The board backend: the HLS design driven through pynq (an Overlay of the bitstream and its .hwh).

- `EncoderBlockIP` / `PruneStageIP`: pynq DefaultIP drivers bound by VLNV (spvit:hls:encoder_block:1.0,
  spvit:hls:prune_stage:1.0 -- hw/hls/vitis/build_prj.tcl exports them, boards/common/accel.tcl places them as
  cells `encoder_block` / `prune_stage`). Every register offset comes from the IP's register map in the .hwh (a
  64-bit argument is the pair `<arg>_1` / `<arg>_2`); the control word drives ap_ctrl_hs (bit0 ap_start, bit1
  ap_done -- clear on read --, bit2 ap_idle, bit3 ap_ready).
- `BoardEngine`: one AXI DMA per core (`dma_<cell>`, pynq.lib.dma.DMA, simple mode): S2MM armed before the core
  starts, then the core's arguments and ap_start, then MM2S (pynq flushes the source buffer); the driver polls
  ap_done and the DMA status registers itself, with a deadline (AcceleratorTimeout) and the DMASR error bits
  turned into DmaError; after either, the next run first reloads the bitstream (`reset`: a Vitis HLS core stuck
  mid-run has no soft reset). It invalidates every buffer a core or DMA wrote before reading it. Buffers are allocated once: the packed parameters (written and
  flushed once), two token buffers used in turn (a block's output is the next block's input, never copied through
  the host), the stage scores (written by encoder_block, read by prune_stage in place) and the source indices.
"""
from __future__ import annotations

import time
import warnings
from pathlib import Path

import numpy as np

from . import pack
from .errors import AcceleratorTimeout, BoardUnavailable, DmaError, StreamError
from .ip import (AP_DONE, AP_IDLE, AP_START, DMA_BASE, DMA_VLNV, DMASR,
                 DMASR_ERROR_MASK, DMASR_HALTED, DMASR_IDLE, LENGTH, MM2S, S2MM, IpDims, IpSpec, dma_status_text,
                 encoder_block_spec, prune_stage_spec)

try:
    import pynq
    from pynq import DefaultIP
except ImportError as exc:  # the driver imports this module only for the board backend
    raise BoardUnavailable(f"the board backend needs pynq (pip install 'pynq==4.0.0', the project's `board` extra): "
                           f"{exc}") from None


class HlsKernel(DefaultIP):
    """A Vitis HLS core with ap_ctrl_hs on its s_axilite `control` bundle, arguments named by `spec`."""

    spec: IpSpec | None = None

    def configure(self, spec: IpSpec) -> None:
        """Resolve every argument's register(s) from the .hwh register map (never from hard-coded offsets)."""
        regs = self._registers or {}
        if not regs:
            raise BoardUnavailable(f"{self._fullpath}: the .hwh carries no register map for this core")
        self.spec = spec
        self.ctrl = regs.get("CTRL", {}).get("address_offset", 0)
        self.ret = None
        if spec.return_bits:
            if "ap_return" not in regs:
                raise BoardUnavailable(f"{self._fullpath}: no ap_return register in the .hwh")
            self.ret = regs["ap_return"]["address_offset"]
        self.layout: dict[str, list[tuple[int, int, int]]] = {}
        for arg in spec.args:
            if arg.name in regs:
                parts = [(arg.name, 0)]
            elif f"{arg.name}_1" in regs and f"{arg.name}_2" in regs:
                parts = [(f"{arg.name}_1", 0), (f"{arg.name}_2", 32)]
            else:
                raise BoardUnavailable(f"{self._fullpath}: the .hwh register map has no register for argument "
                                       f"{arg.name!r} (is the bitstream built from hw/hls/vitis/tops/"
                                       f"{spec.name}.cpp?); registers: {sorted(regs)}")
            self.layout[arg.name] = [(regs[r]["address_offset"], first, _data_bits(regs[r], arg.name))
                                     for r, first in parts]

    def write_args(self, values: dict[str, int]) -> None:
        """Write every argument, in prototype order (low word first)."""
        for arg in self.spec.args:
            raw = pack.encode_arg(arg, values[arg.name])
            for offset, first, bits in self.layout[arg.name]:
                self.write(offset, (raw >> first) & ((1 << bits) - 1))

    def start(self) -> None:
        self.write(self.ctrl, AP_START)

    def control(self) -> int:
        """The control word (reading it clears ap_done)."""
        return self.read(self.ctrl)

    def returned(self) -> int:
        return self.read(self.ret) & ((1 << self.spec.return_bits) - 1)


def _data_bits(reg: dict, arg: str) -> int:
    """Width of the argument's field in one register (32 when the .hwh does not say)."""
    fields = reg.get("fields") or {}
    if arg in fields:
        return int(fields[arg]["bit_width"])
    return min(32, int(reg.get("size", 32)))


class EncoderBlockIP(HlsKernel):
    bindto = [encoder_block_spec().vlnv]


class PruneStageIP(HlsKernel):
    bindto = [prune_stage_spec().vlnv]


class BoardEngine:
    """Runs blocks and stages on the overlay's cores (see the module docstring)."""

    name = "board"

    def __init__(self, bitstream, dims: IpDims, timing, timeout: float = 5.0, device=None, download: bool = True):
        self.dims, self.timing, self.timeout = dims, timing, float(timeout)
        bit = Path(bitstream)
        if not bit.is_file():
            raise BoardUnavailable(f"bitstream {bit} not found (build it: make -C boards BOARD=zcu102 IMPL=hls)")
        if not bit.with_suffix(".hwh").is_file():
            raise BoardUnavailable(f"{bit.with_suffix('.hwh')} not found: pynq needs the hardware handoff beside the "
                                   "bitstream (Vivado writes it under <proj>.gen/sources_1/bd/<bd>/hw_handoff/)")
        if device is None:
            try:
                with warnings.catch_warnings():  # pynq: "No devices found, is the XRT environment sourced?"
                    warnings.simplefilter("ignore", UserWarning)
                    device = pynq.Device.active_device
            except RuntimeError as exc:
                raise BoardUnavailable(f"no PYNQ device ({exc}): this is not a board -- run on the ZCU102's PYNQ "
                                       "image (as root), or emulate one (`spvit run --emulate`, "
                                       "device=spvit.host.shim.ShimDevice())") from None
        self.device = device
        try:
            self.overlay = pynq.Overlay(str(bit.resolve()), download=download, device=device)
        except (OSError, RuntimeError, ValueError) as exc:
            raise BoardUnavailable(f"cannot open the overlay {bit}: {exc}") from None
        self.block_spec, self.prune_spec = encoder_block_spec(dims), prune_stage_spec(dims)
        self.block, self.block_dma = self._kernel(self.block_spec, EncoderBlockIP)
        self.prune, self.prune_dma = self._kernel(self.prune_spec, PruneStageIP)
        d, nb = dims.embed_dim, (dims.n_max + 1) * dims.embed_dim
        for dma in (self.block_dma, self.prune_dma):
            if dma.buffer_max_size < nb:
                raise BoardUnavailable(f"the DMA length register holds {dma.buffer_max_size} bytes; a sequence "
                                       f"takes {nb}: widen c_sg_length_width")
        alloc = lambda shape, dtype: pynq.allocate(shape, dtype, target=device)  # noqa: E731
        self.tokens = [alloc((nb,), np.uint8), alloc((nb,), np.uint8)]
        self.scores = alloc((4 * dims.score_words,), np.uint32)
        self.sources = alloc((4 * dims.source_words,), np.uint32)
        self.weights = None
        self.cur = 0
        self.broken: str | None = None
        self.embed_dim = d

    def _kernel(self, spec: IpSpec, cls):
        names = [n for n, d in self.overlay.ip_dict.items() if d.get("type") == spec.vlnv]
        if len(names) != 1:
            rtl = sorted(n for n, d in self.overlay.ip_dict.items() if str(d.get("type", "")).startswith("spvit:rtl:"))
            why = (f"; {rtl} are the RTL design's cores, which this driver does not run yet: the RTL prune_stage's "
                   "token ids (m_axis_tuser) do not reach DDR through the DMA (docs/board_flow.md) - build with "
                   "--impl hls") if rtl else ""
            raise BoardUnavailable(f"the overlay has {len(names)} cores of type {spec.vlnv} (need exactly one): "
                                   f"{sorted(self.overlay.ip_dict)}{why}")
        core = getattr(self.overlay, names[0])
        if not isinstance(core, cls):
            raise BoardUnavailable(f"{names[0]} is driven by {type(core).__name__}, not {cls.__name__}")
        core.configure(spec)
        dma_name = f"dma_{names[0]}"
        if self.overlay.ip_dict.get(dma_name, {}).get("type") != DMA_VLNV:
            raise BoardUnavailable(f"no AXI DMA {dma_name!r} ({DMA_VLNV}) beside {names[0]} "
                                   "(boards/common/block_design.tcl names each kernel's DMA dma_<kernel>)")
        dma = getattr(self.overlay, dma_name)
        if dma.sendchannel is None or dma.recvchannel is None:
            raise BoardUnavailable(f"{dma_name} needs both its MM2S and S2MM channels")
        return core, dma

    # -- DMA and control ------------------------------------------------------------------------------------------------
    def _status(self, dma, ch: str) -> int:
        return dma.mmio.read(DMA_BASE[ch] + DMASR)

    def _fail(self, dma, ch: str, status: int):
        raise DmaError(f"{dma._fullpath} {ch.upper()}: DMASR=0x{status:08X}: {dma_status_text(status)}", ch, status)

    def reset(self) -> None:
        """Reload the bitstream (resets every core and DMA in the PL; DDR, and so the buffers, survive) and restart
        the DMA channels. The engine does this by itself before the run after an AcceleratorTimeout or DmaError: an
        HLS core stuck mid-run has no other reset."""
        self.overlay.download()
        for dma in (self.block_dma, self.prune_dma):
            dma.sendchannel.start()
            dma.recvchannel.start()
        self.cur = 0
        self.broken = None

    @staticmethod
    def _transfer(dma, ch: str, buf, nbytes: int) -> None:
        channel = dma.sendchannel if ch == MM2S else dma.recvchannel
        try:
            channel.transfer(buf, nbytes=nbytes)
        except (RuntimeError, ValueError) as exc:  # not started / not idle / too long / unaligned
            raise DmaError(f"{dma._fullpath} {ch.upper()}: pynq refused the transfer: {exc}", ch) from None

    def _check_dma(self, dma) -> None:
        for ch in (MM2S, S2MM):
            status = self._status(dma, ch)
            if status & DMASR_ERROR_MASK:
                self._fail(dma, ch, status)

    def _ready(self, core, dma) -> None:
        """Before a run: the core idle, both channels running and error-free (after a failure: reload first)."""
        if self.broken:
            self.reset()
        self._check_dma(dma)
        for ch in (MM2S, S2MM):
            if self._status(dma, ch) & DMASR_HALTED:
                raise DmaError(f"{dma._fullpath} {ch.upper()} is halted (DMACR.RS = 0)", ch, self._status(dma, ch))
        deadline = time.perf_counter() + self.timeout
        while not core.control() & AP_IDLE:
            if time.perf_counter() > deadline:
                raise AcceleratorTimeout(f"{core._fullpath} is not idle (ap_idle = 0) after {self.timeout:g} s: a "
                                         "previous run never finished; reload the overlay")

    def _wait_done(self, core, dma) -> None:
        deadline = time.perf_counter() + self.timeout
        while True:
            ctrl = core.control()
            if ctrl & AP_DONE:
                return
            self._check_dma(dma)
            if time.perf_counter() > deadline:
                raise AcceleratorTimeout(
                    f"{core._fullpath}: no ap_done after {self.timeout:g} s (CTRL=0x{ctrl:02X}, MM2S DMASR="
                    f"0x{self._status(dma, MM2S):08X}, S2MM DMASR=0x{self._status(dma, S2MM):08X})")

    def _wait_idle(self, dma) -> int:
        """Both channels idle (errors -> DmaError); returns the bytes S2MM wrote (its length register)."""
        deadline = time.perf_counter() + self.timeout
        for ch in (MM2S, S2MM):
            while True:
                status = self._status(dma, ch)
                if status & DMASR_ERROR_MASK:
                    self._fail(dma, ch, status)
                if status & DMASR_IDLE:
                    break
                if time.perf_counter() > deadline:
                    raise AcceleratorTimeout(f"{dma._fullpath} {ch.upper()} not idle after {self.timeout:g} s "
                                             f"(DMASR=0x{status:08X})")
        return dma.mmio.read(DMA_BASE[S2MM] + LENGTH)

    def _run(self, core, dma, args: dict, n_in: int, out_cap: int) -> tuple[int, int]:
        """One core run on the current token buffer -> the other one. Returns (ap_return, bytes received)."""
        try:
            return self._run_once(core, dma, args, n_in, out_cap)
        except (AcceleratorTimeout, DmaError) as exc:
            self.broken = str(exc)  # the next run reloads the overlay first
            raise

    def _run_once(self, core, dma, args: dict, n_in: int, out_cap: int) -> tuple[int, int]:
        clock_t = time.perf_counter
        t0 = clock_t()
        self._ready(core, dma)
        src, dst = self.tokens[self.cur], self.tokens[1 - self.cur]
        self._transfer(dma, S2MM, dst, out_cap)  # S2MM first, so the core's output never stalls
        t1 = clock_t()
        core.write_args(args)
        core.start()
        t2 = clock_t()
        self._transfer(dma, MM2S, src, n_in * self.embed_dim)  # pynq flushes src first
        t3 = clock_t()
        self._wait_done(core, dma)
        t4 = clock_t()
        received = self._wait_idle(dma)
        dst.invalidate()
        ret = core.returned()
        t5 = clock_t()
        self.timing.transfer_s += (t1 - t0) + (t3 - t2) + (t5 - t4)
        self.timing.compute_s += (t2 - t1) + (t4 - t3)
        self.cur = 1 - self.cur
        return ret, received

    # -- the engine interface (host/driver.py) --------------------------------------------------------------------------
    def load_weights(self, words: np.ndarray) -> None:
        self.weights = pynq.allocate((words.size,), np.uint32, target=self.device)
        self.weights[:] = words
        self.weights.flush()

    def put_tokens(self, tokens) -> None:
        start = time.perf_counter()
        data = pack.tokens_to_bytes(tokens)
        buf = self.tokens[self.cur]
        buf[:data.size] = data
        self.timing.pack_s += time.perf_counter() - start

    def _tokens_out(self, count: int) -> np.ndarray:
        return pack.beats_to_tokens(np.asarray(self.tokens[self.cur][:count * self.embed_dim]), self.embed_dim)

    def encoder_block(self, regs: dict, n: int, want_scores: bool):
        pack.check_token_count(n, self.dims)
        start = time.perf_counter()
        args = pack.encoder_block_args(self.block_spec, regs, n, self.weights.physical_address,
                                       self.scores.physical_address)
        self.timing.pack_s += time.perf_counter() - start
        ret, received = self._run(self.block, self.block_dma, args, n, n * self.embed_dim)
        if not ret:
            raise StreamError(f"{self.block._fullpath} returned false: TLAST misplaced on its input stream")
        if received != n * self.embed_dim:
            raise StreamError(f"{self.block._fullpath} streamed {received} bytes; expected {n} tokens")
        start = time.perf_counter()
        scores = None
        if want_scores:
            self.scores.invalidate()
            scores = pack.unpack_u16_words(np.asarray(self.scores), n)
        tokens = self._tokens_out(n)
        self.timing.pack_s += time.perf_counter() - start
        return tokens, scores

    def prune_stage(self, n: int, tail: int, k: int, threshold, package: bool):
        pack.check_token_count(n, self.dims)
        start = time.perf_counter()
        args = pack.prune_stage_args(self.prune_spec, n, tail, k, threshold, package, self.scores.physical_address,
                                     self.sources.physical_address, self.dims.n_max)
        self.timing.pack_s += time.perf_counter() - start
        count, received = self._run(self.prune, self.prune_dma, args, n, (n + 1) * self.embed_dim)
        if count == 0:
            raise StreamError(f"{self.prune._fullpath} returned 0 tokens: TLAST misplaced on its input stream")
        if received != count * self.embed_dim:
            raise StreamError(f"{self.prune._fullpath} returned {count} tokens but streamed {received} bytes")
        start = time.perf_counter()
        self.sources.invalidate()
        sources = pack.unpack_u16_words(np.asarray(self.sources), count)
        tokens = self._tokens_out(count)
        self.timing.pack_s += time.perf_counter() - start
        return tokens, sources

    def close(self) -> None:
        for buf in [*self.tokens, self.scores, self.sources, self.weights]:
            if buf is not None and hasattr(buf, "freebuffer"):
                buf.freebuffer()
        self.tokens, self.scores, self.sources, self.weights = [], None, None, None
