"""hw/rtl/round_sat.sv: Verilator lint, and the cocotb testbench (sim/tb/round_sat) against the golden
round_shift + saturate (docs/arithmetic.md §2.1-2.3). round_sat is also exercised inside linear and residual_add."""
from __future__ import annotations

import re

import pytest

from spvit.sim import rtl_sim

pytestmark = pytest.mark.rtl

TOP = "round_sat"
SOURCES = ["round_sat.sv"]
TB_TOP = "round_sat_tb"
TB_SOURCES = [*SOURCES, rtl_sim.TB_DIR / "round_sat" / "round_sat_tb.sv"]

CONFIGS = {
    # requantize of an int32 accumulator over the contract's whole shift range (§2.3: [-32, 40])
    "acc32-int8": dict(IN_WIDTH=32, OUT_WIDTH=8, SHIFT_WIDTH=7, SIGNED_OUT=1),
    # residual_add's 34-bit sum (§4), shifts [-32, 31]
    "sum34-int8": dict(IN_WIDTH=34, OUT_WIDTH=8, SHIFT_WIDTH=6, SIGNED_OUT=1),
    # unsigned result (uint8 probabilities / sigmoid-style), wide input
    "in40-uint8": dict(IN_WIDTH=40, OUT_WIDTH=8, SHIFT_WIDTH=7, SIGNED_OUT=0),
    # output wider than input, narrow shift port ([-4, 3])
    "in8-int16": dict(IN_WIDTH=8, OUT_WIDTH=16, SHIFT_WIDTH=3, SIGNED_OUT=1),
}
# One Verilator build (~10 s of CPU) holds every set, one instance each (sim/tb/round_sat/round_sat_tb.sv); the
# cocotb test runs once per set.
TB = rtl_sim.CocotbTestbench("round_sat", TB_TOP, TB_SOURCES, expect_tests=len(CONFIGS),
                             build_args=rtl_sim.QUICK_BUILD_ARGS)


def tb_parameters() -> dict:
    def packed(key):
        return rtl_sim.packed_parameter(c[key] for c in CONFIGS.values())
    return dict(N_CFG=len(CONFIGS), IN_WIDTHS=packed("IN_WIDTH"), OUT_WIDTHS=packed("OUT_WIDTH"),
                SHIFT_WIDTHS=packed("SHIFT_WIDTH"), SIGNED_OUTS=packed("SIGNED_OUT"),
                **{f"{k}_PORT_WIDTH": max(c[f"{k}_WIDTH"] for c in CONFIGS.values()) for k in ("IN", "SHIFT", "OUT")})


@pytest.mark.parametrize("params", CONFIGS.values(), ids=CONFIGS.keys())
def test_lint(params):
    rtl_sim.lint_clean(SOURCES, TOP, params)


def test_lint_rejects_illegal_parameters():
    with pytest.raises(RuntimeError, match=re.escape("SHIFT_WIDTH (1) must be in [2, 16]")):
        rtl_sim.lint(SOURCES, TOP, dict(SHIFT_WIDTH=1))


def test_lint_testbench_top():
    rtl_sim.lint_clean(TB_SOURCES, TB_TOP, tb_parameters())


def run(tb_overrides: dict | None = None, run_name: str = "sim"):
    configs = [dict(name=n, **c) for n, c in CONFIGS.items()]
    return TB.run(f"{TOP}-all", tb_parameters(), {"CONFIGS": configs, **(tb_overrides or {})}, run_name=run_name)


def test_round_sat_cocotb():
    res = run()
    assert len(res.tests) == TB.expect_tests and not res.failed
    # The harness must be able to fail: the same build against a golden model one output bit narrower.
    with pytest.raises(rtl_sim.CocotbFailed, match="differ from golden round_shift"):
        run(tb_overrides={"GOLDEN_OUT_WIDTH_OFFSET": 1, "VECTORS": 100, "PER_SHIFT": 2}, run_name="must-fail")
