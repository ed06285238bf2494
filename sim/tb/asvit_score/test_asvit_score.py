"""cocotb testbench for hw/rtl/asvit_score.sv: every score checked against golden asvit_score (arithmetic.md §8.1).

Run from tests/test_rtl_asvit_score.py, which builds with Verilator and passes the build's parameters through
SPVIT_TB_* environment variables. Per image: the class-token contexts of the H heads (one beat per head) and the
H class-attention rows (p16, tlast per head) go in on their own streams; the n scores are compared exactly with
spvit.sim.golden.scoring.asvit_score.
"""
from __future__ import annotations

import cocotb
import numpy as np
from cocotb.triggers import ClockCycles
from cocotbext.axi import AxiStreamFrame

from common import (STALL_VARIANTS, Testbench, beat_values, count_mismatches, lane_words, setting, stream_through,
                    variant_seed)
from spvit.sim.golden.scoring import asvit_score

N_MAX = setting("N_MAX", 7)
DH = setting("DH", 4)
H = setting("H", 3)
IMAGES = setting("IMAGES", 60)  # random images per run_test variant
# golden-model override for the must-fail check: the golden model sees every p16 plus this
GOLDEN_P16_SKEW = setting("GOLDEN_P16_SKEW", 0)


class TB(Testbench):
    def __init__(self, dut):
        super().__init__(dut)
        self.ctx_source = self.add_source("s_axis_ctx")
        self.p16_source = self.add_source("s_axis_p16")
        self.sink = self.add_sink()

    async def send_image(self, img):
        await self.ctx_source.send(AxiStreamFrame(lane_words(img["ctx"], DH)))
        for h in range(H):
            await self.p16_source.send(AxiStreamFrame([int(v) for v in img["p16"][h, :img["n"]]]))

    async def check_images(self, images) -> int:
        mismatches = 0
        checked = 0
        for index, img in enumerate(images):
            n = img["n"]
            got = beat_values(await self.sink.recv())
            assert len(got) == n, f"image {index}: {len(got)} scores for n = {n} (tlast misplaced?)"
            want = golden(img)
            mismatches += count_mismatches(got, want, lambda j: self.log.error(
                "image %d (n %d) score[%d]: rtl %d golden %d", index, n, j, got[j], want[j]), limit=4)
            checked += n
        assert self.sink.empty(), "extra scores after the last image"
        assert mismatches == 0, f"{mismatches} of {checked} scores differ from golden asvit_score"
        return checked


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
@cocotb.parametrize(**STALL_VARIANTS)
async def run_test(dut, idle: bool, backpressure: bool):
    """Random images (random n, all-zero / some-zero / extreme contexts, softmax-like and extreme rows)."""
    tb = TB(dut)
    seed = variant_seed(4000, idle, backpressure)
    rng = await tb.begin_variant(idle, backpressure, seed)
    images = [random_image(rng) for _ in range(IMAGES)]
    checked = await stream_through(images, tb.send_image, tb.check_images)
    tb.log.info("%d images, %d scores: bit-exact", len(images), checked)


@cocotb.test()
async def test_corners(dut):
    """n = 1 and N_MAX with every context kind and every row kind."""
    tb = TB(dut)
    rng = await tb.begin(55, backpressure=0.2)
    images = []
    for n in (1, N_MAX):
        for ctx_kind in ("random", "zero", "some_zero", "extreme", "small"):
            for p16_kind in ("random", "softmax", "max", "tiny"):
                images.append(make_image(rng, n, ctx_kind, p16_kind))
    checked = await stream_through(images, tb.send_image, tb.check_images)
    tb.log.info("%d corner images, %d scores: bit-exact", len(images), checked)


@cocotb.test()
async def test_reset_mid_stream(dut):
    """Reset with one image half taken and scores held by backpressure; the next images are exact."""
    tb = TB(dut)
    rng = await tb.begin(3)
    tb.sink.pause = True
    await tb.send_image(make_image(rng, N_MAX))
    await tb.send_image(make_image(rng, N_MAX))
    await ClockCycles(dut.clk, H * N_MAX + 30 * N_MAX)
    assert dut.m_axis_tvalid.value == 1
    await tb.reset_mid_stream("m_axis_tvalid")
    tb.set_stalls(idle=0.2, backpressure=0.3, seed=4)
    images = [random_image(rng) for _ in range(4)]
    await stream_through(images, tb.send_image, tb.check_images)
