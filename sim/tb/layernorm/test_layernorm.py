"""cocotb testbench for hw/rtl/layernorm.sv against the golden spvit.sim.golden.layernorm.layernorm.

Run through cocotb's runner from tests/test_rtl_layernorm.py, which passes the build's parameters here as
SPVIT_TB_* environment variables. The wrapper sim/tb/layernorm/layernorm_tb.sv holds three units with different
parameters (u0, u1, u2; layernorm_unit.sv: layernorm plus its parameter memory, a block RAM model), and every test
runs on all three concurrently. A sequence is one AXI-Stream frame of whole tokens (tlast on its last beat); for
each sequence the testbench writes G and B into the memory and sets eps_term and shift, streams the tokens with
random idle cycles on the source and random backpressure on the sink, and checks every output channel EXACTLY, and
that tlast comes back at the end of the sequence. Tokens: random, constant (V = E; with E = 1, 2**62 // V = 2**62
and r = 2**31), extremes only (maximal variance), tiny spreads, one-hot; G and B random or at their extremes; E in
{1, 2, random, 2**40, the port's maximum, the real eps term}; shifts in the legal range [-9, 39].
"""
from __future__ import annotations

import logging
import os

import cocotb
import numpy as np
from cocotb.triggers import ClockCycles, FallingEdge, RisingEdge, with_timeout
from cocotb.utils import get_sim_time
from cocotbext.axi import AxiStreamFrame

from common import (STALL_VARIANTS, Testbench, concurrently, int8_bytes, int8_values, setting, stream_sink,
                    stream_source, variant_seed)
from spvit.sim.golden.layernorm import eps_term as golden_eps_term
from spvit.sim.golden.layernorm import layernorm

UNITS = ("u0", "u1", "u2")  # the units of layernorm_tb.sv
SHIFT_MIN, SHIFT_MAX = -9, 39  # 15 + f_g - f_out with fracs in [-8, 16]
# Must-fail check of the harness: compare against the golden model with a shift one too large.
WRONG_GOLDEN = setting("WRONG_GOLDEN", 0) == 1


def env(unit: str, name: str, default: str | None = None) -> int:
    value = os.environ.get(f"SPVIT_TB_{unit.upper()}_{name}", default)
    assert value is not None, f"SPVIT_TB_{unit.upper()}_{name} not set"
    return int(value)


def golden(x, g, b, e, shift):
    return layernorm(x, g, b, e, shift + 1 if WRONG_GOLDEN else shift)


class Unit:
    """One layernorm of the wrapper (ports prefixed u0_, u1_, ...): its AXI-Stream source and sink, its parameter
    memory and run-time inputs, its parameters and its golden-checking helpers."""

    def __init__(self, dut, name: str):
        self.dut = dut
        self.name = name
        self.D = env(name, "D")
        self.PARALLEL = env(name, "PARALLEL")
        self.EPS_WIDTH = env(name, "EPS_WIDTH", "41")
        self.SHIFT_WIDTH = env(name, "SHIFT_WIDTH", "7")
        self.BUFFERS = env(name, "BUFFERS", "2")
        self.DIVIDERS = env(name, "DIVIDERS", "1")
        self.TOKENS = env(name, "TOKENS", "100")  # tokens per run_test variant
        self.BEATS = self.D // self.PARALLEL
        self.EPS_MAX = 2**self.EPS_WIDTH - 1  # the port's range (a bundle's E is at most 2**40)
        # hw/rtl/layernorm.sv: cycles per token back to back
        self.CYCLES_PER_TOKEN = max(self.BEATS, 3, 64 / self.DIVIDERS, (2 * self.BEATS + 101) / self.BUFFERS)
        self.log = logging.getLogger(f"cocotb.tb.{name}")
        self.source = stream_source(dut, f"{name}_s_axis", byte_lanes=self.PARALLEL)
        self.sink = stream_sink(dut, f"{name}_m_axis", byte_lanes=self.PARALLEL)
        self.port = lambda p: getattr(dut, f"{name}_{p}")
        self.port("eps_term").value = 1
        self.port("shift").value = 0
        for p in ("param_wr_en", "param_wr_addr", "param_wr_gamma", "param_wr_beta"):
            self.port(p).value = 0

    async def configure(self, g, b, e: int, shift: int):
        """Write G and B into the parameter memory and set eps_term and shift (only while nothing is in flight)."""
        clk = self.dut.clk
        await FallingEdge(clk)
        for a in range(self.BEATS):
            gw = bw = 0
            for lane in range(self.PARALLEL):
                gw |= (int(g[a * self.PARALLEL + lane]) & 0xFFFF) << (16 * lane)
                bw |= (int(b[a * self.PARALLEL + lane]) & 0xFFFFFFFF) << (32 * lane)
            self.port("param_wr_en").value = 1
            self.port("param_wr_addr").value = a
            self.port("param_wr_gamma").value = gw
            self.port("param_wr_beta").value = bw
            await FallingEdge(clk)
        self.port("param_wr_en").value = 0
        self.port("eps_term").value = e
        self.port("shift").value = shift & ((1 << self.SHIFT_WIDTH) - 1)

    async def send(self, x):
        await self.source.send(AxiStreamFrame(int8_bytes(x)))

    async def recv(self, tokens: int):
        return int8_values(await with_timeout(self.sink.recv(), 200 * (tokens + 2) * self.CYCLES_PER_TOKEN * 10, "ns"))

    def tokens(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Random tokens; a share constant (V = E), of maximal spread, of tiny spread, one-hot."""
        D = self.D
        x = rng.integers(-128, 128, (n, D))
        kind = rng.integers(0, 6, n)
        x[kind == 1] = rng.integers(-128, 128, (int((kind == 1).sum()), 1))  # constant token
        x[kind == 2] = np.where(rng.random((int((kind == 2).sum()), D)) < 0.5, -128, 127)  # extremes only
        x[kind == 3] = rng.integers(-2, 3, (int((kind == 3).sum()), D))  # tiny spread
        one_hot = np.full((int((kind == 4).sum()), D), -128)
        one_hot[:, 0] = 127
        x[kind == 4] = one_hot
        return x

    def params(self, rng: np.random.Generator):
        D = self.D
        g = rng.integers(-(2**15), 2**15, D)
        if rng.random() < 0.3:
            g = np.where(rng.random(D) < 0.5, -(2**15), 2**15 - 1)
        if rng.random() < 0.3:
            # full int32 betas (the port's range), including its extremes
            b = rng.integers(-(2**31), 2**31, D)
            b[rng.random(D) < 0.2] = -(2**31)
            b[rng.random(D) < 0.2] = 2**31 - 1
        else:
            bscale = int(rng.choice([0, 2**12, 2**20, 2**30]))
            b = rng.integers(-bscale, bscale + 1, D)
        e = int(rng.choice([1, 2, int(rng.integers(1, self.EPS_MAX)), min(2**40, self.EPS_MAX), self.EPS_MAX,
                            min(self.EPS_MAX, golden_eps_term(1e-6, int(rng.integers(-8, 17)), D))]))
        shift = int(rng.integers(SHIFT_MIN, SHIFT_MAX + 1)) if rng.random() < 0.4 else int(rng.integers(12, 24))
        return g, b, e, shift

    async def check_sequence(self, x, g, b, e, shift, label: str) -> int:
        got = await self.recv(len(x))
        want = golden(x, g, b, e, shift).reshape(-1)
        assert got.size == want.size, f"{self.name} {label}: {got.size} channels out, {want.size} in (tlast misplaced?)"
        bad = np.flatnonzero(got != want)
        for i in bad[:5]:
            t, c = divmod(int(i), self.D)
            self.log.error("%s token %d channel %d (E=%d shift=%d): rtl %d, golden %d", label, t, c, e, shift,
                           got[i], want[i])
        return int(bad.size)


class TB(Testbench):
    def __init__(self, dut):
        super().__init__(dut)
        self.units = [Unit(dut, name) for name in UNITS]
        self.sources = [u.source for u in self.units]
        self.sinks = [u.sink for u in self.units]

    async def each(self, make):
        """Run make(unit) for every unit concurrently; returns their results."""
        return await concurrently(make(u) for u in self.units)


@cocotb.test()
@cocotb.parametrize(**STALL_VARIANTS)
async def run_test(dut, idle: bool, backpressure: bool):
    tb = TB(dut)
    seed = variant_seed(5000, idle, backpressure)
    await tb.begin_variant(idle, backpressure, seed)

    async def unit_test(u: Unit):
        rng = np.random.default_rng(seed + 10 * u.D)
        mismatches = channels = sent = seq = 0
        while sent < u.TOKENS:
            g, b, e, shift = u.params(rng)
            await u.configure(g, b, e, shift)
            # one to three sequences with these parameters, sent back to back (the next one loads while the
            # previous one drains); sizes 1 token and up
            group = []
            for _ in range(int(rng.integers(1, 4))):
                n = int(rng.choice([1, int(rng.integers(1, 5)), int(rng.integers(4, 17))]))
                x = u.tokens(rng, n)
                await u.send(x)
                group.append(x)
            for x in group:
                mismatches += await u.check_sequence(x, g, b, e, shift, f"sequence {seq}")
                channels += x.size
                sent += len(x)
                seq += 1
        assert u.sink.empty(), f"{u.name}: extra output beats after the last sequence"
        u.log.info("D=%d PARALLEL=%d: %d sequences, %d tokens, %d channels, %d mismatches", u.D, u.PARALLEL, seq,
                   sent, channels, mismatches)
        return mismatches, channels

    results = await tb.each(unit_test)
    await ClockCycles(dut.clk, 4)
    bad = [f"{u.name}: {m} of {c}" for u, (m, c) in zip(tb.units, results) if m]
    assert not bad, "channels differ from golden layernorm: " + "; ".join(bad)


@cocotb.test()
async def test_corners(dut):
    """V = E = 1 (r = 2**31), the largest V, E = EPS_MAX, both shift extremes, saturation both ways."""
    tb = TB(dut)
    await tb.reset()

    async def unit_test(u: Unit):
        D = u.D
        rng = np.random.default_rng(77 + D)
        ar = np.arange(D)
        x = np.stack([np.full(D, 5), np.full(D, -128), np.full(D, 127), np.where(ar % 2 == 0, 127, -128),
                      np.where(ar == 0, 127, -128), np.where(ar == 0, -128, 127), np.where(ar == D - 1, -128, 127)])
        mismatches = channels = case = 0
        gmax, gmin, grand = np.full(D, 2**15 - 1), np.full(D, -(2**15)), rng.integers(-(2**15), 2**15, D)
        bmax, bmin, bzero = np.full(D, 2**31 - 1), np.full(D, -(2**31)), np.zeros(D, int)
        for e in (1, u.EPS_MAX):
            for shift in (SHIFT_MIN, SHIFT_MAX, 0, 15):
                for g, b in ((gmax, bzero), (gmin, bmax), (grand, bmin), (gmax, bmax), (gmin, bmin)):
                    await u.configure(g, b, e, shift)
                    await u.send(x)
                    mismatches += await u.check_sequence(x, g, b, e, shift, f"corner {case}")
                    channels += x.size
                    case += 1
        u.log.info("D=%d: %d corner sequences, %d channels, %d mismatches", D, case, channels, mismatches)
        return mismatches, channels

    results = await tb.each(unit_test)
    bad = [f"{u.name}: {m} of {c}" for u, (m, c) in zip(tb.units, results) if m]
    assert not bad, "channels differ from golden layernorm: " + "; ".join(bad)


@cocotb.test()
async def test_throughput(dut):
    """Tokens back to back without idle or backpressure: the documented cycles per token, and exact results."""
    tb = TB(dut)
    await tb.reset()

    async def unit_test(u: Unit):
        rng = np.random.default_rng(99)
        g, b, _, _ = u.params(rng)
        await u.configure(g, b, 1, 15)
        n = 24
        x = u.tokens(rng, n)
        await RisingEdge(dut.clk)
        t0 = get_sim_time("ns")
        await u.send(x)
        done_at = []
        valid, ready = u.port("m_axis_tvalid"), u.port("m_axis_tready")

        async def monitor():
            # the time every output token completes
            count = 0
            while len(done_at) < n:
                await RisingEdge(dut.clk)
                if valid.value and ready.value:
                    count += 1
                    if count % u.BEATS == 0:
                        done_at.append(get_sim_time("ns"))

        mon = cocotb.start_soon(monitor())
        got = await u.recv(n)
        await mon
        want = golden(x, g, b, 1, 15).reshape(-1)
        mismatches = int((got != want).sum())
        periods = np.diff(np.array(done_at)) / 10
        steady = float(np.mean(periods[len(periods) // 2:]))
        u.log.info("D=%d PARALLEL=%d BUFFERS=%d DIVIDERS=%d: first token out %d cycles after the first beat went "
                   "in, %.1f cycles per token (documented %.1f)", u.D, u.PARALLEL, u.BUFFERS, u.DIVIDERS,
                   (done_at[0] - t0) / 10, steady, u.CYCLES_PER_TOKEN)
        assert steady <= u.CYCLES_PER_TOKEN, f"{u.name}: {steady} cycles per token, documented {u.CYCLES_PER_TOKEN}"
        return mismatches

    results = await tb.each(unit_test)
    assert not any(results), f"channels differ from golden layernorm: {results}"


@cocotb.test()
async def test_reset_mid_stream(dut):
    """Reset with tokens loading, in the divider and draining: the next sequence is exact, nothing stale comes out."""
    tb = TB(dut)
    await tb.reset()
    rngs = {u.name: np.random.default_rng(123 + u.D) for u in tb.units}
    tb.set_stalls(backpressure=0.3, seed=5)
    for delay in (3, 8, 30, 70, 130, 200):
        async def start(u: Unit):
            g, b, e, shift = u.params(rngs[u.name])
            await u.configure(g, b, e, shift)
            await u.send(u.tokens(rngs[u.name], 6))

        await tb.each(start)
        await ClockCycles(dut.clk, delay)
        await tb.reset()
        for u in tb.units:
            assert u.port("m_axis_tvalid").value == 0 and u.port("s_axis_tready").value == 1, \
                f"{u.name}: not idle after reset"
        # the sources dropped the rest of their frames on reset; nothing stale may come out
        await ClockCycles(dut.clk, 300)
        for u in tb.units:
            assert u.sink.empty() and u.port("m_axis_tvalid").value == 0, f"{u.name}: output after reset ({delay})"

        async def after(u: Unit):
            g, b, e, shift = u.params(rngs[u.name])
            await u.configure(g, b, e, shift)
            x = u.tokens(rngs[u.name], 5)
            await u.send(x)
            return await u.check_sequence(x, g, b, e, shift, f"after reset at {delay}")

        results = await tb.each(after)
        assert not any(results), f"channels differ from golden layernorm after reset at {delay}: {results}"
