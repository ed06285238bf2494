"""hw/rtl/layernorm.sv: Verilator lint, and the cocotb testbench (sim/tb/layernorm, through the wrapper
sim/tb/layernorm/layernorm_tb.sv that adds the parameter memory) against golden layernorm.layernorm."""
from __future__ import annotations

import re

import pytest

from spvit.sim import rtl_sim

pytestmark = pytest.mark.rtl

TB_DIR = rtl_sim.TB_DIR / "layernorm"
RTL_SOURCES = ["layernorm.sv", "udiv.sv", "isqrt.sv", "round_sat.sv"]
# cocotb tests in sim/tb/layernorm/test_layernorm.py: run_test x (idle, backpressure), test_corners,
# test_throughput, test_reset_mid_stream. One C++ file: Verilator splits a model this size into several files and
# then builds them with a precompiled header that this toolchain's verilated.mk passes to c++ as an input file.
TB = rtl_sim.CocotbTestbench("layernorm", "layernorm_tb",
                             [*RTL_SOURCES, TB_DIR / "layernorm_unit.sv", TB_DIR / "layernorm_tb.sv"],
                             expect_tests=7, build_args=("--assert", "--output-split", "0"))

# HDL parameter sets. All three are instantiated side by side in ONE build (layernorm_tb.sv, units u0..u2): a
# Verilator build's fixed cost (its runtime library) is most of this file's time, so one build instead of three keeps
# the file fast; every cocotb test runs on the three units concurrently. TOKENS: tokens per run_test variant.
UNITS = {
    # four division units taking tokens in turn (16 cycles per token instead of 64)
    "U0": dict(D=16, PARALLEL=4, BUFFERS=8, DIVIDERS=4),
    # the digits model's width
    "U1": dict(D=64, PARALLEL=8),
    # DeiT-S, fewer tokens; three token buffers (64 cycles per token instead of 75) and the widest eps_term port
    "U2": dict(D=384, PARALLEL=16, BUFFERS=3, EPS_WIDTH=48),
}
TB_TOKENS = {"U0": 160, "U1": 80, "U2": 24}
PARAMS = {f"{u}_{k}": v for u, ps in UNITS.items() for k, v in ps.items()}
LINT = {**{f"d{p['D']}-p{p['PARALLEL']}": p for p in UNITS.values()}, "d16-p4-default": dict(D=16, PARALLEL=4),
        "d768-p8-eps48": dict(D=768, PARALLEL=8, EPS_WIDTH=48, BUFFERS=4),
        "d4-p4": dict(D=4, PARALLEL=4), "d384-p16-b2": dict(D=384, PARALLEL=16)}


@pytest.mark.parametrize("params", LINT.values(), ids=LINT.keys())
def test_lint(params):
    rtl_sim.lint_clean(RTL_SOURCES, "layernorm", params)


def test_lint_rejects_illegal_parameters():
    with pytest.raises(RuntimeError, match=re.escape("PARALLEL (5) must divide D (16)")):
        rtl_sim.lint(RTL_SOURCES, "layernorm", dict(PARALLEL=5))
    with pytest.raises(RuntimeError, match=re.escape("BUFFERS (1) must be >= 2")):
        rtl_sim.lint(RTL_SOURCES, "layernorm", dict(BUFFERS=1))
    with pytest.raises(RuntimeError, match=re.escape("DIVIDERS (3) must be in [1, BUFFERS (2)]")):
        rtl_sim.lint(RTL_SOURCES, "layernorm", dict(DIVIDERS=3))


def run(tb_overrides: dict | None = None, run_name: str = "sim", test_filter: str | None = None,
        expect_tests: int | None = None):
    settings = {**PARAMS, **{f"{u}_TOKENS": n for u, n in TB_TOKENS.items()}, **(tb_overrides or {})}
    return TB.run("layernorm-units", PARAMS, settings, run_name=run_name, expect_tests=expect_tests,
                  extra_env={"COCOTB_TEST_FILTER": test_filter} if test_filter else {})


def test_layernorm_cocotb():
    res = run()
    assert len(res.tests) == TB.expect_tests and not res.failed
    # The harness must be able to fail: the same build (run_test only, 4 variants) against the golden model with a
    # wrong shift.
    with pytest.raises(rtl_sim.CocotbFailed, match="channels differ from golden layernorm"):
        run(tb_overrides={"WRONG_GOLDEN": 1, "U0_TOKENS": 8, "U1_TOKENS": 8, "U2_TOKENS": 4}, run_name="must-fail",
            test_filter="run_test", expect_tests=4)
