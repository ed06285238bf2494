"""Shared pytest set-up: the --slow switch, `require_tool`, and Verilator for the tests marked `rtl`.

- `--slow` (or SPVIT_SLOW=1) runs the tests marked `slow` (long sweeps); without it they are deselected.
- `require_tool(name)` (a fixture returning a function) locates a tool through spvit.sim.tools. Where the tool is
  missing it skips the test on a developer's machine, but under CI=true it fails the test, naming what is missing:
  CI installs the whole toolchain (`make test`), so a missing tool there is a set-up bug, never a reason to skip.
- `require_module(name)` does the same for an optional Python dependency (torch, Pillow).
- Every test marked `rtl` requires Verilator that way (the marker's meaning, pyproject.toml).

pytest runs with --import-mode=importlib (pyproject.toml): pynq installs a top-level `tests` package into
site-packages, which must not shadow this folder.
"""
from __future__ import annotations

import importlib
import os
from pathlib import Path

import pytest

from spvit.sim import tools


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def slow_enabled(config) -> bool:
    return bool(config.getoption("--slow")) or os.environ.get("SPVIT_SLOW", "") not in {"", "0"}


def pytest_addoption(parser):
    parser.addoption("--slow", action="store_true", default=False,
                     help="also run tests marked slow (long sweeps); same as SPVIT_SLOW=1")


def pytest_collection_modifyitems(config, items):
    if slow_enabled(config):
        return
    keep, drop = [], []
    for item in items:
        (drop if item.get_closest_marker("slow") else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def pytest_report_header(config):
    return [f"spvit: CI={'true' if in_ci() else 'false'} (missing tools {'fail' if in_ci() else 'skip'}), "
            f"slow tests {'on' if slow_enabled(config) else 'off (--slow / SPVIT_SLOW=1)'}"]


def _missing(what: str, hint: str):
    """Skip on a developer's machine, fail under CI=true (CI installs everything: a missing piece is a set-up bug)."""
    if in_ci():
        pytest.fail(f"required {what} missing under CI=true: {hint}", pytrace=False)
    pytest.skip(f"{what} not available: {hint}")


def _require_tool(name: str) -> Path:
    try:
        return tools.find(name)
    except tools.ToolMissing as exc:
        _missing(f"tool {exc.tool}", exc.hint)


def _require_module(name: str):
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        _missing(f"module {name}", f"{exc} (make venv installs every extra of pyproject.toml)")


@pytest.fixture(scope="session")
def require_tool():
    """`require_tool("g++" | "ap_types" | "verilator" | "yosys")` -> its path, else skip (locally) / fail (CI)."""
    return _require_tool


@pytest.fixture(scope="session")
def require_module():
    """`require_module("torch" | "PIL.Image" | ...)` -> the module, else skip (locally) / fail (CI)."""
    return _require_module


@pytest.fixture
def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _rtl_needs_verilator(request):
    if request.node.get_closest_marker("rtl"):
        _require_tool("verilator")
