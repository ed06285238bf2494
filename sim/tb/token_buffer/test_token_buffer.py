"""cocotb testbench for hw/rtl/token_buffer.sv: every clock edge checked against a model of the contract in the RTL's
header.

Run from tests/test_rtl_token_buffer.py, which builds token_buffer itself with Verilator and passes its parameters
(WIDTH, DEPTH, REPLAY) here through SPVIT_TB_* environment variables.

Model, a monitor of every clock edge: the words written since the last `clear` (or reset) and how many each reader
has taken. It checks
  - s_axis_tready: high exactly while fewer than DEPTH words are written and, with REPLAY = 1, the word with tlast is
    not (one word per cycle; further beats refused until `clear`; with REPLAY = 0 writes after tlast go on);
  - m_axis: a valid beat is the next written word with its tlast, never one not written yet;
  - m_axis_replay: with REPLAY = 1 a valid beat is the next word of the image, and tvalid stays low until the word
    with tlast is written; with REPLAY = 0 tvalid stays low whatever its tready;
  - `clear`: both sides restart at word 0; a beat accepted on s_axis in the clear cycle is dropped.
The frames the sinks receive are compared with the frames sent as well (independently of the model).

Tests
- run_test x (idle, backpressure): images of random frames of 1..DEPTH words (REPLAY = 0: up to three frames, DEPTH
  words at most, in one image), `clear` once both readers have every word; with REPLAY = 1 all frames wait on s_axis
  from the start, so each next frame is refused until the clear.
- test_read_while_writing: m_axis takes the words while the frame is still arriving; then, m_axis stalled,
  m_axis_replay returns the whole image on its own.
- test_full: a frame behind one of DEPTH - 2 words (REPLAY = 0: its first two words still fit), a frame longer than
  DEPTH (its tail is the next image; no replay without tlast), a frame of exactly DEPTH words.
- test_clear_mid_frame: `clear` with the source paused mid-frame and m_axis mid-way, with a beat accepted in the
  clear cycle, and after a complete frame with both readers mid-way; the next image is exact each time.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import cocotb
import numpy as np
from cocotb.triggers import Event, RisingEdge
from cocotbext.axi import AxiStreamFrame

from common import STALL_VARIANTS, Testbench, setting, variant_seed

WIDTH = setting("WIDTH", 16)
DEPTH = setting("DEPTH", 12)
REPLAY = bool(setting("REPLAY", 0))
IMAGES = setting("IMAGES", 30)
# must-fail check: the model expects every word XOR this (the contract: 0)
MODEL_DATA_XOR = setting("MODEL_DATA_XOR", 0)
TIMEOUT = 50 * DEPTH + 200  # cycles for one image under the random stalls
READERS = ("m_axis", "m_axis_replay")
LOG = logging.getLogger("cocotb.tb")


@dataclass
class Clear:
    """What a `clear` cut: the words written, the words each reader had taken (incl. the clear cycle's beats), and
    the beats accepted on s_axis in the clear cycle (dropped)."""
    written: int
    read: list[int]
    dropped: int


class Model:
    """The buffer's contract, checked at every rising edge on the signals as they were before it."""

    def __init__(self, dut):
        self.dut = dut
        self.written: list[tuple[int, int]] = []  # (tdata, tlast) of the current image
        self.read = [0, 0]  # words m_axis, m_axis_replay took of the current image
        self.clears: list[Clear] = []
        self.errors: list[str] = []
        self.cycle = 0
        self.armed = False  # from the first reset on: the registers hold nothing defined before
        self.edge = Event()
        cocotb.start_soon(self._run())

    @property
    def sealed(self) -> bool:
        return any(last for _, last in self.written)

    def error(self, msg: str):
        if len(self.errors) < 10:
            LOG.error("cycle %d: %s", self.cycle, msg)
        self.errors.append(f"cycle {self.cycle}: {msg}")

    def restart(self):
        self.written = []
        self.read = [0, 0]

    async def _run(self):
        while True:
            await RisingEdge(self.dut.clk)
            self.cycle += 1
            if self.dut.rst.value:
                self.armed = True
                self.restart()
            elif self.armed:
                self.step()
            self.edge.set()

    def step(self):
        dut, n = self.dut, len(self.written)
        ready = bool(dut.s_axis_tready.value)
        sealed = REPLAY and self.sealed
        if ready != (n < DEPTH and not sealed):
            self.error(f"s_axis_tready {ready:d} with {n} words written" + ", tlast among them" * sealed)
        self.take(0, True)
        self.take(1, sealed)
        beat = ready and bool(dut.s_axis_tvalid.value)
        if dut.clear.value:
            self.clears.append(Clear(n, list(self.read), int(beat)))
            self.restart()
        elif beat:
            self.written.append((int(dut.s_axis_tdata.value), int(dut.s_axis_tlast.value)))

    def take(self, r: int, allowed: bool):
        port = READERS[r]
        if not getattr(self.dut, f"{port}_tvalid").value:
            return
        k, n = self.read[r], len(self.written)
        if not allowed:
            self.error(f"{port}_tvalid high " + (f"before the word with tlast is written ({n} words)" if REPLAY
                                                 else "(REPLAY = 0)"))
            return
        if k >= n:
            self.error(f"{port} presents word {k}, {n} written")
            return
        got = (int(getattr(self.dut, f"{port}_tdata").value), int(getattr(self.dut, f"{port}_tlast").value))
        data, last = self.written[k]
        want = (data ^ MODEL_DATA_XOR, last)
        if got != want:
            self.error(f"{port} word {k}: tdata {got[0]:#x} tlast {got[1]}, expected {want[0]:#x} tlast {want[1]}")
        if getattr(self.dut, f"{port}_tready").value:
            self.read[r] += 1


class TB(Testbench):
    def __init__(self, dut):
        super().__init__(dut)
        self.source = self.add_source()
        self.sink = self.add_sink()
        # attached with REPLAY = 0 too: its tready (random backpressure) must not bring tvalid up
        self.replay_sink = self.add_sink("m_axis_replay")
        dut.clear.value = 0
        self.model = Model(dut)
        self.sent: list[list[int]] = []

    async def send(self, *frames: list[int]):
        for frame in frames:
            await self.source.send(AxiStreamFrame(frame))

    async def tick(self, cycles: int = 1):
        """Wait for the model to have checked `cycles` more edges (inputs set now are sampled at the next one)."""
        for _ in range(cycles):
            self.model.edge.clear()
            await self.model.edge.wait()

    async def until(self, cond, what: str):
        for _ in range(TIMEOUT):
            if cond():
                return
            await self.tick()
        raise AssertionError(f"no {what} after {TIMEOUT} cycles")

    def done(self, n: int) -> bool:
        """n words written, and taken by m_axis and (once the image is complete) by m_axis_replay."""
        m = self.model
        return len(m.written) == n and m.read[0] == n and (not (REPLAY and m.sealed) or m.read[1] == n)

    async def until_done(self, n: int, what: str):
        await self.until(lambda: self.done(n), f"{what}: {n} words written and read")

    async def clear(self) -> Clear:
        """A one-cycle `clear`; returns what it cut."""
        self.dut.clear.value = 1
        await self.tick()
        self.dut.clear.value = 0
        return self.model.clears[-1]

    async def take(self, r: int, n: int):
        """Let reader r (its sink paused) take at least n more words, then pause it again."""
        sink = (self.sink, self.replay_sink)[r]
        target = self.model.read[r] + n
        sink.pause = False
        await self.until(lambda: self.model.read[r] >= target, f"{READERS[r]} progress")
        sink.pause = True
        await self.tick(4)

    def expect_frames(self, r: int, want: list[list[int]], what: str):
        """The frames reader r's sink holds (split by tlast) must be `want`."""
        sink = (self.sink, self.replay_sink)[r]
        got = []
        while not sink.empty():
            got.append([int(v) for v in sink.recv_nowait().tdata])
        if got != want:
            self.model.error(f"{what}: {READERS[r]} frames {got}, expected {want}")

    def finish(self):
        assert self.sink.empty() and self.replay_sink.empty(), "output frames left over"
        errors = self.model.errors
        assert not errors, f"{len(errors)} checks differ from the buffer model, first: {'; '.join(errors[:3])}"


def words(rng: np.random.Generator, n: int) -> list[int]:
    return [int.from_bytes(rng.bytes((WIDTH + 7) // 8), "little") % (1 << WIDTH) for _ in range(n)]


def length(rng: np.random.Generator, most: int) -> int:
    """1..most words, the ends more often than at random."""
    return int(rng.choice([1, most, rng.integers(1, most + 1), rng.integers(1, most + 1)]))


def image(rng: np.random.Generator) -> list[list[int]]:
    """The frames of one image: one frame with REPLAY (the buffer takes nothing after tlast), else up to three."""
    if REPLAY:
        return [words(rng, length(rng, DEPTH))]
    frames, room = [], DEPTH
    for _ in range(int(rng.integers(1, 4))):
        if room:
            frames.append(words(rng, length(rng, room)))
            room -= len(frames[-1])
    return frames


@cocotb.test()
@cocotb.parametrize(**STALL_VARIANTS)
async def run_test(dut, idle: bool, backpressure: bool):
    tb = TB(dut)
    rng = await tb.begin_variant(idle, backpressure, variant_seed(500, idle, backpressure))
    images = [image(rng) for _ in range(IMAGES)]
    # REPLAY = 1: every frame is queued now; the model checks that each next one waits (tready low) for the clear
    for frames in images if REPLAY else images[:1]:
        await tb.send(*frames)
    for i, frames in enumerate(images):
        await tb.until_done(sum(map(len, frames)), f"image {i}")
        tb.expect_frames(0, frames, f"image {i}")
        tb.expect_frames(1, frames if REPLAY else [], f"image {i}")
        await tb.tick(int(rng.integers(0, 3)))
        await tb.clear()
        if not REPLAY and i + 1 < len(images):
            await tb.send(*images[i + 1])
    tb.finish()
    tb.log.info("%d images, %d words: exact", len(images), sum(len(f) for frames in images for f in frames))


@cocotb.test()
async def test_read_while_writing(dut):
    tb = TB(dut)
    rng = await tb.begin(21)
    m = tb.model
    frame = words(rng, DEPTH)
    await tb.send(frame)
    await tb.until(lambda: len(m.written) >= DEPTH // 2, "half the frame written")
    tb.source.pause = True
    await tb.tick(8)
    k = len(m.written)
    assert k < DEPTH and m.read[0] == k, f"m_axis took {m.read[0]} of the {k} words written before tlast"
    # m_axis stalled from here: m_axis_replay must not depend on it
    tb.sink.pause = True
    tb.source.pause = False
    await tb.until(lambda: len(m.written) == DEPTH and (not REPLAY or m.read[1] == DEPTH), "complete frame")
    assert m.read[0] == k, "m_axis took words while stalled"
    tb.sink.pause = False
    await tb.until_done(DEPTH, "the frame")
    tb.expect_frames(0, [frame], "m_axis")
    tb.expect_frames(1, [frame] if REPLAY else [], "m_axis_replay")
    tb.finish()


@cocotb.test()
async def test_full(dut):
    tb = TB(dut)
    rng = await tb.begin(31)
    m = tb.model
    a, b, c, f = words(rng, DEPTH - 2), words(rng, 5), words(rng, DEPTH + 3), words(rng, DEPTH)

    async def fill(want: int, what: str):
        """An image of `want` words, nothing more taken for a while, then `clear`."""
        await tb.until_done(want, what)
        await tb.tick(6)
        assert len(m.written) == want, f"{what}: {len(m.written)} words taken, {want} fit"
        await tb.clear()

    # REPLAY = 1 seals the image at a's tlast; REPLAY = 0 fills it up with b's first two words
    await tb.send(a, b)
    await fill(DEPTH - 2 if REPLAY else DEPTH, "a frame followed by another")
    await fill(5 if REPLAY else 3, "the frame behind it")
    # no tlast among the first DEPTH words: no replay; the last three words are the next image
    await tb.send(c)
    await fill(DEPTH, "a frame longer than DEPTH")
    assert m.clears[-1].read[1] == 0
    await fill(3, "its tail")
    await tb.send(f)
    await fill(DEPTH, "a frame of DEPTH words")
    # a frame cut by a clear arrives at the sink in one piece: its first words before, the rest after the clear
    tb.expect_frames(0, [a, b, c, f], "m_axis")
    tb.expect_frames(1, [a, b, c[DEPTH:], f] if REPLAY else [], "m_axis_replay")
    tb.finish()


@cocotb.test()
async def test_clear_mid_frame(dut):
    tb = TB(dut)
    rng = await tb.begin(41)
    m = tb.model

    # source paused mid-frame, m_axis mid-way through what is written: the rest of the frame is the next image
    g = words(rng, DEPTH)
    tb.sink.pause = True
    await tb.send(g)
    await tb.until(lambda: len(m.written) >= DEPTH // 2, "half the frame written")
    tb.source.pause = True
    await tb.take(0, 2)
    cut = await tb.clear()
    assert 0 < cut.read[0] < cut.written < DEPTH and not cut.dropped, cut
    tb.source.pause = tb.sink.pause = False
    await tb.until_done(DEPTH - cut.written, "the frame's tail")
    tb.expect_frames(0, [g[:cut.read[0]] + g[cut.written:]], "m_axis after a clear mid-frame")
    tb.expect_frames(1, [g[cut.written:]] if REPLAY else [], "m_axis_replay after a clear mid-frame")
    await tb.clear()

    # clear while the source streams: the beat accepted in the clear cycle is dropped
    h = words(rng, DEPTH)
    await tb.send(h)
    await tb.until(lambda: len(m.written) == 4, "4 words written")
    cut = await tb.clear()
    assert cut.written == 4 and cut.dropped == 1, cut
    await tb.until_done(DEPTH - 5, "the frame's tail")
    tb.expect_frames(0, [h[:cut.read[0]] + h[5:]], "m_axis after a clear with a beat in flight")
    tb.expect_frames(1, [h[5:]] if REPLAY else [], "m_axis_replay after a clear with a beat in flight")
    await tb.clear()

    # complete frame, both readers mid-way: the next frame is exact
    i, j = words(rng, DEPTH), words(rng, DEPTH - 1)
    tb.sink.pause = tb.replay_sink.pause = True
    await tb.send(i)
    await tb.until(lambda: len(m.written) == DEPTH, "the frame written")
    await tb.take(0, 3)
    if REPLAY:
        await tb.take(1, 7)
    cut = await tb.clear()
    assert all(0 < cut.read[r] < DEPTH for r in range(1 + REPLAY)), cut
    tb.sink.pause = tb.replay_sink.pause = False
    await tb.send(j)
    await tb.until_done(len(j), "the next frame")
    tb.expect_frames(0, [i[:cut.read[0]] + j], "m_axis after a clear with readers mid-way")
    tb.expect_frames(1, [i[:cut.read[1]] + j] if REPLAY else [],
                     "m_axis_replay after a clear with readers mid-way")
    tb.finish()
