"""hw/rtl/encoder_block.sv: Verilator lint (the composition and its helper modules), and the cocotb testbench
(sim/tb/encoder_block) against the golden encoder_block on random digits bundles. The rtl backend (the whole model in
RTL, the block included) is tested in tests/test_rtl_model.py."""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from spvit.configs import load_config
from spvit.sim import rtl_backend, rtl_sim

pytestmark = pytest.mark.rtl

TOP = rtl_backend.TOP
SOURCES = rtl_backend.SOURCES
HELPERS = {
    "lane_mem": [dict(N=64, LANE_WIDTH=16, RD_LANES=8), dict(N=64, LANE_WIDTH=32, RD_LANES=2),
                 dict(N=256, LANE_WIDTH=8, RD_LANES=32), dict(N=64, LANE_WIDTH=32, RD_LANES=4, SETS=6)],
    "linear_wmem": [dict(IN_DIM=64, OUT_DIM=192, SIMD=16, PE=8), dict(IN_DIM=128, OUT_DIM=64, SIMD=32, PE=4),
                    dict(IN_DIM=64, OUT_DIM=64, SIMD=8, PE=2), dict(IN_DIM=64, OUT_DIM=64, SIMD=16, PE=4, SETS=3)],
    "axis_lanes": [dict(IN_LANES=4, OUT_LANES=16), dict(IN_LANES=64, OUT_LANES=16), dict(IN_LANES=8, OUT_LANES=8)],
    "token_buffer": [dict(WIDTH=128, DEPTH=268), dict(WIDTH=128, DEPTH=268, REPLAY=1)],
    "axi_param_loader": [dict(ADDR_WIDTH=40, COUNT_WIDTH=12), dict(ADDR_WIDTH=32, MAX_BURST=16, MAX_OUTSTANDING=1)],
}
# cocotb tests in sim/tb/encoder_block/test_encoder_block.py: test_token_counts, test_stalls, test_link,
# test_parameter_sets, test_prefetch, test_axi_error, test_reset_mid_run
EXPECTED_COCOTB_TESTS = 7

# The builds: the digits model (D 64, H 4, MLP 128, N_MAX 67 = 1 + 64 patches + 2 package tokens) with the default
# parallelism and a parameter set per block (the bench's digits point, spvit.bench.BLOCK_PARALLELISM), and with one
# set (DeiT-Small's kind: every run fetches, and flags.prefetch fetches the next block's head).
DIGITS = load_config("digits")
CONFIGS = {"digits": dict(rtl_backend.block_parameters(DIGITS), PARAM_SETS=DIGITS.depth),
           "digits-1set": dict(rtl_backend.block_parameters(DIGITS), PARAM_SETS=1)}
ONE_SET_TESTS = ("test_token_counts", "test_prefetch", "test_axi_error")
# another parallelism for lint only (the knobs must elaborate): narrower layernorm, wider and narrower MAC arrays
LINT_ONLY = {
    "digits-alt": dict(D=64, H=4, M=128, N_MAX=67, LN_PARALLEL=16, QKV_SIMD=32, QKV_PE=4, PROJ_SIMD=8, PROJ_PE=2,
                       FC1_SIMD=64, FC1_PE=16, FC2_SIMD=16, FC2_PE=8, QK_SIMD=8),
    "deit-tiny": dict(D=192, H=3, M=768, N_MAX=197, LN_PARALLEL=16, QKV_SIMD=32, QKV_PE=16, PROJ_SIMD=32,
                      PROJ_PE=8, FC1_SIMD=32, FC1_PE=16, FC2_SIMD=64, FC2_PE=8, QK_SIMD=16),
}


def build_dir(name: str = "digits"):
    return rtl_sim.build_root() / f"{rtl_backend.default_build_dir(DIGITS).name}-sets{CONFIGS[name]['PARAM_SETS']}"


@pytest.mark.parametrize("params", [*CONFIGS.values(), *LINT_ONLY.values()], ids=[*CONFIGS, *LINT_ONLY])
def test_lint(params):
    rtl_sim.lint_clean(SOURCES, TOP, params)


@pytest.mark.parametrize("top,params", [(t, p) for t, ps in HELPERS.items() for p in ps])
def test_lint_helpers(top, params):
    rtl_sim.lint_clean([f"{top}.sv"], top, params)


def test_lint_rejects_illegal_parameters():
    with pytest.raises(RuntimeError, match=re.escape("QKV_PE (3) must divide D (64)")):
        rtl_sim.lint(SOURCES, TOP, dict(QKV_PE=3))
    with pytest.raises(RuntimeError, match=re.escape("one of IN_LANES (3) and OUT_LANES (16) must divide")):
        rtl_sim.lint(["axis_lanes.sv"], "axis_lanes", dict(IN_LANES=3))


def cycles_file(run_name: str, name: str = "digits") -> Path:
    """Where a run's measured cycles go: one file per run name, so concurrent runs (the cycle sweep beside the block
    tests) do not read each other's."""
    return build_dir(name) / f"{run_name}.cycles.json"


def run(name: str = "digits", tb_env: dict | None = None, run_name: str = "sim", expect: int = EXPECTED_COCOTB_TESTS,
        extra_env: dict | None = None):
    cycles_file(run_name, name).unlink(missing_ok=True)
    return rtl_backend.run_block_sim(
        test_module="test_encoder_block",
        build_dir=build_dir(name),
        parameters=CONFIGS[name],
        extra_env=rtl_sim.tb_env({"CYCLES_JSON": cycles_file(run_name, name), **(tb_env or {})}) | (extra_env or {}),
        expect_tests=expect,
        run_name=run_name,
    )


def test_encoder_block_cocotb():
    """The block tests, then the must-fail check on the same build."""
    res = run()
    assert len(res.tests) == EXPECTED_COCOTB_TESTS and not res.failed
    cycles = json.loads(cycles_file("sim").read_text())
    assert set(cycles) == {"fetch", "kept"} and "65" in cycles["kept"]
    assert all(cycles["fetch"][n] > cycles["kept"][n] for n in cycles["kept"] if n in cycles["fetch"])
    # The harness must not pass silently: the same build run with a wrong fc2 shift register must come back failed.
    with pytest.raises(rtl_sim.CocotbFailed, match="output channels differ from golden encoder_block"):
        run(tb_env={"REG_SKEW": "fc2_shift:1", "N_LIST": "19"}, run_name="must-fail", expect=1,
            extra_env={"COCOTB_TEST_FILTER": "test_token_counts"})


def test_encoder_block_one_set_cocotb():
    """One parameter set: every run fetches, and flags.prefetch fetches the next block's LN1/qkv words once the run's
    qkv layer is done (test_prefetch's one-set branch); the block tests that fetch, on that build."""
    res = run("digits-1set", expect=len(ONE_SET_TESTS),
              extra_env={"COCOTB_TEST_FILTER": "|".join(ONE_SET_TESTS)})
    assert len(res.tests) == len(ONE_SET_TESTS) and not res.failed


@pytest.mark.slow
def test_encoder_block_cycle_sweep():
    """Every token count 1..N_MAX (the measured latency table), behind --slow."""
    res = run(tb_env={"SWEEP": "1", "N_LIST": "65"}, run_name="sweep", expect=1,
              extra_env={"COCOTB_TEST_FILTER": "test_token_counts"})
    assert not res.failed
    cycles = json.loads(cycles_file("sweep").read_text())
    assert len(cycles["kept"]) == CONFIGS["digits"]["N_MAX"]
    if os.environ.get("SPVIT_PRINT_CYCLES"):
        print(cycles)
