"""The host of sim/tb/model/model_tb.sv in cocotb: a whole model, image by image, on the RTL cores, the testbench doing
what a DMA engine and a driver would (the data between the cores, the parameters, the registers).

Per image (docs/arithmetic.md §11; the same host steps as spvit.sim.hls_backend.HlsBackend):
  §11.1  the patches (im2col, host) -> linear.sv (pe_*) -> [class token; projected patches] (host) and the positional
         embedding -> residual_add.sv (emb_*) -> the tokens at embed.out;
  §11.2  per block: encoder_block.sv (blk_*): registers from spvit.sim.block_regs over AXI4-Lite, parameters fetched
         by the core from the simulated DDR (AxiRamRead; spvit.sim.block_regs.pack_blocks layout), each run
         prefetching the next block's (block 0's after the last: the next image's), tokens in and out;
  §8-§11.3 after a stage's block: prune_stage.sv (sp_*: SCORER = 1, the SPViT selector inside, its parameters streamed
         in on s_axis_prm when another stage's are loaded; as_*: SCORER = 2, asvit_score fed by the block's side
         streams, flags.cls_out set for that block): registers from spvit.sim.prune_regs (N, TAIL, K, THR_MODE,
         THRESHOLD, PACKAGE) and ap_start before the block's run, which sets flags.link: the stage takes the block's
         output tokens on the link as they come (they reach the host's block sink as well), and sends the next
         sequence with its source indices (m_axis_tuser) -> token ids (package token: PACKAGE_ID - stage); the scores
         the stage computed come from the score tap;
  §11.4  the class token -> layernorm.sv -> linear.sv with int32 accumulators (hd_*) -> the logits.
Everything the golden Trace.per_image() holds comes out of RTL; every stream frame is checked for its length.
"""
from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, field

import numpy as np
from cocotb.clock import Clock
from cocotb.handle import Immediate
from cocotb.triggers import ClockCycles, RisingEdge
from cocotbext.axi import (AxiLiteBus, AxiLiteMaster, AxiRamRead, AxiReadBus, AxiStreamBus, AxiStreamFrame,
                           AxiStreamMonitor, AxiStreamSink, AxiStreamSource)

from spvit.sim import prune_regs as pr
from spvit.sim.block_regs import RTL_CTRL, RTL_REGS, RTL_STATUS, block_regs, pack_blocks, rtl_reg_writes, stage_blocks
from spvit.sim.golden import Bundle
from spvit.sim.golden.model import PACKAGE_ID, per_stage
from spvit.sim.rtl_layout import linear_bias_words, linear_weight_words, pack_lanes

# cocotbext-axi 0.1.28 still calls cocotb 1.x APIs that cocotb 2.1 deprecates; they work. Hide those warnings only.
warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"cocotbext\.axi")

MEM_SIZE = 1 << 22  # the simulated DDR
PARAM_BASE = 0x10F0  # 16-byte aligned, not 4 KiB aligned: the block's bursts split at 4 KiB boundaries
U32 = 0xFFFFFFFF


def _u(value: int, bits: int) -> int:
    return int(value) & ((1 << bits) - 1)


def im2col(image: np.ndarray, patch: int) -> np.ndarray:
    """§11.1 [C, H, W] -> [patches, C * P * P], patches row-major over the grid, (c, py, px) order inside."""
    c, hgt, wid = image.shape
    return image.reshape(c, hgt // patch, patch, wid // patch, patch).transpose(1, 3, 0, 2, 4).reshape(-1, c * patch
                                                                                                       * patch)


def stage_settings(bundle: Bundle, s: int, k=None, threshold=None) -> dict[str, int]:
    """The prune_stage registers of stage s (§9-§11.3): the bundle's k / threshold unless overridden (golden forward's
    overrides: one value for every stage or a list). Values beyond the registers' range are mapped to the same
    selection: k < 0 keeps none (k = 0); a threshold below 0 passes every score (0), one above 0xFFFF none (k = 0)."""
    cfg = bundle.config
    k = per_stage(k, s)
    k = bundle.stage_k(s) if k is None else int(k)
    thr_mode = cfg.prune.select == "threshold"
    thr = 0
    if thr_mode:
        thr = per_stage(threshold, s)
        thr = bundle.stage_threshold(s) if thr is None else int(thr)
        if thr > 0xFFFF:
            k, thr = 0, 0xFFFF
        thr = max(thr, 0)
    return {"N": 0, "TAIL": s if cfg.prune.package else 0, "K": min(max(k, 0), U32), "THR_MODE": int(thr_mode),
            "THRESHOLD": thr, "PACKAGE": int(bool(cfg.prune.package))}


@dataclass
class Stage:
    """One prune_stage.sv instance's ports."""
    kind: str                  # "spvit" (SCORER = 1) or "asvit" (SCORER = 2)
    axil: AxiLiteMaster
    sink: AxiStreamSink
    scores: AxiStreamMonitor
    cycles: object             # the *_cycles tap
    prm: AxiStreamSource | None = None
    loaded: int | None = None  # the stage whose selector parameters are in the core


@dataclass
class ImageResult:
    trace: dict[str, np.ndarray] = field(default_factory=dict)
    block_cycles: list[int] = field(default_factory=list)
    block_load_cycles: list[int] = field(default_factory=list)  # of which waiting for parameters
    stage_cycles: list[int] = field(default_factory=list)


class ModelHost:
    def __init__(self, dut):
        self.dut = dut
        self.log = logging.getLogger("cocotb.tb")
        self.log.setLevel(logging.INFO)
        clk, rst = dut.clk, dut.rst
        Clock(clk, 10, unit="ns").start()

        def src(prefix, **kw):
            return AxiStreamSource(AxiStreamBus.from_prefix(dut, prefix), clk, rst, **kw)

        def sink(prefix, **kw):
            return AxiStreamSink(AxiStreamBus.from_prefix(dut, prefix), clk, rst, **kw)

        self.pe_src, self.pe_sink = src("pe_s_axis"), sink("pe_m_axis")
        self.emb_x, self.emb_r, self.emb_sink = src("emb_s_axis_x"), src("emb_s_axis_r"), sink("emb_m_axis")
        self.blk_axil = AxiLiteMaster(AxiLiteBus.from_prefix(dut, "blk_s_axil"), clk, rst)
        self.ram = AxiRamRead(AxiReadBus.from_prefix(dut, "blk_m_axi"), clk, rst, size=MEM_SIZE)
        self.blk_src, self.blk_sink = src("blk_s_axis"), sink("blk_m_axis")
        self.stages = {}
        for kind, p in (("spvit", "sp"), ("asvit", "as")):
            self.stages[kind] = Stage(
                kind, AxiLiteMaster(AxiLiteBus.from_prefix(dut, f"{p}_s_axil"), clk, rst), sink(f"{p}_m_axis"), AxiStreamMonitor(AxiStreamBus.from_prefix(dut, f"{p}_score"), clk, rst),
                getattr(dut, f"{p}_cycles"), prm=src("sp_s_axis_prm") if kind == "spvit" else None)
        self.hd_src, self.hd_sink = src("hd_s_axis"), sink("hd_m_axis")
        ports = [self.pe_src, self.pe_sink, self.emb_x, self.emb_r, self.emb_sink, self.blk_axil.read_if,
                 self.blk_axil.write_if, self.ram, self.blk_src, self.blk_sink, self.hd_src, self.hd_sink]
        for st in self.stages.values():
            ports += [st.axil.read_if, st.axil.write_if, st.sink, st.scores] + ([st.prm] if st.prm else [])
        for port in ports:
            port.log.setLevel(logging.WARNING)
        # the build's widths
        self.pe_simd = len(dut.pe_s_axis_tdata) // 8
        self.pe_pe = len(dut.pe_m_axis_tdata) // 8
        self.hd_lanes = len(dut.hd_s_axis_tdata) // 8
        self.hd_pe = len(dut.hd_m_axis_tdata) // 32
        self.bundle: Bundle | None = None

    async def reset(self, cycles: int = 2):
        self.dut.rst.value = Immediate(0)
        for name in ("pe_w_wr_en", "pe_b_wr_en", "hd_ln_wr_en", "hd_w_wr_en", "hd_b_wr_en"):
            getattr(self.dut, name).value = Immediate(0)
        await RisingEdge(self.dut.clk)
        self.dut.rst.value = 1
        await ClockCycles(self.dut.clk, cycles)
        self.dut.rst.value = 0
        await ClockCycles(self.dut.clk, 2)
        for st in self.stages.values():
            st.loaded = None

    # ---- parameters -------------------------------------------------------------------------------------------------
    async def _write_mem(self, prefix: str, words: list[int]):
        """A testbench memory of model_tb.sv, word by word through its write port."""
        en, addr = getattr(self.dut, f"{prefix}_wr_en"), getattr(self.dut, f"{prefix}_wr_addr")
        data = getattr(self.dut, f"{prefix}_wr_data")
        for a, w in enumerate(words):
            addr.value, data.value, en.value = a, w, 1
            await RisingEdge(self.dut.clk)
        en.value = 0

    async def load(self, bundle: Bundle, k=None, threshold=None):
        """A model: its parameters into the DDR and the kernels' memories, its quasi-static ports, its registers."""
        dut, cfg = self.dut, bundle.config
        self.bundle = bundle
        self.stage_of = stage_blocks(bundle)
        words, offsets = pack_blocks(bundle, self.stage_of)
        # new words at the addresses the block core's parameter sets are tagged with: no prefetch may be reading the
        # old ones, and the next run refetches its own (the other set's prefetch follows it)
        while (await self.blk_axil.read_dword(RTL_REGS["status"])) & RTL_STATUS["fetching"]:
            await ClockCycles(dut.clk, 64)
        self.words_rewritten = True
        self.ram.write(PARAM_BASE, np.asarray(words, dtype="<u4").tobytes())
        self.block_addr = [PARAM_BASE + 16 * o for o in offsets]
        self.block_regs = [block_regs(bundle, i, offsets[i], self.stage_of) for i in range(cfg.depth)]
        self.stage_regs = [stage_settings(bundle, s, k, threshold) for s in range(cfg.num_stages)]
        # §11.1
        proj = bundle.linear("patch_embed.proj", bundle.frac("input"))
        w = proj.weight.reshape(cfg.embed_dim, -1)
        await self._write_mem("pe_w", linear_weight_words(w, self.pe_simd, self.pe_pe))
        await self._write_mem("pe_b", linear_bias_words(proj.bias, self.pe_pe))
        dut.pe_shift.value = _u(proj.shift, 7)
        dut.emb_fx.value = _u(bundle.frac("patch_embed.proj.out"), 6)
        dut.emb_fr.value = _u(bundle.frac("pos_embed"), 6)
        dut.emb_fout.value = _u(bundle.frac("embed.out"), 6)
        self.cls_token = np.asarray(bundle.arrays["cls_token"]).reshape(1, -1)
        self.pos_embed = np.asarray(bundle.arrays["pos_embed"]).reshape(-1, cfg.embed_dim)
        # §11.4
        norm = bundle.norm("norm")
        lanes = self.hd_lanes
        for a in range(cfg.embed_dim // lanes):
            dut.hd_ln_wr_addr.value = a
            dut.hd_ln_wr_gamma.value = pack_lanes(norm.gamma[a * lanes:(a + 1) * lanes], 16)
            dut.hd_ln_wr_beta.value = pack_lanes(norm.beta[a * lanes:(a + 1) * lanes], 32)
            dut.hd_ln_wr_en.value = 1
            await RisingEdge(dut.clk)
        dut.hd_ln_wr_en.value = 0
        dut.hd_eps.value = int(norm.eps_term)
        dut.hd_ln_shift.value = _u(norm.shift, 7)
        head = bundle.linear("head", bundle.frac("norm.out"))
        await self._write_mem("hd_w", linear_weight_words(head.weight, lanes, self.hd_pe))
        await self._write_mem("hd_b", linear_bias_words(head.bias, self.hd_pe))
        for st in self.stages.values():
            st.loaded = None

    # ---- the cores ----------------------------------------------------------------------------------------------------
    async def patch_embed(self, image: np.ndarray) -> np.ndarray:
        cfg = self.bundle.config
        patches = im2col(np.asarray(image), cfg.patch_size)
        await self.pe_src.send(AxiStreamFrame(patches.astype(np.int8).tobytes()))
        frame = await self.pe_sink.recv()
        flat = np.frombuffer(bytes(frame.tdata), dtype=np.int8).reshape(-1, cfg.embed_dim)
        assert flat.shape[0] == patches.shape[0], f"patch projection: {flat.shape[0]} tokens out, {len(patches)} in"
        tokens = np.concatenate([self.cls_token, flat.astype(np.int64)])
        await self.emb_x.send(AxiStreamFrame(tokens.astype(np.int8).tobytes()))
        await self.emb_r.send(AxiStreamFrame(self.pos_embed.astype(np.int8).tobytes()))
        frame = await self.emb_sink.recv()
        x = np.frombuffer(bytes(frame.tdata), dtype=np.int8).reshape(-1, cfg.embed_dim).astype(np.int64)
        assert x.shape == tokens.shape, f"positional embedding: {x.shape[0]} tokens out, {len(tokens)} in"
        return x

    async def block(self, i: int, x: np.ndarray, cls_out: bool, link: bool = False) -> tuple[np.ndarray, int, int]:
        """Block i on the n tokens x (`link`: its output tokens also go to the stage started before it): (output
        tokens, cycles and load_cycles registers)."""
        n, axil = x.shape[0], self.blk_axil
        reload, self.words_rewritten = self.words_rewritten, False
        for offset, value in rtl_reg_writes(self.block_regs[i], n, self.block_addr[i], cls_out=cls_out, reload=reload,
                                            prefetch_addr=self.block_addr[(i + 1) % len(self.block_addr)], link=link):
            await axil.write_dword(offset, value)
        await axil.write_dword(RTL_REGS["ctrl"], RTL_CTRL["ap_start"])
        await self.blk_src.send(AxiStreamFrame(x.astype(np.int8).tobytes()))
        frame = await self.blk_sink.recv()
        y = np.frombuffer(bytes(frame.tdata), dtype=np.int8).reshape(-1, x.shape[1]).astype(np.int64)
        assert y.shape[0] == n, f"block {i}: {y.shape[0]} tokens out (tlast), {n} in"
        while not (await axil.read_dword(RTL_REGS["ctrl"])) & RTL_CTRL["ap_done"]:
            await ClockCycles(self.dut.clk, 16)
        status = await axil.read_dword(RTL_REGS["status"])
        assert not status & (RTL_STATUS["framing_error"] | RTL_STATUS["axi_error"]), f"block {i}: status {status:#x}"
        return y, await axil.read_dword(RTL_REGS["cycles"]), await axil.read_dword(RTL_REGS["load_cycles"])

    async def start_stage(self, s: int, n: int) -> Stage:
        """Stage s set up for n tokens and started: it waits for them on the block's link."""
        bd = self.bundle
        st = self.stages[bd.config.prune.score]
        if st.prm is not None and st.loaded != s:  # the selector holds one stage's parameters
            p = bd.selector(s)
            await st.prm.send(AxiStreamFrame(pr.selector_param_bytes(p)))
            await st.prm.wait()
            for name, value in pr.selector_regs(p).items():
                await st.axil.write_dword(pr.PRUNE_REGS[name], value)
            st.loaded = s
        for name, value in {**self.stage_regs[s], "N": n}.items():
            await st.axil.write_dword(pr.PRUNE_REGS[name], value)
        await st.axil.write_dword(pr.PRUNE_REGS["CTRL"], pr.AP_START)
        return st

    async def stage_result(self, s: int, st: Stage, n: int, d: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
        """The run of stage s on n tokens: (next tokens, their source indices (n: the package token), the n scores,
        the run's cycles)."""
        frame = await st.sink.recv(compact=False)  # keeps tuser per byte even when every value is the same
        y = np.frombuffer(bytes(frame.tdata), dtype=np.int8).reshape(-1, d).astype(np.int64)
        sources = np.asarray(frame.tuser[::d], dtype=np.int64)
        scores = await st.scores.recv()
        scores = np.frombuffer(bytes(scores.tdata), dtype="<u2").astype(np.int64)
        assert scores.shape == (n,), f"stage {s}: {scores.shape[0]} scores for {n} tokens"
        while not (await st.axil.read_dword(pr.PRUNE_REGS["CTRL"])) & pr.AP_DONE:
            await ClockCycles(self.dut.clk, 16)
        n_out = await st.axil.read_dword(pr.PRUNE_REGS["N_OUT"])
        status = await st.axil.read_dword(pr.PRUNE_REGS["STATUS"])
        assert status == 0, f"stage {s}: STATUS {status:#x}"
        assert n_out == y.shape[0], f"stage {s}: N_OUT {n_out}, {y.shape[0]} tokens out"
        return y, sources, scores, int(st.cycles.value)

    async def head(self, x: np.ndarray) -> np.ndarray:
        await self.hd_src.send(AxiStreamFrame(x[:1].astype(np.int8).tobytes()))
        frame = await self.hd_sink.recv()
        logits = np.frombuffer(bytes(frame.tdata), dtype="<i4").astype(np.int64)
        assert logits.shape == (self.bundle.config.num_classes,), f"head: {logits.shape[0]} logits"
        return logits

    async def image(self, image: np.ndarray) -> ImageResult:
        """One image through the whole model: the golden Trace.per_image() tensors, from RTL."""
        cfg, res = self.bundle.config, ImageResult()
        x = await self.patch_embed(image)
        ids = np.arange(x.shape[0])
        asvit = cfg.prune.score == "asvit"
        for i in range(cfg.depth):
            s = self.stage_of.get(i)
            n = x.shape[0]
            st = None if s is None else await self.start_stage(s, n)
            x, cycles, load_cycles = await self.block(i, x, cls_out=asvit and st is not None, link=st is not None)
            res.trace[f"blocks.{i}.out"] = x
            res.block_cycles.append(cycles)
            res.block_load_cycles.append(load_cycles)
            if st is not None:
                x, sources, scores, cycles = await self.stage_result(s, st, n, x.shape[1])
                ids = np.where(sources < n, ids[np.minimum(sources, n - 1)], PACKAGE_ID - s)
                res.trace[f"stages.{s}.scores"] = scores
                res.trace[f"stages.{s}.kept_ids"] = ids
                res.stage_cycles.append(cycles)
        res.trace["logits"] = await self.head(x)
        for port in (self.pe_sink, self.emb_sink, self.blk_sink, self.hd_sink,
                     *(p for st in self.stages.values() for p in (st.sink, st.scores))):
            assert port.empty(), "extra output after the image"
        return res
