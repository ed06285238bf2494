"""hw/rtl/selector.sv: Verilator lint, and the cocotb testbench (sim/tb/selector) against the golden SPViT selector
(docs/arithmetic.md §8.2)."""
from __future__ import annotations

import re

import pytest

from spvit.sim import rtl_sim

pytestmark = pytest.mark.rtl

TOP = "selector"
SOURCES = ["selector.sv", "param_unpack.sv", "axis_lanes.sv", "lane_mem.sv", "layernorm.sv", "isqrt.sv", "udiv.sv",
           "rdiv.sv", "linear_per_head.sv", "linear.sv", "round_sat.sv", "lut.sv", "token_buffer.sv"]
# cocotb tests in sim/tb/selector/test_selector.py: run_test x (idle, backpressure) + test_reset_mid_stream
TB = rtl_sim.CocotbTestbench("selector", TOP, SOURCES, expect_tests=5)

# HDL parameter sets, each built in its own folder; the testbench draws random bundles of the digits config at each
# set's D and HEADS.
CONFIGS = {
    # 128-bit input beats, LN 8 lanes, in_proj 8 x 4, MLP 2 lanes
    "digits": dict(N_MAX=67, D=64, HEADS=4, SE_WIDTH=2, IN_LANES=16, LN_LANES=8, IN_PE=4, MLP_PE=2),
    # the bench's digits design point (spvit.bench.PRUNE_PARALLELISM): LN 16 lanes with eight division units, in_proj
    # 16 x 8, mlp1 8 x 8 (its output 8 -> 4 lanes through axis_lanes), mlp2 4 lanes (DH / 4: the keep layer at 2 through
    # axis_lanes), eight rdiv units for g and the combiner
    "digits-fast": dict(N_MAX=67, D=64, HEADS=4, SE_WIDTH=2, IN_LANES=16, LN_LANES=16, IN_PE=8, MLP_PE=4, MLP1_PE=8,
                        LN_DIVIDERS=8, DIVIDERS=8),
    # heads of 12 channels (not a power of two: the pooled division on rdiv.sv, not a shift), a divider count that is
    # not a power of two, mlp1 at 6 lanes into mlp2 at 3, the keep layer at one lane (MLP_PE = DH / 4, odd)
    "odd": dict(N_MAX=20, D=48, HEADS=4, SE_WIDTH=2, IN_LANES=16, LN_LANES=4, IN_PE=6, MLP_PE=3, MLP1_PE=6,
                DIVIDERS=3),
    # digits-fast with in_proj, mlp1 and mlp2 at two int8 products per DSP48E2 (linear.sv MACS_PER_DSP = 2), as the
    # DeiT-Tiny point builds them
    "digits-packed": dict(N_MAX=67, D=64, HEADS=4, SE_WIDTH=2, IN_LANES=16, LN_LANES=16, IN_PE=8, MLP_PE=4,
                          MLP1_PE=8, LN_DIVIDERS=8, DIVIDERS=8, MACS_PER_DSP=2),
}
IMAGES = {"digits": 3, "digits-fast": 3, "odd": 2, "digits-packed": 2}
SLOW_IMAGES = {"digits": 60, "digits-fast": 60, "odd": 30, "digits-packed": 30}
LINT_ONLY = {
    # narrow: 4-lane input, LN 4 lanes, one output lane per MAC array
    "narrow": dict(N_MAX=20, D=64, HEADS=4, SE_WIDTH=2, IN_LANES=4, LN_LANES=4, IN_PE=1, MLP_PE=1),
    # wide: LN over a whole head, in_proj 16 x 8, mlp 2 lanes
    "wide": dict(N_MAX=67, D=64, HEADS=4, SE_WIDTH=2, IN_LANES=16, LN_LANES=16, IN_PE=8, MLP_PE=2),
    # DeiT-Small-shaped: 6 heads of 64 channels, the bench's DeiT-Small point (spvit.bench.PRUNE_PARALLELISM)
    "deit-small": dict(N_MAX=200, D=384, HEADS=6, SE_WIDTH=3, IN_LANES=16, LN_LANES=16, IN_PE=16, MLP_PE=4),
}


@pytest.mark.parametrize("params", [*CONFIGS.values(), *LINT_ONLY.values()], ids=[*CONFIGS, *LINT_ONLY])
def test_lint(params):
    rtl_sim.lint_clean(SOURCES, TOP, params)


def test_lint_rejects_illegal_parameters():
    with pytest.raises(RuntimeError, match=re.escape("MLP_PE (3) must divide D / HEADS / 4 (4)")):
        rtl_sim.lint(SOURCES, TOP, dict(MLP_PE=3))
    with pytest.raises(RuntimeError, match=re.escape("DIVIDERS (3) must divide D / 2 (32)")):
        rtl_sim.lint(SOURCES, TOP, dict(DIVIDERS=3))
    with pytest.raises(RuntimeError, match=re.escape("MLP1_PE (3) must divide D / HEADS / 2 (8), and it or MLP_PE")):
        rtl_sim.lint(SOURCES, TOP, dict(MLP1_PE=3))


@pytest.mark.parametrize("name", CONFIGS.keys())
def test_selector_cocotb(name):
    res = TB.run_set(name, CONFIGS[name], {"IMAGES": IMAGES[name]})
    assert len(res.tests) == TB.expect_tests and not res.failed
    # The harness must not pass silently: the same build checked against a golden selector whose keep layer shifts
    # one bit more has to come back as failed cocotb tests.
    with pytest.raises(rtl_sim.CocotbFailed, match="differ"):
        TB.run_set(name, CONFIGS[name], {"IMAGES": 1, "GOLDEN_KEEP_SHIFT_OFFSET": 1}, run_name="must-fail")


@pytest.mark.slow
@pytest.mark.parametrize("name", CONFIGS.keys())
def test_selector_cocotb_sweep(name):
    res = TB.run_set(name, CONFIGS[name], {"IMAGES": SLOW_IMAGES[name]}, run_name="sweep")
    assert len(res.tests) == TB.expect_tests and not res.failed
