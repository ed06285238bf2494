"""hw/rtl/attention.sv (one head): Verilator lint, and the cocotb testbench (sim/tb/attention) against golden."""
from __future__ import annotations

import re

import pytest

from spvit.sim import rtl_sim

pytestmark = pytest.mark.rtl

TOP = "attention"
SOURCES = ["attention.sv", "softmax.sv", "softmax_pow2_rom.sv", "udiv.sv", "round_sat.sv"]
# cocotb tests in sim/tb/attention/test_attention.py: run_test x (idle, backpressure), test_corners,
# test_query_order x (before, with, after, ahead), test_reset_mid_stream
TB = rtl_sim.CocotbTestbench("attention", TOP, SOURCES, expect_tests=10)

CONFIGS = {
    # small: several cycles per logit (QK_SIMD < DH), four requantization groups, short sequences
    "small": dict(N_MAX=6, DH=8, QK_SIMD=2, REQ_LANES=2),
    # the digits model's head: 67 tokens (1 + 64 patches + 2 package tokens), d_head 16, one cycle per logit
    "digits": dict(N_MAX=67, DH=16, QK_SIMD=16, REQ_LANES=4),
}
TB_IMAGES = {"small": 40, "digits": 4}


@pytest.mark.parametrize("params", [*CONFIGS.values(), dict(N_MAX=1, DH=4, QK_SIMD=1, REQ_LANES=4),
                                    dict(N_MAX=256, DH=64, QK_SIMD=16, REQ_LANES=8)],
                         ids=[*CONFIGS.keys(), "n1", "deit-like"])
def test_lint(params):
    rtl_sim.lint_clean(SOURCES, TOP, params)


def test_lint_rejects_illegal_parameters():
    with pytest.raises(RuntimeError, match=re.escape("QK_SIMD (3) must divide DH (16)")):
        rtl_sim.lint(SOURCES, TOP, dict(DH=16, QK_SIMD=3))


@pytest.mark.parametrize("name", CONFIGS.keys())
def test_attention_cocotb(name):
    res = TB.run_set(name, CONFIGS[name], {"IMAGES": TB_IMAGES[name]})
    assert len(res.tests) == TB.expect_tests and not res.failed
    if name == "small":
        # The harness must not pass silently: the same build checked against a golden model with the context shift
        # off by one has to come back as failed cocotb tests.
        with pytest.raises(rtl_sim.CocotbFailed, match="outputs differ from golden attention"):
            TB.run_set(name, CONFIGS[name], {"GOLDEN_SHIFT_SKEW": 1, "IMAGES": 3}, run_name="must-fail")
