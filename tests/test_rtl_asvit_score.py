"""hw/rtl/asvit_score.sv: Verilator lint, and the cocotb testbench (sim/tb/asvit_score) against golden asvit_score."""
from __future__ import annotations

import re

import pytest

from spvit.sim import rtl_sim

pytestmark = pytest.mark.rtl

TOP = "asvit_score"
SOURCES = ["asvit_score.sv", "isqrt.sv", "rdiv.sv", "udiv.sv"]
# cocotb tests in sim/tb/asvit_score/test_asvit_score.py: run_test x (idle, backpressure), test_corners,
# test_reset_mid_stream
TB = rtl_sim.CocotbTestbench("asvit_score", TOP, SOURCES, expect_tests=6)

CONFIGS = {
    # small, with three dividers taking consecutive tokens in turn and two cycles per head energy
    "small": dict(N_MAX=7, DH=4, H=3, DIVIDERS=3, SQ_LANES=2),
    # the digits model: 67 tokens, d_head 16, 4 heads, one divider (20 cycles per token)
    "digits": dict(N_MAX=67, DH=16, H=4, DIVIDERS=1, SQ_LANES=4),
}
TB_IMAGES = {"small": 80, "digits": 12}


@pytest.mark.parametrize("params", [*CONFIGS.values(), dict(N_MAX=1, DH=1, H=1, DIVIDERS=1, SQ_LANES=1),
                                    dict(N_MAX=256, DH=64, H=16, DIVIDERS=4, SQ_LANES=64)],
                         ids=[*CONFIGS.keys(), "tiny", "deit-b-like"])
def test_lint(params):
    rtl_sim.lint_clean(SOURCES, TOP, params)


def test_lint_rejects_illegal_parameters():
    with pytest.raises(RuntimeError, match=re.escape("DIVIDERS (0) must be in [1, 32]")):
        rtl_sim.lint(SOURCES, TOP, dict(DIVIDERS=0))


@pytest.mark.parametrize("name", CONFIGS.keys())
def test_asvit_score_cocotb(name):
    res = TB.run_set(name, CONFIGS[name], {"IMAGES": TB_IMAGES[name]})
    assert len(res.tests) == TB.expect_tests and not res.failed
    if name == "small":
        # The harness must not pass silently: the same build checked against a golden model fed p16 + 1 has to come
        # back as failed cocotb tests.
        with pytest.raises(rtl_sim.CocotbFailed, match="scores differ from golden asvit_score"):
            TB.run_set(name, CONFIGS[name], {"GOLDEN_P16_SKEW": 1, "IMAGES": 3}, run_name="must-fail")
