"""HLS C-simulation of hw/hls/requantize.hpp against the golden requantize (docs/arithmetic.md §2.3): bit-exact."""
from __future__ import annotations

import os

import numpy as np
import pytest

from spvit.sim import hls_csim, hls_kernels
from spvit.sim.golden import arith

pytestmark = pytest.mark.hls

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
# configuration name in spvit.sim.hls_kernels.REQUANTIZE_CONFIGS -> the shift range it must support
RANGES = {"default": (-8, 31), "full": (-32, 40)}


@pytest.fixture(autouse=True)
def _tools(require_tool):
    require_tool("g++")
    require_tool("ap_types")


@pytest.fixture(params=RANGES.keys())
def config(request):
    return request.param


def corner_vectors(shift_min: int, shift_max: int) -> tuple[np.ndarray, np.ndarray]:
    """Every shift in range crossed with the values where requantize can go wrong."""
    accs, shifts = [], []
    for s in range(shift_min, shift_max + 1):
        vals = [INT32_MIN, INT32_MIN + 1, INT32_MAX, INT32_MAX - 1, 0, 1, -1, 2, -2]
        if s > 0:
            half = 1 << (s - 1)
            # exact .5 ties of both signs, and their neighbours
            for k in (0, 1, 2, 3, 126, 127, 128, -1, -2, -127, -128, -129):
                tie = (2 * k + 1) * half
                vals += [tie - 1, tie, tie + 1]
            # the saturation edges: the largest/smallest inputs that still round into [-128, 127]
            for edge in (127 * 2 * half + half, -128 * 2 * half - half):
                vals += [edge - 1, edge, edge + 1]
        elif s == 0:
            vals += [127, 128, -128, -129]
        else:
            for edge in (127 >> -s, -128 >> -s, 128 >> -s):
                vals += [edge - 1, edge, edge + 1]
        vals = [v for v in vals if INT32_MIN <= v <= INT32_MAX]
        accs += vals
        shifts += [s] * len(vals)
    return np.array(accs, dtype=np.int64), np.array(shifts, dtype=np.int64)


def random_vectors(rng: np.random.Generator, n: int, shift_min: int, shift_max: int) -> tuple[np.ndarray, np.ndarray]:
    """Half full-range accumulators (mostly saturating), half scaled into the unsaturated range of their shift."""
    shift = rng.integers(shift_min, shift_max + 1, n)
    full = rng.integers(INT32_MIN, INT32_MAX, n, endpoint=True)
    near = rng.integers(-160, 160, n) * (2.0 ** shift) + rng.normal(0, 2.0 ** np.maximum(shift - 1, 0), n)
    near = np.clip(np.round(near), INT32_MIN, INT32_MAX).astype(np.int64)
    acc = np.where(rng.random(n) < 0.5, full, near)
    return acc, shift


def assert_bit_exact(acc: np.ndarray, shift: np.ndarray, config: str = "default"):
    got = hls_kernels.requantize(acc, shift, config)
    want = arith.requantize(acc, shift)
    assert got.dtype == np.int8
    if not np.array_equal(got, want.astype(np.int8)) or not np.array_equal(got.astype(np.int64), want):
        bad = np.flatnonzero(got.astype(np.int64) != want)
        rows = [f"acc={acc[i]} shift={shift[i]}: hls={got[i]} golden={want[i]}" for i in bad[:10]]
        pytest.fail(f"{bad.size} of {acc.size} mismatches:\n" + "\n".join(rows))


def test_shift_ranges(config):
    assert hls_kernels.requantize_shift_range(config) == RANGES[config]


def test_requantize_corners(config):
    acc, shift = corner_vectors(*RANGES[config])
    assert acc.size > 1000
    assert_bit_exact(acc, shift, config)


def test_requantize_random(config):
    rng = np.random.default_rng(20261121)
    acc, shift = random_vectors(rng, 200_000, *RANGES[config])
    # the sample reaches everything the corners do: saturation on both sides and the unsaturated middle
    want = arith.requantize(acc, shift)
    assert (want == 127).any() and (want == -128).any() and ((want > -128) & (want < 127)).mean() > 0.3
    assert_bit_exact(acc, shift, config)


def test_requantize_known_values():
    """Hand-computed results (independent of both implementations)."""
    table = [
        # acc, shift, result
        (3, 1, 2), (-3, 1, -1), (1, 1, 1), (-1, 1, 0),  # ties round half up (towards +inf)
        (5, 2, 1), (6, 2, 2), (-6, 2, -1), (-10, 2, -2),  # 1.25 -> 1, 1.5 -> 2, -1.5 -> -1, -2.5 -> -2
        (127, 0, 127), (128, 0, 127), (-128, 0, -128), (-129, 0, -128),  # shift 0: saturation only
        (1, -7, 127), (1, -6, 64), (-1, -7, -128), (-1, -8, -128), (3, -5, 96),  # exact left shifts
        (INT32_MAX, 31, 1), (INT32_MIN, 31, -1), (INT32_MAX, -8, 127), (INT32_MIN, -8, -128),
        (255 << 22, 23, 127), (-257 << 22, 23, -128), (-255 << 22, 23, -127),
    ]
    full_only = [  # beyond the default range: right shifts past the accumulator width, left shifts past 8
        (INT32_MAX, 32, 0), (INT32_MIN, 32, 0), (INT32_MIN, 40, 0), (-1, 40, 0), (1, -32, 127), (-1, -32, -128),
        (0, -32, 0), (0, 40, 0), (1, -9, 127),
    ]
    for config, rows in (("default", table), ("full", table + full_only)):
        acc, shift, want = (np.array(c, dtype=np.int64) for c in zip(*rows))
        assert np.array_equal(arith.requantize(acc, shift), want)
        assert np.array_equal(hls_kernels.requantize(acc, shift, config).astype(np.int64), want), config


def test_scalar_shift_broadcasts():
    acc = np.arange(-1000, 1000, 7)
    assert np.array_equal(hls_kernels.requantize(acc, 3), arith.requantize(acc, 3))


@pytest.mark.parametrize("side", [0, 1])
def test_shift_out_of_range_rejected(config, side):
    bad = RANGES[config][0] - 1 if side == 0 else RANGES[config][1] + 1
    with pytest.raises(ValueError, match="shift outside"):
        hls_kernels.requantize([1, 2, 3], [0, bad, 0], config)


def test_unknown_config():
    with pytest.raises(ValueError, match="unknown requantize config"):
        hls_kernels.requantize([1], 0, "nope")


def test_accumulator_must_fit_int32():
    with pytest.raises(ValueError, match="int32"):
        hls_kernels.requantize([INT32_MAX + 1], 0)


def test_build_is_cached(tmp_path, monkeypatch):
    """A second build reuses the library; a different flag set is a different key, built beside it."""
    monkeypatch.setenv("SPVIT_BUILD_DIR", str(tmp_path))
    first = hls_csim.build("requantize", ["csim/requantize_csim.cpp"])
    stamp = first.stat().st_mtime_ns
    again = hls_csim.build("requantize", ["csim/requantize_csim.cpp"])
    assert again == first and again.stat().st_mtime_ns == stamp
    other = hls_csim.build("requantize", ["csim/requantize_csim.cpp"], extra_flags=["-DSPVIT_CACHE_TEST=1"])
    assert other != first and other.parent.parent == first.parent.parent == tmp_path / "hls"
    assert "-Werror" in (first.parent / "command.txt").read_text()


def test_project_code_warnings_stay_errors(tmp_path, monkeypatch):
    """ap_quiet.h silences the ap_types headers only: an uninitialised read in project code still fails the build."""
    monkeypatch.setenv("SPVIT_BUILD_DIR", str(tmp_path))
    src = tmp_path / "bad.cpp"
    src.write_text('#include "ap_int.h"\nextern "C" int f() { int y; return y + 1; }\n')
    with pytest.raises(RuntimeError, match="uninitialized"):
        hls_csim.build("bad", [src], depends=[src])


@pytest.mark.slow
def test_requantize_random_long(config):
    rng = np.random.default_rng(int(os.environ.get("SPVIT_SEED", "7")))
    for _ in range(10):
        assert_bit_exact(*random_vectors(rng, 1_000_000, *RANGES[config]), config)
