"""cocotb testbench for hw/rtl/selector.sv: every score checked against the golden SPViT selector (§8.2).

Run from tests/test_rtl_selector.py, which builds with Verilator and passes the build's parameters here through
SPVIT_TB_* environment variables. The selector's parameters are those of random bundles of the digits config reshaped
to the build's D and HEADS (spvit.sim.golden.random_bundle(cfg, seed).selector(stage)); they are streamed into s_axis_prm as the
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

import cocotb
import numpy as np
from cocotb.triggers import ClockCycles
from cocotbext.axi import AxiStreamFrame

from common import STALL_VARIANTS, Testbench, beat_values, int8_bytes, setting, variant_seed
from spvit.configs import load_config
from spvit.sim import prune_regs as pr
from spvit.sim.golden import random_bundle
from spvit.sim.golden.params import LinearParams
from spvit.sim.golden.scoring import selector

N_MAX = setting("N_MAX", 67)
D = setting("D", 64)
HEADS = setting("HEADS", 4)
IN_LANES = setting("IN_LANES", 16)
IMAGES = setting("IMAGES", 6)
BUNDLE_SEED = setting("BUNDLE_SEED", 11)
# must-fail check: the golden model's keep layer shifts by this much more than the DUT's
GOLDEN_KEEP_SHIFT_OFFSET = setting("GOLDEN_KEEP_SHIFT_OFFSET", 0)


def selector_params(seed: int):
    """The selector of a random bundle of the digits config at the build's D and HEADS (stage 0 or 1 by seed parity)."""
    cfg = dataclasses.replace(load_config("digits"), embed_dim=D, num_heads=HEADS)
    bundle = random_bundle(cfg, seed)
    return bundle.selector(seed % cfg.num_stages)


def stress_params(seed: int):
    """A selector of the build's shape with full-range random weights, random tables (every lookup address matters, sigmoid
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


class TB(Testbench):
    def __init__(self, dut):
        super().__init__(dut)
        self.prm_source = self.add_source("s_axis_prm", byte_lanes=None)
        self.source = self.add_source("s_axis", byte_lanes=None)
        self.sink = self.add_sink()
        self.params = None

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
        await ClockCycles(dut.clk, 4)
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
        await self.source.send(AxiStreamFrame(int8_bytes(x)))
        got = beat_values(await self.sink.recv())
        want = self.golden(x)
        if got.shape != want.shape or not np.array_equal(got, want):
            bad = np.flatnonzero(got != want) if got.shape == want.shape else []
            self.log.error("image %d (n %d): %d scores out (golden %d); differing %s: rtl %s golden %s", index,
                           x.shape[0], got.size, want.size, list(bad[:8]),
                           got[bad[:8]].tolist() if len(bad) else got[:8].tolist(),
                           want[bad[:8]].tolist() if len(bad) else want[:8].tolist())
            return 1
        return 0


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
@cocotb.parametrize(**STALL_VARIANTS)
async def run_test(dut, idle: bool, backpressure: bool):
    tb = TB(dut)
    seed = variant_seed(3000, idle, backpressure)
    rng = await tb.begin_variant(idle, backpressure, seed)
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
    rng = await tb.begin(99)
    p = selector_params(BUNDLE_SEED + 5)
    await tb.load(p)
    for phase in ("pass1", "pass2", "load"):
        x = random_image(rng, N_MAX)
        if phase == "pass1":
            # half an image, then the first beat of a token with tlast (ignored inside a token): still in pass 1
            await tb.source.send(AxiStreamFrame(int8_bytes(x)[: (N_MAX // 2) * D + IN_LANES]))
            await ClockCycles(dut.clk, 40 * N_MAX // 2)
        elif phase == "pass2":
            tb.sink.pause = True
            await tb.source.send(AxiStreamFrame(int8_bytes(x)))
            for _ in range(300):  # until the first score is waiting
                await ClockCycles(dut.clk, 100)
                if dut.m_axis_tvalid.value == 1:
                    break
            assert dut.m_axis_tvalid.value == 1, "no score under backpressure"
        else:
            tb.prm_source.send_nowait(AxiStreamFrame(pr.selector_param_bytes(selector_params(BUNDLE_SEED + 6))))
            await ClockCycles(dut.clk, 1000)
        await tb.reset_mid_stream("m_axis_tvalid")
        if phase == "load":
            await tb.load(p)  # a reset restarts the loader at the first word: a full load is exact again
        for i in range(2):
            assert await tb.image(random_image(rng), i) == 0, f"after a reset in {phase}: image {i} differs"
