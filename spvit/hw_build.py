"""`spvit hw build`: the bitstream of a board of boards/, through the board flow (boards/Makefile, boards/common/*.tcl).

A board is a folder `boards/<board>/` holding `board.yaml` (validated by `validate_board`, the one schema of the
project's board files); nothing else in the repository names a board, so adding a board is adding a folder.

    spvit hw build --board zcu102 --impl hls      # Vitis HLS IPs -> Vivado block design -> bitstream
    spvit hw build --board kv260 --impl rtl       # hw/rtl packaged as IPs -> block design -> bitstream
    spvit hw build --board zcu102 --dry-run       # the steps (make -n), runs nothing
    spvit hw boards                               # every board, validated
    python -m spvit.hw_build ...                  # the same commands without the spvit CLI

`build()` checks first that the tools exist (vivado; for --impl hls also vitis-run or vitis_hls) and stops, naming
what is missing and how to get it, before anything runs; then it runs `make -C boards BOARD=.. IMPL=.. BUILD=..
bitstream` and reports success only when make succeeded and left spvit.bit and spvit.hwh in the output folder.
Outputs (docs/board_flow.md): <out>/spvit.bit, <out>/spvit.hwh (a PYNQ overlay), <out>/reports/, with the Vivado
projects and IPs under <out> too (default out: build/<board>).
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BOARDS_DIR = REPO / "boards"
IMPLS = ("hls", "rtl")
# The accelerator's kernels, each with its own DMA (boards/common/accel.tcl; boards/Makefile KERNELS).
KERNELS = ("encoder_block", "prune_stage")
# The kernels' token beats (16 int8 channels): the DMA's stream side must match.
STREAM_BITS = 128

# PS ports a board.yaml may name (boards/common/flow.tcl maps them to the zynq_ultra_ps_e properties).
PS_MASTER_PORTS = ("M_AXI_HPM0_FPD", "M_AXI_HPM1_FPD", "M_AXI_HPM0_LPD")
PS_SLAVE_PORTS = ("S_AXI_HPC0_FPD", "S_AXI_HPC1_FPD", "S_AXI_HP0_FPD", "S_AXI_HP1_FPD", "S_AXI_HP2_FPD",
                  "S_AXI_HP3_FPD")

_PART = re.compile(r"^x[a-z0-9]+-[a-z]+\d+-\d[A-Z]*-[a-z]$")          # xczu9eg-ffvb1156-2-e, xck26-sfvc784-2LV-c
_BOARD_PART = re.compile(r"^[a-z0-9.]+:[a-z0-9_]+:part0:\d+(\.\d+)+$")  # xilinx.com:zcu102:part0:3.3
_VLNV = re.compile(r"^[a-z0-9.]+:[a-z0-9_]+:[a-z0-9_]+:\d+(\.\d+)+$")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_TEXT = re.compile(r"^[^{}\[\]$\\\"\n]*$")  # free text that is safe inside a Tcl brace word


class BoardError(ValueError):
    """A board name or board.yaml the flow cannot use; the message lists every problem."""


# ---- the board files ------------------------------------------------------------------------------------------------

def board_names() -> list[str]:
    """Every board: the folders of boards/ that hold a board.yaml."""
    return sorted(p.parent.name for p in BOARDS_DIR.glob("*/board.yaml"))


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v) -> bool:
    return (isinstance(v, (int, float))) and not isinstance(v, bool)


def validate_board(data, name: str | None = None) -> list[str]:
    """The schema of boards/<board>/board.yaml, in one place: every problem of `data` (the parsed YAML) as a line,
    empty when the board is usable by the latency model (quant/latency.py), the resource report (sim/resources.py)
    and the Vivado flow. `name` is the folder the file came from (must equal `board`)."""
    problems: list[str] = []

    def bad(where: str, what: str):
        problems.append(f"{where}: {what}")

    def section(key: str, fields: dict) -> dict | None:
        """Check a mapping's keys: `fields` maps key -> (required, check(value) -> error or None)."""
        value = data.get(key) if key else data
        where = key or "board.yaml"
        if not isinstance(value, Mapping):
            bad(where, "missing or not a mapping")
            return None
        for k in sorted(set(value) - set(fields)):
            bad(f"{key + '.' if key else ''}{k}", "unknown key (spvit.hw_build.validate_board lists the schema)")
        for k, (required, check) in fields.items():
            full = f"{key + '.' if key else ''}{k}"
            if k not in value:
                if required:
                    bad(full, "missing")
                continue
            error = check(value[k])
            if error:
                bad(full, f"{error} (got {value[k]!r})")
        return value

    def string(pattern: re.Pattern, what: str):
        return lambda v: None if isinstance(v, str) and pattern.match(v) else f"must be {what}"

    def integer(lo: int, hi: int | None = None):
        return lambda v: None if _is_int(v) and v >= lo and (hi is None or v <= hi) else (
            f"must be an integer >= {lo}" + (f" and <= {hi}" if hi is not None else ""))

    def number(lo: float, hi: float):
        return lambda v: None if _is_number(v) and lo < v <= hi else f"must be a number in ({lo}, {hi}]"

    def one_of(*choices):
        return lambda v: None if v in choices and type(v) is type(choices[0]) else f"must be one of {list(choices)}"

    def boolean(v):
        return None if isinstance(v, bool) else "must be true or false"

    def hp_ports(v):
        if not isinstance(v, list) or not v or not all(isinstance(p, str) for p in v):
            return "must be a non-empty list of PS slave port names"
        if len(set(v)) != len(v):
            return "lists a port twice"
        unknown = [p for p in v if p not in PS_SLAVE_PORTS]
        return f"unknown port(s) {unknown}; known: {list(PS_SLAVE_PORTS)}" if unknown else None

    def connections(v):
        words = v.split() if isinstance(v, str) else []
        ok = words and len(words) % 2 == 0 and all(_NAME.match(w) for w in words[0::2]) and \
            all(_VLNV.match(w) for w in words[1::2])
        return None if ok else "must be '<connector> <vendor:board:connector:version>' pairs"

    def power_of_two(lo: int, hi: int):
        return lambda v: None if _is_int(v) and lo <= v <= hi and v & (v - 1) == 0 else (
            f"must be a power of two in [{lo}, {hi}]")

    if not isinstance(data, Mapping):
        return ["board.yaml: not a YAML mapping"]
    top = section("", {
        "board": (True, string(_NAME, "a lower-case name")),
        "part": (True, string(_PART, "a full AMD part name such as xczu9eg-ffvb1156-2-e")),
        "board_part": (True, string(_BOARD_PART, "a Vivado board part such as xilinx.com:zcu102:part0:3.3")),
        "board_connections": (False, connections),
        "clock_mhz": (True, number(10, 1000)),
        "resources": (True, lambda v: None),
        "memory": (True, lambda v: None),
        "ps": (True, lambda v: None),
        "dma": (True, lambda v: None),
    })
    if top is None:
        return problems
    if name is not None and data.get("board") != name:
        bad("board", f"must equal its folder name {name!r}")
    section("resources", {
        "lut": (True, integer(1)), "ff": (True, integer(1)), "bram36": (True, integer(1)),
        "dsp48e2": (True, integer(1)), "uram": (True, integer(0)),
    })
    memory = section("memory", {
        "ddr": (True, string(_TEXT, "a short description")),
        "peak_gbps": (True, number(0, 1000)),
        "hp_ports": (True, hp_ports),
        "hp_port_bits": (True, one_of(32, 64, 128)),
    })
    section("ps", {
        "ip": (True, one_of("zynq_ultra_ps_e")),
        "board_preset": (True, boolean),
        "control_port": (True, one_of(*PS_MASTER_PORTS)),
        "control_port_bits": (True, one_of(32, 64, 128)),
        "pl_clock": (True, one_of("pl_clk0", "pl_clk1", "pl_clk2", "pl_clk3")),
        "irq": (True, one_of("pl_ps_irq0", "pl_ps_irq1")),
    })
    dma = section("dma", {
        "scatter_gather": (True, lambda v: None if v is False else "must be false (the flow builds simple-mode DMAs)"),
        "length_bits": (True, integer(8, 26)),
        "stream_bits": (True, one_of(STREAM_BITS)),
        "mm_bits": (True, power_of_two(32, 1024)),
        "addr_bits": (True, integer(32, 64)),
        "burst_beats": (True, power_of_two(2, 256)),
    })
    if memory is not None and dma is not None and _is_int(dma.get("mm_bits")) and _is_int(memory.get("hp_port_bits")):
        if dma["mm_bits"] < memory["hp_port_bits"]:
            bad("dma.mm_bits", f"narrower than memory.hp_port_bits ({memory['hp_port_bits']}): wasted HP bandwidth")
    return problems


def load_board(board: str) -> dict:
    """boards/<board>/board.yaml, parsed and validated; BoardError (naming the known boards) otherwise."""
    import yaml

    path = BOARDS_DIR / str(board) / "board.yaml"
    if not _NAME.match(str(board)) or not path.is_file():
        raise BoardError(f"unknown board {board!r}: no boards/{board}/board.yaml; boards: {', '.join(board_names())}")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise BoardError(f"boards/{board}/board.yaml is not valid YAML: {exc}") from exc
    problems = validate_board(data, name=str(board))
    if problems:
        raise BoardError(f"boards/{board}/board.yaml is invalid:\n  " + "\n  ".join(problems))
    return data


def _tcl_value(v) -> str:
    if isinstance(v, bool):
        return "1" if v else "0"
    if _is_number(v):
        return repr(v)
    if isinstance(v, list):
        return "{" + " ".join(_tcl_value(x) for x in v) + "}"
    s = str(v)
    if not _TEXT.match(s):
        raise BoardError(f"value {s!r} cannot go into the Tcl include")
    return "{" + s + "}" if (not s or re.search(r"\s|;|#", s)) else s


def board_tcl(board: dict, source: str = "board.yaml") -> str:
    """The board include the Vivado scripts source: every board.yaml value as `set spvit_<section>_<key> <value>`
    (top-level keys as `spvit_<key>`), plus spvit_board_connections (empty when absent) and spvit_clock_period_ns."""
    lines = [f"# Generated by spvit.hw_build from {source}: do not edit (boards/Makefile rewrites it when the YAML changes).",
             "# Read by boards/common/flow.tcl."]

    def emit(name: str, value):
        lines.append(f"set spvit_{name} {_tcl_value(value)}")

    for key, value in board.items():
        if isinstance(value, Mapping):
            for sub, v in value.items():
                emit(f"{key}_{sub}", v)
        else:
            emit(key, value)
    if "board_connections" not in board:
        emit("board_connections", "")
    emit("clock_period_ns", round(1000.0 / float(board["clock_mhz"]), 3))
    return "\n".join(lines) + "\n"


def write_board_tcl(board: str, out: Path) -> Path:
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    text = board_tcl(load_board(board), source=f"boards/{board}/board.yaml")
    if not out.exists() or out.read_text() != text:  # leave the timestamp alone when nothing changed
        out.write_text(text)
    return out


# ---- the tools ------------------------------------------------------------------------------------------------------

VIVADO_HINT = ("AMD Vivado (2023.2 or later): put it on PATH by sourcing its settings script, e.g.\n"
               "      source /tools/Xilinx/Vivado/2023.2/settings64.sh    (2023.2 - 2024.2 layout)\n"
               "      source /tools/Xilinx/2025.1/Vivado/settings64.sh    (2025.1 and later)")
VITIS_HINT = ("AMD Vitis HLS: vitis-run (Vitis 2023.2 and later) or vitis_hls (Vitis HLS 2020.2 to 2024.x), e.g.\n"
              "      source /tools/Xilinx/Vitis/2023.2/settings64.sh     (2023.2 - 2024.2 layout)\n"
              "      source /tools/Xilinx/2025.1/Vitis/settings64.sh     (2025.1 and later)")
SETTINGS_GLOBS = ("/tools/Xilinx/Vivado/*/settings64.sh", "/tools/Xilinx/*/Vivado/settings64.sh",
                  "/tools/Xilinx/Vitis/*/settings64.sh", "/tools/Xilinx/*/Vitis/settings64.sh",
                  "/opt/Xilinx/Vivado/*/settings64.sh", "/opt/Xilinx/*/Vivado/settings64.sh",
                  "/opt/Xilinx/Vitis/*/settings64.sh", "/opt/Xilinx/*/Vitis/settings64.sh")


def default_out(board: str) -> Path:
    """build/<board> (or $SPVIT_BUILD_DIR/<board>, as the rest of the project's build folders)."""
    base = Path(os.environ["SPVIT_BUILD_DIR"]) if os.environ.get("SPVIT_BUILD_DIR") else REPO / "build"
    return base / board


def hls_ips_built(out: Path) -> bool:
    """The Vitis HLS IPs of every kernel are already exported under out (the Makefile's stamps)."""
    return all((Path(out) / "hls" / f"{k}.ip").is_file() for k in KERNELS)


def missing_tools(impl: str, out: Path | None = None, path: str | None = None) -> list[tuple[str, str]]:
    """(executable(s), how to get them) for every tool the build needs and PATH lacks. `path` overrides $PATH."""
    def have(exe: str) -> bool:
        return shutil.which(exe, path=path) is not None

    missing = []
    if not have("make"):
        missing.append(("make", "GNU make (Debian: apt-get install make)"))
    if not have("vivado"):
        missing.append(("vivado", VIVADO_HINT))
    if impl == "hls" and not (out is not None and hls_ips_built(out)) and not (have("vitis-run") or have("vitis_hls")):
        missing.append(("vitis-run or vitis_hls", VITIS_HINT))
    return missing


def _found_settings() -> list[str]:
    import glob

    found = [os.path.join(os.environ[v], "settings64.sh") for v in ("XILINX_VIVADO", "XILINX_VITIS")
             if os.environ.get(v) and os.path.isfile(os.path.join(os.environ[v], "settings64.sh"))]
    for pattern in SETTINGS_GLOBS:
        found += sorted(glob.glob(pattern))
    return sorted(set(found))


def missing_message(board: str, impl: str, missing: list[tuple[str, str]]) -> str:
    lines = [f"spvit hw build: cannot build the {board} bitstream (--impl {impl}): "
             f"missing executable{'s' if len(missing) > 1 else ''} on PATH:"]
    for exe, hint in missing:
        lines.append(f"  {exe}: {hint}")
    settings = _found_settings()
    if settings:
        lines.append("  found on this machine: " + "; ".join(f"source {s}" for s in settings))
    lines.append("Nothing was built. Run again once the tools are on PATH (`--dry-run` shows the steps).")
    return "\n".join(lines)


# ---- the build ------------------------------------------------------------------------------------------------------

def make_command(board: str, impl: str, out: Path, target: str = "bitstream", dry_run: bool = False,
                 jobs: int | None = None) -> list[str]:
    cmd = ["make", "--no-print-directory", "-C", str(BOARDS_DIR)]
    if dry_run:
        cmd.append("-n")
    cmd += [f"BOARD={board}", f"IMPL={impl}", f"BUILD={Path(out).resolve()}"]
    if jobs:
        cmd.append(f"JOBS={jobs}")
    return cmd + [target]


def build(board: str, impl: str, out: Path | str | None = None, *, dry_run: bool = False,
          jobs: int | None = None) -> int:
    """Build boards/<board>'s bitstream with the `impl` kernels into `out` (default build/<board>): 0 on success
    (spvit.bit and spvit.hwh written there by this run), 2 when the board is unusable or a tool is missing (nothing is
    run), else the flow's non-zero status. With dry_run, print the steps (make -n) and run nothing."""
    try:
        load_board(board)
    except BoardError as exc:
        print(f"spvit hw build: {exc}", file=sys.stderr)
        return 2
    if impl not in IMPLS:
        print(f"spvit hw build: --impl must be one of {', '.join(IMPLS)} (got {impl!r})", file=sys.stderr)
        return 2
    out = Path(out) if out is not None else default_out(board)
    if dry_run:
        if shutil.which("make") is None:
            print(missing_message(board, impl, [("make", "GNU make (Debian: apt-get install make)")]), file=sys.stderr)
            return 2
        return subprocess.run(make_command(board, impl, out, dry_run=True, jobs=jobs)).returncode
    missing = missing_tools(impl, out)
    if missing:
        print(missing_message(board, impl, missing), file=sys.stderr)
        return 2
    start = time.time()
    print(f"spvit hw build: {board} ({impl}) -> {out}", flush=True)
    rc = subprocess.run(make_command(board, impl, out, jobs=jobs)).returncode
    if rc != 0:
        print(f"spvit hw build: the flow failed (make exit status {rc}); logs under {out}", file=sys.stderr)
        return rc
    results = [out / "spvit.bit", out / "spvit.hwh"]
    stale = [str(p) for p in results if not p.is_file() or p.stat().st_mtime < start - 2]
    if stale:
        print(f"spvit hw build: make succeeded but did not write {', '.join(stale)}", file=sys.stderr)
        return 1
    print(f"spvit hw build: {results[0]} and {results[1]} (pynq.Overlay('{results[0].name}'))")
    return 0


# ---- command line ---------------------------------------------------------------------------------------------------

def cmd_build(args) -> int:
    return build(args.board, args.impl, args.out, dry_run=args.dry_run, jobs=args.jobs)


def cmd_boards(args) -> int:
    status = 0
    for name in board_names():
        try:
            b = load_board(name)
        except BoardError as exc:
            print(f"{name:<8} INVALID: {exc}")
            status = 1
            continue
        r = b["resources"]
        print(f"{name:<8} {b['part']:<22} {b['board_part']:<32} {b['clock_mhz']} MHz, {r['lut']:,} LUT, "
              f"{r['dsp48e2']:,} DSP, {r['bram36']} BRAM36, {r['uram']} URAM; {len(b['memory']['hp_ports'])} HP ports")
    return status


def cmd_tcl(args) -> int:
    try:
        path = write_board_tcl(args.board, args.out)
    except BoardError as exc:
        print(f"spvit hw tcl: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {path}")
    return 0


def _add_actions(sub) -> None:
    p = sub.add_parser("build", help="build a board's bitstream (Vivado; Vitis HLS for --impl hls)",
                       description="Build boards/<board>'s bitstream: the kernels as IPs (--impl hls: Vitis HLS "
                                   "export of hw/hls/vitis; --impl rtl: hw/rtl packaged), the Vivado block design, "
                                   "synthesis, implementation, bitstream; spvit.bit and spvit.hwh land in --out. "
                                   "Exits 2 (naming the tool) when Vivado or Vitis is missing.")
    p.add_argument("--board", default="zcu102", help=f"board folder of boards/ (default zcu102): {', '.join(board_names())}")
    p.add_argument("--impl", choices=IMPLS, default="hls", help="kernel implementation (default hls)")
    p.add_argument("--out", type=Path, help="build folder (default build/<board>)")
    p.add_argument("--jobs", type=int, help="parallel Vivado runs (default: the machine's cores)")
    p.add_argument("--dry-run", action="store_true", help="print the flow's steps (make -n) and run nothing")
    p.set_defaults(func=cmd_build)

    p = sub.add_parser("boards", help="list and validate the boards of boards/",
                       description="List every boards/<board>/board.yaml, validated against the schema.")
    p.set_defaults(func=cmd_boards)

    p = sub.add_parser("tcl", help="write a board's Tcl include (the flow does this itself)",
                       description="Write the Tcl include of boards/<board>/board.yaml that boards/common/*.tcl read.")
    p.add_argument("--board", required=True)
    p.add_argument("--out", type=Path, required=True)
    p.set_defaults(func=cmd_tcl)


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add `hw` (with `build`, `boards`, `tcl`) to the spvit CLI's subparsers; each action sets `func`."""
    hw = subparsers.add_parser("hw", help="FPGA build flow: bitstreams for the boards of boards/",
                               description="The FPGA build flow of boards/ (docs/board_flow.md).")
    _add_actions(hw.add_subparsers(dest="hw_command", required=True, metavar="ACTION"))
    return hw


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m spvit.hw_build", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_actions(parser.add_subparsers(dest="hw_command", required=True, metavar="ACTION"))
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
