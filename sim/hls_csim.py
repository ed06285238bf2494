"""C-simulation of the project's HLS C++ without Vitis: g++ builds a shared library, Python calls it via ctypes.

`build()` compiles a kernel's ctypes bridge (hw/hls/csim/*.cpp, `extern "C"` functions over plain arrays) into
build/hls/<name>-<key>/lib<name>.so and returns the cached file while nothing that went into it changed: the key
hashes the compiler and its version, the flags, the ap_types folder and the contents of the sources and every
header under hw/hls/. `load()` returns the ctypes.CDLL (one per process). Kernel wrappers below take and return
numpy arrays and carry the same name as the golden function they must match (spvit.sim.golden.arith.requantize
<-> requantize here).
"""
from __future__ import annotations

import ctypes
import hashlib
import os
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
CXXFLAGS: tuple[str, ...] = (
    "-std=c++17", "-O2", "-fPIC", "-shared", "-Wall", "-Wextra", "-Werror", "-Wno-unknown-pragmas",
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


def _default_depends() -> list[Path]:
    return sorted(p for p in HLS_DIR.rglob("*") if p.suffix in {".h", ".hpp", ".cpp", ".cc"} and p.is_file())


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
    deps = sorted(set(srcs) | set(_default_depends() if depends is None else map(_resolve, depends)))
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


# ---- kernels ---------------------------------------------------------------------------------------------------


# hw/hls/requantize.hpp configurations the bridge instantiates: name -> index in requantize_csim.cpp.
REQUANTIZE_CONFIGS = {
    "default": 0,  # spvit::requantize_config, shifts [-8, 31], ap_int<6>
    "full": 1,  # spvit::requantize_full_config, shifts [-32, 40] (docs/arithmetic.md §2.3), ap_int<7>
}


@lru_cache(maxsize=None)
def _requantize_lib() -> ctypes.CDLL:
    lib = load("requantize", ["csim/requantize_csim.cpp"])
    lib.spvit_requantize_i32_i8.argtypes = [
        ctypes.c_int, ndptr(np.int32), ndptr(np.int32), ndptr(np.int8, True), ctypes.c_int64,
    ]
    lib.spvit_requantize_i32_i8.restype = ctypes.c_int
    for fn in (lib.spvit_requantize_shift_min, lib.spvit_requantize_shift_max):
        fn.argtypes = [ctypes.c_int]
        fn.restype = ctypes.c_int
    return lib


def _config_index(config: str) -> int:
    try:
        return REQUANTIZE_CONFIGS[config]
    except KeyError:
        raise ValueError(f"unknown requantize config {config!r}; known: {', '.join(REQUANTIZE_CONFIGS)}") from None


def requantize_shift_range(config: str = "default") -> tuple[int, int]:
    """[min, max] shift that a configuration of hw/hls/requantize.hpp accepts."""
    lib, index = _requantize_lib(), _config_index(config)
    return lib.spvit_requantize_shift_min(index), lib.spvit_requantize_shift_max(index)


def requantize(acc, shift, config: str = "default") -> np.ndarray:
    """hw/hls/requantize.hpp (ap_int<32> -> ap_int<8>) run by g++; same contract as golden arith.requantize.

    `shift` is a scalar or an array broadcastable to `acc`'s shape; `config` picks the shift range
    (REQUANTIZE_CONFIGS).
    """
    index = _config_index(config)
    acc_c = as_c(acc, np.int32)
    shift_c = as_c(np.broadcast_to(np.asarray(shift), acc_c.shape), np.int32)
    out = np.empty(acc_c.shape, dtype=np.int8)
    rc = _requantize_lib().spvit_requantize_i32_i8(index, acc_c.ravel(), shift_c.ravel(), out.reshape(-1), acc_c.size)
    if rc != 0:
        lo, hi = requantize_shift_range(config)
        raise ValueError(f"shift outside [{lo}, {hi}] (requantize config {config!r})")
    return out
