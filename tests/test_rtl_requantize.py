"""hw/rtl/requantize.sv: Verilator lint, and the cocotb testbench (sim/tb/requantize) against the golden model."""
from __future__ import annotations

import re

import pytest

from spvit.sim import rtl_sim

pytestmark = pytest.mark.rtl

TOP = "requantize"
SOURCES = ["requantize.sv", "round_sat.sv"]
# cocotb tests in sim/tb/requantize/test_requantize.py: run_test x (idle, backpressure) + test_reset_drops_output
TB = rtl_sim.CocotbTestbench("requantize", TOP, SOURCES, expect_tests=5)

# HDL parameter sets, each built in its own folder. The run-time shift port is swept over every legal value
# of each set (and random per-frame shifts) by the testbench.
CONFIGS = {
    # the contract's range: shifts -8..31 on a signed 6-bit port
    "shift-8to31": dict(ACC_WIDTH=32, OUT_WIDTH=8, SHIFT_WIDTH=6, SHIFT_MIN=-8, SHIFT_MAX=31),
    # the whole range docs/arithmetic.md §2.3 allows (fracs in [-8, 16]): capped shift amounts
    "shift-32to40": dict(ACC_WIDTH=32, OUT_WIDTH=8, SHIFT_WIDTH=7, SHIFT_MIN=-32, SHIFT_MAX=40),
    # right shifts only, 5-bit port: the narrow datapath (no left-shift headroom)
    "shift0to15": dict(ACC_WIDTH=32, OUT_WIDTH=8, SHIFT_WIDTH=5, SHIFT_MIN=0, SHIFT_MAX=15),
}


@pytest.mark.parametrize("params", CONFIGS.values(), ids=CONFIGS.keys())
def test_lint(params):
    rtl_sim.lint_clean(SOURCES, TOP, params)


def test_lint_rejects_illegal_parameters():
    with pytest.raises(RuntimeError, match=re.escape("cannot hold [-40, 31]")):
        rtl_sim.lint(SOURCES, TOP, dict(SHIFT_MIN=-40))


@pytest.mark.parametrize("name", CONFIGS.keys())
def test_requantize_cocotb(name):
    res = TB.run_set(name, CONFIGS[name])
    assert len(res.tests) == TB.expect_tests and not res.failed
    if name == "shift-8to31":
        # The harness must not pass silently: the same build checked against a golden model with the wrong output
        # width (7 bits) has to come back as failed cocotb tests. (Same build folder, same pytest worker: the
        # rebuild is incremental.)
        with pytest.raises(rtl_sim.CocotbFailed, match="beats differ from golden requantize"):
            TB.run_set(name, CONFIGS[name], {"OUT_WIDTH": 7}, run_name="must-fail")
