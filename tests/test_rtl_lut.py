"""hw/rtl/lut.sv: Verilator lint, and the cocotb testbench (sim/tb/lut) against the golden lut with GELU and
sigmoid tables from spvit.sim.golden.lut.make_lut (docs/arithmetic.md §7)."""
from __future__ import annotations

import re

import pytest

from spvit.sim import rtl_sim

pytestmark = pytest.mark.rtl

TOP = "lut"
SOURCES = ["lut.sv"]
TB_TOP = "lut_tb"
TB_SOURCES = [*SOURCES, rtl_sim.TB_DIR / "lut" / "lut_tb.sv"]
# per instance: run_test x (idle, backpressure) + table readback + reset mid-stream
COCOTB_TESTS_PER_SET = 6

# Parameter sets. One Verilator build (~10 s of CPU) holds all of them, one DUT instance per set
# (sim/tb/lut/lut_tb.sv); every cocotb test runs once per set.
CONFIGS = {
    "p1": dict(PARALLEL=1),
    "p8": dict(PARALLEL=8),
}
PARALLELS = [c["PARALLEL"] for c in CONFIGS.values()]
TB = rtl_sim.CocotbTestbench("lut", TB_TOP, TB_SOURCES, expect_tests=COCOTB_TESTS_PER_SET * len(CONFIGS),
                             build_args=rtl_sim.QUICK_BUILD_ARGS)


# lint only: several tables (the encoder block's GELU table per parameter set; simulated in its testbench)
LINT_ONLY = {"p4-sets3": dict(PARALLEL=4, SETS=3)}


@pytest.mark.parametrize("params", [*CONFIGS.values(), *LINT_ONLY.values()], ids=[*CONFIGS, *LINT_ONLY])
def test_lint(params):
    rtl_sim.lint_clean(SOURCES, TOP, params)


def test_lint_testbench_top():
    rtl_sim.lint_clean(TB_SOURCES, TB_TOP, rtl_sim.parallel_instances(PARALLELS))


def test_lint_rejects_illegal_parameters():
    with pytest.raises(RuntimeError, match=re.escape("PARALLEL (0) must be >= 1")):
        rtl_sim.lint(SOURCES, TOP, dict(PARALLEL=0))


def run(tb_overrides: dict | None = None, run_name: str = "sim"):
    settings = {"PARALLELS": PARALLELS, **(tb_overrides or {})}
    return TB.run(f"{TOP}-all", rtl_sim.parallel_instances(PARALLELS), settings, run_name=run_name)


def test_lut_cocotb():
    res = run()
    assert len(res.tests) == TB.expect_tests and not res.failed
    # The harness must be able to fail: the same build against a golden table shifted by one entry.
    with pytest.raises(rtl_sim.CocotbFailed, match="differ from golden lut"):
        run(tb_overrides={"GOLDEN_TABLE_ROLL": 1, "FRAMES": 2}, run_name="must-fail")
