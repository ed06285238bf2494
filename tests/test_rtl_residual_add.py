"""hw/rtl/residual_add.sv: Verilator lint, and the cocotb testbench (sim/tb/residual_add) against the golden
residual_add (docs/arithmetic.md §4)."""
from __future__ import annotations

import re

import pytest

from spvit.sim import rtl_sim

pytestmark = pytest.mark.rtl

TOP = "residual_add"
SOURCES = ["round_sat.sv", "residual_add.sv"]
TB_TOP = "residual_add_tb"
TB_SOURCES = [*SOURCES, rtl_sim.TB_DIR / "residual_add" / "residual_add_tb.sv"]
# per instance: run_test x (idle, backpressure) + frac sweep + reset mid-stream
COCOTB_TESTS_PER_SET = 6

# Parameter sets. One Verilator build (~10 s of CPU) holds all of them, one DUT instance per set
# (sim/tb/residual_add/residual_add_tb.sv); every cocotb test runs once per set.
CONFIGS = {
    "p1": dict(PARALLEL=1),
    "p8": dict(PARALLEL=8),
}
PARALLELS = [c["PARALLEL"] for c in CONFIGS.values()]
TB = rtl_sim.CocotbTestbench("residual_add", TB_TOP, TB_SOURCES, expect_tests=COCOTB_TESTS_PER_SET * len(CONFIGS),
                             build_args=rtl_sim.QUICK_BUILD_ARGS)


@pytest.mark.parametrize("params", CONFIGS.values(), ids=CONFIGS.keys())
def test_lint(params):
    rtl_sim.lint_clean(SOURCES, TOP, params)


def test_lint_testbench_top():
    rtl_sim.lint_clean(TB_SOURCES, TB_TOP, rtl_sim.parallel_instances(PARALLELS))


def test_lint_rejects_illegal_parameters():
    with pytest.raises(RuntimeError, match=re.escape("cannot hold [-40, 16]")):
        rtl_sim.lint(SOURCES, TOP, dict(FRAC_MIN=-40))


def run(tb_overrides: dict | None = None, run_name: str = "sim"):
    settings = {"PARALLELS": PARALLELS, **(tb_overrides or {})}
    return TB.run(f"{TOP}-all", rtl_sim.parallel_instances(PARALLELS), settings, run_name=run_name)


def test_residual_add_cocotb():
    res = run()
    assert len(res.tests) == TB.expect_tests and not res.failed
    # The harness must be able to fail: the same build against a golden model with f_out off by one.
    with pytest.raises(rtl_sim.CocotbFailed, match="differ from golden residual_add"):
        run(tb_overrides={"GOLDEN_FOUT_OFFSET": 1, "FRAMES": 10}, run_name="must-fail")
