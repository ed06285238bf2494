"""hw/rtl/softmax.sv: Verilator lint, the POW2 ROM against golden, and the cocotb testbench (sim/tb/softmax)."""
from __future__ import annotations

import re

import pytest

from spvit.sim import gen_rtl_roms, rtl_sim
from spvit.sim.golden.softmax import POW2_LUT

pytestmark = pytest.mark.rtl

TOP = "softmax"
SOURCES = ["softmax.sv", "softmax_pow2_rom.sv", "udiv.sv", "round_sat.sv"]
# cocotb tests in sim/tb/softmax/test_softmax.py: run_test x (idle, backpressure), test_corners, test_reset_mid_stream
TB = rtl_sim.CocotbTestbench("softmax", TOP, SOURCES, expect_tests=6)

CONFIGS = {
    # a small row buffer: many short rows, n = 1 and n = N_MAX often
    "small": dict(N_MAX=8, LOGIT_WIDTH=32),
    # the digits model: 1 + 64 patches + 2 package tokens
    "digits": dict(N_MAX=67, LOGIT_WIDTH=32),
}
# fewer random rows for the long rows of the digits set (wall time)
TB_ROWS = {"small": 250, "digits": 40}


@pytest.mark.parametrize("params", [*CONFIGS.values(), dict(N_MAX=1, LOGIT_WIDTH=16)],
                         ids=[*CONFIGS.keys(), "n1-w16"])
def test_lint(params):
    rtl_sim.lint_clean(SOURCES, TOP, params)


def test_lint_rejects_illegal_parameters():
    with pytest.raises(RuntimeError, match=re.escape("N_MAX (0) must be in [1, 65535]")):
        rtl_sim.lint(SOURCES, TOP, dict(N_MAX=0))


def test_pow2_rom_matches_golden():
    """The ROM file is exactly what the generator makes from golden's POW2_LUT, and its entries are POW2_LUT."""
    text = gen_rtl_roms.POW2_ROM.read_text()
    assert text == gen_rtl_roms.softmax_pow2_rom(), "hw/rtl/softmax_pow2_rom.sv is stale: run gen_rtl_roms"
    table = text[text.index("POW2 [256] = '{"):text.index("};")]
    entries = [int(v) for v in re.findall(r"24'd(\d+)", table)]
    assert entries == [int(v) for v in POW2_LUT]


@pytest.mark.parametrize("name", CONFIGS.keys())
def test_softmax_cocotb(name):
    res = TB.run_set(name, CONFIGS[name], {"ROWS": TB_ROWS[name]})
    assert len(res.tests) == TB.expect_tests and not res.failed
    if name == "small":
        # The harness must not pass silently: the same build checked against a golden model told the wrong frac
        # (f + 1) has to come back as failed cocotb tests.
        with pytest.raises(rtl_sim.CocotbFailed, match="elements differ from golden softmax"):
            TB.run_set(name, CONFIGS[name], {"GOLDEN_FRAC_SKEW": 1, "ROWS": 10}, run_name="must-fail")
