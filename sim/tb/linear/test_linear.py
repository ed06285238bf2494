"""cocotb testbench for hw/rtl/linear.sv (through sim/tb/linear/linear_tb.sv: one instance per parameter set, each
with its own weight/bias BRAMs): every output lane checked against the golden linear (+ requantize),
docs/arithmetic.md §3 / §2.3.

Run from tests/test_rtl_linear.py, which builds linear_tb with the parameter sets listed in $SPVIT_TB_CONFIGS (JSON:
[{name, IN_DIM, OUT_DIM, SIMD, PE, ACC_OUT, MEM_LATENCY[, MACS_PER_DSP][, SPLIT_NF]}, ...], instance k = entry k,
selected by the `sel` port).
Weights are loaded through the testbench top's memory write ports in the layout of
spvit.sim.rtl_layout.linear_weight_words / linear_bias_words (the host driver's layout).
Split sets (SPLIT_NF > 0): every token of every test carries a random tuser (on all its beats) and is checked against
the golden row's outputs that tuser selects; the other sets drive tuser 0.

Tests, each once per parameter set
- run_test x (idle, backpressure): random int8 weights, biases up to +-2**30, sequences of random token counts,
  shifts drawn from the contract's range [-32, 40] and from the range where outputs do not saturate.
- test_saturation_corners: all-+127 / all--128 inputs against all-+-127 weights and +-2**30 biases, then against
  extreme int8 weights (-128 included, every sign pair of neighbouring rows: the PE pairs that MACS_PER_DSP=2 packs),
  whole rows of them (full-length reductions of -128 * -128) and random mixes.
- test_throughput: one long sequence, no idle, no backpressure: measures cycles per token at steady state and
  writes MAC utilisation = useful MACs (of the folds the tokens compute) / (SIMD * PE * cycles) to
  $SPVIT_TB_RESULT_JSON (one entry per set).
- test_reset_mid_stream: reset with tokens in flight; the next sequence must still be exact.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass

import cocotb
import numpy as np
from cocotb.triggers import ClockCycles, ReadOnly, RisingEdge
from cocotbext.axi import AxiStreamFrame

from common import (STALL_VARIANTS, Testbench, count_mismatches, json_setting, lane_words, setting, variant_seed,
                    word_lanes, write_memory)
from spvit.sim.golden.arith import MAX_ABS_BIAS, linear, requantize
from spvit.sim.rtl_layout import linear_bias_words, linear_weight_words

DEFAULT_CONFIGS = [dict(name="small", IN_DIM=16, OUT_DIM=8, SIMD=4, PE=2, ACC_OUT=0, MEM_LATENCY=1)]
CONFIGS = json_setting("CONFIGS", DEFAULT_CONFIGS)
SHIFT_WIDTH = setting("SHIFT_WIDTH", 7)
# tokens streamed by each run_test variant, and by the throughput test
TOKENS = setting("TOKENS", 40)
THROUGHPUT_TOKENS = setting("THROUGHPUT_TOKENS", 24)
RESULT_JSON = os.environ.get("SPVIT_TB_RESULT_JSON", "")
# golden-model override for the must-fail check: a shift offset applied to the golden requantize only
GOLDEN_SHIFT_OFFSET = setting("GOLDEN_SHIFT_OFFSET", 0)
SHIFT_MIN, SHIFT_MAX = -32, 40  # docs/arithmetic.md §2.3
CFG_INDEX = list(range(len(CONFIGS)))


@dataclass
class Cfg:
    index: int
    name: str
    IN_DIM: int
    OUT_DIM: int
    SIMD: int
    PE: int
    ACC_OUT: int
    MEM_LATENCY: int
    MACS_PER_DSP: int = 1
    SPLIT_NF: int = 0

    @property
    def SF(self):
        return self.IN_DIM // self.SIMD

    @property
    def NF(self):
        return self.OUT_DIM // self.PE

    @property
    def OUT_LANE(self):
        return 32 if self.ACC_OUT else 8

    def computed(self, users) -> np.ndarray:
        """[T, OUT_DIM] bool: the outputs each token computes by its tuser (0: the first SPLIT_NF * PE, 1: the rest;
        all of them without a split)."""
        split = self.SPLIT_NF * self.PE
        if not split:
            return np.ones((len(users), self.OUT_DIM), dtype=bool)
        return (np.arange(self.OUT_DIM) >= split)[None, :] == np.asarray(users, dtype=bool)[:, None]


def get_cfg(index: int) -> Cfg:
    return Cfg(index=index, **CONFIGS[index])


class TB(Testbench):
    def __init__(self, dut, cfg: Cfg):
        super().__init__(dut)
        self.cfg = cfg
        # One "byte" per beat (the shared ports are as wide as the widest instance): beats are packed here.
        self.source = self.add_source()
        self.sink = self.add_sink()
        dut.sel.value = cfg.index
        dut.shift.value = 0
        dut.w_wr_en.value = 0
        dut.b_wr_en.value = 0
        self.log.info("parameter set %d %s", cfg.index, CONFIGS[cfg.index])

    def set_shift(self, shift: int):
        self.dut.shift.value = shift & ((1 << SHIFT_WIDTH) - 1)

    async def load(self, weight: np.ndarray, bias: np.ndarray):
        """Write the weight and bias memories in the host driver's layout (sim/rtl_layout.py)."""
        await write_memory(self.dut, "w_wr", linear_weight_words(weight, self.cfg.SIMD, self.cfg.PE))
        await write_memory(self.dut, "b_wr", linear_bias_words(bias, self.cfg.PE))

    async def load_random_layer(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, int]:
        """A random layer into the memories and a random shift on the port: (weight, bias, shift)."""
        weight, bias = random_layer(rng, self.cfg)
        await self.load(weight, bias)
        shift = random_shift(rng, self.cfg)
        self.set_shift(shift)
        return weight, bias, shift

    def users(self, rng: np.random.Generator, tokens: int) -> np.ndarray:
        """Each token's tuser: random for a split set (drawn only there: the other sets' stimuli stay as they were)."""
        if self.cfg.SPLIT_NF:
            return rng.integers(0, 2, tokens)
        return np.zeros(tokens, dtype=np.int64)

    async def send(self, x: np.ndarray, users: np.ndarray):
        """One sequence: tokens x [T, IN_DIM] int8 as SF beats of SIMD lanes each, tlast on the last beat; token t's
        tuser users[t] on all its beats (linear.sv samples it with the last)."""
        tuser = np.repeat(users, self.cfg.SF).tolist()
        await self.source.send(AxiStreamFrame(lane_words(x, self.cfg.SIMD), tuser=tuser))

    async def recv(self, users: np.ndarray) -> np.ndarray:
        """One sequence's outputs, [T, OUT_DIM]: what each token computes in place (in output order, as the beats
        come), 0 elsewhere."""
        c = self.cfg
        computed = c.computed(users)
        frame = await self.sink.recv()
        beats = computed.sum() // c.PE
        assert len(frame.tdata) == beats, \
            f"{len(frame.tdata)} output beats for {len(users)} tokens of {beats} beats in all (tlast misplaced?)"
        got = np.zeros(computed.shape, dtype=np.int64)
        got[computed] = word_lanes(frame.tdata, c.PE, c.OUT_LANE)  # row-major: token by token, outputs ascending
        return got


def golden(x, users, weight, bias, shift, cfg: Cfg):
    """The outputs each token computes by its tuser, 0 elsewhere (as TB.recv returns them)."""
    acc = linear(x, weight, bias)
    out = acc if cfg.ACC_OUT else requantize(acc, shift + GOLDEN_SHIFT_OFFSET)
    return np.where(cfg.computed(users), out, 0)


def random_layer(rng: np.random.Generator, cfg: Cfg):
    # the whole int8 range: linear.sv does not rely on the contract's narrow-range weights
    weight = rng.integers(-128, 128, (cfg.OUT_DIM, cfg.IN_DIM), dtype=np.int64)
    # mostly accumulator-sized biases, some at the +-2**30 limit
    small = rng.integers(-(1 << 16), (1 << 16) + 1, cfg.OUT_DIM, dtype=np.int64)
    large = rng.integers(-MAX_ABS_BIAS, MAX_ABS_BIAS + 1, cfg.OUT_DIM, dtype=np.int64)
    large[rng.random(cfg.OUT_DIM) < 0.1] = MAX_ABS_BIAS * rng.choice([-1, 1])
    bias = np.where(rng.random(cfg.OUT_DIM) < 0.2, large, small)
    return weight, bias


def random_shift(rng: np.random.Generator, cfg: Cfg) -> int:
    # a third from the whole contract range, the rest where int8 outputs mostly do not saturate:
    # |acc| ~ sqrt(IN_DIM) * 127 * 74 (uniform int8 x uniform int8) -> shift ~ log2 of that minus 7
    if rng.random() < 0.33:
        return int(rng.integers(SHIFT_MIN, SHIFT_MAX + 1))
    centre = int(np.log2(np.sqrt(cfg.IN_DIM) * 127 * 74)) - 6
    return int(np.clip(centre + rng.integers(-3, 4), SHIFT_MIN, SHIFT_MAX))


def check(tb, name, got, want) -> int:
    return count_mismatches(got, want, lambda t, o: tb.log.error(
        "[%s] %s token %d out %d: rtl %d, golden %d", tb.cfg.name, name, t, o, got[t, o], want[t, o]))


@cocotb.test()
@cocotb.parametrize(cfg=CFG_INDEX, **STALL_VARIANTS)
async def run_test(dut, cfg: int, idle: bool, backpressure: bool):
    c = get_cfg(cfg)
    tb = TB(dut, c)
    seed = variant_seed(500, idle, backpressure, cfg)
    rng = await tb.begin_variant(idle, backpressure, seed)
    weight, bias = random_layer(rng, c)
    await tb.load(weight, bias)

    mismatches = lanes = sent_tokens = groups = 0
    while sent_tokens < TOKENS:
        # one shift per group of sequences: the shift is held while a sequence is in flight
        shift = random_shift(rng, c)
        tb.set_shift(shift)
        seqs = []
        for _ in range(int(rng.integers(1, 4))):
            t = int(rng.integers(1, 6))
            x = rng.integers(-128, 128, (t, c.IN_DIM), dtype=np.int64)
            if rng.random() < 0.2:
                x[:, :] = rng.choice([-128, 127])
            users = tb.users(rng, t)
            await tb.send(x, users)
            seqs.append((x, users))
            sent_tokens += t
        for k, (x, users) in enumerate(seqs):
            got = await tb.recv(users)
            mismatches += check(tb, f"group {groups} seq {k} shift {shift}", got,
                                golden(x, users, weight, bias, shift, c))
            lanes += c.computed(users).sum()
        groups += 1
        if groups % 4 == 0 and sent_tokens < TOKENS:
            weight, bias = random_layer(rng, c)  # reload between sequences (the DUT is idle here)
            await tb.load(weight, bias)

    assert tb.sink.empty(), "extra output beats after the last sequence"
    assert mismatches == 0, f"{mismatches} of {lanes} outputs differ from golden linear"
    tb.log.info("[%s] %d tokens in %d shift groups, %d outputs: bit-exact", c.name, sent_tokens, groups, lanes)
    await ClockCycles(dut.clk, 4)


# (even row, odd row) constants of the corner test's "extreme rows": every sign pair of int8 extremes, -128 * -128 first
EXTREME_ROW_PAIRS = [(-128, -128), (-128, 127), (127, -128), (127, 127), (-1, -128), (-128, -1), (0, -128), (-128, 0),
                     (1, -128), (-128, 1), (-127, 127)]
EXTREMES = np.array([-128, -127, -1, 0, 1, 127], dtype=np.int64)


def saturation_weights(c: Cfg, rng: np.random.Generator) -> list[tuple[str, np.ndarray]]:
    """The corner test's weight matrices: rows of alternating +-127, rows of int8 extremes in every sign pair of
    neighbouring rows, random extremes."""
    out = []
    for wsign in (127, -127):
        weight = np.full((c.OUT_DIM, c.IN_DIM), wsign, dtype=np.int64)
        weight[1::2] = -wsign  # odd rows opposite sign
        out.append((f"w {wsign}", weight))
    rows = np.resize(np.array(EXTREME_ROW_PAIRS, dtype=np.int64).reshape(-1), c.OUT_DIM)
    out.append(("extreme rows", np.repeat(rows[:, None], c.IN_DIM, axis=1)))
    out.append(("random extremes", rng.choice(EXTREMES, (c.OUT_DIM, c.IN_DIM))))
    return out


@cocotb.test()
@cocotb.parametrize(cfg=CFG_INDEX)
async def test_saturation_corners(dut, cfg: int):
    """Extreme accumulators: all-+127 / all--128 inputs, extreme int8 weights, +-2**30 biases, extreme shifts."""
    c = get_cfg(cfg)
    tb = TB(dut, c)
    rng = await tb.begin(77 + cfg)
    mismatches = lanes = 0
    bias = np.resize(np.array([MAX_ABS_BIAS, -MAX_ABS_BIAS, 0, 1, -MAX_ABS_BIAS, MAX_ABS_BIAS], dtype=np.int64),
                     c.OUT_DIM)
    alternating = np.resize(np.array([127, -128], dtype=np.int64), c.IN_DIM)
    x = np.stack([np.full(c.IN_DIM, 127), np.full(c.IN_DIM, -128), alternating, np.zeros(c.IN_DIM),
                  rng.choice(EXTREMES, c.IN_DIM)]).astype(np.int64)
    for name, weight in saturation_weights(c, rng):
        await tb.load(weight, bias)
        shifts = [SHIFT_MIN, -1, 0, 1, 7, 8, 23, 24, 30, 31, 32, SHIFT_MAX, int(rng.integers(9, 23))]
        if c.NF * c.SF > 32:
            shifts = shifts[::3]  # long tokens: a subset of the shifts keeps the run short
        for shift in shifts:
            tb.set_shift(shift)
            users = tb.users(rng, len(x))
            await tb.send(x, users)
            got = await tb.recv(users)
            mismatches += check(tb, f"{name} shift {shift}", got, golden(x, users, weight, bias, shift, c))
            lanes += c.computed(users).sum()
            if c.ACC_OUT:
                break  # the shift plays no part
    assert mismatches == 0, f"{mismatches} of {lanes} outputs differ from golden linear"
    tb.log.info("[%s] saturation corners, %d outputs: bit-exact", c.name, lanes)


@cocotb.test()
@cocotb.parametrize(cfg=CFG_INDEX)
async def test_throughput(dut, cfg: int):
    """Steady state without idle or backpressure: cycles per token and MAC utilisation."""
    c = get_cfg(cfg)
    tb = TB(dut, c)
    rng = await tb.begin(99 + cfg)
    weight, bias, shift = await tb.load_random_layer(rng)

    in_cycles, out_cycles = [], []

    async def monitor():
        # handshakes of the cycle after each edge, sampled once the cycle's values have settled
        cycle = 0
        while True:
            await RisingEdge(dut.clk)
            await ReadOnly()
            cycle += 1
            if dut.s_axis_tvalid.value == 1 and dut.s_axis_tready.value == 1:
                in_cycles.append(cycle)
            if dut.m_axis_tvalid.value == 1 and dut.m_axis_tready.value == 1:
                out_cycles.append(cycle)

    mon = cocotb.start_soon(monitor())
    x = rng.integers(-128, 128, (THROUGHPUT_TOKENS, c.IN_DIM), dtype=np.int64)
    users = tb.users(rng, len(x))
    await tb.send(x, users)
    got = await tb.recv(users)
    mon.cancel()
    mismatches = check(tb, "throughput", got, golden(x, users, weight, bias, shift, c))
    outputs = c.computed(users).sum(axis=1)  # per token: the outputs of its folds
    assert mismatches == 0, f"{mismatches} of {outputs.sum()} outputs differ from golden linear"

    # latency of an idle array: last input beat of token 0 -> first output beat (documented in linear.sv)
    latency = out_cycles[0] - in_cycles[c.SF - 1]
    assert latency == c.SF + c.MEM_LATENCY + 3, f"latency {latency}, documented SF + MEM_LATENCY + 3"
    # steady state: skip the first quarter of the tokens (pipeline fill), time the last beats of the rest
    last_beats = [out_cycles[b - 1] for b in np.cumsum(outputs // c.PE)]
    first = THROUGHPUT_TOKENS // 4
    timed = slice(first + 1, None)  # the tokens whose cycles are timed
    cycles_per_token = (last_beats[-1] - last_beats[first]) / (THROUGHPUT_TOKENS - 1 - first)
    # split sets: tokens of either fold range, so the ideal is their mean cost and only their folds' MACs count
    ideal = float(np.mean(outputs[timed] // c.PE * c.SF))
    utilisation = c.IN_DIM * outputs[timed].mean() / (c.SIMD * c.PE * cycles_per_token)
    tb.log.info("[%s] steady state: %.2f cycles/token (ideal %.2f), MAC utilisation %.3f (IN %d OUT %d SIMD %d PE %d), "
                "latency %d", c.name, cycles_per_token, ideal, utilisation, c.IN_DIM, c.OUT_DIM, c.SIMD, c.PE,
                latency)
    if RESULT_JSON:
        stats = json.loads(open(RESULT_JSON).read()) if os.path.exists(RESULT_JSON) else {}
        stats[c.name] = dict(cycles_per_token=cycles_per_token, ideal_cycles_per_token=ideal,
                             mac_utilisation=utilisation, latency=latency, tokens=THROUGHPUT_TOKENS,
                             **CONFIGS[cfg])
        with open(RESULT_JSON, "w") as fh:
            json.dump(stats, fh, indent=1)


@cocotb.test()
@cocotb.parametrize(cfg=CFG_INDEX)
async def test_reset_mid_stream(dut, cfg: int):
    """Reset with tokens buffered, in the MAC pipeline and in the output FIFO; the next sequence is exact."""
    c = get_cfg(cfg)
    tb = TB(dut, c)
    rng = await tb.begin(123 + cfg)
    weight, bias, shift = await tb.load_random_layer(rng)
    tb.sink.pause = True  # outputs pile up: FIFO full, both input banks full
    # 12 tokens (of >= 1 output beat): more than both banks and the 8-beat FIFO hold; wait for as long as they would
    # take unstalled
    await tb.send(rng.integers(-128, 128, (12, c.IN_DIM), dtype=np.int64), tb.users(rng, 12))
    await ClockCycles(dut.clk, 12 * c.NF * c.SF + 20)
    assert dut.s_axis_tready.value == 0, "expected a stalled input (both banks full)"
    await tb.reset_mid_stream("m_axis_tvalid")
    x = rng.integers(-128, 128, (3, c.IN_DIM), dtype=np.int64)
    users = tb.users(rng, len(x))
    await tb.send(x, users)
    got = await tb.recv(users)
    assert check(tb, "after reset", got, golden(x, users, weight, bias, shift, c)) == 0, "wrong outputs after reset"
    await ClockCycles(dut.clk, 4)
    assert tb.sink.empty(), "stale output beats after reset"
