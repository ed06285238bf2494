"""C-simulation of the project's HLS C++ without Vitis: g++ builds a shared library, Python calls it via ctypes.

`build()` compiles a kernel's ctypes bridge (hw/hls/csim/*.cpp, `extern "C"` functions over plain arrays) into
build/hls/<name>-<key>/lib<name>.so and returns the cached file while nothing that went into it changed: the key
hashes the compiler and its version, the flags, the ap_types folder and the contents of the sources and of every
project header they include (directly or not). `load()` returns the ctypes.CDLL (one per process). The kernel
wrappers take and return numpy arrays and carry the same name as the golden function they must match; they live in
spvit.sim.hls_kernels (spvit.sim.golden.arith.requantize <-> spvit.sim.hls_kernels.requantize).
"""
from __future__ import annotations

import ctypes
import hashlib
import os
import re
import subprocess
import tempfile
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from . import tools

REPO = tools.REPO
HLS_DIR = REPO / "hw" / "hls"
# ap_quiet.h is force-included: it includes the ap_types headers with their false -Wuninitialized silenced.
PRELUDE = HLS_DIR / "csim" / "ap_quiet.h"
# -Wno-unused-label: HLS loops are labelled for Vitis directives and reports (`Product: for ...`); no goto uses them.
CXXFLAGS: tuple[str, ...] = (
    "-std=c++17", "-O2", "-fPIC", "-shared", "-Wall", "-Wextra", "-Werror", "-Wno-unknown-pragmas",
    "-Wno-unused-label",
)


def build_root() -> Path:
    return tools.build_root("hls")


@lru_cache(maxsize=None)
def _compiler_id(cxx: str) -> str:
    out = subprocess.run([cxx, "--version"], capture_output=True, text=True, check=True).stdout
    return f"{cxx}\n{out.splitlines()[0] if out else ''}"


def _ap_types_id(inc: Path) -> str:
    try:
        version = metadata.version("hls4ml")
    except metadata.PackageNotFoundError:
        version = "?"
    return f"{inc} hls4ml=={version}"


def _resolve(path: str | os.PathLike) -> Path:
    p = Path(path)
    return p if p.is_absolute() else HLS_DIR / p


_INCLUDE = re.compile(r'^\s*#\s*include\s*"([^"]+)"', re.MULTILINE)


def _default_depends(sources: Sequence[Path]) -> list[Path]:
    """The sources, the forced include and every project header they reach through `#include "..."` (searched
    beside the including file, then in hw/hls/), so editing one kernel's header rebuilds only its users."""
    seen: set[Path] = set()
    todo = [*sources, PRELUDE]
    while todo:
        path = todo.pop()
        if path in seen or not path.is_file():
            continue
        seen.add(path)
        for name in _INCLUDE.findall(path.read_text(errors="replace")):
            for base in (path.parent, HLS_DIR):
                if (base / name).is_file():
                    todo.append((base / name).resolve())
                    break
    return sorted(seen)


def command(sources: Sequence[Path], out: Path, include_dirs: Iterable[Path] = (), extra_flags: Iterable[str] = ()):
    """The g++ command line: project includes with -I (warnings on), ap_types with -isystem."""
    cmd = [str(tools.gxx()), *CXXFLAGS, *extra_flags, "-isystem", str(tools.ap_types_include()), "-I", str(HLS_DIR)]
    for inc in include_dirs:
        cmd += ["-I", str(_resolve(inc))]
    cmd += ["-include", str(PRELUDE), *map(str, sources), "-o", str(out)]
    return cmd


def build(
    name: str,
    sources: Sequence[str | os.PathLike],
    *,
    include_dirs: Sequence[str | os.PathLike] = (),
    extra_flags: Sequence[str] = (),
    depends: Sequence[str | os.PathLike] | None = None,
) -> Path:
    """Compile `sources` (paths relative to hw/hls/ or absolute) into a cached lib<name>.so; return its path.

    Rebuilt only when the key changes (see module doc). Safe to call from several processes at once (pytest -n):
    each compiles into a private temporary file and renames it into place.
    """
    srcs = [_resolve(s) for s in sources]
    deps = sorted(set(srcs) | set(_default_depends(srcs) if depends is None else map(_resolve, depends)))
    h = hashlib.sha256()
    cxx = str(tools.gxx())
    for part in (_compiler_id(cxx), " ".join(CXXFLAGS), " ".join(extra_flags), _ap_types_id(tools.ap_types_include()),
                 " ".join(map(str, include_dirs)), " ".join(map(str, srcs))):
        h.update(part.encode() + b"\0")
    for dep in deps:
        h.update(str(dep.relative_to(REPO) if dep.is_relative_to(REPO) else dep).encode() + b"\0")
        h.update(dep.read_bytes() + b"\0")
    out_dir = build_root() / f"{name}-{h.hexdigest()[:16]}"
    lib = out_dir / f"lib{name}.so"
    if lib.is_file():
        return lib
    out_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".lib{name}-", suffix=".so", dir=out_dir)
    os.close(fd)
    try:
        cmd = command(srcs, Path(tmp), include_dirs, extra_flags)
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"HLS csim build of {name} failed:\n{' '.join(cmd)}\n{proc.stderr}")
        (out_dir / "command.txt").write_text(" ".join(cmd) + "\n")
        os.replace(tmp, lib)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return lib


_LOADED: dict[Path, ctypes.CDLL] = {}


def load(name: str, sources: Sequence[str | os.PathLike], **kwargs) -> ctypes.CDLL:
    """build() then ctypes-load the library (each built file is loaded once per process)."""
    lib = build(name, sources, **kwargs)
    if lib not in _LOADED:
        _LOADED[lib] = ctypes.CDLL(str(lib))
    return _LOADED[lib]


def as_c(array, dtype) -> np.ndarray:
    """A C-contiguous array of exactly `dtype`; values that do not fit raise instead of wrapping."""
    a = np.asarray(array)
    info = np.iinfo(dtype)
    if a.size and (a.min() < info.min or a.max() > info.max):
        raise ValueError(f"values outside {np.dtype(dtype).name} range [{info.min}, {info.max}]")
    return np.ascontiguousarray(a, dtype=dtype)


def ndptr(dtype, writeable: bool = False):
    flags = ("C_CONTIGUOUS", "WRITEABLE") if writeable else ("C_CONTIGUOUS",)
    return np.ctypeslib.ndpointer(dtype=dtype, flags=flags)
