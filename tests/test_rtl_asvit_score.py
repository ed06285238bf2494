"""hw/rtl/asvit_score.sv: Verilator lint, and the cocotb testbench (sim/tb/asvit_score) against golden asvit_score."""
from __future__ import annotations

import re

import pytest

from spvit.sim import rtl_sim

pytestmark = pytest.mark.rtl

TOP = "asvit_score"
SOURCES = ["asvit_score.sv", "isqrt.sv", "rdiv.sv", "udiv.sv"]
TB_DIR = rtl_sim.TB_DIR / "asvit_score"
# cocotb tests in sim/tb/asvit_score/test_asvit_score.py: run_test x (idle, backpressure), test_corners,
# test_reset_mid_stream
EXPECTED_COCOTB_TESTS = 6

CONFIGS = {
    # small, with three dividers taking consecutive tokens in turn and two cycles per head energy
    "small": dict(N_MAX=7, DH=4, H=3, DIVIDERS=3, SQ_LANES=2),
    # the digits model: 67 tokens, d_head 16, 4 heads, one divider (20 cycles per token)
    "digits": dict(N_MAX=67, DH=16, H=4, DIVIDERS=1, SQ_LANES=4),
}
TB_IMAGES = {"small": 80, "digits": 12}


@pytest.fixture(autouse=True)
def _tools(require_tool):
    require_tool("verilator")


@pytest.mark.parametrize("params", [*CONFIGS.values(), dict(N_MAX=1, DH=1, H=1, DIVIDERS=1, SQ_LANES=1),
                                    dict(N_MAX=256, DH=64, H=16, DIVIDERS=4, SQ_LANES=64)],
                         ids=[*CONFIGS.keys(), "tiny", "deit-b-like"])
def test_lint(params):
    out = rtl_sim.lint(SOURCES, TOP, params)
    assert "%Warning" not in out and "%Error" not in out


def test_lint_rejects_illegal_parameters():
    with pytest.raises(RuntimeError, match=re.escape("DIVIDERS (0) must be in [1, 32]")):
        rtl_sim.lint(SOURCES, TOP, dict(DIVIDERS=0))


def run(name: str, tb_overrides: dict | None = None, run_name: str = "sim"):
    params = CONFIGS[name]
    env = {f"SPVIT_TB_{k}": str(v) for k, v in params.items()}
    env["SPVIT_TB_IMAGES"] = str(TB_IMAGES[name])
    env.update({f"SPVIT_TB_{k}": str(v) for k, v in (tb_overrides or {}).items()})
    return rtl_sim.run_cocotb(
        toplevel=TOP,
        sources=SOURCES,
        test_module="test_asvit_score",
        tb_dir=TB_DIR,
        build_dir=rtl_sim.build_root() / f"{TOP}-{name}",
        parameters=params,
        extra_env=env,
        expect_tests=EXPECTED_COCOTB_TESTS,
        run_name=run_name,
    )


@pytest.mark.parametrize("name", CONFIGS.keys())
def test_asvit_score_cocotb(name):
    res = run(name)
    assert len(res.tests) == EXPECTED_COCOTB_TESTS and not res.failed
    if name == "small":
        # The harness must not pass silently: the same build checked against a golden model fed p16 + 1 has to come
        # back as failed cocotb tests.
        with pytest.raises(rtl_sim.CocotbFailed, match="scores differ from golden asvit_score"):
            run(name, tb_overrides={"GOLDEN_P16_SKEW": 1, "IMAGES": 3}, run_name="must-fail")
