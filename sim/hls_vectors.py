"""Golden vectors for the Vitis HLS IP testbenches, and those testbenches built and run with g++.

`python -m spvit.sim.hls_vectors --top NAME --out DIR [--count N] [--seed S] [--run]` writes DIR/NAME.vec for the IP
NAME (a top in hw/hls/vitis/tops/NAME.cpp, or `all`): random stimulus from the same kinds of generators the
tests/test_hls_<op>.py use (corners first: one token, a full image, extreme shifts), and every output computed by the
golden model (spvit.sim.golden). hw/hls/vitis/tb/NAME_tb.cpp reads the file, drives the top and compares every value
exactly, returning non-zero on a mismatch -- in Vitis csim / cosim (hw/hls/vitis/build_prj.tcl adds the file with
`add_files -tb`) and under g++ here (`--run`, and tests/test_hls_vitis.py), so Vitis checks the vectors CI checks.

File format (text, read by hw/hls/vitis/tb/tb_common.hpp): a header `spvit-hls-vectors 1 <ip> <cases>`, then for every
case the IP's named arrays in a fixed order, one per line: `<name> <count> <values...>`. Arrays named `want_*` are
golden outputs; token arrays are int8 [tokens * channels], parameter arrays (`params`, `table`, `mem`) the m_axi words
of spvit.sim.hls_kernels.pack_words as uint32 (4 per 128-bit word).

The IPs have the digits model's dimensions (configs/digits.yaml; hw/hls/vitis/tops/spvit_ip.hpp): D = 64, 4 heads,
MLP 128, up to 67 tokens.
"""
from __future__ import annotations

import argparse
import dataclasses
import hashlib
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from spvit.configs import load_config

from . import block_regs, hls_csim, tools
from .golden import random_bundle
from .golden import model as golden_model
from .golden.arith import requantize, residual_add
from .golden.attention import attention
from .golden.layernorm import eps_term, layernorm
from .golden.lut import lut, make_lut
from .golden.params import LinearParams
from .golden.scoring import asvit_score, selector
from .golden.softmax import softmax
from .golden.token_pack import token_pack
from .golden.topk_select import candidates, topk_select
from .hls_kernels import ENCODER_BLOCK_REGS, SCORE_MODES, pack_words

VITIS_DIR = hls_csim.HLS_DIR / "vitis"
TOPS_DIR = VITIS_DIR / "tops"
TB_DIR = VITIS_DIR / "tb"
# hw/hls/csim/ap_quiet.h plus one more false positive of the ap_types headers silenced (see the file)
TB_PRELUDE = TB_DIR / "ap_quiet_tb.h"
FORMAT_VERSION = 1

Case = list  # [(name, values), ...] in the testbench's reading order


# ---- the IPs' dimensions (hw/hls/vitis/tops/spvit_ip.hpp) -----------------------------------------------------------


@dataclass(frozen=True)
class Dims:
    d: int  # channels of a token
    heads: int
    hidden: int  # MLP width
    n_max: int  # most tokens in an image: class token + patches + one package token per stage
    se_width: int

    @property
    def d_head(self) -> int:
        return self.d // self.heads


@lru_cache(maxsize=None)
def dims() -> Dims:
    cfg = load_config("digits")
    return Dims(cfg.embed_dim, cfg.num_heads, cfg.mlp_hidden, 1 + cfg.num_patches + cfg.num_stages, cfg.se_width)


def _i8(rng, shape, extreme: float = 0.1) -> np.ndarray:
    """int8 activations: Gaussian at a random spread, some only -128 / 127."""
    scale = float(rng.choice([4, 16, 40, 128]))
    x = np.clip(np.round(rng.normal(0, 1, shape) * scale), -128, 127).astype(np.int64)
    return np.where(rng.random() < extreme, rng.choice([-128, 127], shape), x)


def _tokens(rng, i: int) -> int:
    """Tokens of case i: 1, then a full image, then random."""
    return 1 if i == 0 else dims().n_max if i == 1 else int(rng.integers(1, dims().n_max + 1))


def _words(arrays) -> np.ndarray:
    return pack_words([(np.asarray(a), bits) for a, bits in arrays])


# ---- generators: one case each, from rng and the case index ----------------------------------------------------------


def _requantize(rng, i: int) -> Case:
    shift = (-32, 0, 40)[i] if i < 3 else int(rng.integers(-32, 41))
    count = int(rng.integers(1, 257))
    acc = rng.integers(-(2**31), 2**31, count)
    kind = rng.integers(0, 4, count)
    acc = np.where(kind == 1, rng.integers(-300, 301, count), acc)
    if shift > 0:  # exact ties: odd multiples of 2**(shift - 1)
        tie = (2 * rng.integers(-(2**max(0, 31 - shift)), 2**max(0, 31 - shift), count) + 1) << (shift - 1)
        acc = np.where(kind == 2, np.clip(tie, -(2**31), 2**31 - 1), acc)
    acc = np.where(kind == 3, rng.choice([-(2**31), 2**31 - 1, -1, 0, 1], count), acc)
    return [("shift", shift), ("acc", acc), ("want_y", requantize(acc, shift))]


def _linear(rng, i: int) -> Case:
    dm = dims()
    n = _tokens(rng, i)
    w = rng.integers(-127, 128, (dm.hidden, dm.d))
    bscale = int(rng.choice([0, 2**12, 2**20, 2**30]))
    b = rng.integers(-bscale, bscale + 1, dm.hidden)
    if i < 2:
        shift = (-32, 40)[i]
    else:  # mostly where int8 outputs spread, sometimes anywhere in the contract's range
        shift = int(rng.integers(7, 14)) if rng.random() < 0.8 else int(rng.integers(-32, 41))
    x = _i8(rng, (n, dm.d))
    return [("n", n), ("shift", shift), ("params", _words([(w, 8), (b, 32)])), ("x", x),
            ("want_y", LinearParams(w, b, shift)(x))]


def _residual_add(rng, i: int) -> Case:
    d = dims().d
    n = _tokens(rng, i)
    fx, fr, fo = ((-8, 16, -8), (16, -8, 16))[i] if i < 2 else (int(f) for f in rng.integers(-8, 17, 3))
    f = max(fx, fr)
    x, r = _i8(rng, (n, d)), _i8(rng, (n, d))
    return [("n", n), ("shift_x", f - fx), ("shift_r", f - fr), ("shift_out", f - fo), ("x", x), ("r", r),
            ("want_y", residual_add(x, fx, r, fr, fo))]


def _lut(rng, i: int) -> Case:
    n = _tokens(rng, i)
    table = rng.integers(-128, 128, 256) if i % 4 == 3 else \
        make_lut("gelu", int(rng.integers(0, 7)), int(rng.integers(2, 7)))
    x = rng.integers(-128, 128, (n, dims().hidden))
    return [("n", n), ("table", _words([(table, 8)])), ("x", x), ("want_y", lut(x, table))]


def _layernorm(rng, i: int) -> Case:
    d = dims().d
    n = _tokens(rng, i)
    x = rng.integers(-128, 128, (n, d))
    kind = rng.integers(0, 5, n)
    x[kind == 1] = rng.integers(-128, 128, (int((kind == 1).sum()), 1))  # constant tokens: V = E
    x[kind == 2] = np.where(rng.random((int((kind == 2).sum()), d)) < 0.5, -128, 127)
    x[kind == 3] = rng.integers(-2, 3, (int((kind == 3).sum()), d))
    g = rng.integers(-(2**15), 2**15, d)
    bscale = int(rng.choice([0, 2**12, 2**20, 2**30]))
    b = rng.integers(-bscale, bscale + 1, d)
    e = int(rng.choice([1, 2**40, int(rng.integers(1, 2**40)), eps_term(1e-6, int(rng.integers(-8, 17)), d)]))
    shift = (-9, 39)[i] if i < 2 else int(rng.integers(12, 24))
    return [("n", n), ("eps", e), ("shift", shift), ("params", _words([(g, 16), (b, 32)])), ("x", x),
            ("want_y", layernorm(x, g, b, e, shift))]


def _softmax(rng, i: int) -> Case:
    rows, n = int(rng.integers(1, 9)), _tokens(rng, i)
    f = (-5, 32)[i] if i < 2 else int(rng.integers(-5, 33))
    i32 = (-(2**31), 2**31 - 1)
    kind = rng.integers(0, 5, rows)[:, None]
    x = rng.normal(0, 1, (rows, n)) * 2.0 ** (f + rng.integers(-2, 7, (rows, 1)))
    x = np.where(kind == 1, rng.integers(*i32, (rows, n), endpoint=True), x)
    x = np.where(kind == 2, rng.integers(-1000, 1000, (rows, 1)), x)  # all equal
    x = np.where(kind == 3, rng.choice(list(i32), (rows, n)), x)  # extremes only
    x = np.clip(np.round(x), *i32).astype(np.int64)
    p8, p16 = softmax(x, f)
    return [("rows", rows), ("n", n), ("f", f), ("x", x), ("want_p8", p8), ("want_p16", p16)]


def _attention(rng, i: int) -> Case:
    dm = dims()
    n = _tokens(rng, i)
    fq, fk = (int(f) for f in rng.integers(-2, 9, 2))
    fv = int(rng.integers(-8, 17))
    fo = fv + int(rng.integers(-3, 4))
    q, k, v = (_i8(rng, (1, dm.heads, n, dm.d_head)) for _ in range(3))
    ctx, p16 = attention(q, k, v, fq, fk, fv, fo)
    score = asvit_score(p16, ctx[:, :, 0, :])[0]

    def tokens(a):  # [1, H, n, dh] -> [n, D], head-major channels
        return a[0].transpose(1, 0, 2).reshape(n, dm.d)

    cls = np.zeros((dm.heads, dm.n_max), dtype=np.int64)
    cls[:, :n] = p16[0]
    return [("n", n), ("f_qk", fq + fk), ("shift_ctx", 8 + fv - fo),
            ("qkv", np.concatenate([tokens(q), tokens(k), tokens(v)], axis=-1)), ("want_ctx", tokens(ctx)),
            ("want_cls_p16", cls), ("want_score", np.pad(score, (0, dm.n_max - n)))]


def _scores(rng, n: int) -> np.ndarray:
    kind = int(rng.integers(0, 4))
    s = rng.integers(0, 65536, n)
    if kind == 1:
        s = rng.integers(0, 4, n)  # many ties
    elif kind == 2:
        s = np.full(n, int(rng.integers(0, 65536)))  # all equal
    elif kind == 3:
        s = np.where(rng.random(n) < 0.5, 0, 65535)
    return s


def _topk_select(rng, i: int) -> Case:
    n = _tokens(rng, i)
    tail = int(rng.integers(0, 3))
    s = _scores(rng, n)
    n_cand = int(candidates(np.array([n]), tail, n).sum())
    k = int(rng.choice([0, 1, n_cand, min(n_cand + 1, dims().n_max), int(rng.integers(0, n_cand + 1))]))
    threshold = None if rng.random() < 0.5 else int(rng.choice([0, 65535, int(rng.integers(0, 65536))]))
    keep = topk_select(s[None], np.array([n]), tail, np.array([k]), None if threshold is None else [threshold])[0]
    return [("n", n), ("n_protected_tail", tail), ("k", k), ("threshold_mode", int(threshold is not None)),
            ("threshold", threshold or 0), ("scores", s), ("want_kept", np.flatnonzero(keep))]


def _token_pack(rng, i: int) -> Case:
    d = dims().d
    n = _tokens(rng, i)
    x, s = _i8(rng, (n, d)), _scores(rng, n)
    pruned = rng.random(n) < rng.random()
    if i % 5 == 3:
        pruned[:] = False  # nothing pruned: an all-zero package token
    elif i % 5 == 4:
        pruned[:] = True
    package = i % 4 != 2
    stay = x[~pruned]
    if package:
        stay = np.concatenate([stay, token_pack(x[None], s[None], pruned[None])], axis=0)
    return [("n", n), ("package", int(package)), ("x", x), ("scores", s), ("pruned", pruned.astype(np.int64)),
            ("want_y", stay)]


# -- the model-level IPs: parameters from random digits bundles, laid out and registered by spvit.sim.block_regs (the
#    host side every driver shares) --


@lru_cache(maxsize=None)
def _bundle(seed: int, **prune):
    cfg = load_config("digits")
    cfg = dataclasses.replace(cfg, prune=dataclasses.replace(cfg.prune, **prune)).validate()
    return random_bundle(cfg, seed=seed)


def _selector(rng, i: int) -> Case:
    dm = dims()
    n = _tokens(rng, i)
    bundle, stage = _bundle(100 + i % 3), i % 2
    p = bundle.selector(stage)
    x = _i8(rng, (n, dm.d))
    score = selector(x[None], np.ones((1, n), dtype=bool), p, dm.heads)[0]
    shifts = [p.norm.shift, p.in_proj.shift, p.mlp1.shift, p.mlp2.shift, p.keep.shift, p.se1.shift, p.se2.shift]
    params = _words(block_regs.selector_arrays(bundle, stage))
    return [("n", n), ("eps", p.norm.eps_term), ("shifts", shifts), ("params", params), ("x", x),
            ("want_scores", np.pad(score, (0, dm.n_max - n)))]


# (score, block): an spvit stage block, an asvit stage block, a block without a stage
_BLOCKS = (("spvit", 1), ("asvit", 3), ("spvit", 0))


def _encoder_block(rng, i: int) -> Case:
    dm = dims()
    score, block = _BLOCKS[i % len(_BLOCKS)]
    bundle = _bundle(200 + i // len(_BLOCKS), score=score)
    stages = block_regs.stage_blocks(bundle)
    n = dm.n_max if i < len(_BLOCKS) else int(rng.integers(1, dm.n_max + 1))
    offset = int(rng.integers(0, 65)) if i % 2 else 0  # the `weights` register: junk words in front
    regs = block_regs.block_regs(bundle, block, offset, stages)
    regs["n"] = n
    mem = np.concatenate([rng.integers(0, 2**32, 4 * offset), _words(block_regs.block_arrays(bundle, block, stages))])
    x = _i8(rng, (1, n, dm.d), extreme=0.0)
    f_in = bundle.frac("embed.out" if block == 0 else f"blocks.{block - 1}.out")
    mask = np.ones((1, n), dtype=bool)
    y, cls_p16, cls_ctx = golden_model.encoder_block(bundle, block, x, mask, f_in)
    scores = np.zeros(dm.n_max, dtype=np.int64)
    if regs["score_mode"] == SCORE_MODES["asvit"]:
        scores[:n] = asvit_score(cls_p16, cls_ctx)[0]
    elif regs["score_mode"] == SCORE_MODES["spvit"]:
        scores[:n] = selector(y, mask, bundle.selector(stages[block]), dm.heads)[0]
    return [("regs", [regs[name] for name in ENCODER_BLOCK_REGS]), ("mem", mem), ("x", x[0]), ("want_y", y[0]),
            ("want_scores", scores)]


def _prune_stage(rng, i: int) -> Case:
    dm = dims()
    select, package = (("topk", True), ("threshold", True), ("topk", False), ("threshold", False))[i % 4]
    bundle = _bundle(300, select=select, package=package)
    stage = int(rng.integers(0, 2))
    n = dm.n_max if i < 4 else int(rng.integers(2, dm.n_max + 1))
    x, s = _i8(rng, (1, n, dm.d)), _scores(rng, n)[None]
    tail = stage if package else 0
    k = int(rng.integers(0, n + 1))
    threshold = int(rng.integers(0, 65536)) if select == "threshold" else None
    new_x, ids, n_out = golden_model.prune_stage(bundle, stage, x, np.arange(n)[None], np.array([n]), s, k, threshold)
    count = int(n_out[0])
    sources = np.where(ids[0, :count] < 0, n, ids[0, :count])  # the package token's source is n
    return [("n", n), ("n_protected_tail", tail), ("k", k), ("threshold_mode", int(threshold is not None)),
            ("threshold", threshold or 0), ("package", int(package)), ("x", x[0]), ("scores", s[0]),
            ("want_y", new_x[0, :count]), ("want_sources", sources)]


@dataclass(frozen=True)
class Ip:
    generate: Callable[[np.random.Generator, int], Case]
    count: int  # default number of cases (each a whole image or row set; cosim runs them all)


IPS: dict[str, Ip] = {
    "requantize": Ip(_requantize, 16),
    "linear": Ip(_linear, 6),
    "residual_add": Ip(_residual_add, 8),
    "lut": Ip(_lut, 8),
    "layernorm": Ip(_layernorm, 8),
    "softmax": Ip(_softmax, 8),
    "attention": Ip(_attention, 6),
    "topk_select": Ip(_topk_select, 24),
    "token_pack": Ip(_token_pack, 10),
    "selector": Ip(_selector, 4),
    "encoder_block": Ip(_encoder_block, 3),
    "prune_stage": Ip(_prune_stage, 8),
}


# ---- writing ---------------------------------------------------------------------------------------------------------


def cases(ip: str, count: int | None = None, seed: int = 0) -> Iterator[Case]:
    spec = IPS[ip]
    rng = np.random.default_rng([seed, sorted(IPS).index(ip)])
    for i in range(spec.count if count is None else count):
        yield spec.generate(rng, i)


def write(path: Path, ip: str, all_cases: list[Case]) -> Path:
    lines = [f"spvit-hls-vectors {FORMAT_VERSION} {ip} {len(all_cases)}"]
    for case in all_cases:
        for name, values in case:
            v = np.asarray(values, dtype=np.int64).ravel()
            lines.append(" ".join([name, str(v.size), *map(str, v.tolist())]))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


def vector_path(out_dir: Path, ip: str) -> Path:
    return Path(out_dir) / f"{ip}.vec"


def dump(ip: str, out_dir: Path, count: int | None = None, seed: int = 0) -> Path:
    """Write out_dir/<ip>.vec and return its path."""
    if ip not in IPS:
        raise ValueError(f"unknown IP {ip!r}; known: {', '.join(IPS)}")
    if count is not None and count < 1:
        raise ValueError("--count must be at least 1")
    return write(vector_path(out_dir, ip), ip, list(cases(ip, count, seed)))


# ---- the testbenches under g++ ---------------------------------------------------------------------------------------

# C++14: what the tops and testbenches are written to (the Vitis HLS front end's default; build_prj.tcl passes it).
TB_CXXFLAGS: tuple[str, ...] = tuple(f for f in hls_csim.CXXFLAGS if f not in ("-fPIC", "-shared", "-std=c++17")) + (
    "-std=c++14",)


def tb_sources(ip: str) -> list[Path]:
    return [TB_DIR / f"{ip}_tb.cpp", TOPS_DIR / f"{ip}.cpp"]


def tb_command(ip: str, out: Path, extra_flags: tuple[str, ...] = ()) -> list[str]:
    """g++ command line of an IP's testbench: the csim flags of spvit.sim.hls_csim, as an executable."""
    return [str(tools.gxx()), *TB_CXXFLAGS, *extra_flags, "-isystem", str(tools.ap_types_include()), "-I",
            str(hls_csim.HLS_DIR), "-I", str(TOPS_DIR), "-I", str(TB_DIR), "-include", str(TB_PRELUDE),
            *map(str, tb_sources(ip)), "-o", str(out)]


def build_testbench(ip: str, extra_flags: tuple[str, ...] = (), depends: tuple[Path, ...] = ()) -> Path:
    """Compile hw/hls/vitis/tb/<ip>_tb.cpp with its top into build/hls/vitis-tb/<ip>-<key>/<ip>_tb; cached while the
    compiler, flags and every project source and header (and `depends`) are unchanged; safe to call from several
    processes."""
    if ip not in IPS:
        raise ValueError(f"unknown IP {ip!r}")
    h = hashlib.sha256()
    cmd = tb_command(ip, Path("OUT"), extra_flags)
    h.update(" ".join(cmd).encode() + b"\0")
    h.update(subprocess.run([cmd[0], "--version"], capture_output=True, text=True).stdout.encode())
    for dep in sorted({*tb_sources(ip), hls_csim.PRELUDE, TB_PRELUDE, *hls_csim.HLS_DIR.glob("*.hpp"),
                       *TOPS_DIR.glob("*.hpp"), *TB_DIR.glob("*.hpp"), *depends}):
        h.update(str(dep).encode() + b"\0" + dep.read_bytes() + b"\0")
    out_dir = tools.build_root("hls") / "vitis-tb" / f"{ip}-{h.hexdigest()[:16]}"
    exe = out_dir / f"{ip}_tb"
    if exe.is_file():
        return exe
    out_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{ip}_tb-", dir=out_dir)
    os.close(fd)
    try:
        cmd = tb_command(ip, Path(tmp), extra_flags)
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"g++ build of the {ip} testbench failed:\n{' '.join(cmd)}\n{proc.stderr}")
        (out_dir / "command.txt").write_text(" ".join(cmd) + "\n")
        os.replace(tmp, exe)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return exe


def run_testbench(ip: str, vectors: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run the g++-built testbench of `ip` on a vector file (exit status 0: every value bit-exact)."""
    return subprocess.run([str(build_testbench(ip)), str(vectors)], capture_output=True, text=True, timeout=timeout)


# ---- command line ----------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m spvit.sim.hls_vectors", description=__doc__.split("\n\n")[0])
    ap.add_argument("--top", required=True, choices=[*IPS, "all"], help="the IP (hw/hls/vitis/tops/<top>.cpp)")
    ap.add_argument("--out", required=True, type=Path, help="folder for <top>.vec")
    ap.add_argument("--count", type=int, default=None, help="cases per IP (default: the IP's own, see IPS)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--run", action="store_true", help="also build the testbench with g++ and run it on the file")
    args = ap.parse_args(argv)
    status = 0
    for ip in IPS if args.top == "all" else [args.top]:
        path = dump(ip, args.out, args.count, args.seed)
        print(f"{path}: {sum(1 for _ in open(path)) - 1} arrays")
        if args.run:
            proc = run_testbench(ip, path)
            sys.stdout.write(proc.stdout)
            sys.stderr.write(proc.stderr)
            status = status or proc.returncode
    return status


if __name__ == "__main__":
    sys.exit(main())
