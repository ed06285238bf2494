"""hw/rtl/{udiv,rdiv,isqrt}.sv: Verilator lint of each module, and the cocotb testbench (sim/tb/arith, through the
wrapper sim/tb/arith/arith_tb.sv) against the golden model (arith.reciprocal / rdiv / isqrt)."""
from __future__ import annotations

import re

import pytest

from spvit.sim import rtl_sim

pytestmark = pytest.mark.rtl

TB_DIR = rtl_sim.TB_DIR / "arith"
# cocotb tests in sim/tb/arith/test_arith.py: test_random, test_back_to_back_busy_start, test_reset_mid_operation
TB = rtl_sim.CocotbTestbench("arith", "arith_tb",
                             ["udiv.sv", "rdiv.sv", "isqrt.sv", TB_DIR / "arith_set.sv", TB_DIR / "arith_tb.sv"],
                             expect_tests=3)

# Lint: each module on its own, with the parameter sets below and the narrowest legal ones.
LINT = {
    "udiv": [dict(), dict(N_WIDTH=63, D_WIDTH=49, Q_WIDTH=63), dict(N_WIDTH=16, D_WIDTH=4, Q_WIDTH=12),
             dict(N_WIDTH=8, D_WIDTH=16, Q_WIDTH=16), dict(N_WIDTH=1, D_WIDTH=1, Q_WIDTH=1)],
    "rdiv": [dict(), dict(N_WIDTH=32, D_WIDTH=16, Q_WIDTH=20), dict(N_WIDTH=8, D_WIDTH=24, Q_WIDTH=8),
             dict(N_WIDTH=2, D_WIDTH=1, Q_WIDTH=2)],
    "isqrt": [dict(), dict(N_WIDTH=64), dict(N_WIDTH=62), dict(N_WIDTH=7), dict(N_WIDTH=1)],
}
LINT_CASES = [(m, p) for m, ps in LINT.items() for p in ps]

# Parameter sets of the primitives. All three are instantiated side by side in ONE build (arith_tb.sv): a Verilator
# build's fixed cost (its runtime library) is most of this file's time, so one build instead of three keeps the
# file fast; the cocotb tests drive all nine primitives concurrently.
SETS = {
    # s0, the interfaces' defaults (rdiv's 49-bit |2n + d| runs 47 steps: the dividend's top bits start as the
    # partial remainder); isqrt of LayerNorm's 63-bit 2**62 // V
    "S0": dict(UDIV_N=48, UDIV_D=32, UDIV_Q=48, RDIV_N=48, RDIV_D=32, RDIV_Q=48, ISQRT_N=63),
    # s1, LayerNorm's reciprocal 2**62 // V (63-bit dividend, 49-bit divisor, reciprocal(d, k) for every k); a narrow
    # rdiv result with a divisor wider than the numerator; a 64-bit isqrt (n up to 2**64 - 1)
    "S1": dict(UDIV_N=63, UDIV_D=49, UDIV_Q=63, RDIV_N=20, RDIV_D=24, RDIV_Q=12, ISQRT_N=64),
    # s2, tiny widths: a quotient wider than the dividend, a narrow quotient (Q < N), an odd isqrt width
    "S2": dict(UDIV_N=8, UDIV_D=6, UDIV_Q=10, RDIV_N=6, RDIV_D=3, RDIV_Q=6, ISQRT_N=7),
}
PARAMS = {f"{s}_{k}_WIDTH": v for s, ps in SETS.items() for k, v in ps.items()}
LINT_IDS = [f"{m}-" + ("-".join(f"{k}{v}" for k, v in p.items()) or "default") for m, p in LINT_CASES]


@pytest.mark.parametrize("module,params", LINT_CASES, ids=LINT_IDS)
def test_lint(module, params):
    sources = ["udiv.sv", "rdiv.sv"] if module == "rdiv" else [f"{module}.sv"]
    rtl_sim.lint_clean(sources, module, params)


def test_lint_rejects_illegal_parameters():
    with pytest.raises(RuntimeError, match=re.escape("rdiv: need N_WIDTH >= 2")):
        rtl_sim.lint(["udiv.sv", "rdiv.sv"], "rdiv", dict(Q_WIDTH=1))
    with pytest.raises(RuntimeError, match=re.escape("udiv: widths must be positive")):
        rtl_sim.lint(["udiv.sv"], "udiv", dict(Q_WIDTH=0))


def run(tb_overrides: dict | None = None, run_name: str = "sim"):
    return TB.run("arith-sets", PARAMS, {**PARAMS, **(tb_overrides or {})}, run_name=run_name)


def test_arith_cocotb():
    res = run()
    assert len(res.tests) == TB.expect_tests and not res.failed
    # The harness must be able to fail: the same build against a wrong golden model (truncating division, float
    # square root) must come back as failed cocotb tests.
    with pytest.raises(rtl_sim.CocotbFailed, match="results differ from golden"):
        run(tb_overrides={"WRONG_GOLDEN": 1, "VECTORS": 200}, run_name="must-fail")
