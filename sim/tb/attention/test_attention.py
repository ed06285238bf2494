"""cocotb testbench for hw/rtl/attention.sv (one head): context and class row checked against golden attention.

Run from tests/test_rtl_attention.py, which builds with Verilator and passes the build's parameters through SPVIT_TB_*
environment variables. Each image (n tokens of int8 q, k, v, one token per beat) is compared exactly with
spvit.sim.golden.attention.attention on a padded [1, 1, N_MAX, DH] batch with the token mask (absent tokens carry
garbage there, which must take no part): the n context tokens (m_axis) and row 0 of p16 (m_axis_cls).
"""
from __future__ import annotations

import cocotb
import numpy as np
from cocotb.triggers import ClockCycles
from cocotbext.axi import AxiStreamFrame

from common import (STALL_VARIANTS, Testbench, beat_values, count_mismatches, lane_words, setting, stream_through,
                    variant_seed, word_lanes)
from spvit.sim.golden.attention import attention

N_MAX = setting("N_MAX", 6)
DH = setting("DH", 8)
IMAGES = setting("IMAGES", 12)  # random images per run_test variant
# golden-model override for the must-fail check: the golden context shift is off by this much
GOLDEN_SHIFT_SKEW = setting("GOLDEN_SHIFT_SKEW", 0)


class TB(Testbench):
    def __init__(self, dut):
        super().__init__(dut)
        self.source = self.add_source()
        self.sink = self.add_sink()
        self.cls_sink = self.add_sink("m_axis_cls")
        dut.frac_qk.value = 0
        dut.ctx_shift.value = 0

    async def send_image(self, img):
        # frac_qk and ctx_shift are sampled with the tlast beat: change them once the previous image is in.
        await self.source.wait()
        self.dut.frac_qk.value = img["f_qk"] & 0x7F
        self.dut.ctx_shift.value = img["shift"] & 0x7F
        await self.source.send(AxiStreamFrame(beats(img)))

    async def check_images(self, images) -> int:
        mismatches = 0
        checked = 0
        for index, img in enumerate(images):
            n, f_qk = img["n"], img["f_qk"]
            ctx_want, cls_want = golden(img)
            cls_got = beat_values(await self.cls_sink.recv())
            assert len(cls_got) == n, f"image {index}: {len(cls_got)} class-row beats for n = {n}"
            frame = await self.sink.recv()
            assert len(frame.tdata) == n, f"image {index}: {len(frame.tdata)} context tokens for n = {n}"
            ctx_got = word_lanes(frame.tdata, DH).reshape(n, DH)
            mismatches += count_mismatches(cls_got, cls_want, lambda j: self.log.error(
                "image %d (n %d, f_qk %d): class p16[%d] rtl %d golden %d", index, n, f_qk, j, cls_got[j],
                cls_want[j]), limit=4)
            mismatches += count_mismatches(ctx_got, ctx_want, lambda t, c: self.log.error(
                "image %d (n %d, f_qk %d, shift %d): ctx[%d][%d] rtl %d golden %d", index, n, f_qk, img["shift"], t,
                c, ctx_got[t, c], ctx_want[t, c]), limit=4)
            checked += cls_want.size + ctx_want.size
        assert self.sink.empty() and self.cls_sink.empty(), "extra output after the last image"
        assert mismatches == 0, f"{mismatches} of {checked} outputs differ from golden attention"
        return checked


def beats(img) -> list[int]:
    """One token per beat: q in the low DH lanes, then k, then v."""
    return lane_words(np.concatenate([img["q"], img["k"], img["v"]], axis=1)[:img["n"]], 3 * DH)


def golden(img):
    """Golden attention on the padded [1, 1, N_MAX, DH] tensors with the token mask; (ctx [n, DH], class p16 [n])."""
    n = img["n"]
    mask = np.zeros((1, N_MAX), dtype=bool)
    mask[0, :n] = True
    q, k, v = (img[name][None, None] for name in ("q", "k", "v"))
    # ctx shift = PROB_FRAC + f_v - f_out = 8 + shift - 8
    ctx, cls = attention(q, k, v, img["f_qk"], 0, img["shift"] + GOLDEN_SHIFT_SKEW, 8, mask)
    return ctx[0, 0, :n], cls[0, 0, :n]


def make_image(rng: np.random.Generator, n: int, f_qk: int, shift: int, kind: str = "random"):
    shape = (N_MAX, DH)
    q = rng.integers(-128, 128, shape)
    k = rng.integers(-128, 128, shape)
    v = rng.integers(-128, 128, shape)
    if kind == "small":  # small q: soft attention
        q = rng.integers(-4, 5, shape)
    elif kind == "equal_keys":  # every key the same: all logits of a row equal
        k[:] = k[0]
    elif kind == "one_max":  # one key dominates every row by far
        q[:] = 127
        k[:n] = -128
        k[int(rng.integers(0, n))] = 127
    elif kind == "extreme":  # full-scale values everywhere (largest logits and contexts)
        q = rng.choice([-128, 127], shape)
        k = rng.choice([-128, 127], shape)
        v = rng.choice([-128, 127], shape)
    return dict(n=n, f_qk=f_qk, shift=shift, q=q.astype(np.int64), k=k.astype(np.int64), v=v.astype(np.int64))


def random_image(rng: np.random.Generator):
    n = int(rng.integers(1, N_MAX + 1)) if rng.random() < 0.75 else int(rng.choice([1, N_MAX]))
    f_qk = int(rng.integers(6, 17)) if rng.random() < 0.7 else int(rng.integers(-5, 33))
    shift = int(rng.integers(4, 13)) if rng.random() < 0.7 else int(rng.integers(-16, 33))
    kind = str(rng.choice(["random", "random", "small", "equal_keys", "one_max", "extreme"]))
    return make_image(rng, n, f_qk, shift, kind)


@cocotb.test()
@cocotb.parametrize(**STALL_VARIANTS)
async def run_test(dut, idle: bool, backpressure: bool):
    """Random images (random n, fracs, shifts, data kinds) with random idle/backpressure on every stream."""
    tb = TB(dut)
    seed = variant_seed(3000, idle, backpressure)
    rng = await tb.begin_variant(idle, backpressure, seed)
    images = [random_image(rng) for _ in range(IMAGES)]
    checked = await stream_through(images, tb.send_image, tb.check_images)
    tb.log.info("%d images, %d outputs: bit-exact", len(images), checked)


@cocotb.test()
async def test_corners(dut):
    """n = 1 (p8 = 255), n = N_MAX, equal logits, one dominant key, saturating contexts, fracs -5 and 32."""
    tb = TB(dut)
    rng = await tb.begin(99, backpressure=0.2)
    kinds = ("random", "equal_keys", "one_max", "extreme", "small")
    images = []
    for f_qk, shift in ((-5, 8), (0, -16), (10, 32), (32, 8), (13, 0), (14, 10)):
        images.append(make_image(rng, N_MAX, f_qk, shift, "extreme" if shift in (-16, 0) else "random"))
        images.append(make_image(rng, 1, f_qk, shift, "random"))
    for kind in kinds:
        images.append(make_image(rng, N_MAX, 13, 8, kind))
        images.append(make_image(rng, max(N_MAX // 2, 1), 7, 6, kind))
    checked = await stream_through(images, tb.send_image, tb.check_images)
    tb.log.info("%d corner images, %d outputs: bit-exact", len(images), checked)


@cocotb.test()
async def test_reset_mid_stream(dut):
    """Reset in the middle of an image's computation (outputs held by backpressure); the next images are exact."""
    tb = TB(dut)
    rng = await tb.begin(7)
    tb.sink.pause = True
    tb.cls_sink.pause = True
    await tb.send_image(make_image(rng, N_MAX, 12, 8))
    await tb.send_image(make_image(rng, N_MAX, 12, 8))
    await ClockCycles(dut.clk, N_MAX * 4 + 80)
    assert dut.m_axis_cls_tvalid.value == 1
    await tb.reset_mid_stream("m_axis_tvalid", "m_axis_cls_tvalid")
    tb.set_stalls(idle=0.2, backpressure=0.3, seed=8)
    images = [random_image(rng) for _ in range(3)] + [make_image(rng, N_MAX, 11, 7)]
    await stream_through(images, tb.send_image, tb.check_images)
