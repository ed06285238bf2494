"""hw/rtl/token_buffer.sv: Verilator lint, and the cocotb testbench (sim/tb/token_buffer) against a model of the
contract in its header, with and without the replay reader."""
from __future__ import annotations

import re

import pytest

from spvit.sim import rtl_sim

pytestmark = pytest.mark.rtl

TOP = "token_buffer"
SOURCES = ["token_buffer.sv"]
# cocotb tests in sim/tb/token_buffer/test_token_buffer.py: run_test x (idle, backpressure) + test_read_while_writing
# + test_full + test_clear_mid_frame
TB = rtl_sim.CocotbTestbench("token_buffer", TOP, SOURCES, expect_tests=7, build_args=rtl_sim.QUICK_BUILD_ARGS)

# HDL parameter sets, each built in its own folder: a few words deep, so that images fill the buffer often.
CONFIGS = {
    "plain": dict(WIDTH=16, DEPTH=12, REPLAY=0),
    "replay": dict(WIDTH=16, DEPTH=12, REPLAY=1),
}
LINT_ONLY = {
    # the encoder block's x buffer (with replay) and x1 buffer, digits model
    "x-digits": dict(WIDTH=128, DEPTH=268, REPLAY=1),
    "x1-digits": dict(WIDTH=128, DEPTH=268, REPLAY=0),
    # a power-of-two depth: the write pointer's extra bit
    "pow2": dict(WIDTH=8, DEPTH=16, REPLAY=1),
    # one word of one bit
    "one": dict(WIDTH=1, DEPTH=1, REPLAY=1),
}


@pytest.mark.parametrize("params", [*CONFIGS.values(), *LINT_ONLY.values()], ids=[*CONFIGS, *LINT_ONLY])
def test_lint(params):
    rtl_sim.lint_clean(SOURCES, TOP, params)


def test_lint_rejects_illegal_parameters():
    with pytest.raises(RuntimeError, match=re.escape("DEPTH (0) and WIDTH (16) must be positive")):
        rtl_sim.lint(SOURCES, TOP, dict(WIDTH=16, DEPTH=0))


@pytest.mark.parametrize("name", CONFIGS.keys())
def test_token_buffer_cocotb(name):
    res = TB.run_set(name, CONFIGS[name])
    assert len(res.tests) == TB.expect_tests and not res.failed
    if name == "replay":
        # The harness must not pass silently: the same build checked against a model that expects every word with
        # its low bit flipped has to come back as failed cocotb tests.
        with pytest.raises(rtl_sim.CocotbFailed, match="differ from the buffer model"):
            TB.run_set(name, CONFIGS[name], {"IMAGES": 2, "MODEL_DATA_XOR": 1}, run_name="must-fail")
