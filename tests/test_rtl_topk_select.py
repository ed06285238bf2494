"""hw/rtl/topk_select.sv: Verilator lint, and the cocotb testbench (sim/tb/topk_select) against the golden model."""
from __future__ import annotations

import re

import pytest

from spvit.sim import rtl_sim

pytestmark = pytest.mark.rtl

TOP = "topk_select"
SOURCES = ["topk_select.sv"]
TB_DIR = rtl_sim.TB_DIR / "topk_select"
# cocotb tests in sim/tb/topk_select/test_topk_select.py: run_test x (idle, backpressure) + test_reset_mid_stream
EXPECTED_COCOTB_TESTS = 5

# HDL parameter sets, each built in its own folder; the testbench sweeps the run-time registers of each.
CONFIGS = {
    # a short network (K_MAX < candidates): pairs fall off its end
    "small": dict(N_MAX=12, K_MAX=5, TAIL_MAX=2),
    # the digits model: 65 tokens in, up to 67 with package tokens, k up to 64, two stages
    "digits": dict(N_MAX=67, K_MAX=64, TAIL_MAX=2),
}
# Frames per cocotb run_test (4 of them per set, plus the corner frames); SPVIT_SLOW runs the long sweep.
FRAMES = {"small": 300, "digits": 60}
SLOW_FRAMES = {"small": 3000, "digits": 600}
LINT_ONLY = {
    # hard pruning: no protected tail, no history registers
    "tail0": dict(N_MAX=8, K_MAX=8, TAIL_MAX=0),
    # degenerate sizes
    "one": dict(N_MAX=1, K_MAX=1, TAIL_MAX=0),
    "deit": dict(N_MAX=200, K_MAX=197, TAIL_MAX=3),
}


@pytest.fixture(autouse=True)
def _tools(require_tool):
    require_tool("verilator")


@pytest.mark.parametrize("params", [*CONFIGS.values(), *LINT_ONLY.values()], ids=[*CONFIGS, *LINT_ONLY])
def test_lint(params):
    out = rtl_sim.lint(SOURCES, TOP, params)
    assert "%Warning" not in out and "%Error" not in out


def test_lint_rejects_illegal_parameters():
    with pytest.raises(RuntimeError, match=re.escape("K_MAX (9) must be in [1, N_MAX]")):
        rtl_sim.lint(SOURCES, TOP, dict(N_MAX=8, K_MAX=9))


def run(name: str, frames: int, tb_overrides: dict | None = None, run_name: str = "sim"):
    params = CONFIGS[name]
    env = {**params, "FRAMES": frames, **(tb_overrides or {})}
    return rtl_sim.run_cocotb(
        toplevel=TOP,
        sources=SOURCES,
        test_module="test_topk_select",
        tb_dir=TB_DIR,
        build_dir=rtl_sim.build_root() / f"{TOP}-{name}",
        parameters=params,
        extra_env={f"SPVIT_TB_{k}": str(v) for k, v in env.items()},
        expect_tests=EXPECTED_COCOTB_TESTS,
        run_name=run_name,
    )


@pytest.mark.parametrize("name", CONFIGS.keys())
def test_topk_select_cocotb(name):
    res = run(name, FRAMES[name])
    assert len(res.tests) == EXPECTED_COCOTB_TESTS and not res.failed
    if name == "small":
        # The harness must not pass silently: the same build checked against a golden model that breaks ties towards
        # the higher index has to come back as failed cocotb tests (the all-equal corner frames differ).
        with pytest.raises(rtl_sim.CocotbFailed, match="differ from golden topk_select"):
            run(name, 0, tb_overrides={"GOLDEN_TIES": "high"}, run_name="must-fail")


@pytest.mark.slow
@pytest.mark.parametrize("name", CONFIGS.keys())
def test_topk_select_cocotb_sweep(name):
    res = run(name, SLOW_FRAMES[name], run_name="sweep")
    assert len(res.tests) == EXPECTED_COCOTB_TESTS and not res.failed
