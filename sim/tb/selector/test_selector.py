"""cocotb testbench for hw/rtl/selector.sv: every score checked against the golden SPViT selector (§8.2).

Run from tests/test_rtl_selector.py, which builds with Verilator and passes the build's parameters here through
SPVIT_TB_* environment variables. The selector's parameters are those of random digits-shaped bundles
(spvit.sim.golden.random_bundle(load_config("digits"), seed).selector(stage)); they are streamed into s_axis_prm as the
128-bit words of the HLS m_axi layout (spvit.sim.prune_regs.selector_param_bytes: pack_words in the order of
HlsBackend._block_arrays' selector part) and the eps / shift ports are set from the same SelectorParams. Each image
(n random int8 tokens, n in 1 .. N_MAX, tlast on its last beat) must come back as exactly n uint16 scores equal to
spvit.sim.golden.scoring.selector of the image alone (mask = the n tokens), tlast on the n-th.

Tests: run_test over (idle, backpressure), each with its own parameters (so they are reloaded over the previous ones):
two bundles' selectors and two "stress" selectors (full-range random weights, random tables, saturating shifts);
corner images (n = 1, 2, N_MAX; constant tokens, whose LayerNorm variance is 0; the int8 extremes; one token repeated)
then SPVIT_TB_IMAGES random images; test_reset_mid_stream: reset in pass 1, in pass 2 and in the middle of a
parameter load, after which the next image (and a fresh load) must be exact.
"""
from __future__ import annotations

import dataclasses
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

from spvit.configs import load_config
from spvit.sim import prune_regs as pr
from spvit.sim.golden import random_bundle
from spvit.sim.golden.params import LinearParams
from spvit.sim.golden.scoring import selector

# cocotbext-axi 0.1.28 still calls cocotb 1.x APIs that cocotb 2.1 deprecates (setimmediatevalue, task.kill, ...);
# they work. Hide those warnings only, attributed to cocotbext.axi: everything else still shows.
warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"cocotbext\.axi")

N_MAX = int(os.environ.get("SPVIT_TB_N_MAX", "67"))
D = int(os.environ.get("SPVIT_TB_D", "64"))
HEADS = int(os.environ.get("SPVIT_TB_HEADS", "4"))
IN_LANES = int(os.environ.get("SPVIT_TB_IN_LANES", "16"))
IMAGES = int(os.environ.get("SPVIT_TB_IMAGES", "6"))
BUNDLE_SEED = int(os.environ.get("SPVIT_TB_BUNDLE_SEED", "11"))
# must-fail check: the golden model's keep layer shifts by this much more than the DUT's
GOLDEN_KEEP_SHIFT_OFFSET = int(os.environ.get("SPVIT_TB_GOLDEN_KEEP_SHIFT_OFFSET", "0"))


def selector_params(seed: int):
    """A digits-shaped bundle's selector (stage 0 or 1 by seed parity)."""
    cfg = load_config("digits")
    assert cfg.embed_dim == D and cfg.num_heads == HEADS, "the testbench builds digits-shaped selectors"
    bundle = random_bundle(cfg, seed)
    return bundle.selector(seed % cfg.num_stages)


def stress_params(seed: int):
    """A digits-shaped selector with full-range random weights, random tables (every lookup address matters, sigmoid
    tables with zeros: all-zero head weights happen) and shifts that saturate a fair share of each layer's outputs."""
    rng = np.random.default_rng(seed)
    base = selector_params(seed)
    dh = D // HEADS

    def layer(shape, lo, hi):
        w = rng.integers(-127, 128, shape)
        b = rng.integers(-(1 << 14), 1 << 14, shape[:-1])
        return LinearParams(w, b, int(rng.integers(lo, hi + 1)))

    def table(signed: bool):
        return rng.integers(-128, 128, 256) if signed else np.where(rng.random(256) < 0.2, 0,
                                                                    rng.integers(0, 256, 256))

    hs = base.se1.weight.shape[0]
    return dataclasses.replace(
        base,
        in_proj=layer((HEADS, dh, dh), 6, 9), in_act=table(True),
        mlp1=layer((HEADS, dh // 2, dh), 6, 9), mlp1_act=table(True),
        mlp2=layer((HEADS, dh // 4, dh // 2), 5, 8), mlp2_act=table(True),
        keep=layer((HEADS, 1, dh // 4), 4, 8), keep_act=table(False),
        se1=layer((hs, HEADS), 4, 8), se1_act=table(True),
        se2=layer((HEADS, hs), 3, 7), se2_act=table(False),
    )


class TB:
    def __init__(self, dut):
        self.dut = dut
        self.log = logging.getLogger("cocotb.tb")
        self.log.setLevel(logging.INFO)
        Clock(dut.clk, 10, unit="ns").start()
        self.prm_source = AxiStreamSource(AxiStreamBus.from_prefix(dut, "s_axis_prm"), dut.clk, dut.rst)
        self.source = AxiStreamSource(AxiStreamBus.from_prefix(dut, "s_axis"), dut.clk, dut.rst)
        self.sink = AxiStreamSink(AxiStreamBus.from_prefix(dut, "m_axis"), dut.clk, dut.rst, byte_lanes=1)
        for drv in (self.prm_source, self.source, self.sink):
            drv.log.setLevel(logging.WARNING)
        self.params = None

    def set_idle_generator(self, generator=None):
        if generator:
            self.source.set_pause_generator(generator())
            self.prm_source.set_pause_generator(generator())

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

    async def load(self, p):
        """Parameter words in, eps and shift ports set."""
        dut = self.dut
        dut.norm_eps.value = int(p.norm.eps_term)
        for port, shift in (("norm_shift", p.norm.shift), ("in_shift", p.in_proj.shift),
                            ("mlp1_shift", p.mlp1.shift), ("mlp2_shift", p.mlp2.shift), ("keep_shift", p.keep.shift),
                            ("se1_shift", p.se1.shift), ("se2_shift", p.se2.shift)):
            getattr(dut, port).value = shift & 0x7F
        await self.prm_source.send(AxiStreamFrame(pr.selector_param_bytes(p)))
        await self.prm_source.wait()
        for _ in range(4):
            await RisingEdge(dut.clk)
        self.params = p

    def golden(self, x: np.ndarray) -> np.ndarray:
        p = self.params
        if GOLDEN_KEEP_SHIFT_OFFSET:
            p = dataclasses.replace(p, keep=LinearParams(p.keep.weight, p.keep.bias,
                                                         p.keep.shift + GOLDEN_KEEP_SHIFT_OFFSET))
        n = x.shape[0]
        return selector(x[None], np.ones((1, n), dtype=bool), p, HEADS)[0]

    async def image(self, x: np.ndarray, index: int) -> int:
        """One image in, its scores checked; returns 1 if it differs."""
        await self.source.send(AxiStreamFrame(np.asarray(x, dtype=np.int64).astype(np.int8).tobytes()))
        frame = await self.sink.recv()
        got = np.array(list(frame.tdata), dtype=np.int64)
        want = self.golden(x)
        if got.shape != want.shape or not np.array_equal(got, want):
            bad = np.flatnonzero(got != want) if got.shape == want.shape else []
            self.log.error("image %d (n %d): %d scores out (golden %d); differing %s: rtl %s golden %s", index,
                           x.shape[0], got.size, want.size, list(bad[:8]),
                           got[bad[:8]].tolist() if len(bad) else got[:8].tolist(),
                           want[bad[:8]].tolist() if len(bad) else want[:8].tolist())
            return 1
        return 0


def random_pause(probability: float, seed: int):
    def generator():
        rng = random.Random(seed)
        while True:
            yield rng.random() < probability
    return generator


def random_image(rng: np.random.Generator, n: int | None = None) -> np.ndarray:
    if n is None:
        n = int(rng.choice([rng.integers(1, N_MAX + 1), N_MAX, rng.integers(1, 4)]))
    kind = rng.integers(0, 3)
    if kind == 0:
        return rng.integers(-128, 128, (n, D))
    scale = rng.choice([8.0, 30.0, 60.0])
    return np.clip(np.round(rng.normal(0, scale, (n, D)) + rng.normal(0, scale, (1, D))), -128, 127).astype(np.int64)


def corner_images(rng: np.random.Generator) -> list[np.ndarray]:
    return [
        random_image(rng, 1),
        random_image(rng, 2),
        random_image(rng, N_MAX),
        np.full((3, D), 5),                                        # constant tokens: LN variance 0
        np.where(rng.random((N_MAX, D)) < 0.5, -128, 127),          # the int8 extremes
        np.repeat(rng.integers(-128, 128, (1, D)), 4, axis=0),     # one token repeated
    ]


@cocotb.test()
@cocotb.parametrize(idle=[False, True], backpressure=[False, True])
async def run_test(dut, idle: bool, backpressure: bool):
    tb = TB(dut)
    seed = 3000 + 2 * idle + backpressure
    rng = np.random.default_rng(seed)
    tb.set_idle_generator(random_pause(0.3, seed) if idle else None)
    tb.set_backpressure_generator(random_pause(0.5, seed + 7) if backpressure else None)
    await tb.reset()
    # bundles' selectors with idle == backpressure, stress selectors otherwise (each run reloads over the last)
    make = stress_params if idle != backpressure else selector_params
    await tb.load(make(BUNDLE_SEED + 2 * idle + backpressure))
    tb.log.info("parameters: %s(%d)", make.__name__, BUNDLE_SEED + 2 * idle + backpressure)

    images = (corner_images(rng) if not (idle or backpressure) else []) + [random_image(rng) for _ in range(IMAGES)]
    bad = 0
    for i, x in enumerate(images):
        bad += await tb.image(x, i)
    assert tb.sink.empty(), "extra scores after the last image"
    assert bad == 0, f"{bad} of {len(images)} images differ from golden selector"
    tb.log.info("%d images, %d tokens: bit-exact", len(images), sum(x.shape[0] for x in images))


@cocotb.test()
async def test_reset_mid_stream(dut):
    """Reset in pass 1, in pass 2 (scores held under backpressure) and during a parameter load."""
    tb = TB(dut)
    rng = np.random.default_rng(99)
    await tb.reset()
    p = selector_params(BUNDLE_SEED + 5)
    await tb.load(p)
    for phase in ("pass1", "pass2", "load"):
        x = random_image(rng, N_MAX)
        if phase == "pass1":
            # half an image, then the first beat of a token with tlast (ignored inside a token): still in pass 1
            part = x.astype(np.int8).tobytes()[: (N_MAX // 2) * D + IN_LANES]
            await tb.source.send(AxiStreamFrame(part))
            for _ in range(40 * N_MAX // 2):
                await RisingEdge(dut.clk)
        elif phase == "pass2":
            tb.sink.pause = True
            await tb.source.send(AxiStreamFrame(x.astype(np.int8).tobytes()))
            for _ in range(300):  # until the first score is waiting
                for _ in range(100):
                    await RisingEdge(dut.clk)
                if dut.m_axis_tvalid.value == 1:
                    break
            assert dut.m_axis_tvalid.value == 1, "no score under backpressure"
        else:
            tb.prm_source.send_nowait(AxiStreamFrame(pr.selector_param_bytes(selector_params(BUNDLE_SEED + 6))))
            for _ in range(1000):
                await RisingEdge(dut.clk)
        await tb.reset()
        tb.source.clear()
        tb.prm_source.clear()
        tb.sink.clear()
        tb.sink.pause = False
        if phase == "load":
            await tb.load(p)  # a reset restarts the loader at the first word: a full load is exact again
        for i in range(2):
            assert await tb.image(random_image(rng), i) == 0, f"after a reset in {phase}: image {i} differs"
