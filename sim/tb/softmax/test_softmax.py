"""cocotb testbench for hw/rtl/softmax.sv: every (p8, p16) checked against golden softmax (docs/arithmetic.md §5.2).

Run from tests/test_rtl_softmax.py, which builds with Verilator and passes the build's parameters through SPVIT_TB_*
environment variables. Rows go in one logit per beat (tlast ends a row, `frac` set per row); every output element of
every row is compared exactly with spvit.sim.golden.softmax.softmax, and the row boundaries (tlast) must match.
"""
from __future__ import annotations

import cocotb
import numpy as np
from cocotb.triggers import ClockCycles
from cocotbext.axi import AxiStreamFrame

from common import STALL_VARIANTS, Testbench, beat_values, count_mismatches, setting, stream_through, variant_seed
from spvit.sim.golden.softmax import LOG2E_Q15, softmax

N_MAX = setting("N_MAX", 8)
LOGIT_WIDTH = setting("LOGIT_WIDTH", 32)
ROWS = setting("ROWS", 120)  # random rows per run_test variant
# golden-model override for the must-fail check: the golden model is told frac + GOLDEN_FRAC_SKEW
GOLDEN_FRAC_SKEW = setting("GOLDEN_FRAC_SKEW", 0)
FRAC_MIN, FRAC_MAX = -5, 32
LMIN, LMAX = -(1 << (LOGIT_WIDTH - 1)), (1 << (LOGIT_WIDTH - 1)) - 1


class TB(Testbench):
    def __init__(self, dut):
        super().__init__(dut)
        self.source = self.add_source()
        self.sink = self.add_sink()
        dut.frac.value = 0

    async def send_row(self, row: tuple[list[int], int]):
        """One row of logits x at frac f: (x, f)."""
        x, f = row
        # frac is sampled with the tlast beat: change it only once the previous row has been accepted.
        await self.source.wait()
        self.dut.frac.value = f & 0x7F
        await self.source.send(AxiStreamFrame([int(v) & ((1 << LOGIT_WIDTH) - 1) for v in x]))

    async def check_rows(self, rows) -> int:
        """Receive one output frame per sent row and compare it with golden; returns the element count."""
        mismatches = 0
        elements = 0
        for index, (x, f) in enumerate(rows):
            got = beat_values(await self.sink.recv())
            assert len(got) == len(x), f"row {index}: {len(got)} outputs for {len(x)} logits (tlast misplaced?)"
            p8, p16 = softmax(np.asarray(x, dtype=np.int64)[None, :], f + GOLDEN_FRAC_SKEW)
            want = (p16[0] << 8) | p8[0]
            mismatches += count_mismatches(got, want, lambda i: self.log.error(
                "row %d (n %d, f %d) element %d: x %d -> rtl p8 %d p16 %d, golden p8 %d p16 %d", index, len(x), f, i,
                x[i], got[i] & 255, got[i] >> 8, p8[0][i], p16[0][i]), limit=4)
            elements += len(x)
        assert self.sink.empty(), "extra output beats after the last row"
        assert mismatches == 0, f"{mismatches} of {elements} elements differ from golden softmax"
        return elements


def random_row(rng: np.random.Generator, n: int, f: int) -> list[int]:
    """A row of n logits at frac f biased to where the softmax is interesting (near the max, around the clamp)."""
    scale = 2.0 ** f
    kind = int(rng.integers(0, 7))
    if kind == 0:  # full range: mostly huge differences
        x = rng.integers(LMIN, LMAX + 1, n, dtype=np.int64)
    else:
        if kind == 1:  # real differences within a few units of the max
            real = -rng.uniform(0, 6, n)
        elif kind == 2:  # Gaussian logits
            real = rng.normal(0, 3, n)
        elif kind == 3:  # around the clamp (real difference 32) and the exponent cap (q = 24)
            real = -rng.uniform(15, 40, n)
            real[rng.integers(0, n)] = 0
        elif kind == 4:  # few distinct values: ties
            real = rng.choice(rng.uniform(-4, 0, 3), n)
        elif kind == 5:  # wide spread
            real = -rng.exponential(8, n)
        else:  # small integers (meaningful at negative fracs)
            real = rng.integers(-3, 4, n) / scale
        base = int(rng.integers(LMIN // 2, LMAX // 2 + 1))
        x = np.floor(real * scale + base).astype(np.float64)
        x = np.clip(x, LMIN, LMAX).astype(np.int64)
    return [int(v) for v in x]


def random_frac(rng: np.random.Generator) -> int:
    if rng.random() < 0.2:
        return int(rng.choice([FRAC_MIN, FRAC_MIN + 1, 0, FRAC_MAX - 1, FRAC_MAX]))
    return int(rng.integers(FRAC_MIN, 20))


def z_of(d: int, f: int) -> int:
    """Golden step 2 for one difference (exact Python integers)."""
    d = min(d, 1 << (f + 5))
    s = f + 7
    return (d * LOG2E_Q15 + (1 << (s - 1))) >> s


def rom_sweep_rows() -> list[tuple[list[int], int]]:
    """Rows whose exponents z hit every ROM entry r = 0..255 (with q = z >> 8 = 0..26), at frac 10.

    At f = 10 consecutive differences d move z by 0.18, so every z is reachable.
    """
    f = 10
    targets = [r + 256 * (r % 27) for r in range(256)] + list(range(0, 300))
    ds = []
    for t in targets:
        d = (t * (1 << (f + 7))) // LOG2E_Q15
        while z_of(d, f) < t:
            d += 1
        while d > 0 and z_of(d - 1, f) >= t:
            d -= 1
        assert z_of(d, f) == t
        ds.append(d)
    per_row = max(N_MAX - 1, 1)
    rows = []
    top = min(LMAX, 1 << 20)
    for i in range(0, len(ds), per_row):
        chunk = ds[i:i + per_row]
        rows.append(([top] + [top - d for d in chunk] if N_MAX > 1 else [top], f))
    return rows


def corner_rows(rng: np.random.Generator) -> list[tuple[list[int], int]]:
    rows = []
    for f in (FRAC_MIN, -1, 0, 7, 16, 31, FRAC_MAX):
        # n = 1: p = 1.0 saturates p8 at 255 and p16 at 65535
        rows.append(([int(rng.integers(LMIN, LMAX + 1))], f))
        rows.append(([LMIN], f))
        rows.append(([LMAX], f))
        # all equal, n = N_MAX and n = 2
        v = int(rng.integers(LMIN, LMAX + 1))
        rows.append(([v] * N_MAX, f))
        rows.append(([v] * min(2, N_MAX), f))
        if N_MAX > 1:
            # one huge max among many equal (max at a random place), and extreme differences m - x = 2**W - 1
            n = N_MAX
            x = [LMIN] * n
            x[int(rng.integers(0, n))] = LMAX
            rows.append((x, f))
            x = [0] * n
            x[int(rng.integers(0, n))] = 1 << max(f, 0) if (1 << max(f, 0)) <= LMAX else LMAX
            rows.append((x, f))
            # differences right at the clamp 2**(f+5)
            c = 1 << (f + 5)
            if c < (1 << (LOGIT_WIDTH - 1)):
                x = [min(LMAX - c + int(k), LMAX) for k in rng.integers(-2, 3, n)]
                x[0] = LMAX
                rows.append((x, f))
            # two maxima among the rest
            x = random_row(rng, n, f)
            m = max(x)
            x[-1] = m
            rows.append((x, f))
    return rows


@cocotb.test()
@cocotb.parametrize(**STALL_VARIANTS)
async def run_test(dut, idle: bool, backpressure: bool):
    """Random rows (random n in [1, N_MAX], random frac) with random idle/backpressure."""
    tb = TB(dut)
    seed = variant_seed(2000, idle, backpressure)
    rng = await tb.begin_variant(idle, backpressure, seed)

    rows = []
    for _ in range(ROWS):
        n = int(rng.integers(1, N_MAX + 1)) if rng.random() < 0.8 else int(rng.choice([1, N_MAX]))
        f = random_frac(rng)
        rows.append((random_row(rng, n, f), f))
    elements = await stream_through(rows, tb.send_row, tb.check_rows)
    tb.log.info("%d rows, %d elements: bit-exact", len(rows), elements)


@cocotb.test()
async def test_corners(dut):
    """n = 1, all equal, one huge max, extreme differences, the clamp, fracs -5 and 32, and every POW2 ROM entry."""
    tb = TB(dut)
    rng = await tb.begin(77, backpressure=0.2)
    rows = corner_rows(rng) + rom_sweep_rows()
    elements = await stream_through(rows, tb.send_row, tb.check_rows)
    # the corners include p = 1.0, where p8 saturates at 255 and p16 at 65535 (n = 1, one huge max)
    assert any(int(softmax(np.array([x]), f)[0].max()) == 255 for x, f in rows)
    assert any(int(softmax(np.array([x]), f)[1].max()) == 65535 for x, f in rows)
    tb.log.info("%d corner rows, %d elements: bit-exact", len(rows), elements)


@cocotb.test()
async def test_reset_mid_stream(dut):
    """Reset while a row is being received and another is being output under backpressure; then still exact."""
    tb = TB(dut)
    rng = await tb.begin(5)
    tb.sink.pause = True
    for _ in range(3):
        await tb.send_row((random_row(rng, N_MAX, 8), 8))
    # let the first row reach the held output register, with the second (and part of the third) inside
    await ClockCycles(dut.clk, 6 * N_MAX + 60)
    assert dut.m_axis_tvalid.value == 1
    await tb.reset_mid_stream("m_axis_tvalid")
    await ClockCycles(dut.clk, 1)
    assert tb.sink.empty(), "output after reset"

    tb.set_stalls(idle=0.2, backpressure=0.3, seed=6)
    rows = [(random_row(rng, int(rng.integers(1, N_MAX + 1)), f), f) for f in (0, 5, 12, -3, 20)]
    await stream_through(rows, tb.send_row, tb.check_rows)
