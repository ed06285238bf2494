"""hw/rtl/lut.sv: Verilator lint, and the cocotb testbench (sim/tb/lut) against the golden lut with GELU and
sigmoid tables from spvit.sim.golden.lut.make_lut (docs/arithmetic.md §7)."""
from __future__ import annotations

import json
import re

import pytest

from spvit.sim import rtl_sim

pytestmark = pytest.mark.rtl

TOP = "lut"
SOURCES = ["lut.sv"]
TB_DIR = rtl_sim.TB_DIR / "lut"
TB_TOP = "lut_tb"
TB_SOURCES = [*SOURCES, TB_DIR / "lut_tb.sv"]
# per instance: run_test x (idle, backpressure) + table readback + reset mid-stream
COCOTB_TESTS_PER_SET = 6

# Parameter sets. One Verilator build (~10 s of CPU) holds all of them, one DUT instance per set
# (sim/tb/lut/lut_tb.sv); every cocotb test runs once per set.
CONFIGS = {
    "p1": dict(PARALLEL=1),
    "p8": dict(PARALLEL=8),
}


@pytest.fixture(autouse=True)
def _tools(require_tool):
    require_tool("verilator")


def tb_parameters() -> dict:
    ps = [c["PARALLEL"] for c in CONFIGS.values()]
    return dict(N_CFG=len(ps), PARALLELS="256'h" + "".join(f"{p:08x}" for p in reversed(ps)), P_MAX=max(ps))


@pytest.mark.parametrize("params", CONFIGS.values(), ids=CONFIGS.keys())
def test_lint(params):
    out = rtl_sim.lint(SOURCES, TOP, params)
    assert "%Warning" not in out and "%Error" not in out


def test_lint_testbench_top():
    out = rtl_sim.lint(TB_SOURCES, TB_TOP, tb_parameters())
    assert "%Warning" not in out and "%Error" not in out


def test_lint_rejects_illegal_parameters():
    with pytest.raises(RuntimeError, match=re.escape("PARALLEL (0) must be >= 1")):
        rtl_sim.lint(SOURCES, TOP, dict(PARALLEL=0))


def run(tb_overrides: dict | None = None, run_name: str = "sim"):
    env = {"SPVIT_TB_PARALLELS": json.dumps([c["PARALLEL"] for c in CONFIGS.values()])}
    env.update({f"SPVIT_TB_{k}": str(v) for k, v in (tb_overrides or {}).items()})
    return rtl_sim.run_cocotb(
        toplevel=TB_TOP,
        sources=TB_SOURCES,
        test_module="test_lut",
        tb_dir=TB_DIR,
        build_dir=rtl_sim.build_root() / f"{TOP}-all",
        parameters=tb_parameters(),
        extra_env=env,
        # -O0: Verilator's runtime compiles a third faster unoptimised; these simulations are short
        build_args=("--assert", "-CFLAGS", "-O0"),
        expect_tests=COCOTB_TESTS_PER_SET * len(CONFIGS),
        run_name=run_name,
    )


def test_lut_cocotb():
    res = run()
    assert len(res.tests) == COCOTB_TESTS_PER_SET * len(CONFIGS) and not res.failed
    # The harness must be able to fail: the same build against a golden table shifted by one entry.
    with pytest.raises(rtl_sim.CocotbFailed, match="differ from golden lut"):
        run(tb_overrides={"GOLDEN_TABLE_ROLL": 1, "FRAMES": 2}, run_name="must-fail")
