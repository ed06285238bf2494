"""hw/rtl/attention.sv (one head): Verilator lint, and the cocotb testbench (sim/tb/attention) against golden."""
from __future__ import annotations

import re

import pytest

from spvit.sim import rtl_sim

pytestmark = pytest.mark.rtl

TOP = "attention"
SOURCES = ["attention.sv", "softmax.sv", "softmax_pow2_rom.sv", "udiv.sv", "round_sat.sv"]
TB_DIR = rtl_sim.TB_DIR / "attention"
# cocotb tests in sim/tb/attention/test_attention.py: run_test x (idle, backpressure), test_corners,
# test_reset_mid_stream
EXPECTED_COCOTB_TESTS = 6

CONFIGS = {
    # small: several cycles per logit (QK_SIMD < DH), four requantization groups, short sequences
    "small": dict(N_MAX=6, DH=8, QK_SIMD=2, REQ_LANES=2),
    # the digits model's head: 67 tokens (1 + 64 patches + 2 package tokens), d_head 16, one cycle per logit
    "digits": dict(N_MAX=67, DH=16, QK_SIMD=16, REQ_LANES=4),
}
TB_IMAGES = {"small": 40, "digits": 4}


@pytest.fixture(autouse=True)
def _tools(require_tool):
    require_tool("verilator")


@pytest.mark.parametrize("params", [*CONFIGS.values(), dict(N_MAX=1, DH=4, QK_SIMD=1, REQ_LANES=4),
                                    dict(N_MAX=256, DH=64, QK_SIMD=16, REQ_LANES=8)],
                         ids=[*CONFIGS.keys(), "n1", "deit-like"])
def test_lint(params):
    out = rtl_sim.lint(SOURCES, TOP, params)
    assert "%Warning" not in out and "%Error" not in out


def test_lint_rejects_illegal_parameters():
    with pytest.raises(RuntimeError, match=re.escape("QK_SIMD (3) must divide DH (16)")):
        rtl_sim.lint(SOURCES, TOP, dict(DH=16, QK_SIMD=3))


def run(name: str, tb_overrides: dict | None = None, run_name: str = "sim"):
    params = CONFIGS[name]
    env = {f"SPVIT_TB_{k}": str(v) for k, v in params.items()}
    env["SPVIT_TB_IMAGES"] = str(TB_IMAGES[name])
    env.update({f"SPVIT_TB_{k}": str(v) for k, v in (tb_overrides or {}).items()})
    return rtl_sim.run_cocotb(
        toplevel=TOP,
        sources=SOURCES,
        test_module="test_attention",
        tb_dir=TB_DIR,
        build_dir=rtl_sim.build_root() / f"{TOP}-{name}",
        parameters=params,
        extra_env=env,
        expect_tests=EXPECTED_COCOTB_TESTS,
        run_name=run_name,
    )


@pytest.mark.parametrize("name", CONFIGS.keys())
def test_attention_cocotb(name):
    res = run(name)
    assert len(res.tests) == EXPECTED_COCOTB_TESTS and not res.failed
    if name == "small":
        # The harness must not pass silently: the same build checked against a golden model with the context shift
        # off by one has to come back as failed cocotb tests.
        with pytest.raises(rtl_sim.CocotbFailed, match="outputs differ from golden attention"):
            run(name, tb_overrides={"GOLDEN_SHIFT_SKEW": 1, "IMAGES": 3}, run_name="must-fail")
