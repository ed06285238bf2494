"""The board flow of boards/ (boards/Makefile, boards/common/*.tcl, spvit.hw_build), proved without Vivado or Vitis.

- Every boards/*/board.yaml validates against the one schema (spvit.hw_build.validate_board), is usable by the latency
  model and the resource report, and becomes a Tcl include; broken files are refused with the key named.
- A board is a folder: the shared scripts and the Makefile name no board, part or board part, and every check below
  runs for every board folder found (kv260 was added exactly so).
- block_design.tcl, package_rtl_ip.tcl and bitstream.tcl run in a Tcl interpreter with the Vivado commands stubbed:
  only real Vivado commands are issued, in the flow's order, with the board's part, board part and clock from its
  board.yaml, the DMA settings, every kernel and DMA wired, and the .bit / .hwh copied side by side.
- accel.tcl agrees with the HLS tops (hw/hls/vitis/tops/) and the RTL tops (hw/rtl/): every interface it wires exists.
- `make -n` lists the steps in order; `make` and `spvit hw build` without Vivado on PATH exit non-zero naming it.
"""
from __future__ import annotations

import argparse
import copy
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from spvit import hw_build
from spvit.sim import tools

REPO = hw_build.REPO
BOARDS = hw_build.BOARDS_DIR
COMMON = BOARDS / "common"
BOARD_NAMES = hw_build.board_names()
IMPLS = list(hw_build.IMPLS)
SCRIPTS = ["flow.tcl", "accel.tcl", "block_design.tcl", "bitstream.tcl", "package_rtl_ip.tcl"]

# Every command the scripts may issue that a plain Tcl interpreter lacks: real Vivado commands. A typo in a script
# shows up as a command outside this list.
VIVADO_COMMANDS = {
    "create_project", "open_project", "close_project", "current_project", "set_property", "get_property",
    "update_ip_catalog", "get_ipdefs", "get_parts", "create_bd_design", "current_bd_design", "create_bd_cell",
    "apply_bd_automation", "get_bd_cells", "get_bd_pins", "get_bd_intf_pins", "connect_bd_net", "connect_bd_intf_net",
    "assign_bd_address", "validate_bd_design", "save_bd_design", "get_files", "get_filesets", "make_wrapper",
    "add_files", "remove_files", "current_fileset", "update_compile_order", "reset_run", "launch_runs", "wait_on_run",
    "get_runs", "open_run", "report_utilization", "report_timing_summary",
    "ipx::package_project", "ipx::current_core", "ipx::get_bus_interfaces", "ipx::infer_bus_interface",
    "ipx::get_bus_parameters", "ipx::add_bus_parameter", "ipx::associate_bus_interfaces", "ipx::get_memory_maps",
    "ipx::add_memory_map", "ipx::add_address_block", "ipx::get_user_parameters", "ipx::get_address_spaces",
    "ipx::add_address_space", "ipx::create_xgui_files", "ipx::update_checksums", "ipx::check_integrity",
    "ipx::save_core",
}


def _board(name: str) -> dict:
    return yaml.safe_load((BOARDS / name / "board.yaml").read_text())


def _kernels_from_tcl(impl: str) -> dict[str, dict[str, str]]:
    """accel.tcl's table for one implementation, parsed by a real Tcl interpreter."""
    script = f"source {{{COMMON / 'accel.tcl'}}}\n" \
             f"dict for {{k spec}} [dict get $spvit_accel {impl}] {{ dict for {{f v}} $spec {{ puts \"$k\\t$f\\t[join $v]\" }} }}\n"
    out = _tcl_eval(script)
    table: dict[str, dict[str, str]] = {}
    for line in out.splitlines():
        kernel, field, value = line.split("\t")
        table.setdefault(kernel, {})[field] = value
    return table


# ---- Tcl ------------------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tcl(require_tool):
    return [str(require_tool("tcl"))]


def _tcl_eval(script: str) -> str:
    cmd = [str(tools.tcl())]
    import tempfile

    with tempfile.NamedTemporaryFile("w", suffix=".tcl", delete=False) as fh:
        fh.write(script)
    try:
        proc = subprocess.run([*cmd, fh.name], capture_output=True, text=True)
    finally:
        os.unlink(fh.name)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


# Vivado stubbed: every command Tcl does not know is recorded (name and arguments) and returns its last argument
# (so `[get_bd_pins x/y]` is `x/y` and `create_bd_cell ... name` is `name`), or its name when it has none
# (`[current_project]` is `current_project`); get_property answers for the runs.
DRY_RUN = textwrap.dedent("""\
    proc spvit_record {name args} {
        puts "CALL"
        puts "ARG $name"
        foreach a $args { puts "ARG $a" }
        puts "END"
    }
    rename unknown spvit_tcl_unknown
    proc unknown {name args} {
        spvit_record $name {*}$args
        if {[llength $args] > 0} { return [lindex $args end] }
        return $name
    }
    proc get_property {name object} {
        spvit_record get_property $name $object
        switch -- $name {
            PROGRESS { return "100%" }
            STATUS { return "write_bitstream Complete!" }
            STATS.WNS { return $::env(DRY_WNS) }
            DIRECTORY { return $::env(DRY_RUN_DIR) }
            FAMILY { return zynquplus }
            default { return $object }
        }
    }
    source {@SCRIPT@}
    puts "DONE"
    """)


def _dry_run(tcl, script: str, env: dict[str, str], cwd: Path, expect_ok: bool = True):
    driver = cwd / f"dry_{script}"
    driver.write_text(DRY_RUN.replace("@SCRIPT@", str(COMMON / script)))
    full = {k: v for k, v in os.environ.items() if not k.startswith("SPVIT_")}
    full.update(env)
    proc = subprocess.run([*tcl, str(driver)], capture_output=True, text=True, env=full, cwd=cwd)
    if not expect_ok:
        return proc
    assert proc.returncode == 0 and proc.stdout.rstrip().endswith("DONE"), f"{script}:\n{proc.stdout}\n{proc.stderr}"
    calls, current = [], None
    for line in proc.stdout.splitlines():
        if line == "CALL":
            current = []
        elif line == "END":
            calls.append(current)
            current = None
        elif current is not None and line.startswith("ARG "):
            current.append(line[4:])
    unknown = {c[0] for c in calls} - VIVADO_COMMANDS
    assert not unknown, f"{script} issues commands Vivado does not have: {sorted(unknown)}"
    return calls


def _board_env(name: str, tmp_path: Path, impl: str = "hls") -> dict[str, str]:
    include = hw_build.write_board_tcl(name, tmp_path / "board.tcl")
    return {"SPVIT_BOARD_TCL": str(include), "SPVIT_BUILD": str(tmp_path / "build"), "SPVIT_IMPL": impl,
            "DRY_WNS": "0.125", "DRY_RUN_DIR": str(tmp_path / "build" / f"vivado_{impl}" / "spvit.runs" / "impl_1")}


def _fake_ips(tmp_path: Path, impl: str):
    """component.xml where the flow's IP steps leave each kernel's IP (build_prj.tcl / package_rtl_ip.tcl)."""
    for k in hw_build.KERNELS:
        d = tmp_path / "build" / ("hls" if impl == "hls" else "rtl_ip") / k
        if impl == "hls":
            d = d / f"spvit_{k}" / "sol" / "impl" / "ip"
        d.mkdir(parents=True, exist_ok=True)
        (d / "component.xml").write_text("<stand-in/>\n")


def _dict_arg(call: list[str]) -> dict[str, str]:
    """set_property -dict {K V ...} object -> {K: V}."""
    assert call[0] == "set_property" and call[1] == "-dict", call
    words = call[2].split()
    return dict(zip(words[0::2], words[1::2]))


# ---- the board files ------------------------------------------------------------------------------------------------

def test_boards_are_found():
    assert {"zcu102", "kv260"} <= set(BOARD_NAMES)
    assert BOARD_NAMES == sorted(p.parent.name for p in BOARDS.glob("*/board.yaml"))


@pytest.mark.parametrize("name", BOARD_NAMES)
def test_every_board_validates_and_is_usable(name, tmp_path):
    data = _board(name)
    assert hw_build.validate_board(data, name=name) == []
    assert hw_build.load_board(name) == data
    # the other readers of board.yaml take it unchanged: no code change outside the folder
    from spvit.quant import latency
    from spvit.sim import resources

    par = latency.parallelism(latency.load_board(name))
    assert par["dsp48e2_used"] <= data["resources"]["dsp48e2"] and par["dram_gbps"] > 0
    cap = resources.board_capacity(name)
    assert {k: cap[k] for k in data["resources"]} == data["resources"]
    # the Tcl include carries every value
    text = hw_build.write_board_tcl(name, tmp_path / "b.tcl").read_text()
    assert f"set spvit_part {data['part']}\n" in text
    assert f"set spvit_board_part {data['board_part']}\n" in text
    assert f"set spvit_clock_mhz {data['clock_mhz']}\n" in text
    assert f"set spvit_memory_hp_ports {{{' '.join(data['memory']['hp_ports'])}}}\n" in text
    values = _tcl_eval(f"source {{{tmp_path / 'b.tcl'}}}\nputs [list $spvit_part $spvit_board_part $spvit_clock_mhz "
                       f"$spvit_dma_length_bits $spvit_board_connections $spvit_clock_period_ns]\n")
    part, board_part, clock, length, *rest = values.split()
    assert (part, board_part, int(clock), int(length)) == (data["part"], data["board_part"], data["clock_mhz"],
                                                          data["dma"]["length_bits"])
    assert float(rest[-1]) == pytest.approx(1000 / data["clock_mhz"], abs=1e-3)


def test_board_facts():
    z, k = _board("zcu102"), _board("kv260")
    assert (z["part"], z["board_part"], z["clock_mhz"]) == ("xczu9eg-ffvb1156-2-e", "xilinx.com:zcu102:part0:3.3", 300)
    assert (k["part"], k["board_part"]) == ("xck26-sfvc784-2LV-c", "xilinx.com:kv260_som:part0:1.4")
    assert k["resources"] == {"lut": 117120, "ff": 234240, "bram36": 144, "dsp48e2": 1248, "uram": 64}
    for b in (z, k):
        assert b["memory"]["hp_port_bits"] == 128 and "64-bit" in b["memory"]["ddr"]
        assert b["dma"]["length_bits"] == 26 and b["dma"]["stream_bits"] == 128 and b["dma"]["scatter_gather"] is False


@pytest.mark.parametrize("mutate, key", [
    (lambda b: b.pop("part"), "part"),
    (lambda b: b.update(part="zcu102"), "part"),
    (lambda b: b.update(board_part="zcu102"), "board_part"),
    (lambda b: b.update(clock_mhz="300"), "clock_mhz"),
    (lambda b: b.update(clock_mhz=0), "clock_mhz"),
    (lambda b: b.update(clock_mz=300), "clock_mz"),
    (lambda b: b["resources"].update(lut=-1), "resources.lut"),
    (lambda b: b["resources"].pop("dsp48e2"), "resources.dsp48e2"),
    (lambda b: b["memory"].update(hp_ports=["S_AXI_HP7_FPD"]), "memory.hp_ports"),
    (lambda b: b["memory"].update(hp_ports=[]), "memory.hp_ports"),
    (lambda b: b["memory"].update(hp_port_bits=96), "memory.hp_port_bits"),
    (lambda b: b["ps"].update(control_port="S_AXI_HP0_FPD"), "ps.control_port"),
    (lambda b: b["ps"].update(board_preset="yes"), "ps.board_preset"),
    (lambda b: b["dma"].update(length_bits=27), "dma.length_bits"),
    (lambda b: b["dma"].update(stream_bits=64), "dma.stream_bits"),
    (lambda b: b["dma"].update(scatter_gather=True), "dma.scatter_gather"),
    (lambda b: b["dma"].update(burst_beats=48), "dma.burst_beats"),
    (lambda b: b.pop("dma"), "dma"),
    (lambda b: b.update(board_connections="som240_1_connector"), "board_connections"),
    (lambda b: b.update(board="other"), "board"),
])
def test_schema_refuses_broken_boards(mutate, key):
    board = copy.deepcopy(_board("zcu102"))
    mutate(board)
    problems = hw_build.validate_board(board, name="zcu102")
    assert any(p.startswith(f"{key}:") for p in problems), problems


def test_unknown_board_is_refused():
    with pytest.raises(hw_build.BoardError, match="unknown board 'nope'.*kv260, zcu102"):
        hw_build.load_board("nope")
    with pytest.raises(hw_build.BoardError):
        hw_build.load_board("../boards/zcu102")


def test_a_board_is_a_folder():
    """The shared flow names no board: no board name, part or board part in the scripts or the Makefile (beyond the
    Makefile's default BOARD), so a new folder boards/<board>/board.yaml is all a new board needs."""
    def code(path: Path) -> str:  # comments (usage examples) aside
        return "\n".join(line for line in path.read_text().splitlines() if not line.lstrip().startswith("#"))

    texts = {p.name: code(p) for p in COMMON.glob("*.tcl")}
    texts["Makefile"] = code(BOARDS / "Makefile").replace("BOARD ?= zcu102", "")
    for name in BOARD_NAMES:
        board = _board(name)
        for word in (board["part"], board["board_part"], f"{board['clock_mhz']} MHz", name):
            for file, text in texts.items():
                assert not re.search(rf"(?<![\w.-]){re.escape(word)}(?![\w.-])", text), \
                    f"{file} names {word!r} of boards/{name}"
    assert sorted(p.name for p in COMMON.iterdir()) == sorted(SCRIPTS)  # every script is dry-run below


# ---- the accelerator table against the kernels ----------------------------------------------------------------------

def test_kernel_lists_agree():
    makefile = (BOARDS / "Makefile").read_text()
    assert re.search(r"^KERNELS := (.*)$", makefile, re.M).group(1).split() == list(hw_build.KERNELS)
    for impl in IMPLS:
        assert list(_kernels_from_tcl(impl)) == list(hw_build.KERNELS)


def _hls_interfaces(kernel: str) -> set[str]:
    """Interfaces Vitis HLS gives the top of hw/hls/vitis/tops/<kernel>.cpp."""
    text = (REPO / "hw" / "hls" / "vitis" / "tops" / f"{kernel}.cpp").read_text()
    found = {"ap_clk", "ap_rst_n"}
    found |= {m for m in re.findall(r"INTERFACE axis port = (\w+)", text)}
    found |= {f"m_axi_{b}" for b in re.findall(r"INTERFACE m_axi port = \w+ .*?bundle = (\w+)", text)}
    found |= {f"s_axi_{b}" for b in re.findall(r"INTERFACE s_axilite port = \w+ bundle = (\w+)", text)}
    if re.search(r"INTERFACE s_axilite port = return bundle = control", text):
        found.add("interrupt")
    return found


def _rtl_interfaces(kernel: str) -> set[str]:
    """Interfaces Vivado's packager infers from hw/rtl/<kernel>.sv's port names (prefix before _tdata / _awaddr ...)."""
    text = (REPO / "hw" / "rtl" / f"{kernel}.sv").read_text()
    header = text[text.index(f"module {kernel}"):]
    header = header[:header.index("\n);")]
    ports = re.findall(r"^\s*(?:input|output)\s+wire\s+logic\s*(?:\[[^\]]*\]\s*)?(\w+)", header, re.M)
    found = set()
    for port in ports:
        m = re.match(r"^(\w+?)_(tdata|awaddr|araddr)$", port)
        found.add(m.group(1) if m else port)
    return found


@pytest.mark.parametrize("impl", IMPLS)
def test_accel_table_matches_the_kernels(impl):
    table = _kernels_from_tcl(impl)
    for kernel, spec in table.items():
        have = _hls_interfaces(kernel) if impl == "hls" else _rtl_interfaces(kernel)
        named = [spec["clock"], spec["reset"], spec["control"], *spec["stream_in"].split(), spec["stream_out"],
                 *spec["masters"].split(), *spec["irq"].split(), *spec["links"].split()[0::2]]
        # a kernel without a stream_in takes its tokens on a link from another kernel
        assert spec["stream_in"] or any(f"{kernel}/s_axis" in other["links"].split() for other in table.values())
        for intf in named:
            assert intf in have, f"{impl} {kernel}: accel.tcl names {intf!r}; the kernel has {sorted(have)}"
        for peer in spec["links"].split()[1::2]:
            other, intf = peer.split("/")
            other_have = _hls_interfaces(other) if impl == "hls" else _rtl_interfaces(other)
            assert intf in other_have, f"{impl}: link to {peer}, which {other} lacks"
        assert spec["reset_polarity"] == ("low" if spec["reset"].endswith("_n") else "high")
        prefix = "spvit:hls:" if impl == "hls" else "spvit:rtl:"
        assert spec["vlnv"] == f"{prefix}{kernel}:1.0"
    if impl == "hls":  # the VLNV and IP folder the Vitis flow exports (hw/hls/vitis/build_prj.tcl)
        flow = (REPO / "hw" / "hls" / "vitis" / "build_prj.tcl").read_text()
        assert "export_design -format ip_catalog -vendor spvit -library hls -version 1.0 -ipname $ip" in flow
        assert "cd [file join $build $ip]" in flow and "open_project -reset spvit_$ip" in flow
        assert "open_solution -reset sol" in flow


# ---- the Vivado scripts, dry-run ------------------------------------------------------------------------------------

@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("name", BOARD_NAMES)
def test_block_design_dry_run(tcl, name, impl, tmp_path):
    board = _board(name)
    env = _board_env(name, tmp_path, impl)
    _fake_ips(tmp_path, impl)
    calls = _dry_run(tcl, "block_design.tcl", env, tmp_path)
    names = [c[0] for c in calls]

    # the flow, in order
    order = ["create_project", "create_bd_design", "apply_bd_automation", "assign_bd_address", "validate_bd_design",
             "save_bd_design", "make_wrapper", "add_files", "close_project"]
    assert [names.index(n) for n in order] == sorted(names.index(n) for n in order), names
    proj = tmp_path / "build" / f"vivado_{impl}"
    create = calls[names.index("create_project")]
    assert create[1:] == ["-force", "spvit", str(proj), "-part", board["part"]]
    props = [c for c in calls if c[0] == "set_property" and c[1] != "-dict"]
    assert ["set_property", "board_part", board["board_part"], "current_project"] in props
    if "board_connections" in board:
        assert ["set_property", "board_connections", board["board_connections"], "current_project"] in props
    repos = next(c for c in props if c[1] == "ip_repo_paths")[2].split()
    assert len(repos) == len(hw_build.KERNELS) and all((Path(r) / "component.xml").is_file() for r in repos)
    auto = calls[names.index("apply_bd_automation")]
    assert auto[1:3] == ["-rule", "xilinx.com:bd_rule:zynq_ultra_ps_e"] and 'apply_board_preset "1"' in auto[4]

    cells = {c[-1]: c[c.index("-vlnv") + 1] for c in calls if c[0] == "create_bd_cell"}
    table = _kernels_from_tcl(impl)
    assert cells["zynq_ultra_ps_e_0"] == "xilinx.com:ip:zynq_ultra_ps_e"
    for kernel in hw_build.KERNELS:
        assert cells[kernel] == table[kernel]["vlnv"]
        assert cells[f"dma_{kernel}"] == "xilinx.com:ip:axi_dma"

    dicts = {c[-1]: _dict_arg(c) for c in calls if c[0] == "set_property" and c[1] == "-dict"}
    ps = dicts["zynq_ultra_ps_e_0"]
    assert ps["CONFIG.PSU__CRL_APB__PL0_REF_CTRL__FREQMHZ"] == str(board["clock_mhz"])
    assert ps["CONFIG.PSU__FPGA_PL0_ENABLE"] == "1" and ps["CONFIG.PSU__USE__IRQ0"] == "1"
    assert (ps["CONFIG.PSU__USE__M_AXI_GP0"], ps["CONFIG.PSU__USE__M_AXI_GP1"], ps["CONFIG.PSU__USE__M_AXI_GP2"]) == \
        ("1", "0", "0")
    assert ps["CONFIG.PSU__MAXIGP0__DATA_WIDTH"] == str(board["ps"]["control_port_bits"])
    hp = {"S_AXI_HP0_FPD": 2, "S_AXI_HP1_FPD": 3, "S_AXI_HP2_FPD": 4, "S_AXI_HP3_FPD": 5}
    masters = sum(len(s["masters"].split()) + 1 + bool(s["stream_in"]) for s in table.values())  # + the DMAs'
    used = board["memory"]["hp_ports"][:masters]
    for port in used:
        assert ps[f"CONFIG.PSU__USE__S_AXI_GP{hp[port]}"] == "1"
        assert ps[f"CONFIG.PSU__SAXIGP{hp[port]}__DATA_WIDTH"] == str(board["memory"]["hp_port_bits"])
    for kernel in hw_build.KERNELS:
        dma = dicts[f"dma_{kernel}"]
        assert dma["CONFIG.c_include_sg"] == "0"
        assert dma["CONFIG.c_sg_length_width"] == str(board["dma"]["length_bits"]) == "26"
        assert dma["CONFIG.c_s_axis_s2mm_tdata_width"] == "128"
        assert dma["CONFIG.c_m_axi_s2mm_data_width"] == str(board["dma"]["mm_bits"])
        assert dma["CONFIG.c_include_mm2s"] == ("1" if table[kernel]["stream_in"] else "0")
        if table[kernel]["stream_in"]:
            assert dma["CONFIG.c_m_axis_mm2s_tdata_width"] == "128"
            assert dma["CONFIG.c_m_axi_mm2s_data_width"] == str(board["dma"]["mm_bits"])
        else:
            assert not any(k.startswith("CONFIG.c_m_axi_mm2s") or k.startswith("CONFIG.c_m_axis_mm2s") for k in dma)
        assert dma["CONFIG.c_addr_width"] == str(board["dma"]["addr_bits"])

    # wiring: streams through each kernel's DMA, every master on a memory SmartConnect, every register slave on the
    # control SmartConnect, the links, the interrupts
    intf = [(c[1], c[2]) for c in calls if c[0] == "connect_bd_intf_net"]
    nets = [tuple(c[1:]) for c in calls if c[0] == "connect_bd_net"]
    for kernel, spec in table.items():
        mm2s = [(f"dma_{kernel}/M_AXIS_MM2S", f"{kernel}/{spec['stream_in']}")] if spec["stream_in"] else []
        assert [c for c in intf if c[0] == f"dma_{kernel}/M_AXIS_MM2S"] == mm2s
        assert (f"{kernel}/{spec['stream_out']}", f"dma_{kernel}/S_AXIS_S2MM") in intf
        for m in [*(f"{kernel}/{x}" for x in spec["masters"].split()),
                  *([f"dma_{kernel}/M_AXI_MM2S"] if spec["stream_in"] else []), f"dma_{kernel}/M_AXI_S2MM"]:
            assert any(a == m and re.fullmatch(r"mem_sc\d/S\d\d_AXI", b) for a, b in intf), m
        for slave in (f"{kernel}/{spec['control']}", f"dma_{kernel}/S_AXI_LITE"):
            assert any(re.fullmatch(r"ctrl_sc/M\d\d_AXI", a) and b == slave for a, b in intf), slave
        for out, peer in zip(spec["links"].split()[0::2], spec["links"].split()[1::2]):
            assert (f"{kernel}/{out}", peer) in intf
        reset = "rst_pl/peripheral_aresetn" if spec["reset_polarity"] == "low" else "rst_pl/peripheral_reset"
        assert (reset, f"{kernel}/{spec['reset']}") in nets
        assert ("zynq_ultra_ps_e_0/pl_clk0", f"{kernel}/{spec['clock']}") in nets
        if spec["irq"]:
            assert any(a == f"{kernel}/{spec['irq']}" and b.startswith("irq_concat/In") for a, b in nets)
    assert ("zynq_ultra_ps_e_0/M_AXI_HPM0_FPD", "ctrl_sc/S00_AXI") in intf
    assert {b for a, b in intf if a.startswith("mem_sc")} == {f"zynq_ultra_ps_e_0/{p}" for p in used}
    assert ("irq_concat/dout", "zynq_ultra_ps_e_0/pl_ps_irq0") in nets
    wrapper = calls[names.index("make_wrapper")]
    assert wrapper[1:] == ["-files", "spvit.bd", "-top"]
    assert ["set_property", "top", "spvit_wrapper", "current_fileset"] in calls
    assert names.index("add_files") > names.index("make_wrapper")
    assert (proj / "block_design.done").read_text().startswith(f"board {name} impl {impl} part {board['part']}")


def test_block_design_needs_the_ips(tcl, tmp_path):
    env = _board_env("zcu102", tmp_path, "hls")
    proc = _dry_run(tcl, "block_design.tcl", env, tmp_path, expect_ok=False)
    assert proc.returncode != 0 and "no IP for encoder_block" in proc.stderr and "hls_ip" in proc.stderr


@pytest.mark.parametrize("name", BOARD_NAMES)
def test_package_rtl_ip_dry_run(tcl, name, tmp_path):
    env = _board_env(name, tmp_path, "rtl")
    for kernel in hw_build.KERNELS:
        env["SPVIT_RTL_TOP"] = kernel
        calls = _dry_run(tcl, "package_rtl_ip.tcl", env, tmp_path)
        names = [c[0] for c in calls]
        assert calls[0][1:] == ["-force", f"pkg_{kernel}", str(tmp_path / "build" / "rtl_ip" / f"work_{kernel}"),
                                "-part", _board(name)["part"]]
        added = calls[names.index("add_files")][2].split()
        assert added and all(Path(f).is_file() and f.endswith(".sv") for f in added)
        assert str(REPO / "hw" / "rtl" / f"{kernel}.sv") in added
        assert ["set_property", "top", kernel, "current_fileset"] in calls
        pkg = calls[names.index("ipx::package_project")]
        assert pkg[1:] == ["-root_dir", str(tmp_path / "build" / "rtl_ip" / kernel), "-vendor", "spvit", "-library",
                           "rtl", "-taxonomy", "/UserIP", "-import_files", "-force"]
        order = ["create_project", "ipx::package_project", "ipx::associate_bus_interfaces", "ipx::save_core",
                 "close_project"]
        assert [names.index(n) for n in order] == sorted(names.index(n) for n in order)
        assert ["set_property", "value", "ACTIVE_HIGH", "ipx::current_core"] in calls  # the rst POLARITY parameter
        assert ["set_property", "supported_families", "zynquplus Production", "ipx::current_core"] in calls
        assert ["set_property", "name", kernel, "ipx::current_core"] in calls


def _fake_run_outputs(tmp_path: Path, impl: str, tree: str = "spvit.gen"):
    proj = tmp_path / "build" / f"vivado_{impl}"
    (proj / "spvit.runs" / "impl_1").mkdir(parents=True, exist_ok=True)
    (proj / "spvit.xpr").write_text("project\n")
    (proj / "spvit.runs" / "impl_1" / "spvit_wrapper.bit").write_text(f"bit {impl}\n")
    hwh = proj / tree / "sources_1" / "bd" / "spvit" / "hw_handoff"
    hwh.mkdir(parents=True, exist_ok=True)
    (hwh / "spvit.hwh").write_text(f"hwh {impl}\n")
    return proj


@pytest.mark.parametrize("tree", ["spvit.gen", "spvit.srcs"])
@pytest.mark.parametrize("impl", IMPLS)
def test_bitstream_dry_run(tcl, impl, tree, tmp_path):
    env = _board_env("kv260", tmp_path, impl)
    proj = _fake_run_outputs(tmp_path, impl, tree)
    out = tmp_path / "out"
    env["SPVIT_OUT"] = str(out)
    calls = _dry_run(tcl, "bitstream.tcl", env, tmp_path)
    names = [c[0] for c in calls]
    assert calls[0] == ["open_project", str(proj / "spvit.xpr")]
    launches = [c for c in calls if c[0] == "launch_runs"]
    assert launches[0][1] == "synth_1" and launches[1][1:4] == ["impl_1", "-to_step", "write_bitstream"]
    assert names.index("report_timing_summary") > names.index("wait_on_run")
    for d in (out, proj):  # side by side, in the output folder and in the project folder
        assert (d / "spvit.bit").read_text() == f"bit {impl}\n"
        assert (d / "spvit.hwh").read_text() == f"hwh {impl}\n"
    assert (proj / "bitstream.done").is_file()


def test_bitstream_refuses_negative_slack_and_missing_outputs(tcl, tmp_path):
    env = _board_env("zcu102", tmp_path, "hls")
    env["DRY_WNS"] = "-0.250"
    proj = _fake_run_outputs(tmp_path, "hls")
    proc = _dry_run(tcl, "bitstream.tcl", env, tmp_path, expect_ok=False)
    assert proc.returncode != 0 and "timing not met at 300 MHz" in proc.stderr
    assert not (tmp_path / "build" / "spvit.bit").exists()
    env["SPVIT_ALLOW_NEGATIVE_SLACK"] = "1"
    _dry_run(tcl, "bitstream.tcl", env, tmp_path)
    assert (tmp_path / "build" / "spvit.bit").is_file()
    env["DRY_WNS"] = "0.1"
    (proj / "spvit.gen" / "sources_1" / "bd" / "spvit" / "hw_handoff" / "spvit.hwh").unlink()
    proc = _dry_run(tcl, "bitstream.tcl", env, tmp_path, expect_ok=False)
    assert proc.returncode != 0 and "no spvit.hwh" in proc.stderr


# ---- the Makefile and `spvit hw build` ------------------------------------------------------------------------------

def _make() -> str:
    return str(tools.make())


def _no_tools_env(tmp_path: Path) -> dict[str, str]:
    """PATH with make and nothing else (no vivado, vitis-run, vitis_hls)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "make").symlink_to(_make())
    env = {k: v for k, v in os.environ.items()
           if k not in ("MAKEFLAGS", "MAKELEVEL", "VIVADO", "VITIS_HLS_CMD", "XILINX_VIVADO", "XILINX_VITIS")}
    env["PATH"] = str(bin_dir)
    return env


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("name", BOARD_NAMES)
def test_make_dry_run_lists_the_steps_in_order(name, impl, tmp_path):
    build = tmp_path / "build"
    proc = subprocess.run([_make(), "--no-print-directory", "-n", "-C", str(BOARDS), f"BOARD={name}", f"IMPL={impl}",
                           f"BUILD={build}"], capture_output=True, text=True, env=_no_tools_env(tmp_path))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.replace("\\\n", " ").splitlines()  # continuation lines joined

    def first(pattern: str) -> int:
        hits = [i for i, line in enumerate(lines) if re.search(pattern, line)]
        assert hits, f"no step matching {pattern!r} in:\n{proc.stdout}"
        return hits[0]

    steps = [first(rf"-m spvit\.hw_build tcl --board {name} --out {re.escape(str(build))}/board\.tcl")]
    if impl == "hls":
        for k in hw_build.KERNELS:
            steps.append(first(rf"SPVIT_HLS_IP={k} SPVIT_HLS_BUILD={re.escape(str(build))}/hls .*SPVIT_HLS_PART="
                               rf".* vitis-run --mode hls --tcl {re.escape(str(REPO))}/hw/hls/vitis/build_prj\.tcl$"))
    else:
        for k in hw_build.KERNELS:
            steps.append(first(rf"SPVIT_RTL_TOP={k} vivado -mode batch .*common/package_rtl_ip\.tcl$"))
    steps.append(first(r"SPVIT_IMPL=" + impl + r" vivado -mode batch .*-source .*common/block_design\.tcl$"))
    steps.append(first(r"SPVIT_IMPL=" + impl + r" SPVIT_OUT=.* vivado -mode batch .*-source .*common/bitstream\.tcl$"))
    steps.append(first(rf"cp {re.escape(str(build))}/vivado_{impl}/spvit\.bit {re.escape(str(build))}/spvit\.bit"))
    steps.append(first(rf"cp {re.escape(str(build))}/vivado_{impl}/spvit\.hwh {re.escape(str(build))}/spvit\.hwh"))
    assert steps == sorted(steps) and len(set(steps)) == len(steps), proc.stdout
    # every repository file a step names exists
    for path in set(re.findall(rf"{re.escape(str(REPO))}/[\w./-]+", proc.stdout)):
        assert Path(path).exists(), path


def test_make_names_the_missing_tool(tmp_path):
    env = _no_tools_env(tmp_path)
    for impl, words in (("hls", ["vitis-run", "vitis_hls", "vivado", "settings64.sh"]),
                        ("rtl", ["'vivado' is not on PATH", "settings64.sh"])):
        proc = subprocess.run([_make(), "-C", str(BOARDS), f"BUILD={tmp_path / impl}", "BOARD=kv260", f"IMPL={impl}",
                               "bitstream"], capture_output=True, text=True, env=env)
        assert proc.returncode != 0
        for w in words:
            assert w in proc.stderr, proc.stderr
        assert "Nothing was built." in proc.stderr
        assert not (tmp_path / impl / f"vivado_{impl}").exists()
    proc = subprocess.run([_make(), "-C", str(BOARDS), "BOARD=nope"], capture_output=True, text=True, env=env)
    assert proc.returncode != 0 and "no boards/nope/board.yaml" in proc.stderr and "zcu102" in proc.stderr


@pytest.mark.parametrize("impl", IMPLS)
def test_hw_build_without_vivado_fails_naming_it(impl, tmp_path):
    env = _no_tools_env(tmp_path)
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "spvit.hw_build", "build", "--board", "zcu102", "--impl", impl,
                           "--out", str(out)], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "missing executable" in proc.stderr and "vivado" in proc.stderr and "settings64.sh" in proc.stderr
    assert ("vitis-run or vitis_hls" in proc.stderr) == (impl == "hls")
    assert not out.exists()  # nothing was run


def test_hw_build_function_and_parser(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))  # no tool at all
    assert hw_build.build("zcu102", "rtl", tmp_path / "o") == 2
    err = capsys.readouterr().err
    assert "make" in err and "vivado" in err
    assert hw_build.build("nope", "hls") == 2
    assert "unknown board 'nope'" in capsys.readouterr().err
    assert hw_build.build("zcu102", "verilog") == 2
    # the parser the lead hooks into spvit/cli.py: `spvit hw build --board B --impl I`
    parser = argparse.ArgumentParser(prog="spvit")
    sub = parser.add_subparsers(dest="command", required=True)
    hw_build.add_parser(sub)
    args = parser.parse_args(["hw", "build", "--board", "kv260", "--impl", "rtl", "--out", str(tmp_path / "o")])
    assert (args.board, args.impl, args.func) == ("kv260", "rtl", hw_build.cmd_build)
    assert args.func(args) == 2
    assert "missing executable" in capsys.readouterr().err
    assert parser.parse_args(["hw", "boards"]).func(parser.parse_args(["hw", "boards"])) == 0
    listing = capsys.readouterr().out
    assert all(name in listing for name in BOARD_NAMES) and "INVALID" not in listing
    with pytest.raises(SystemExit):
        parser.parse_args(["hw", "build", "--impl", "vhdl"])


def test_hw_build_dry_run(tmp_path, capsys):
    env = _no_tools_env(tmp_path)
    proc = subprocess.run([sys.executable, "-m", "spvit.hw_build", "build", "--board", "kv260", "--impl", "rtl",
                           "--out", str(tmp_path / "o"), "--dry-run"], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "package_rtl_ip.tcl" in proc.stdout and "bitstream.tcl" in proc.stdout
    assert not (tmp_path / "o").exists()
