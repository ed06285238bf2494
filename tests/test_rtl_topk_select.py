"""hw/rtl/topk_select.sv: Verilator lint, and the cocotb testbench (sim/tb/topk_select) against the golden model."""
from __future__ import annotations

import re

import pytest

from spvit.sim import rtl_sim

pytestmark = pytest.mark.rtl

TOP = "topk_select"
SOURCES = ["topk_select.sv"]
# cocotb tests in sim/tb/topk_select/test_topk_select.py: run_test x (idle, backpressure) + test_reset_mid_stream
TB = rtl_sim.CocotbTestbench("topk_select", TOP, SOURCES, expect_tests=5)

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


@pytest.mark.parametrize("params", [*CONFIGS.values(), *LINT_ONLY.values()], ids=[*CONFIGS, *LINT_ONLY])
def test_lint(params):
    rtl_sim.lint_clean(SOURCES, TOP, params)


def test_lint_rejects_illegal_parameters():
    with pytest.raises(RuntimeError, match=re.escape("K_MAX (9) must be in [1, N_MAX]")):
        rtl_sim.lint(SOURCES, TOP, dict(N_MAX=8, K_MAX=9))


@pytest.mark.parametrize("name", CONFIGS.keys())
def test_topk_select_cocotb(name):
    res = TB.run_set(name, CONFIGS[name], {"FRAMES": FRAMES[name]})
    assert len(res.tests) == TB.expect_tests and not res.failed
    if name == "small":
        # The harness must not pass silently: the same build checked against a golden model that breaks ties towards
        # the higher index has to come back as failed cocotb tests (the all-equal corner frames differ).
        with pytest.raises(rtl_sim.CocotbFailed, match="differ from golden topk_select"):
            TB.run_set(name, CONFIGS[name], {"FRAMES": 0, "GOLDEN_TIES": "high"}, run_name="must-fail")


@pytest.mark.slow
@pytest.mark.parametrize("name", CONFIGS.keys())
def test_topk_select_cocotb_sweep(name):
    res = TB.run_set(name, CONFIGS[name], {"FRAMES": SLOW_FRAMES[name]}, run_name="sweep")
    assert len(res.tests) == TB.expect_tests and not res.failed
