"""cocotb testbench for hw/rtl/attention.sv (one head): context and class row checked against golden attention.

Run from tests/test_rtl_attention.py, which builds with Verilator and passes the build's parameters through
SPVIT_TB_* environment variables. Each image (n tokens of int8 k and v on s_axis, the n int8 queries on s_axis_q, one
token per beat) is compared exactly with spvit.sim.golden.attention.attention on a padded [1, 1, N_MAX, DH] batch
with the token mask (absent tokens carry garbage there, which must take no part): the n context tokens (m_axis) and
row 0 of p16 (m_axis_cls).

The queries of an image go before, with or after its keys (ORDERS, chosen per image), each stream with its own
random idle cycles; images follow back to back, so the next image's queries are offered while this image computes.

Tests
- run_test x (idle, backpressure): random images (n, fracs, shifts, data kinds, query orders).
- test_corners: n = 1, n = N_MAX, equal logits, one dominant key, saturating contexts, fracs -5 and 32.
- test_query_order x order: every image in one order ("ahead": the query stream runs free of the keys, every
  image's queries queued at once), random idle on both sources and backpressure.
- test_reset_mid_stream: reset with both input streams in flight and output held; the next images are exact.
"""
from __future__ import annotations

import cocotb
import numpy as np
from cocotb.triggers import ClockCycles, RisingEdge, with_timeout
from cocotbext.axi import AxiStreamFrame

from common import (STALL_VARIANTS, Testbench, beat_values, count_mismatches, lane_words, setting, stream_through,
                    variant_seed, word_lanes)
from spvit.sim.golden.attention import attention

N_MAX = setting("N_MAX", 6)
DH = setting("DH", 8)
IMAGES = setting("IMAGES", 12)  # random images per run_test variant and per test_query_order order
# golden-model override for the must-fail check: the golden context shift is off by this much
GOLDEN_SHIFT_SKEW = setting("GOLDEN_SHIFT_SKEW", 0)
# where an image's queries go relative to its keys and values
ORDERS = ("before", "with", "after")
# test_query_order's orders; "ahead": the query stream runs free of the keys, every image's queries queued at once
QUERY_ORDERS = [*ORDERS, "ahead"]
# a stuck DUT fails the test instead of hanging the run: ten times an image's cycles without stalls (a row is about
# max(n DH / QK_SIMD, n + 29)), at 10 ns a cycle
IMAGE_TIMEOUT_NS = 10 * N_MAX * (N_MAX * DH + 40) * 10


class TB(Testbench):
    def __init__(self, dut):
        super().__init__(dut)
        self.source = self.add_source()
        self.q_source = self.add_source("s_axis_q")
        self.sink = self.add_sink()
        self.cls_sink = self.add_sink("m_axis_cls")
        dut.frac_qk.value = 0
        dut.ctx_shift.value = 0

    async def send_keys(self, img):
        # frac_qk and ctx_shift are sampled with the tlast beat: change them once the previous image's keys are in.
        await self.source.wait()
        self.dut.frac_qk.value = img["f_qk"] & 0x7F
        self.dut.ctx_shift.value = img["shift"] & 0x7F
        await self.source.send(AxiStreamFrame(kv_beats(img)))

    async def send_queries(self, img):
        await self.q_source.send(AxiStreamFrame(lane_words(img["q"][:img["n"]], DH)))

    async def send_image(self, img):
        """Keys and values, and the queries in the image's order: all queries taken first, or both queued at once,
        or the queries only `q_delay` cycles after the last key is taken."""
        if img["order"] == "before":
            await self.send_queries(img)
            await self.q_source.wait()
            await self.send_keys(img)
        elif img["order"] == "with":
            await self.send_keys(img)
            await self.send_queries(img)
        else:
            await self.send_keys(img)
            await self.source.wait()
            await ClockCycles(self.dut.clk, img["q_delay"])
            await self.send_queries(img)

    async def check_images(self, images) -> int:
        mismatches = 0
        checked = 0
        for index, img in enumerate(images):
            n, f_qk = img["n"], img["f_qk"]
            ctx_want, cls_want = golden(img)
            cls_got = beat_values(await with_timeout(self.cls_sink.recv(), IMAGE_TIMEOUT_NS, "ns"))
            assert len(cls_got) == n, f"image {index}: {len(cls_got)} class-row beats for n = {n}"
            frame = await with_timeout(self.sink.recv(), IMAGE_TIMEOUT_NS, "ns")
            assert len(frame.tdata) == n, f"image {index}: {len(frame.tdata)} context tokens for n = {n}"
            ctx_got = word_lanes(frame.tdata, DH).reshape(n, DH)
            mismatches += count_mismatches(cls_got, cls_want, lambda j: self.log.error(
                "image %d (n %d, f_qk %d, q %s): class p16[%d] rtl %d golden %d", index, n, f_qk, img["order"], j,
                cls_got[j], cls_want[j]), limit=4)
            mismatches += count_mismatches(ctx_got, ctx_want, lambda t, c: self.log.error(
                "image %d (n %d, f_qk %d, shift %d, q %s): ctx[%d][%d] rtl %d golden %d", index, n, f_qk,
                img["shift"], img["order"], t, c, ctx_got[t, c], ctx_want[t, c]), limit=4)
            checked += cls_want.size + ctx_want.size
        assert self.sink.empty() and self.cls_sink.empty(), "extra output after the last image"
        assert mismatches == 0, f"{mismatches} of {checked} outputs differ from golden attention"
        return checked


def kv_beats(img) -> list[int]:
    """One token per beat: k in the low DH lanes, then v."""
    return lane_words(np.concatenate([img["k"], img["v"]], axis=1)[:img["n"]], 2 * DH)


def golden(img):
    """Golden attention on the padded [1, 1, N_MAX, DH] tensors with the token mask; (ctx [n, DH], class p16 [n])."""
    n = img["n"]
    mask = np.zeros((1, N_MAX), dtype=bool)
    mask[0, :n] = True
    q, k, v = (img[name][None, None] for name in ("q", "k", "v"))
    # ctx shift = PROB_FRAC + f_v - f_out = 8 + shift - 8
    ctx, cls = attention(q, k, v, img["f_qk"], 0, img["shift"] + GOLDEN_SHIFT_SKEW, 8, mask)
    return ctx[0, 0, :n], cls[0, 0, :n]


def make_image(rng: np.random.Generator, n: int, f_qk: int, shift: int, kind: str = "random", order: str = "with"):
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
    # q_delay: cycles between the last key and the first query offered, for order "after"
    return dict(n=n, f_qk=f_qk, shift=shift, q=q.astype(np.int64), k=k.astype(np.int64), v=v.astype(np.int64),
                order=order, q_delay=int(rng.integers(0, 3 * N_MAX)))


def random_image(rng: np.random.Generator, order: str | None = None):
    """A random image; its query order random unless given."""
    n = int(rng.integers(1, N_MAX + 1)) if rng.random() < 0.75 else int(rng.choice([1, N_MAX]))
    f_qk = int(rng.integers(6, 17)) if rng.random() < 0.7 else int(rng.integers(-5, 33))
    shift = int(rng.integers(4, 13)) if rng.random() < 0.7 else int(rng.integers(-16, 33))
    kind = str(rng.choice(["random", "random", "small", "equal_keys", "one_max", "extreme"]))
    return make_image(rng, n, f_qk, shift, kind, order or str(rng.choice(ORDERS)))


async def accepted(dut, prefix: str, beats: int) -> None:
    """Wait until `beats` beats have been taken on the DUT's `prefix` stream."""
    valid, ready = getattr(dut, f"{prefix}_tvalid"), getattr(dut, f"{prefix}_tready")
    while beats:
        await RisingEdge(dut.clk)
        beats -= int(valid.value == 1 and ready.value == 1)


async def held_queries(dut, held: list[int]) -> None:
    """Run forever: count in held[0] the cycles a query is offered and not taken (it waits for the image before)."""
    while True:
        await RisingEdge(dut.clk)
        held[0] += int(dut.s_axis_q_tvalid.value == 1 and dut.s_axis_q_tready.value == 0)


@cocotb.test()
@cocotb.parametrize(**STALL_VARIANTS)
async def run_test(dut, idle: bool, backpressure: bool):
    """Random images (random n, fracs, shifts, data kinds, query orders) with random idle/backpressure on every
    stream."""
    tb = TB(dut)
    seed = variant_seed(3000, idle, backpressure)
    rng = await tb.begin_variant(idle, backpressure, seed)
    images = [random_image(rng) for _ in range(IMAGES)]
    checked = await stream_through(images, tb.send_image, tb.check_images)
    tb.log.info("%d images, %d outputs: bit-exact", len(images), checked)


@cocotb.test()
async def test_corners(dut):
    """n = 1 (p8 = 255), n = N_MAX, equal logits, one dominant key, saturating contexts, fracs -5 and 32; the query
    orders in turn."""
    tb = TB(dut)
    rng = await tb.begin(99, backpressure=0.2)
    kinds = ("random", "equal_keys", "one_max", "extreme", "small")
    specs = []
    for f_qk, shift in ((-5, 8), (0, -16), (10, 32), (32, 8), (13, 0), (14, 10)):
        specs.append((N_MAX, f_qk, shift, "extreme" if shift in (-16, 0) else "random"))
        specs.append((1, f_qk, shift, "random"))
    for kind in kinds:
        specs.append((N_MAX, 13, 8, kind))
        specs.append((max(N_MAX // 2, 1), 7, 6, kind))
    images = [make_image(rng, *spec, ORDERS[i % len(ORDERS)]) for i, spec in enumerate(specs)]
    checked = await stream_through(images, tb.send_image, tb.check_images)
    tb.log.info("%d corner images, %d outputs: bit-exact", len(images), checked)


@cocotb.test()
@cocotb.parametrize(order=QUERY_ORDERS)
async def test_query_order(dut, order: str):
    """Every image's queries in one order, images back to back: the next image's queries wait for this image's last
    row. "ahead": all queries queued on s_axis_q at once, the keys image by image."""
    tb = TB(dut)
    rng = await tb.begin(5000 + 10 * QUERY_ORDERS.index(order), idle=0.3, backpressure=0.3)
    images = [random_image(rng, order) for _ in range(IMAGES)]
    held = [0]
    cocotb.start_soon(held_queries(dut, held))
    if order == "ahead":
        for img in images:
            await tb.send_queries(img)
        checked = await stream_through(images, tb.send_keys, tb.check_images)
    else:
        checked = await stream_through(images, tb.send_image, tb.check_images)
    # only "after" never offers the next image's queries while this image computes
    assert (held[0] > 0) == (order != "after"), f"queries held back for {held[0]} cycles"
    tb.log.info("queries %s: %d images, %d outputs, queries held %d cycles: bit-exact", order, len(images), checked,
                held[0])


@cocotb.test()
async def test_reset_mid_stream(dut):
    """Reset in the middle of an image's computation: its queries half in (the rows wait for the rest), the next
    image's keys offered, outputs held by backpressure. The next images are exact."""
    tb = TB(dut)
    rng = await tb.begin(7)
    tb.sink.pause = True
    tb.cls_sink.pause = True
    cut = make_image(rng, N_MAX, 12, 8)
    await tb.send_keys(cut)
    await tb.send_queries(cut)
    await accepted(dut, "s_axis_q", max(N_MAX // 2, 1))
    tb.q_source.pause = True
    await tb.send_keys(make_image(rng, N_MAX, 12, 8))
    await ClockCycles(dut.clk, N_MAX * 4 + 80)
    assert dut.m_axis_cls_tvalid.value == 1 and dut.s_axis_tvalid.value == 1 and not tb.q_source.idle()
    await tb.reset_mid_stream("m_axis_tvalid", "m_axis_cls_tvalid")
    tb.q_source.pause = False
    tb.set_stalls(idle=0.2, backpressure=0.3, seed=8)
    images = [random_image(rng) for _ in range(3)] + [make_image(rng, N_MAX, 11, 7, order="after")]
    await stream_through(images, tb.send_image, tb.check_images)
