"""cocotb testbench for hw/rtl/{udiv,rdiv,isqrt}.sv (through sim/tb/arith/arith_tb.sv) against the golden model.

Run through cocotb's runner from tests/test_rtl_arith.py, which passes the wrapper's parameters here as SPVIT_TB_*
environment variables. The wrapper holds three parameter sets (s0, s1, s2) of the three primitives; all nine run
concurrently, each driven by the same start/busy/done driver:
inputs are driven and outputs sampled at the falling clock edge (between rising edges, so no race with the
simulator's register update). Every result is checked EXACTLY:
  udiv   floor(dividend / divisor); for dividends 1 << k the golden spvit.sim.golden.arith.reciprocal(d, k)
  rdiv   spvit.sim.golden.arith.rdiv(n, d)
  isqrt  spvit.sim.golden.arith.isqrt(n) (its domain is n <= 2**62; above that, Python's exact math.isqrt)
and so is the timing: busy must be high and done low for exactly the documented latency, done must pulse for one
cycle, and the result must hold until the next start. Between operations the driver waits 0 cycles (start in the
done cycle), 1 cycle (start the cycle after done) or a few idle cycles; during some operations it scribbles on
the input ports and pulses start while busy, which must be ignored.
"""
from __future__ import annotations

import logging
import math
import os
import random

import cocotb
import numpy as np
from cocotb.triggers import ClockCycles, FallingEdge

from common import Testbench, concurrently, setting
from spvit.sim.golden.arith import isqrt, rdiv, reciprocal

SETS = ("s0", "s1", "s2")  # the parameter sets of arith_tb.sv


def width(name: str) -> int:
    """A wrapper parameter: width("s0_UDIV_N") is SPVIT_TB_S0_UDIV_N_WIDTH."""
    return int(os.environ[f"SPVIT_TB_{name.upper()}_WIDTH"])


VECTORS = setting("VECTORS", 1500)  # per primitive and set, in test_random
# Must-fail check of the harness: a deliberately wrong golden model (truncating division, float square root).
WRONG_GOLDEN = setting("WRONG_GOLDEN", 0) == 1


# ---- golden ------------------------------------------------------------------------------------------------------

def golden_udiv(n: int, d: int) -> int:
    if n > 0 and n & (n - 1) == 0 and n.bit_length() <= 63:
        return int(reciprocal(d, n.bit_length() - 1))
    return n // d


def golden_rdiv(n: int, d: int) -> int:
    if WRONG_GOLDEN:
        return int(np.trunc(n / d))
    return int(rdiv(n, d))


def golden_isqrt(n: int) -> int:
    if WRONG_GOLDEN:
        return int(math.sqrt(n))
    if n <= 1 << 62:
        return int(isqrt(n))
    return math.isqrt(n)


# ---- operands ----------------------------------------------------------------------------------------------------

def rand_bits(rng: random.Random, max_bits: int) -> int:
    """A random value of a random bit length in [0, max_bits]: small and large magnitudes alike."""
    bits = rng.randint(0, max_bits)
    return rng.getrandbits(bits) if bits else 0


def udiv_vectors(rng: random.Random, count: int, UDIV_N: int, UDIV_D: int, UDIV_Q: int):
    """(dividend, divisor) pairs whose quotient fits UDIV_Q bits, with the floor quotient."""
    nmax, dmax, qlim = (1 << UDIV_N) - 1, (1 << UDIV_D) - 1, 1 << UDIV_Q
    # the smallest divisor for which every N-bit dividend has a Q-bit quotient
    dmin_full = max(1, -(-(1 << UDIV_N) // qlim))
    fixed = [(0, 1), (0, dmax), (1, 1), (nmax, dmax), (min(nmax, qlim - 1), 1), (nmax, max(dmin_full, 1))]
    if dmin_full <= dmax:
        fixed += [(nmax, dmin_full), (nmax - 1, dmin_full)]
    # reciprocal(d, k) = floor(2**k / d): dividends 1 << k (every k, divisor random / 1 / max where it fits)
    for k in range(UDIV_N):
        for d in (1, dmax, rand_bits(rng, UDIV_D) or 1):
            if (1 << k) // d < qlim:
                fixed.append((1 << k, d))
    vecs = [v for v in fixed if v[1] <= dmax and v[0] // v[1] < qlim]
    while len(vecs) < max(count, len(fixed)):
        kind = rng.random()
        d = rng.choice([1, 2, dmax, dmax - 1]) if kind < 0.1 else (rand_bits(rng, UDIV_D) or 1)
        # a quotient that fits, and a dividend that fits
        qmax = min(qlim - 1, nmax // d)
        q = rng.choice([0, qmax, rng.randint(0, qmax)]) if kind < 0.3 else min(rand_bits(rng, UDIV_Q), qmax)
        r = rng.choice([0, d - 1]) if rng.random() < 0.3 else rng.randint(0, d - 1)
        n = q * d + r
        if n > nmax:
            n = q * d
        vecs.append((n, d))
    return [((n, d), golden_udiv(n, d)) for n, d in vecs]


def rdiv_vectors(rng: random.Random, count: int, RDIV_N: int, RDIV_D: int, RDIV_Q: int):
    """(n, d) pairs whose rdiv fits RDIV_Q signed bits, with golden rdiv."""
    nmin, nmax, dmax = -(1 << (RDIV_N - 1)), (1 << (RDIV_N - 1)) - 1, (1 << RDIV_D) - 1
    qmin, qmax = -(1 << (RDIV_Q - 1)), (1 << (RDIV_Q - 1)) - 1
    fixed = [(n, d) for n in (nmin, nmin + 1, -2, -1, 0, 1, 2, nmax - 1, nmax) for d in (1, 2, 3, dmax - 1, dmax)]
    fixed += [(-5, 2), (5, 2), (-3, 2), (3, 2), (-1, 2), (1, 2)]  # ties: -2, 3, -1, 2, 0, 1
    vecs = list(fixed)
    while len(vecs) < max(count, len(fixed)):
        kind = rng.random()
        d = rng.choice([1, 2, dmax]) if kind < 0.1 else (rand_bits(rng, RDIV_D) or 1)
        if kind < 0.4 and d >= 2:
            # exact ties n / d = k + 1/2 (d even), and their neighbours, of both signs
            half = d // 2
            k = rng.randint(-(1 << (RDIV_N - 1)) // d, ((1 << (RDIV_N - 1)) - 1) // d)
            n = k * d + half + rng.choice([0, 0, 0, -1, 1])
        else:
            n = rand_bits(rng, RDIV_N - 1) * rng.choice([-1, 1])
        n = min(max(n, nmin), nmax)
        vecs.append((n, d))
    out = []
    for n, d in vecs:
        if 1 <= d <= dmax:
            want = golden_rdiv(n, d)
            # a narrow Q_WIDTH is the caller's guarantee that the result fits: test only such operands
            if qmin <= int(rdiv(n, d)) <= qmax:
                out.append(((n, d), want))
    return out


def isqrt_vectors(rng: random.Random, count: int, ISQRT_N: int):
    """Radicands of ISQRT_N bits, with golden isqrt."""
    nmax = (1 << ISQRT_N) - 1
    fixed = [0, 1, 2, 3, 4, 5, 8, 9, 15, 16, nmax, nmax - 1]
    fixed += [v for v in (1 << 62, (1 << 62) - 1, (1 << 62) + 1, (1 << 63) - 1, 1 << 63, (1 << 64) - 1) if v <= nmax]
    vecs = list(fixed)
    while len(vecs) < max(count, len(fixed)):
        if rng.random() < 0.4:
            # perfect squares and their neighbours: k**2 - 1, k**2, k**2 + 2k (the last n with root k)
            k = rand_bits(rng, (ISQRT_N + 1) // 2)
            n = k * k + rng.choice([-1, 0, 2 * k, 1])
        else:
            n = rand_bits(rng, ISQRT_N)
        vecs.append(min(max(n, 0), nmax))
    return [((n,), golden_isqrt(n)) for n in vecs]


# ---- driver ------------------------------------------------------------------------------------------------------

class Primitive:
    """start/busy/done driver and checker of one primitive of the wrapper."""

    def __init__(self, dut, name: str, inputs: list[str], output: str, widths: list[int], out_width: int,
                 signed_out: bool, latency: int):
        self.dut = dut
        self.name = name
        self.start = getattr(dut, f"{name}_start")
        self.busy = getattr(dut, f"{name}_busy")
        self.done = getattr(dut, f"{name}_done")
        self.inputs = [getattr(dut, f"{name}_{p}") for p in inputs]
        self.output = getattr(dut, f"{name}_{output}")
        self.widths = widths
        self.out_width = out_width
        self.signed_out = signed_out
        self.latency = latency
        self.log = logging.getLogger(f"cocotb.tb.{name}")
        self.errors = 0
        self.checked = 0

    def drive_inputs(self, values):
        for port, width, v in zip(self.inputs, self.widths, values):
            port.value = v & ((1 << width) - 1)

    def result(self) -> int:
        v = int(self.output.value)
        if self.signed_out and v >> (self.out_width - 1):
            v -= 1 << self.out_width
        return v

    def fail(self, msg: str, *args):
        self.errors += 1
        if self.errors <= 8:
            self.log.error(msg, *args)

    async def run(self, vectors, rng: random.Random, scribble: float = 0.2, start_when_busy: float = 0.2):
        """Run `vectors` ((operands, expected) pairs) back to back; every cycle between start and done is checked."""
        clk = self.dut.clk
        await FallingEdge(clk)
        for index, (operands, want) in enumerate(vectors):
            self.drive_inputs(operands)
            self.start.value = 1
            await FallingEdge(clk)  # start sampled at the rising edge in between
            self.start.value = 0
            elapsed = 1
            if rng.random() < scribble or rng.random() < start_when_busy:
                # somewhere inside the operation: garbage on the inputs, and maybe a start, which must be ignored
                at = rng.randint(1, self.latency - 1)
                if at > 1:
                    await ClockCycles(clk, at - 1, rising=False)
                    elapsed = at
                if self.busy.value != 1 or self.done.value != 0:
                    self.fail("op %d %s: busy %s done %s %d cycles after start", index, operands,
                              self.busy.value, self.done.value, elapsed)
                self.drive_inputs([rng.getrandbits(w) for w in self.widths])
                if rng.random() < 0.5:
                    self.start.value = 1
                    await FallingEdge(clk)
                    self.start.value = 0
                    elapsed += 1
            if elapsed < self.latency - 1:
                await ClockCycles(clk, self.latency - 1 - elapsed, rising=False)
                elapsed = self.latency - 1
            # one cycle before done: still busy
            if elapsed == self.latency - 1:
                if self.busy.value != 1 or self.done.value != 0:
                    self.fail("op %d %s: busy %s done %s one cycle before the documented latency %d", index,
                              operands, self.busy.value, self.done.value, self.latency)
                await FallingEdge(clk)
            if self.done.value != 1 or self.busy.value != 0:
                self.fail("op %d %s: no done pulse (done %s busy %s) after %d cycles", index, operands,
                          self.done.value, self.busy.value, self.latency)
                # resynchronise: wait for the operation to end
                for _ in range(4 * self.latency):
                    if self.done.value == 1:
                        break
                    await FallingEdge(clk)
            got = self.result()
            self.checked += 1
            if got != want:
                self.fail("op %d %s: rtl %d, golden %d", index, operands, got, want)
            gap = rng.choice([0, 0, 1, 1, 2, rng.randint(3, 6)])
            for _ in range(gap):
                # the result is held while idle, and done pulsed for one cycle only
                await FallingEdge(clk)
                if self.done.value != 0 or self.busy.value != 0 or self.result() != got:
                    self.fail("op %d %s: done %s busy %s result %d while idle after done", index, operands,
                              self.done.value, self.busy.value, self.result())
        await FallingEdge(clk)

    def summary(self) -> str:
        return f"{self.name}: {self.errors} mismatches in {self.checked} operations"


class Set:
    """One parameter set of the wrapper: its three primitives, their widths and their operand generators."""

    def __init__(self, dut, name: str):
        self.name = name
        un, ud, uq = width(f"{name}_UDIV_N"), width(f"{name}_UDIV_D"), width(f"{name}_UDIV_Q")
        rn, rd, rq = width(f"{name}_RDIV_N"), width(f"{name}_RDIV_D"), width(f"{name}_RDIV_Q")
        sn = width(f"{name}_ISQRT_N")
        # start -> done latencies documented in the modules' headers
        self.udiv = Primitive(dut, f"{name}_udiv", ["dividend", "divisor"], "quotient", [un, ud], uq, False,
                              min(uq, un) + 1)
        self.rdiv = Primitive(dut, f"{name}_rdiv", ["dividend", "divisor"], "quotient", [rn, rd], rq, True,
                              min(rq - 1, max(rn, rd) + 1) + 1)
        self.isqrt = Primitive(dut, f"{name}_isqrt", ["radicand"], "root", [sn], (sn + 1) // 2, False,
                               (sn + 1) // 2 + 1)
        self.prims = [self.udiv, self.rdiv, self.isqrt]
        self.make = {
            self.udiv: lambda rng, n: udiv_vectors(rng, n, un, ud, uq),
            self.rdiv: lambda rng, n: rdiv_vectors(rng, n, rn, rd, rq),
            self.isqrt: lambda rng, n: isqrt_vectors(rng, n, sn),
        }


class TB(Testbench):
    def __init__(self, dut):
        super().__init__(dut)
        self.sets = [Set(dut, name) for name in SETS]
        self.prims = [p for s in self.sets for p in s.prims]
        for p in self.prims:
            p.start.value = 0
            p.drive_inputs([0] * len(p.inputs))

    def jobs(self):
        """(primitive, operand generator) for every primitive of every set."""
        return [(p, s.make[p]) for s in self.sets for p in s.prims]

    def check(self):
        for p in self.prims:
            self.log.info(p.summary())
        bad = [p.summary() for p in self.prims if p.errors]
        assert not bad, "results differ from golden (or wrong timing): " + "; ".join(bad)


@cocotb.test()
async def test_random(dut):
    """VECTORS random and corner operands per primitive, all primitives of all sets concurrently."""
    tb = TB(dut)
    await tb.reset()
    rng = random.Random(2024)
    await concurrently(p.run(make(rng, VECTORS), random.Random(i)) for i, (p, make) in enumerate(tb.jobs()))
    tb.check()


@cocotb.test()
async def test_back_to_back_busy_start(dut):
    """Start in every done cycle, with a start pulse (and new operands) in every busy cycle: all ignored."""
    tb = TB(dut)
    await tb.reset()
    rng = random.Random(7)

    async def hammer(p: Primitive, vectors):
        clk = dut.clk
        await FallingEdge(clk)
        for index, (operands, want) in enumerate(vectors):
            p.drive_inputs(operands)
            p.start.value = 1
            await FallingEdge(clk)
            for cycle in range(1, p.latency):
                # start stays high with garbage operands for the whole operation
                p.drive_inputs([rng.getrandbits(w) for w in p.widths])
                if p.busy.value != 1 or p.done.value != 0:
                    p.fail("op %d: busy %s done %s in cycle %d", index, p.busy.value, p.done.value, cycle)
                await FallingEdge(clk)
            p.checked += 1
            if p.done.value != 1 or p.result() != want:
                p.fail("op %d %s: done %s rtl %d, golden %d", index, operands, p.done.value, p.result(), want)
        p.start.value = 0

    await concurrently(hammer(p, make(rng, 40)) for p, make in tb.jobs())
    tb.check()


@cocotb.test()
async def test_reset_mid_operation(dut):
    """Reset while busy: busy and done fall, and the next operations are exact with the documented latency."""
    tb = TB(dut)
    await tb.reset()
    rng = random.Random(11)
    clk = dut.clk
    jobs = [(p, make(rng, 8)) for p, make in tb.jobs()]
    await FallingEdge(clk)
    for p, vecs in jobs:
        p.drive_inputs(vecs[0][0])
        p.start.value = 1
    await FallingEdge(clk)
    for p, _ in jobs:
        p.start.value = 0
    await ClockCycles(clk, 3, rising=False)
    for p, _ in jobs:
        assert p.busy.value == 1, f"{p.name}: not busy"
    dut.rst.value = 1
    await FallingEdge(clk)
    dut.rst.value = 0
    for p, _ in jobs:
        assert p.busy.value == 0 and p.done.value == 0, f"{p.name}: busy/done not cleared by reset"
    for _ in range(max(p.latency for p, _ in jobs) + 2):
        await FallingEdge(clk)
        for p, _ in jobs:
            assert p.done.value == 0, f"{p.name}: done after the reset of its operation"
    await concurrently(p.run(vecs[1:], random.Random(i)) for i, (p, vecs) in enumerate(jobs))
    tb.check()
