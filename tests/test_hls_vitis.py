"""The Vitis HLS flow of hw/hls/vitis/, proved without Vitis.

- Every IP's testbench (hw/hls/vitis/tb/<ip>_tb.cpp), built with g++ together with its top (hw/hls/vitis/tops/<ip>.cpp),
  passes on the golden vectors of `python -m spvit.sim.hls_vectors` -- the very files Vitis csim / cosim run -- and
  exits non-zero on a corrupted expected value (and 2 on a malformed file).
- The scripts agree with the files: ips.tcl, tops/, tb/ and the dumper name the same IPs; each set_top names a function
  defined in the IP's top .cpp; build_prj.tcl, run in a Tcl interpreter with the Vitis commands stubbed, issues the
  flow open_project -> ... -> export_design on files that all exist, for the ZCU102's part and 300 MHz clock.
- `make hls-ip` without Vitis on PATH fails at once, naming what is missing; with a stand-in tool it dumps the vectors
  and calls vitis-run / vitis_hls on build_prj.tcl.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from spvit.sim import hls_vectors, tools

pytestmark = pytest.mark.hls

REPO = tools.REPO
VITIS = hls_vectors.VITIS_DIR
IPS = list(hls_vectors.IPS)
FLOW = ["open_project", "set_top", "add_files", "open_solution", "set_part", "create_clock", "csim_design",
        "csynth_design", "cosim_design", "export_design"]


@pytest.fixture
def _gxx(require_tool):
    require_tool("g++")
    require_tool("ap_types")


# ---- the testbenches under g++ ---------------------------------------------------------------------------------------


def _corrupt(text: str) -> str:
    """Flip the low bit of the middle value of the first non-empty `want_*` array."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        parts = line.split()
        if parts[0].startswith("want_") and int(parts[1]) > 0:
            at = 2 + int(parts[1]) // 2
            parts[at] = str(int(parts[at]) ^ 1)
            lines[i] = " ".join(parts)
            return "\n".join(lines) + "\n"
    raise AssertionError("no expected values to corrupt")


@pytest.mark.usefixtures("_gxx")
@pytest.mark.parametrize("ip", IPS)
def test_testbench_passes_and_catches_a_corrupted_vector(ip, tmp_path):
    vec = hls_vectors.dump(ip, tmp_path, seed=1)
    good = hls_vectors.run_testbench(ip, vec)
    assert good.returncode == 0, f"{ip} testbench failed:\n{good.stdout[-3000:]}{good.stderr[-2000:]}"
    assert re.search(rf"^PASS {ip}: \d+ cases, \d+ values bit-exact$", good.stdout, re.M), good.stdout
    bad = tmp_path / "corrupted.vec"
    bad.write_text(_corrupt(vec.read_text()))
    proc = hls_vectors.run_testbench(ip, bad)
    assert proc.returncode == 1, f"a corrupted expected value passed the {ip} testbench:\n{proc.stdout[-2000:]}"
    assert "MISMATCH" in proc.stdout and f"FAIL {ip}" in proc.stdout


@pytest.mark.usefixtures("_gxx")
def test_testbench_rejects_malformed_files(tmp_path):
    vec = hls_vectors.dump("requantize", tmp_path, count=3)
    text = vec.read_text()
    cases = {
        "truncated": text[: len(text) // 2],
        "other-ip": text.replace("spvit-hls-vectors 1 requantize", "spvit-hls-vectors 1 linear", 1),
        "renamed-array": text.replace("\nacc ", "\naccs ", 1),
        "trailing": text + "shift 1 0\n",
    }
    for name, body in cases.items():
        path = tmp_path / f"{name}.vec"
        path.write_text(body)
        proc = hls_vectors.run_testbench("requantize", path)
        assert proc.returncode == 2 and "ERROR" in proc.stderr, f"{name}: {proc.returncode}\n{proc.stderr}"
    proc = hls_vectors.run_testbench("requantize", tmp_path / "missing.vec")
    assert proc.returncode == 2 and "hls_vectors --top requantize" in proc.stderr


# Vitis' ap_axi_sdata.h is not among hls4ml's ap_types: a stand-in with the members of ap_axiu that UG1399 documents
# (data, keep, strb, last; no user / id / dest at widths 0) compiles the tops' SPVIT_AXIS_SIDEBAND path here.
AXIS_STAND_IN = """\
#ifndef SPVIT_TEST_AP_AXI_SDATA_H
#define SPVIT_TEST_AP_AXI_SDATA_H
#include "ap_int.h"
template <int D, int U, int TI, int TD> struct ap_axiu {
    ap_uint<D> data;
    ap_uint<(D + 7) / 8> keep;
    ap_uint<(D + 7) / 8> strb;
    ap_uint<1> last;
};
#endif
"""


@pytest.mark.usefixtures("_gxx")
def test_sideband_beats(tmp_path):
    """With SPVIT_AXIS_SIDEBAND (as build_prj.tcl compiles) the beat is ap_axiu, a type of its own: prune_stage's
    copies between it and the kernel's axis_word streams still pass every vector."""
    folder = tools.build_root("hls") / "vitis-tb" / "axis-stand-in"
    header = folder / "ap_axi_sdata.h"
    if not header.is_file() or header.read_text() != AXIS_STAND_IN:
        folder.mkdir(parents=True, exist_ok=True)
        header.write_text(AXIS_STAND_IN)
    exe = hls_vectors.build_testbench("prune_stage", ("-DSPVIT_AXIS_SIDEBAND", "-I", str(folder)), (header,))
    vec = hls_vectors.dump("prune_stage", tmp_path, seed=2)
    proc = subprocess.run([str(exe), str(vec)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and "PASS prune_stage" in proc.stdout, proc.stdout[-3000:] + proc.stderr[-3000:]


def test_dumper_command_line(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "spvit.sim.hls_vectors", "--top", "topk_select", "--out",
                           str(tmp_path), "--count", "3", "--seed", "5"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    text = (tmp_path / "topk_select.vec").read_text()
    assert text.splitlines()[0] == "spvit-hls-vectors 1 topk_select 3"
    assert text == hls_vectors.dump("topk_select", tmp_path / "again", count=3, seed=5).read_text()  # reproducible
    assert subprocess.run([sys.executable, "-m", "spvit.sim.hls_vectors", "--top", "nope", "--out", str(tmp_path)],
                          capture_output=True).returncode != 0


# ---- the scripts -----------------------------------------------------------------------------------------------------


def _ips_table() -> dict[str, dict[str, str]]:
    """ips.tcl's `set spvit_ips {...}`: name -> {top, section, description} (a plain Tcl dict of dicts)."""
    body = re.search(r"set spvit_ips \{\n(.*?)\n\}", (VITIS / "ips.tcl").read_text(), re.S).group(1)
    table = {}
    for line in body.splitlines():
        name, rest = line.split(None, 1)
        fields = re.findall(r'(\w+)\s+("[^"]*"|\{[^}]*\}|\S+)', rest.strip()[1:-1])
        table[name] = {k: v.strip('"{}') for k, v in fields}
    return table


def _board():
    return yaml.safe_load((REPO / "boards" / "zcu102" / "board.yaml").read_text())


def _defines(path: Path, function: str) -> bool:
    """`function` is defined (not only declared) at file scope in `path`."""
    return re.search(rf"^[A-Za-z_][^;{{}}]*\b{function}\s*\([^;{{}}]*\)\s*\{{", path.read_text(), re.M) is not None


def test_ips_agree_everywhere():
    table = _ips_table()
    assert sorted(table) == sorted(IPS)
    assert sorted(p.stem for p in (VITIS / "tops").glob("*.cpp")) == sorted(IPS)
    assert sorted(p.name[: -len("_tb.cpp")] for p in (VITIS / "tb").glob("*_tb.cpp")) == sorted(IPS)
    header = (VITIS / "tops" / "spvit_ip.hpp").read_text()
    for ip, row in table.items():
        assert _defines(VITIS / "tops" / f"{ip}.cpp", row["top"]), f"tops/{ip}.cpp does not define {row['top']}"
        assert re.search(rf"\b{row['top']}\(", header), f"spvit_ip.hpp does not declare {row['top']}"
        assert f"{row['top']}(" in (VITIS / "tb" / f"{ip}_tb.cpp").read_text(), f"tb/{ip}_tb.cpp never calls the top"
        assert row["description"] and row["section"]


def test_part_and_clock_are_the_zcu102s():
    """The defaults are the ZCU102's; the board flow (boards/Makefile) overrides them per board."""
    script = (VITIS / "build_prj.tcl").read_text()
    board = _board()
    assert re.search(rf"^set part \[spvit_env SPVIT_HLS_PART {re.escape(board['part'])}\]$", script, re.M)
    period = float(re.search(r"^set period \[spvit_env SPVIT_HLS_PERIOD ([\d.]+)\]$", script, re.M).group(1))
    assert period == round(1000 / board["clock_mhz"], 2) == 3.33


# The Vitis commands as stubs that print their arguments; export_design leaves an archive where Vitis HLS 2022.1
# does; exit ends the interpreter after flushing.
DRY_RUN = textwrap.dedent("""\
    proc spvit_record {args} {
        puts "CALL"
        foreach a $args { puts "ARG $a" }
        puts "END"
    }
    foreach cmd {open_project set_top add_files open_solution set_part create_clock csim_design csynth_design
                 cosim_design} {
        proc $cmd {args} "spvit_record $cmd {*}\\$args"
    }
    proc export_design {args} {
        spvit_record export_design {*}$args
        file mkdir [file join spvit_$::ip sol impl ip]
        set fh [open [file join spvit_$::ip sol impl ip xilinx_com_hls_${::ip}_1_0.zip] w]
        puts $fh archive
        close $fh
    }
    rename exit spvit_exit
    proc exit {args} { puts "EXIT"; flush stdout; spvit_exit 0 }
    source {%s}
    puts "FELL THROUGH"
    """)


def _dry_run(tcl, ip: str, tmp_path: Path, steps: str | None = None) -> list[list[str]]:
    driver = tmp_path / "dry_run.tcl"
    driver.write_text(DRY_RUN % (VITIS / "build_prj.tcl"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPVIT_HLS_")}
    env.update(SPVIT_HLS_IP=ip, SPVIT_HLS_BUILD=str(tmp_path / "build"), SPVIT_HLS_VECTORS=str(tmp_path / "vectors"))
    if steps is not None:
        env["SPVIT_HLS_STEPS"] = steps
    proc = subprocess.run([*tcl, str(driver)], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert proc.returncode == 0 and proc.stdout.rstrip().endswith("EXIT"), f"{ip}:\n{proc.stdout}\n{proc.stderr}"
    calls, current = [], None
    for line in proc.stdout.splitlines():
        if line == "CALL":
            current = []
        elif line == "END":
            calls.append(current)
            current = None
        elif current is not None and line.startswith("ARG "):
            current.append(line[4:])
    return calls


def test_build_script_dry_run(tmp_path, require_tool):
    """build_prj.tcl in a Tcl interpreter with stubbed Vitis commands, for every IP: the flow in order, set_top on
    the top the IP's .cpp defines, every file it adds exists, the ZCU102's part and clock, the IP exported and
    copied to <build>/ip/<ip>.zip."""
    tcl = [str(require_tool("tcl"))]
    table, board = _ips_table(), _board()
    for ip in IPS:
        (tmp_path / "vectors").mkdir(exist_ok=True)
        (tmp_path / "vectors" / f"{ip}.vec").write_text("stand-in\n")
        calls = _dry_run(tcl, ip, tmp_path)
        names = [c[0] for c in calls]
        assert [n for i, n in enumerate(names) if i == 0 or names[i - 1] != n] == FLOW, names
        args = {c[0]: c[1:] for c in calls}
        assert args["open_project"] == ["-reset", f"spvit_{ip}"]
        assert args["set_top"] == [table[ip]["top"]]
        assert _defines(VITIS / "tops" / f"{ip}.cpp", args["set_top"][0])
        assert args["set_part"] == [board["part"]]
        assert args["create_clock"][:2] == ["-period", "3.33"]
        assert args["open_solution"][0] == "-reset" and "vivado" in args["open_solution"]
        assert args["export_design"][:2] == ["-format", "ip_catalog"]
        design, testbench = [], []
        for c in calls:
            if c[0] == "add_files":
                (testbench if "-tb" in c else design).append(c[c.index("-tb") + 1] if "-tb" in c else c[1])
                if "-cflags" in c:
                    flags = c[c.index("-cflags") + 1]
                    assert "-std=c++14" in flags and "-DSPVIT_AXIS_SIDEBAND" in flags
                    for inc in re.findall(r"-I(\S+)", flags):
                        assert Path(inc).is_dir(), inc
        for path in design + testbench:
            assert Path(path).is_file(), f"{ip}: {path} does not exist"
        assert Path(design[0]) == VITIS / "tops" / f"{ip}.cpp"
        assert {Path(p) for p in design[1:]} == {*hls_vectors.hls_csim.HLS_DIR.glob("*.hpp"),
                                                  VITIS / "tops" / "spvit_ip.hpp"}
        assert [Path(p) for p in testbench] == [VITIS / "tb" / f"{ip}_tb.cpp", VITIS / "tb" / "tb_common.hpp",
                                                tmp_path / "vectors" / f"{ip}.vec"]
        assert (tmp_path / "build" / "ip" / f"{ip}.zip").read_text() == "archive\n"
    # a subset of the steps; a synthesis alone needs no vectors
    (tmp_path / "vectors" / "lut.vec").unlink()
    calls = _dry_run(tcl, "lut", tmp_path, steps="csynth")
    assert [c[0] for c in calls][-2:] == ["create_clock", "csynth_design"]
    assert not any("lut.vec" in a for c in calls for a in c)


# ---- the Makefile ----------------------------------------------------------------------------------------------------


def test_make_hls_ip_without_vitis_says_what_is_missing(tmp_path, require_tool):
    make = str(require_tool("make"))
    empty = tmp_path / "bin"
    empty.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("VITIS_HLS_CMD", "XILINX_VITIS", "MAKEFLAGS")}
    env["PATH"] = str(empty)  # no tool at all: the check must not need one
    for target in ("hls-ip", "hls-ip-encoder_block"):
        proc = subprocess.run([make, "-C", str(REPO), target, f"HLS_BUILD={tmp_path / 'out'}"], capture_output=True,
                              text=True, env=env)
        assert proc.returncode != 0
        for words in ("vitis-run", "vitis_hls", "is on PATH", "AMD Vitis", "settings64.sh", "source "):
            assert words in proc.stderr, f"{target}: {words!r} missing from:\n{proc.stderr}"
        assert not (tmp_path / "out").exists(), "nothing may run before the tool check"


STAND_IN = textwrap.dedent("""\
    #!{python}
    import json, os, sys
    with open({log!r}, "a") as fh:
        fh.write(json.dumps({{"tool": os.path.basename(sys.argv[0]), "argv": sys.argv[1:], "cwd": os.getcwd(),
                             "env": {{k: v for k, v in os.environ.items() if k.startswith("SPVIT_HLS_")}}}}) + "\\n")
    """)


@pytest.mark.parametrize("tools_present", [("vitis-run", "vitis_hls"), ("vitis_hls",)], ids=["vitis-run", "vitis_hls"])
def test_make_hls_ip_runs_the_build_script(tools_present, tmp_path, require_tool):
    """With stand-ins for the Vitis tools on PATH: the golden vectors are dumped, then vitis-run (preferred) or
    vitis_hls runs build_prj.tcl from the IP's build folder with the IP, build folder and steps in the environment."""
    make = str(require_tool("make"))
    assert (REPO / ".venv" / "bin" / "python").exists(), "the Makefile's recipes run the project's .venv (make venv)"
    bindir, log, out = tmp_path / "bin", tmp_path / "calls.jsonl", tmp_path / "out"
    stamp = tmp_path / "stamp"  # a fresh venv stamp: the recipe's `make venv` must not reinstall anything here
    stamp.touch()
    bindir.mkdir()
    for name in tools_present:
        (bindir / name).write_text(STAND_IN.format(python=sys.executable, log=str(log)))
        (bindir / name).chmod(0o755)
    path = [p for p in os.environ.get("PATH", "").split(os.pathsep)
            if p and not any(os.access(Path(p) / t, os.X_OK) for t in ("vitis-run", "vitis_hls"))]
    env = {k: v for k, v in os.environ.items() if k not in ("VITIS_HLS_CMD", "MAKEFLAGS")}
    env["PATH"] = os.pathsep.join([str(bindir), *path])
    proc = subprocess.run([make, "-C", str(REPO), "hls-ip-softmax", f"HLS_BUILD={out}", "HLS_COUNT=2",
                           "HLS_STEPS=csim csynth", f"STAMP={stamp}"], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (out / "softmax" / "vectors" / "softmax.vec").read_text().startswith("spvit-hls-vectors 1 softmax 2\n")
    (call,) = [json.loads(line) for line in log.read_text().splitlines()]
    script = str(VITIS / "build_prj.tcl")
    if "vitis-run" in tools_present:
        assert call["tool"] == "vitis-run" and call["argv"] == ["--mode", "hls", "--tcl", script]
    else:
        assert call["tool"] == "vitis_hls" and call["argv"] == ["-f", script]
    assert Path(call["cwd"]) == out / "softmax"
    assert call["env"] == {"SPVIT_HLS_IP": "softmax", "SPVIT_HLS_BUILD": str(out), "SPVIT_HLS_STEPS": "csim csynth"}
