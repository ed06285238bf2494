"""HLS C-simulation of hw/hls/lut.hpp (docs/arithmetic.md §7) against golden lut.lut: GELU (int8) and sigmoid
(uint8 frac 8) tables from the golden table generator, every address, bit-exact."""
from __future__ import annotations

import numpy as np
import pytest

from spvit.sim import hls_kernels
from spvit.sim.golden import lut as golden_lut

pytestmark = pytest.mark.hls


@pytest.fixture(autouse=True)
def _tools(require_tool):
    require_tool("g++")
    require_tool("ap_types")


@pytest.mark.parametrize("function,signed", [("gelu", True), ("sigmoid", False)])
def test_lut_generated_tables(function, signed):
    rng = np.random.default_rng(51)
    every = np.arange(-128, 128)
    for f_in in (-2, 0, 3, 5, 7):
        table = golden_lut.make_lut(function, f_in, 8 if not signed else int(rng.integers(2, 6)), signed)
        x = np.concatenate([every, rng.integers(-128, 128, 5000)])
        got = hls_kernels.lut(x, table)
        assert got.dtype == (np.int8 if signed else np.uint8)
        assert (bad := hls_kernels.mismatches(got, golden_lut.lut(x, table))) is None, f"f_in {f_in}: {bad}"


def test_lut_random_tables():
    """Arbitrary tables (any byte anywhere): the address is the two's-complement byte, -1 reads entry 255."""
    rng = np.random.default_rng(52)
    for signed in (True, False):
        table = rng.integers(-128, 128, 256) if signed else rng.integers(0, 256, 256).astype(np.uint8)
        x = rng.integers(-128, 128, (100, 33))
        assert (bad := hls_kernels.mismatches(hls_kernels.lut(x, table), golden_lut.lut(x, table))) is None, bad
    ramp = np.arange(256) - 128
    assert hls_kernels.lut(np.array([-1, 0, -128, 127]), ramp).tolist() == [127, -128, 0, -1]
