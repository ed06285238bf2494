"""cocotb testbench for hw/rtl/round_sat.sv (combinational; through sim/tb/round_sat/round_sat_tb.sv, one instance
per parameter set): outputs checked against the golden round_shift + saturate (spvit.sim.golden.arith),
docs/arithmetic.md §2.1-2.3.

Run from tests/test_rtl_round_sat.py, which passes the parameter sets as $SPVIT_TB_CONFIGS (JSON list of
{name, IN_WIDTH, OUT_WIDTH, SHIFT_WIDTH, SIGNED_OUT}; instance k = entry k, chosen by the `sel` port). For each set,
every value of the signed SHIFT_WIDTH-bit shift port is swept with PER_SHIFT inputs biased to the interesting
places (ties, saturation boundaries, extremes), then VECTORS random (input, shift) pairs.
"""
from __future__ import annotations

import logging

import cocotb
import numpy as np
from cocotb.triggers import Timer

from common import json_setting, setting
from spvit.sim.golden.arith import round_shift, saturate

DEFAULT_CONFIGS = [dict(name="acc32-int8", IN_WIDTH=32, OUT_WIDTH=8, SHIFT_WIDTH=7, SIGNED_OUT=1)]
CONFIGS = json_setting("CONFIGS", DEFAULT_CONFIGS)
# golden-model override for the must-fail check: the golden output width is reduced by this many bits
GOLDEN_OUT_WIDTH_OFFSET = setting("GOLDEN_OUT_WIDTH_OFFSET", 0)
PER_SHIFT = setting("PER_SHIFT", 24)
VECTORS = setting("VECTORS", 1500)


class Cfg:
    def __init__(self, name, IN_WIDTH, OUT_WIDTH, SHIFT_WIDTH, SIGNED_OUT):
        self.name = name
        self.IN_WIDTH, self.OUT_WIDTH, self.SHIFT_WIDTH, self.SIGNED_OUT = IN_WIDTH, OUT_WIDTH, SHIFT_WIDTH, SIGNED_OUT
        self.IN_MIN, self.IN_MAX = -(1 << (IN_WIDTH - 1)), (1 << (IN_WIDTH - 1)) - 1
        self.SHIFT_MIN, self.SHIFT_MAX = -(1 << (SHIFT_WIDTH - 1)), (1 << (SHIFT_WIDTH - 1)) - 1


def golden(c: Cfg, x: int, shift: int) -> int:
    # round_shift in int64 is exact only while x << -shift fits; beyond that the result saturates anyway
    # (x != 0), so clamp the left shift at 62 - IN_WIDTH bits (still past every saturation bound).
    # Likewise a right shift past 62 bits gives 0 exactly as one by 62 does (|x| < 2**61).
    shift = min(max(shift, -(62 - c.IN_WIDTH)), 62)
    return int(saturate(round_shift(x, shift), c.OUT_WIDTH - GOLDEN_OUT_WIDTH_OFFSET, bool(c.SIGNED_OUT)))


def interesting(c: Cfg, rng: np.random.Generator, shift: int, n: int) -> list[int]:
    """Inputs near this shift's rounding ties and saturation boundaries, plus full-range values and extremes."""
    lim = 1 << c.OUT_WIDTH
    parts = [rng.integers(c.IN_MIN, c.IN_MAX + 1, n, dtype=np.int64)]
    if 0 <= shift < 62 - c.IN_WIDTH - c.OUT_WIDTH:
        k = rng.integers(-lim - 2, lim + 2, n, dtype=np.int64)
        parts.append((k << shift) + rng.integers(-2, 3, n))
        if shift > 0:
            parts.append((2 * k + 1) << (shift - 1))
    elif shift < 0:
        m = (lim + 2) >> min(-shift, c.OUT_WIDTH + 2)
        parts.append(rng.integers(-m - 1, m + 2, n, dtype=np.int64))
    parts.append(np.array([c.IN_MIN, c.IN_MAX, 0, -1, 1], dtype=np.int64))
    pool = np.clip(np.concatenate(parts), c.IN_MIN, c.IN_MAX)
    return [int(v) for v in rng.choice(pool, size=n)]


@cocotb.test()
@cocotb.parametrize(cfg=list(range(len(CONFIGS))))
async def sweep_shifts(dut, cfg: int):
    """Every shift the port can carry, PER_SHIFT biased inputs each, then VECTORS random (input, shift) pairs."""
    c = Cfg(**CONFIGS[cfg])
    log = logging.getLogger("cocotb.tb")
    rng = np.random.default_rng(11 + cfg)
    cases = []
    for shift in range(c.SHIFT_MIN, c.SHIFT_MAX + 1):
        cases += [(x, shift) for x in interesting(c, rng, shift, PER_SHIFT)]
    for _ in range(VECTORS):
        shift = int(rng.integers(c.SHIFT_MIN, c.SHIFT_MAX + 1))
        cases.append((interesting(c, rng, shift, 1)[0], shift))
    dut.sel.value = cfg
    mismatches = 0
    for x, shift in cases:
        # the instance takes the low IN_WIDTH / SHIFT_WIDTH bits of the shared ports
        dut.in_data.value = x & ((1 << len(dut.in_data)) - 1)
        dut.shift.value = shift & ((1 << len(dut.shift)) - 1)
        await Timer(1, unit="ns")
        raw = int(dut.out_data.value.to_unsigned())
        got = raw - (1 << c.OUT_WIDTH) if c.SIGNED_OUT and raw >= 1 << (c.OUT_WIDTH - 1) else raw
        want = golden(c, x, shift)
        if got != want:
            mismatches += 1
            if mismatches <= 8:
                log.error("[%s] in %d shift %d -> rtl %d, golden %d", c.name, x, shift, got, want)
    assert mismatches == 0, f"{mismatches} of {len(cases)} vectors differ from golden round_shift+saturate"
    log.info("[%s] %d vectors, shifts [%d, %d]: bit-exact", c.name, len(cases), c.SHIFT_MIN, c.SHIFT_MAX)
