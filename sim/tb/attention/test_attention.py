"""cocotb testbench for hw/rtl/attention.sv (one head): context and class row checked against golden attention.

Run from tests/test_rtl_attention.py, which builds with Verilator and passes the build's parameters through SPVIT_TB_*
environment variables. Each image (n tokens of int8 q, k, v, one token per beat) is compared exactly with
spvit.sim.golden.attention.attention on a padded [1, 1, N_MAX, DH] batch with the token mask (absent tokens carry
garbage there, which must take no part): the n context tokens (m_axis) and row 0 of p16 (m_axis_cls).
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

from spvit.sim.golden.attention import attention

warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"cocotbext\.axi")

N_MAX = int(os.environ.get("SPVIT_TB_N_MAX", "6"))
DH = int(os.environ.get("SPVIT_TB_DH", "8"))
IMAGES = int(os.environ.get("SPVIT_TB_IMAGES", "12"))  # random images per run_test variant
# golden-model override for the must-fail check: the golden context shift is off by this much
GOLDEN_SHIFT_SKEW = int(os.environ.get("SPVIT_TB_GOLDEN_SHIFT_SKEW", "0"))


class TB:
    def __init__(self, dut):
        self.dut = dut
        self.log = logging.getLogger("cocotb.tb")
        self.log.setLevel(logging.INFO)
        Clock(dut.clk, 10, unit="ns").start()
        self.source = AxiStreamSource(AxiStreamBus.from_prefix(dut, "s_axis"), dut.clk, dut.rst, byte_lanes=1)
        self.sink = AxiStreamSink(AxiStreamBus.from_prefix(dut, "m_axis"), dut.clk, dut.rst, byte_lanes=1)
        self.cls_sink = AxiStreamSink(AxiStreamBus.from_prefix(dut, "m_axis_cls"), dut.clk, dut.rst, byte_lanes=1)
        for port in (self.source, self.sink, self.cls_sink):
            port.log.setLevel(logging.WARNING)
        dut.frac_qk.value = 0
        dut.ctx_shift.value = 0

    def set_idle_generator(self, generator=None):
        if generator:
            self.source.set_pause_generator(generator())

    def set_backpressure_generator(self, generator=None, cls_generator=None):
        if generator:
            self.sink.set_pause_generator(generator())
        if cls_generator:
            self.cls_sink.set_pause_generator(cls_generator())

    async def reset(self):
        self.dut.rst.value = Immediate(0)
        for _ in range(2):
            await RisingEdge(self.dut.clk)
        self.dut.rst.value = 1
        for _ in range(2):
            await RisingEdge(self.dut.clk)
        # drop whatever the testbench still had queued (the sources resume sending when reset falls)
        for port in (self.source, self.sink, self.cls_sink):
            port.clear()
        self.dut.rst.value = 0
        for _ in range(2):
            await RisingEdge(self.dut.clk)

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
            n = img["n"]
            ctx_want, cls_want = golden(img)
            frame = await self.cls_sink.recv()
            cls_got = np.array(list(frame.tdata), dtype=np.int64)
            assert len(cls_got) == n, f"image {index}: {len(cls_got)} class-row beats for n = {n}"
            frame = await self.sink.recv()
            assert len(frame.tdata) == n, f"image {index}: {len(frame.tdata)} context tokens for n = {n}"
            ctx_got = np.array([lanes(int(t), DH) for t in frame.tdata], dtype=np.int64)
            bad_cls = np.flatnonzero(cls_got != cls_want)
            bad_ctx = np.argwhere(ctx_got != ctx_want)
            for j in bad_cls[:4]:
                self.log.error("image %d (n %d, f_qk %d): class p16[%d] rtl %d golden %d",
                               index, n, img["f_qk"], j, cls_got[j], cls_want[j])
            for t, c in bad_ctx[:4]:
                self.log.error("image %d (n %d, f_qk %d, shift %d): ctx[%d][%d] rtl %d golden %d",
                               index, n, img["f_qk"], img["shift"], t, c, ctx_got[t, c], ctx_want[t, c])
            mismatches += bad_cls.size + len(bad_ctx)
            checked += cls_want.size + ctx_want.size
        assert self.sink.empty() and self.cls_sink.empty(), "extra output after the last image"
        assert mismatches == 0, f"{mismatches} of {checked} outputs differ from golden attention"
        return checked


def lanes(word: int, count: int) -> list[int]:
    out = []
    for c in range(count):
        b = (word >> (8 * c)) & 0xFF
        out.append(b - 256 if b >= 128 else b)
    return out


def pack(values) -> int:
    word = 0
    for c, v in enumerate(values):
        word |= (int(v) & 0xFF) << (8 * c)
    return word


def beats(img) -> list[int]:
    n = img["n"]
    return [pack(img["q"][t]) | pack(img["k"][t]) << (8 * DH) | pack(img["v"][t]) << (16 * DH) for t in range(n)]


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


def random_pause(probability: float, seed: int):
    def generator():
        rng = random.Random(seed)
        while True:
            yield rng.random() < probability
    return generator


@cocotb.test()
@cocotb.parametrize(idle=[False, True], backpressure=[False, True])
async def run_test(dut, idle: bool, backpressure: bool):
    """Random images (random n, fracs, shifts, data kinds) with random idle/backpressure on every stream."""
    tb = TB(dut)
    seed = 3000 + 2 * idle + backpressure
    rng = np.random.default_rng(seed)
    tb.set_idle_generator(random_pause(0.3, seed) if idle else None)
    if backpressure:
        tb.set_backpressure_generator(random_pause(0.5, seed + 7), random_pause(0.5, seed + 9))
    await tb.reset()
    images = [random_image(rng) for _ in range(IMAGES)]
    for img in images:
        await tb.send_image(img)
    checked = await tb.check_images(images)
    tb.log.info("%d images, %d outputs: bit-exact", len(images), checked)


@cocotb.test()
async def test_corners(dut):
    """n = 1 (p8 = 255), n = N_MAX, equal logits, one dominant key, saturating contexts, fracs -5 and 32."""
    tb = TB(dut)
    rng = np.random.default_rng(99)
    tb.set_backpressure_generator(random_pause(0.2, 98), random_pause(0.2, 97))
    await tb.reset()
    kinds = ("random", "equal_keys", "one_max", "extreme", "small")
    images = []
    for f_qk, shift in ((-5, 8), (0, -16), (10, 32), (32, 8), (13, 0), (14, 10)):
        images.append(make_image(rng, N_MAX, f_qk, shift, "extreme" if shift in (-16, 0) else "random"))
        images.append(make_image(rng, 1, f_qk, shift, "random"))
    for kind in kinds:
        images.append(make_image(rng, N_MAX, 13, 8, kind))
        images.append(make_image(rng, max(N_MAX // 2, 1), 7, 6, kind))
    for img in images:
        await tb.send_image(img)
    checked = await tb.check_images(images)
    tb.log.info("%d corner images, %d outputs: bit-exact", len(images), checked)


@cocotb.test()
async def test_reset_mid_stream(dut):
    """Reset in the middle of an image's computation (outputs held by backpressure); the next images are exact."""
    tb = TB(dut)
    rng = np.random.default_rng(7)
    await tb.reset()
    tb.sink.pause = True
    tb.cls_sink.pause = True
    await tb.send_image(make_image(rng, N_MAX, 12, 8))
    await tb.send_image(make_image(rng, N_MAX, 12, 8))
    for _ in range(N_MAX * 4 + 80):
        await RisingEdge(dut.clk)
    assert dut.m_axis_cls_tvalid.value == 1
    await tb.reset()
    assert dut.m_axis_tvalid.value == 0 and dut.m_axis_cls_tvalid.value == 0
    tb.sink.pause = False
    tb.cls_sink.pause = False
    tb.set_idle_generator(random_pause(0.2, 8))
    tb.set_backpressure_generator(random_pause(0.3, 9), random_pause(0.3, 10))
    images = [random_image(rng) for _ in range(3)] + [make_image(rng, N_MAX, 11, 7)]
    for img in images:
        await tb.send_image(img)
    await tb.check_images(images)
