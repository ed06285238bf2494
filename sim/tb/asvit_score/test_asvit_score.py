"""cocotb testbench for hw/rtl/asvit_score.sv: every score checked against golden asvit_score (arithmetic.md §8.1).

Run from tests/test_rtl_asvit_score.py, which builds with Verilator and passes the build's parameters through
SPVIT_TB_* environment variables. Per image: the class-token contexts of the H heads (one beat per head) and the
H class-attention rows (p16, tlast per head) go in on their own streams; the n scores are compared exactly with
spvit.sim.golden.scoring.asvit_score.
"""
from __future__ import annotations

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

from spvit.sim.golden.scoring import asvit_score

warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"cocotbext\.axi")

N_MAX = int(os.environ.get("SPVIT_TB_N_MAX", "7"))
DH = int(os.environ.get("SPVIT_TB_DH", "4"))
H = int(os.environ.get("SPVIT_TB_H", "3"))
IMAGES = int(os.environ.get("SPVIT_TB_IMAGES", "60"))  # random images per run_test variant
# golden-model override for the must-fail check: the golden model sees every p16 plus this
GOLDEN_P16_SKEW = int(os.environ.get("SPVIT_TB_GOLDEN_P16_SKEW", "0"))


class TB:
    def __init__(self, dut):
        self.dut = dut
        self.log = logging.getLogger("cocotb.tb")
        self.log.setLevel(logging.INFO)
        Clock(dut.clk, 10, unit="ns").start()
        self.ctx_source = AxiStreamSource(AxiStreamBus.from_prefix(dut, "s_axis_ctx"), dut.clk, dut.rst, byte_lanes=1)
        self.p16_source = AxiStreamSource(AxiStreamBus.from_prefix(dut, "s_axis_p16"), dut.clk, dut.rst, byte_lanes=1)
        self.sink = AxiStreamSink(AxiStreamBus.from_prefix(dut, "m_axis"), dut.clk, dut.rst, byte_lanes=1)
        for port in (self.ctx_source, self.p16_source, self.sink):
            port.log.setLevel(logging.WARNING)

    def set_idle_generator(self, seed: int, probability: float):
        self.ctx_source.set_pause_generator(random_pause(probability, seed)())
        self.p16_source.set_pause_generator(random_pause(probability, seed + 1)())

    def set_backpressure_generator(self, seed: int, probability: float):
        self.sink.set_pause_generator(random_pause(probability, seed)())

    async def reset(self):
        self.dut.rst.value = Immediate(0)
        for _ in range(2):
            await RisingEdge(self.dut.clk)
        self.dut.rst.value = 1
        for _ in range(2):
            await RisingEdge(self.dut.clk)
        # drop whatever the testbench still had queued (the sources resume sending when reset falls)
        for port in (self.ctx_source, self.p16_source, self.sink):
            port.clear()
        self.dut.rst.value = 0
        for _ in range(2):
            await RisingEdge(self.dut.clk)

    async def send_image(self, img):
        ctx_words = [sum((int(v) & 0xFF) << (8 * c) for c, v in enumerate(row)) for row in img["ctx"]]
        await self.ctx_source.send(AxiStreamFrame(ctx_words))
        for h in range(H):
            await self.p16_source.send(AxiStreamFrame([int(v) for v in img["p16"][h, :img["n"]]]))

    async def check_images(self, images) -> int:
        mismatches = 0
        checked = 0
        for index, img in enumerate(images):
            n = img["n"]
            frame = await self.sink.recv()
            got = np.array(list(frame.tdata), dtype=np.int64)
            assert len(got) == n, f"image {index}: {len(got)} scores for n = {n} (tlast misplaced?)"
            want = golden(img)
            bad = np.flatnonzero(got != want)
            for j in bad[:4]:
                self.log.error("image %d (n %d) score[%d]: rtl %d golden %d", index, n, j, got[j], want[j])
            mismatches += bad.size
            checked += n
        assert self.sink.empty(), "extra scores after the last image"
        assert mismatches == 0, f"{mismatches} of {checked} scores differ from golden asvit_score"
        return checked


def random_pause(probability: float, seed: int):
    def generator():
        rng = random.Random(seed)
        while True:
            yield rng.random() < probability
    return generator


def golden(img) -> np.ndarray:
    """Golden scores on the padded [1, H, N_MAX] rows (absent tokens hold 0, as attention's rows do)."""
    n = img["n"]
    p16 = np.zeros((1, H, N_MAX), dtype=np.int64)
    p16[0, :, :n] = img["p16"][:, :n] + GOLDEN_P16_SKEW
    return asvit_score(p16, img["ctx"][None])[0, :n]


def make_image(rng: np.random.Generator, n: int, ctx_kind: str = "random", p16_kind: str = "random"):
    if p16_kind == "random":
        p16 = rng.integers(0, 65536, (H, N_MAX))
    elif p16_kind == "softmax":  # rows that sum to about 65,536, as real class-attention rows do
        w = rng.exponential(1.0, (H, n)) ** 3
        p16 = np.zeros((H, N_MAX), dtype=np.int64)
        p16[:, :n] = np.minimum(np.floor(w / w.sum(axis=1, keepdims=True) * 65536 + 0.5), 65535)
    elif p16_kind == "max":
        p16 = np.full((H, N_MAX), 65535)
    else:  # small values: rounding ties matter
        p16 = rng.integers(0, 4, (H, N_MAX))
    if ctx_kind == "random":
        ctx = rng.integers(-128, 128, (H, DH))
    elif ctx_kind == "zero":  # every n_h = 0: equal weights
        ctx = np.zeros((H, DH), dtype=np.int64)
    elif ctx_kind == "some_zero":  # some heads weigh 0
        ctx = rng.integers(-128, 128, (H, DH))
        ctx[rng.random(H) < 0.5] = 0
        ctx[int(rng.integers(0, H))] = rng.integers(-3, 4, DH)
    elif ctx_kind == "extreme":  # the largest energy, -128 everywhere (n_h = 128 sqrt(DH))
        ctx = np.full((H, DH), -128)
    else:  # small contexts: small, unequal weights
        ctx = rng.integers(-2, 3, (H, DH))
    return dict(n=n, ctx=ctx.astype(np.int64), p16=p16.astype(np.int64))


def random_image(rng: np.random.Generator):
    n = int(rng.integers(1, N_MAX + 1)) if rng.random() < 0.75 else int(rng.choice([1, N_MAX]))
    ctx_kind = str(rng.choice(["random", "random", "zero", "some_zero", "extreme", "small"]))
    p16_kind = str(rng.choice(["random", "softmax", "softmax", "max", "tiny"]))
    return make_image(rng, n, ctx_kind, p16_kind)


@cocotb.test()
@cocotb.parametrize(idle=[False, True], backpressure=[False, True])
async def run_test(dut, idle: bool, backpressure: bool):
    """Random images (random n, all-zero / some-zero / extreme contexts, softmax-like and extreme rows)."""
    tb = TB(dut)
    seed = 4000 + 2 * idle + backpressure
    rng = np.random.default_rng(seed)
    if idle:
        tb.set_idle_generator(seed, 0.3)
    if backpressure:
        tb.set_backpressure_generator(seed + 7, 0.5)
    await tb.reset()
    images = [random_image(rng) for _ in range(IMAGES)]
    for img in images:
        await tb.send_image(img)
    checked = await tb.check_images(images)
    tb.log.info("%d images, %d scores: bit-exact", len(images), checked)


@cocotb.test()
async def test_corners(dut):
    """n = 1 and N_MAX with every context kind and every row kind."""
    tb = TB(dut)
    rng = np.random.default_rng(55)
    tb.set_backpressure_generator(56, 0.2)
    await tb.reset()
    images = []
    for n in (1, N_MAX):
        for ctx_kind in ("random", "zero", "some_zero", "extreme", "small"):
            for p16_kind in ("random", "softmax", "max", "tiny"):
                images.append(make_image(rng, n, ctx_kind, p16_kind))
    for img in images:
        await tb.send_image(img)
    checked = await tb.check_images(images)
    tb.log.info("%d corner images, %d scores: bit-exact", len(images), checked)


@cocotb.test()
async def test_reset_mid_stream(dut):
    """Reset with one image half taken and scores held by backpressure; the next images are exact."""
    tb = TB(dut)
    rng = np.random.default_rng(3)
    await tb.reset()
    tb.sink.pause = True
    await tb.send_image(make_image(rng, N_MAX))
    await tb.send_image(make_image(rng, N_MAX))
    for _ in range(H * N_MAX + 30 * N_MAX):
        await RisingEdge(dut.clk)
    assert dut.m_axis_tvalid.value == 1
    await tb.reset()
    assert dut.m_axis_tvalid.value == 0
    tb.sink.pause = False
    tb.set_idle_generator(4, 0.2)
    tb.set_backpressure_generator(5, 0.3)
    images = [random_image(rng) for _ in range(4)]
    for img in images:
        await tb.send_image(img)
    await tb.check_images(images)
