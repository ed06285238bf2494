"""What the cocotb testbenches of sim/tb share: settings, the clock, AXI-Stream ports, reset, random stalls, frames.

Imported as `common`: spvit.sim.rtl_sim puts sim/tb on the simulator's Python path beside the testbench's own folder.
Each testbench keeps its stimuli and its golden checks; this module only drives and reads the DUT the same way in all.
"""
from __future__ import annotations

import json
import logging
import os
import random
import warnings
from typing import Callable, Iterator

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.handle import Immediate
from cocotb.triggers import ClockCycles, RisingEdge
from cocotbext.axi import AxiStreamBus, AxiStreamSink, AxiStreamSource

from spvit.sim.rtl_layout import pack_lanes, unpack_lanes

# cocotbext-axi 0.1.28 still calls cocotb 1.x APIs that cocotb 2.1 deprecates (setimmediatevalue, task.kill, ...);
# they work. Hide those warnings only, attributed to cocotbext.axi: everything else still shows.
warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"cocotbext\.axi")

# run_test's four variants (@cocotb.parametrize(**STALL_VARIANTS)): with and without random idle cycles on the
# sources and random backpressure on the sinks, at these pause probabilities
STALL_VARIANTS = dict(idle=[False, True], backpressure=[False, True])
IDLE, BACKPRESSURE = 0.3, 0.5


def setting(name: str, default: int) -> int:
    """The integer testbench setting SPVIT_TB_<name>: the pytest wrapper passes the build's parameters so."""
    return int(os.environ.get(f"SPVIT_TB_{name}", str(default)))


def json_setting(name: str, default):
    """A JSON testbench setting SPVIT_TB_<name> (the parameter sets of a build holding several), else `default`."""
    value = os.environ.get(f"SPVIT_TB_{name}")
    return json.loads(value) if value else default


def variant_seed(base: int, idle: bool, backpressure: bool, cfg: int = 0) -> int:
    """A seed of its own for each run_test variant (and parameter set)."""
    return base + 4 * cfg + 2 * idle + backpressure


def random_pauses(probability: float, seed: int) -> Iterator[bool]:
    """A reproducible pause pattern for a cocotbext-axi port: paused with `probability` in each cycle."""
    rng = random.Random(seed)
    while True:
        yield rng.random() < probability


def set_stalls(ports, probability: float, seed: int) -> None:
    """Random pauses (idle cycles of a source, backpressure of a sink) on every port, each with its own pattern
    (seed + k); probability 0 takes them off."""
    for k, port in enumerate(ports):
        port.set_pause_generator(random_pauses(probability, seed + k) if probability else None)


def quiet(port):
    """A cocotbext-axi port without its INFO line per frame (it would bury the log)."""
    port.log.setLevel(logging.WARNING)
    return port


def stream_source(dut, prefix: str, byte_lanes: int | None = 1) -> AxiStreamSource:
    """The AXI-Stream source on the DUT's `prefix`_* ports; byte_lanes 1: one list element per beat, lanes packed by
    the testbench (None: one byte per lane)."""
    return quiet(AxiStreamSource(AxiStreamBus.from_prefix(dut, prefix), dut.clk, dut.rst, byte_lanes=byte_lanes))


def stream_sink(dut, prefix: str, byte_lanes: int | None = 1) -> AxiStreamSink:
    """The AXI-Stream sink on the DUT's `prefix`_* ports (byte_lanes as for stream_source)."""
    return quiet(AxiStreamSink(AxiStreamBus.from_prefix(dut, prefix), dut.clk, dut.rst, byte_lanes=byte_lanes))


class Testbench:
    """A DUT with clk and rst: its 100 MHz clock started, its AXI-Stream ports, reset and random stalls.

    `sources` and `sinks` are the stream ports the testbench stalls at random and empties on reset (add_source /
    add_sink, in the order their stall seeds follow)."""

    def __init__(self, dut):
        self.dut = dut
        self.log = logging.getLogger("cocotb.tb")
        self.log.setLevel(logging.INFO)
        Clock(dut.clk, 10, unit="ns").start()
        self.sources: list[AxiStreamSource] = []
        self.sinks: list[AxiStreamSink] = []

    def add_source(self, prefix: str = "s_axis", byte_lanes: int | None = 1) -> AxiStreamSource:
        self.sources.append(stream_source(self.dut, prefix, byte_lanes))
        return self.sources[-1]

    def add_sink(self, prefix: str = "m_axis", byte_lanes: int | None = 1) -> AxiStreamSink:
        self.sinks.append(stream_sink(self.dut, prefix, byte_lanes))
        return self.sinks[-1]

    def set_stalls(self, idle: float = 0.0, backpressure: float = 0.0, seed: int = 0) -> None:
        """Random idle cycles on the sources with probability `idle`, random backpressure on the sinks with probability
        `backpressure` (0: none)."""
        set_stalls(self.sources, idle, seed)
        set_stalls(self.sinks, backpressure, seed + 7)

    async def begin(self, seed: int, idle: float = 0.0, backpressure: float = 0.0) -> np.random.Generator:
        """A test's set-up: its stalls (set_stalls), a reset; returns the test's random generator, seeded as the
        stalls are."""
        self.set_stalls(idle, backpressure, seed)
        await self.reset()
        return np.random.default_rng(seed)

    async def begin_variant(self, idle: bool, backpressure: bool, seed: int) -> np.random.Generator:
        """run_test's set-up: `begin` with the stalls its variant asks for."""
        return await self.begin(seed, IDLE if idle else 0.0, BACKPRESSURE if backpressure else 0.0)

    async def reset(self, cycles: int = 2) -> None:
        """rst high for `cycles` cycles, two idle cycles before and after. The stream ports drop what they still hold
        while rst is high: a source would send the rest of its queue as soon as rst falls."""
        dut = self.dut
        dut.rst.value = Immediate(0)
        await ClockCycles(dut.clk, 2)
        dut.rst.value = 1
        await ClockCycles(dut.clk, cycles)
        for port in (*self.sources, *self.sinks):
            port.clear()
        dut.rst.value = 0
        await ClockCycles(dut.clk, 2)

    async def reset_mid_stream(self, *valid: str) -> None:
        """Reset with frames in flight: the stream ports drop what they hold, each `valid` output must be low after
        the reset, and the sinks take beats again (tests hold output back by pausing them)."""
        await self.reset()
        for name in valid:
            assert getattr(self.dut, name).value == 0, f"{name} still high after the reset"
        for sink in self.sinks:
            sink.pause = False


async def stream_through(frames, send, check):
    """Send every frame with send(frame) while check(frames) receives and compares the outputs alongside; returns
    what check returns."""
    checker = cocotb.start_soon(check(frames))
    for frame in frames:
        await send(frame)
    return await checker


async def write_memory(dut, port: str, words) -> None:
    """Write `words` through the DUT's memory write port <port>_en / _addr / _data, one per cycle from address 0,
    between two idle cycles."""
    en, addr, data = (getattr(dut, f"{port}_{name}") for name in ("en", "addr", "data"))
    await RisingEdge(dut.clk)
    for a, word in enumerate(words):
        en.value = 1
        addr.value = a
        data.value = int(word)
        await RisingEdge(dut.clk)
    en.value = 0
    await RisingEdge(dut.clk)


async def concurrently(coros) -> list:
    """Run the coroutines side by side (the units or primitives of a wrapper); their results, in order."""
    tasks = [cocotb.start_soon(c) for c in coros]
    return [await t for t in tasks]


async def on_first_beats(dut, action: Callable[[], None]) -> None:
    """Run forever: call action() right after the first beat of a frame (not also its last) is accepted on s_axis, to
    scramble the run-time inputs the DUT must have sampled with that beat."""
    first = True
    while True:
        await RisingEdge(dut.clk)
        if dut.rst.value == 1:
            first = True
            continue
        if not (dut.s_axis_tvalid.value == 1 and dut.s_axis_tready.value == 1):
            continue
        last = dut.s_axis_tlast.value == 1
        if first and not last:
            action()
        first = last


# ---- frames and lanes ------------------------------------------------------------------------------------------

def lane_words(values, lanes: int, bits: int = 8) -> list[int]:
    """Values, `lanes` to a beat (lane 0 in the low bits): one integer per beat."""
    return [pack_lanes(beat, bits) for beat in np.asarray(values, dtype=np.int64).reshape(-1, lanes)]


def word_lanes(words, lanes: int, bits: int = 8, signed: bool = True) -> np.ndarray:
    """Inverse of lane_words: the beats' lanes, one after the other."""
    return np.concatenate([unpack_lanes(int(w), lanes, bits, signed) for w in words])


def beat_values(frame, width: int | None = None) -> np.ndarray:
    """A received frame of one value per beat (byte_lanes 1), as int64; two's complement of `width` bits if given."""
    values = np.array([int(v) for v in frame.tdata], dtype=np.int64)
    if width is None:
        return values
    return np.where(values >= 1 << (width - 1), values - (1 << width), values)


def int8_bytes(x) -> bytes:
    """int8 values as the bytes of a byte-lane frame (one byte per lane)."""
    return np.asarray(x, dtype=np.int64).astype(np.int8).tobytes()


def int8_values(frame) -> np.ndarray:
    """A received byte-lane frame as int8 values (int64)."""
    return np.frombuffer(bytes(frame.tdata), dtype=np.int8).astype(np.int64)


def per_beat(side, beats: int) -> list[int]:
    """A received side-band signal, one value per beat (the sink folds a frame's identical values into one)."""
    return [int(v) for v in side] if isinstance(side, (list, tuple)) else [int(side)] * beats


def count_mismatches(got, want, report: Callable[..., None], limit: int = 5) -> int:
    """The number of elements where `got` and `want` differ; report(*index) is called for the first `limit`."""
    bad = np.argwhere(np.asarray(got) != np.asarray(want))
    for index in bad[:limit]:
        report(*(int(i) for i in index))
    return len(bad)
