"""hw/rtl/token_pack.sv (with rdiv.sv / udiv.sv): Verilator lint, and the cocotb testbench (sim/tb/token_pack) against
the golden model (token_pack and prune_stage)."""
from __future__ import annotations

import re

import pytest

from spvit.sim import rtl_sim

pytestmark = pytest.mark.rtl

TOP = "token_pack"
SOURCES = ["token_pack.sv", "rdiv.sv", "udiv.sv"]
# cocotb tests in sim/tb/token_pack/test_token_pack.py: run_test x (idle, backpressure) + test_reset_mid_stream
TB = rtl_sim.CocotbTestbench("token_pack", TOP, SOURCES, expect_tests=5)

# HDL parameter sets, each built in its own folder; the testbench sweeps package_en, k, thresholds and masks.
CONFIGS = {
    # several beats per token (3), several division rounds (2)
    "small": dict(N_MAX=12, D=6, PARALLEL=2, DIVIDERS=3),
    # the digits model: up to 67 tokens of D = 64 channels, a whole token per beat, 8 dividers (8 rounds)
    "digits": dict(N_MAX=67, D=64, PARALLEL=64, DIVIDERS=8),
}
# Frames per cocotb run_test (4 of them per set, plus the corner frames); SPVIT_SLOW runs the long sweep.
FRAMES = {"small": 150, "digits": 20}
SLOW_FRAMES = {"small": 3000, "digits": 500}
LINT_ONLY = {
    # one divider, digits with 16 lanes
    "onediv": dict(N_MAX=5, D=4, PARALLEL=4, DIVIDERS=1),
    "digits16": dict(N_MAX=67, D=64, PARALLEL=16, DIVIDERS=4),
    "one": dict(N_MAX=1, D=1, PARALLEL=1, DIVIDERS=1),
    # DeiT-Small: D = 384, 65,535 tokens (the contract's widest numerators and denominator)
    "deit": dict(N_MAX=65535, D=384, PARALLEL=32, DIVIDERS=16),
}


@pytest.mark.parametrize("params", [*CONFIGS.values(), *LINT_ONLY.values()], ids=[*CONFIGS, *LINT_ONLY])
def test_lint(params):
    rtl_sim.lint_clean(SOURCES, TOP, params)


def test_lint_rejects_illegal_parameters():
    with pytest.raises(RuntimeError, match=re.escape("PARALLEL (4) must divide D (6)")):
        rtl_sim.lint(SOURCES, TOP, dict(D=6, PARALLEL=4, DIVIDERS=3))
    with pytest.raises(RuntimeError, match=re.escape("DIVIDERS (4) must divide D (6)")):
        rtl_sim.lint(SOURCES, TOP, dict(D=6, PARALLEL=3, DIVIDERS=4))


@pytest.mark.parametrize("name", CONFIGS.keys())
def test_token_pack_cocotb(name):
    res = TB.run_set(name, CONFIGS[name], {"FRAMES": FRAMES[name]})
    assert len(res.tests) == TB.expect_tests and not res.failed
    if name == "small":
        # The harness must not pass silently: the same build checked against a golden model whose package weights
        # are score + 2 instead of score + 1 has to come back as failed cocotb tests.
        with pytest.raises(rtl_sim.CocotbFailed, match="differ from golden token_pack"):
            TB.run_set(name, CONFIGS[name], {"FRAMES": 0, "GOLDEN_W_EXTRA": 1}, run_name="must-fail")


@pytest.mark.slow
@pytest.mark.parametrize("name", CONFIGS.keys())
def test_token_pack_cocotb_sweep(name):
    res = TB.run_set(name, CONFIGS[name], {"FRAMES": SLOW_FRAMES[name]}, run_name="sweep")
    assert len(res.tests) == TB.expect_tests and not res.failed
