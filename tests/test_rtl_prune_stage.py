"""hw/rtl/prune_stage.sv: Verilator lint, the register map, and the cocotb testbench (sim/tb/prune_stage) against
the golden prune_stage (docs/arithmetic.md §11.3)."""
from __future__ import annotations

import re

import pytest

from spvit.sim import prune_regs, rtl_sim

pytestmark = pytest.mark.rtl

TOP = "prune_stage"
SOURCES = ["prune_stage.sv", "axil_reg_if.sv", "token_buffer.sv", "topk_select.sv", "token_pack.sv", "rdiv.sv",
           "udiv.sv"]
SCORER_SOURCES = {
    0: [],
    1: ["selector.sv", "param_unpack.sv", "axis_lanes.sv", "lane_mem.sv", "layernorm.sv", "isqrt.sv",
        "linear_per_head.sv", "linear.sv", "round_sat.sv", "lut.sv"],
    2: ["asvit_score.sv", "isqrt.sv"],
}
ALL_SOURCES = SOURCES + sorted({f for fs in SCORER_SOURCES.values() for f in fs})
# cocotb tests in sim/tb/prune_stage/test_prune_stage.py: run_test x (idle, backpressure), test_reset_mid_stream,
# test_control
EXPECTED_COCOTB_TESTS = 6

# HDL parameter sets, each built in its own folder.
DIGITS = dict(N_MAX=67, D=64, LANES=16, K_MAX=67, TAIL_MAX=2, DIVIDERS=8, HEADS=4)  # 65 tokens + 2 package tokens
CONFIGS = {
    # small and odd, scores on a stream: 32-bit beats, a topk network shorter than the candidates, one divider
    "small": dict(N_MAX=9, D=12, LANES=4, K_MAX=5, TAIL_MAX=1, DIVIDERS=1, HEADS=4, SCORER=0),
    # the digits model's SPViT stages: the selector inside (its default lanes)
    "digits-spvit": dict(DIGITS, SCORER=1),
    # the same stages as Adaptive Sparse ViT: asvit_score inside
    "digits-asvit": dict(DIGITS, SCORER=2),
}
SLOW_CONFIGS = {
    # digits with scores on a stream
    "digits-stream": dict(DIGITS, SCORER=0),
}
RUNS = {"small": 40, "digits-spvit": 2, "digits-asvit": 6, "digits-stream": 12}
SLOW_RUNS = {"small": 500, "digits-spvit": 30, "digits-asvit": 100, "digits-stream": 200}
LINT_ONLY = {
    "one-lane": dict(N_MAX=5, D=8, LANES=1, K_MAX=4, TAIL_MAX=0, DIVIDERS=2, HEADS=2, SCORER=0),
    "deit-small-spvit": dict(N_MAX=199, D=384, LANES=16, K_MAX=198, TAIL_MAX=2, DIVIDERS=16, HEADS=6, SCORER=1,
                             SEL_SE_WIDTH=3, SEL_LN_LANES=16, SEL_IN_PE=8, SEL_MLP_PE=4),
    "deit-small-asvit": dict(N_MAX=199, D=384, LANES=16, K_MAX=198, TAIL_MAX=2, DIVIDERS=16, HEADS=6, SCORER=2,
                             ASVIT_DIVIDERS=4),
}


LINTED = {**CONFIGS, **SLOW_CONFIGS, **LINT_ONLY}


@pytest.mark.parametrize("params", LINTED.values(), ids=LINTED.keys())
def test_lint(params):
    rtl_sim.lint_clean(ALL_SOURCES, TOP, params)


def test_lint_rejects_illegal_parameters():
    with pytest.raises(RuntimeError, match=re.escape("LANES (5) must divide D (64)")):
        rtl_sim.lint(ALL_SOURCES, TOP, dict(LANES=5))


def test_register_map_matches_rtl():
    """The localparams of prune_stage.sv, its header table and sim/prune_regs.PRUNE_REGS agree."""
    text = (rtl_sim.RTL_DIR / "prune_stage.sv").read_text()
    decl = re.search(r"localparam logic \[AXIL_ADDR_WIDTH-1:0\](.*?);", text, re.S).group(1)
    rtl = {m.group(1): int(m.group(2), 16) for m in re.finditer(r"A_(\w+) = 8'h([0-9A-Fa-f]+)", decl)}
    assert rtl == prune_regs.PRUNE_REGS
    header = "\n".join(line for line in text.splitlines() if line.startswith("//"))
    table = {m.group(2): int(m.group(1), 16) for m in re.finditer(r"//\s+0x([0-9A-F]{2}) (\w+)", header)}
    table.update({m.group(2): int(m.group(1), 16) for m in re.finditer(r", 0x([0-9A-F]{2}) (\w+)", header)})
    assert table == prune_regs.PRUNE_REGS


def run(name: str, runs: int, tb_overrides: dict | None = None, run_name: str = "sim"):
    """One parameter set, built with the sources of its scorer only."""
    params = {**CONFIGS, **SLOW_CONFIGS}[name]
    tb = rtl_sim.CocotbTestbench("prune_stage", TOP, SOURCES + SCORER_SOURCES[params["SCORER"]],
                                 expect_tests=EXPECTED_COCOTB_TESTS)
    return tb.run_set(name, params, {"RUNS": runs, **(tb_overrides or {})}, run_name=run_name)


@pytest.mark.parametrize("name", CONFIGS.keys())
def test_prune_stage_cocotb(name):
    res = run(name, RUNS[name])
    assert len(res.tests) == EXPECTED_COCOTB_TESTS and not res.failed
    if name == "small":
        # The harness must not pass silently: the same build checked against a golden prune_stage asked for k + 1
        # has to come back as failed cocotb tests.
        with pytest.raises(rtl_sim.CocotbFailed, match="differ"):
            run(name, 4, tb_overrides={"GOLDEN_K_OFFSET": 1}, run_name="must-fail")


@pytest.mark.slow
@pytest.mark.parametrize("name", [*CONFIGS, *SLOW_CONFIGS])
def test_prune_stage_cocotb_sweep(name):
    res = run(name, SLOW_RUNS[name], run_name="sweep")
    assert len(res.tests) == EXPECTED_COCOTB_TESTS and not res.failed
