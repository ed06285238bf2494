"""A small, valid Vivado hardware handoff (.hwh) of the spvit HLS block design, for the emulated board.

It describes what boards/common/block_design.tcl builds for `--impl hls` (boards/common/accel.tcl): a Zynq
UltraScale+ PS, the two Vitis HLS IP cores `encoder_block` / `prune_stage` (VLNV spvit:hls:<ip>:1.0) with their
s_axilite register maps exactly as Vitis HLS lays them out (host/ip.py vitis_registers), and one AXI DMA
`dma_<kernel>` per core in simple mode (length register, stream and memory widths as boards/zcu102/board.yaml
`dma`), MM2S -> the core's s_axis and its m_axis -> S2MM. pynq parses it with its own board-side parser
(pynqmetadata), so the overlay, register maps, DMA parameters and PL clock the driver sees come from the same
code path as on a ZCU102. The DMA and core interrupts are left unconnected (the driver polls).

`write_design(folder)` writes `<name>.hwh` and a `<name>.bit` carrying a well-formed Xilinx bit header (pynq's
BitfileHandler parses it before it reads the .hwh) -- with no configuration data: it programs nothing.
"""
from __future__ import annotations

import struct
import xml.etree.ElementTree as ET
from pathlib import Path

from .ip import (DMA_VLNV, HLS_IP_DIMS, IpDims, IpSpec, control_addr_width, encoder_block_spec, prune_stage_spec,
                 vitis_registers)

PS = "zynq_ultra_ps_e_0"
PS_VLNV = "xilinx.com:ip:zynq_ultra_ps_e:3.5"
CONTROL_PORT = "M_AXI_HPM0_FPD"
HP_PORTS = ("S_AXI_HP0_FPD", "S_AXI_HP1_FPD", "S_AXI_HP2_FPD", "S_AXI_HP3_FPD")
REG_BASE = 0xA000_0000  # M_AXI_HPM0_FPD window; Vivado gives each slave 64 KiB
REG_RANGE = 0x1_0000
DDR = ((0x0000_0000, 0x7FFF_FFFF, "HP0_DDR_LOW"), (0x8_0000_0000, 0x8_7FFF_FFFF, "HP0_DDR_HIGH"))
# boards/zcu102/board.yaml `dma` (checked by tests/test_host_driver.py)
DMA_PARAMS = dict(length_bits=26, stream_bits=128, mm_bits=128, addr_bits=64, burst_beats=64)
CLOCK_MHZ = 300.0  # board.yaml clock_mhz: pl_clk0
AXI_LITE = ("AWADDR", "AWVALID", "AWREADY", "WDATA", "WSTRB", "WVALID", "WREADY", "BRESP", "BVALID", "BREADY",
            "ARADDR", "ARVALID", "ARREADY", "RDATA", "RRESP", "RVALID", "RREADY")
AXI_FULL = ("AWADDR", "AWLEN", "AWVALID", "AWREADY", "WDATA", "WLAST", "WVALID", "WREADY", "BVALID", "BREADY",
            "ARADDR", "ARLEN", "ARVALID", "ARREADY", "RDATA", "RLAST", "RVALID", "RREADY")
AXIS = ("TDATA", "TKEEP", "TLAST", "TVALID", "TREADY")


def _sub(parent, tag, **attrs):
    return ET.SubElement(parent, tag, {k: str(v) for k, v in attrs.items()})


def _prop(parent, name, value):
    _sub(parent, "PROPERTY", NAME=name, VALUE=value)


def _params(module, params: dict):
    el = _sub(module, "PARAMETERS")
    for name, value in params.items():
        _sub(el, "PARAMETER", NAME=name, VALUE=value)


class _Module:
    """One MODULE with its PORTS and BUSINTERFACES (every PORTMAP names a PORT, as pynqmetadata requires)."""

    def __init__(self, root, instance, vlnv, modtype, params, ps=False):
        attrs = dict(FULLNAME=f"/{instance}", HWVERSION=vlnv.rsplit(":", 1)[1], INSTANCE=instance,
                     IPTYPE="PERIPHERAL", IS_ENABLE=1, MODCLASS="PERIPHERAL", MODTYPE=modtype, VLNV=vlnv)
        if ps:
            attrs["IS_PL"] = "FALSE"
        self.el = _sub(root, "MODULE", **attrs)
        _sub(self.el, "DOCUMENTS")
        self.addressblocks = _sub(self.el, "ADDRESSBLOCKS")
        _params(self.el, params)
        self.ports = _sub(self.el, "PORTS")
        self.busifs = _sub(self.el, "BUSINTERFACES")
        self.memmap = None

    def bus(self, name, kind, role, busname, signals, params=None):
        """kind: aximm | axis; role: SLAVE | MASTER. Physical ports are named <bus>_<signal>."""
        bi = _sub(self.busifs, "BUSINTERFACE", BUSNAME=busname, NAME=name, TYPE=role,
                  VLNV=f"xilinx.com:interface:{kind}:1.0")
        for k, v in (params or {}).items():
            _sub(bi, "PARAMETER", NAME=k, VALUE=v)
        pm = _sub(bi, "PORTMAPS")
        outputs = {"SLAVE": {"AWREADY", "WREADY", "BRESP", "BVALID", "ARREADY", "RDATA", "RRESP", "RVALID", "TREADY"},
                   "MASTER": {"AWADDR", "AWLEN", "AWVALID", "WDATA", "WSTRB", "WLAST", "WVALID", "BREADY", "ARADDR",
                              "ARLEN", "ARVALID", "RREADY", "TDATA", "TKEEP", "TLAST", "TVALID"}}[role]
        for sig in signals:
            phys = f"{name}_{sig}"
            _sub(pm, "PORTMAP", LOGICAL=sig, PHYSICAL=phys)
            _sub(self.ports, "PORT", DIR="O" if sig in outputs else "I", NAME=phys, SIGIS="undef")

    def memrange(self, master, instance, slave, base, high, block, memtype):
        if self.memmap is None:
            self.memmap = _sub(self.el, "MEMORYMAP")
        _sub(self.memmap, "MEMRANGE", ADDRESSBLOCK=block, BASENAME="C_BASEADDR", BASEVALUE=f"0x{base:08X}",
             HIGHNAME="C_HIGHADDR", HIGHVALUE=f"0x{high:08X}", INSTANCE=instance, IS_DATA="TRUE",
             IS_INSTRUCTION="TRUE", MASTERBUSINTERFACE=master, MEMTYPE=memtype, SLAVEBUSINTERFACE=slave)


def _field(parent, name, offset, width, access, description):
    f = _sub(parent, "FIELD", NAME=name)
    _prop(f, "DESCRIPTION", description)
    _prop(f, "ADDRESS_OFFSET", offset)
    _prop(f, "ACCESS", access)
    _prop(f, "BIT_OFFSET", offset)
    _prop(f, "BIT_WIDTH", width)


def _register(regs, name, offset, access, description, fields):
    r = _sub(regs, "REGISTER", NAME=name)
    _prop(r, "DESCRIPTION", description)
    _prop(r, "ADDRESS_OFFSET", offset)
    _prop(r, "SIZE", 32)
    _prop(r, "ACCESS", access)
    _prop(r, "IS_ENABLED", "true")
    _prop(r, "RESET_VALUE", 0)
    flds = _sub(r, "FIELDS")
    for fname, bit, width, faccess, fdesc in fields:
        _field(flds, fname, bit, width, faccess, fdesc)


def _hls_registers(module: _Module, spec: IpSpec):
    """The s_axilite register map Vitis HLS writes into the IP's component.xml (and so into the .hwh)."""
    block = _sub(module.addressblocks, "ADDRESSBLOCK", ACCESS="read-write", INTERFACE="s_axi_control", NAME="Reg",
                 RANGE=REG_RANGE, USAGE="register")
    regs = _sub(block, "REGISTERS")
    _register(regs, "CTRL", 0x00, "read-write", "Control signals", [
        ("AP_START", 0, 1, "read-write", "Control signal Register for 'ap_start'."),
        ("AP_DONE", 1, 1, "read-only", "Control signal Register for 'ap_done' (clear on read)."),
        ("AP_IDLE", 2, 1, "read-only", "Control signal Register for 'ap_idle'."),
        ("AP_READY", 3, 1, "read-only", "Control signal Register for 'ap_ready' (clear on read)."),
        ("RESERVED_1", 4, 3, "read-only", "Reserved.  0s on read."),
        ("AUTO_RESTART", 7, 1, "read-write", "Control signal Register for 'auto_restart'."),
        ("RESERVED_2", 8, 24, "read-only", "Reserved.  0s on read.")])
    _register(regs, "GIER", 0x04, "read-write", "Global Interrupt Enable Register",
              [("Enable", 0, 1, "read-write", "Master enable for the device interrupt output"),
               ("RESERVED", 1, 31, "read-only", "Reserved.  0s on read.")])
    _register(regs, "IP_IER", 0x08, "read-write", "IP Interrupt Enable Register",
              [("CHAN0_INT_EN", 0, 1, "read-write", "Enable Channel 0 (ap_done) Interrupt."),
               ("CHAN1_INT_EN", 1, 1, "read-write", "Enable Channel 1 (ap_ready) Interrupt."),
               ("RESERVED", 2, 30, "read-only", "Reserved.  0s on read.")])
    _register(regs, "IP_ISR", 0x0C, "read-write", "IP Interrupt Status Register",
              [("CHAN0_INT_ST", 0, 1, "read-write", "Channel 0 (ap_done) Interrupt Status (toggle on write)."),
               ("CHAN1_INT_ST", 1, 1, "read-write", "Channel 1 (ap_ready) Interrupt Status (toggle on write)."),
               ("RESERVED", 2, 30, "read-only", "Reserved.  0s on read.")])
    for r in vitis_registers(spec):
        hi = r.first + r.bits - 1
        what = "read-only" if r.arg == "ap_return" else "write-only"
        fields = [(r.arg, 0, r.bits, what, f"Bit {hi} to {r.first} of Data signal of {r.arg}")]
        if r.bits < 32:
            fields.append(("RESERVED", r.bits, 32 - r.bits, "read-only", "Reserved.  0s on read."))
        _register(regs, r.name, r.offset, what, f"Data signal of {r.arg}", fields)


def build_hwh(dims: IpDims = HLS_IP_DIMS, name: str = "spvit", clock_mhz: float = CLOCK_MHZ,
              dma: dict | None = None) -> str:
    """The .hwh text of the HLS design for cores built with `dims`."""
    dma = dict(DMA_PARAMS, **(dma or {}))
    root = ET.Element("EDKSYSTEM", EDWVERSION="1.2", TIMESTAMP="Thu Jan  1 00:00:00 2026", VIVADOVERSION="2024.2")
    _sub(root, "SYSTEMINFO", ARCH="zynquplus", BOARD="xilinx.com:zcu102:part0:3.3", DEVICE="xczu9eg", NAME=name,
         PACKAGE="ffvb1156", SPEEDGRADE="-2")
    _sub(root, "EXTERNALPORTS")
    _sub(root, "EXTERNALINTERFACES")
    modules = _sub(root, "MODULES")

    ps_params = {}
    for i in range(4):
        ps_params |= {f"PSU__FPGA_PL{i}_ENABLE": int(i == 0), f"PSU__CRL_APB__PL{i}_REF_CTRL__SRCSEL": "IOPLL",
                      f"PSU__CRL_APB__PL{i}_REF_CTRL__DIVISOR0": 5 if i == 0 else 15,
                      f"PSU__CRL_APB__PL{i}_REF_CTRL__DIVISOR1": 1,
                      f"PSU__CRL_APB__PL{i}_REF_CTRL__FREQMHZ": clock_mhz if i == 0 else 100,
                      f"PSU__CRL_APB__PL{i}_REF_CTRL__ACT_FREQMHZ": clock_mhz if i == 0 else 100}
    ps_params |= {"PSU__USE__M_AXI_GP0": 1, "PSU__MAXIGP0__DATA_WIDTH": 32, "C_FAMILY": "zynquplus"}
    ps = _Module(modules, PS, PS_VLNV, "zynq_ultra_ps_e", ps_params, ps=True)
    ps.bus(CONTROL_PORT, "aximm", "MASTER", "ctrl_sc_S00_AXI", AXI_LITE, {"PROTOCOL": "AXI4", "DATA_WIDTH": 32})
    for hp in HP_PORTS:
        ps.bus(hp, "aximm", "SLAVE", f"mem_sc_{hp}", AXI_FULL, {"PROTOCOL": "AXI4", "DATA_WIDTH": 128})

    kernels = (encoder_block_spec(dims), prune_stage_spec(dims))
    masters = []  # (module, interface) of every AXI master to DDR, spread over the HP ports as block_design.tcl does
    base = REG_BASE
    for spec in kernels:
        width = control_addr_width(spec)
        core = _Module(modules, spec.name, spec.vlnv, spec.name, {
            "C_S_AXI_CONTROL_ADDR_WIDTH": width, "C_S_AXI_CONTROL_DATA_WIDTH": 32,
            "C_M_AXI_GMEM0_DATA_WIDTH": 128, "C_M_AXI_GMEM1_DATA_WIDTH": 128, "C_M_AXI_GMEM0_ADDR_WIDTH": 64,
            "C_M_AXI_GMEM1_ADDR_WIDTH": 64, "Component_Name": f"spvit_{spec.name}_0",
            "C_S_AXI_CONTROL_BASEADDR": f"0x{base:08X}", "C_S_AXI_CONTROL_HIGHADDR": f"0x{base + REG_RANGE - 1:08X}"})
        core.bus("s_axi_control", "aximm", "SLAVE", f"ctrl_sc_M_{spec.name}", AXI_LITE,
                 {"PROTOCOL": "AXI4LITE", "DATA_WIDTH": 32, "ADDR_WIDTH": width})
        axis = {"TDATA_NUM_BYTES": 16, "HAS_TLAST": 1, "HAS_TKEEP": 1, "HAS_TREADY": 1, "HAS_TSTRB": 1}
        core.bus(spec.stream_in, "axis", "SLAVE", f"dma_{spec.name}_M_AXIS_MM2S", AXIS, axis)
        core.bus(spec.stream_out, "axis", "MASTER", f"{spec.name}_{spec.stream_out}", AXIS, axis)
        gmems = ("m_axi_gmem0", "m_axi_gmem1") if spec.name == "encoder_block" else ("m_axi_gmem1",)
        for g in gmems:
            core.bus(g, "aximm", "MASTER", f"{spec.name}_{g}", AXI_FULL, {"PROTOCOL": "AXI4", "DATA_WIDTH": 128})
            masters.append((core, g))
        _hls_registers(core, spec)
        ps.memrange(CONTROL_PORT, spec.name, "s_axi_control", base, base + REG_RANGE - 1, "Reg", "REGISTER")
        base += REG_RANGE
    for spec in kernels:
        name = f"dma_{spec.name}"
        d = _Module(modules, name, DMA_VLNV, "axi_dma", {
            "c_include_sg": 0, "c_sg_length_width": dma["length_bits"], "c_include_mm2s": 1, "c_include_s2mm": 1,
            "c_micro_dma": 0, "c_m_axi_mm2s_data_width": dma["mm_bits"], "c_m_axi_s2mm_data_width": dma["mm_bits"],
            "c_m_axis_mm2s_tdata_width": dma["stream_bits"], "c_s_axis_s2mm_tdata_width": dma["stream_bits"],
            "c_mm2s_burst_size": dma["burst_beats"], "c_s2mm_burst_size": dma["burst_beats"],
            "c_addr_width": dma["addr_bits"], "c_include_mm2s_dre": 0, "c_include_s2mm_dre": 0,
            "C_BASEADDR": f"0x{base:08X}", "C_HIGHADDR": f"0x{base + REG_RANGE - 1:08X}"})
        d.bus("S_AXI_LITE", "aximm", "SLAVE", f"ctrl_sc_M_{name}", AXI_LITE,
              {"PROTOCOL": "AXI4LITE", "DATA_WIDTH": 32, "ADDR_WIDTH": 10})
        axis = {"TDATA_NUM_BYTES": dma["stream_bits"] // 8, "HAS_TLAST": 1, "HAS_TKEEP": 1, "HAS_TREADY": 1}
        d.bus("M_AXIS_MM2S", "axis", "MASTER", f"{name}_M_AXIS_MM2S", AXIS, axis)
        d.bus("S_AXIS_S2MM", "axis", "SLAVE", f"{spec.name}_{spec.stream_out}", AXIS, axis)
        for m in ("M_AXI_MM2S", "M_AXI_S2MM"):
            d.bus(m, "aximm", "MASTER", f"{name}_{m}", AXI_FULL, {"PROTOCOL": "AXI4", "DATA_WIDTH": dma["mm_bits"]})
            masters.append((d, m))
        ps.memrange(CONTROL_PORT, name, "S_AXI_LITE", base, base + REG_RANGE - 1, "Reg", "REGISTER")
        base += REG_RANGE
    for i, (module, itf) in enumerate(masters):
        hp = HP_PORTS[i % len(HP_PORTS)]
        for lo, hi, block in DDR:
            module.memrange(itf, PS, hp, lo, hi, block.replace("HP0", hp[6:9]), "MEMORY")

    ET.indent(root, space="  ")
    return '<?xml version="1.0" encoding="UTF-8" standalone="no" ?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def bit_header(design: str, part: str = "xczu9eg-ffvb1156-2-e", payload: bytes = b"\xff" * 16) -> bytes:
    """A Xilinx .bit file: the header fields pynq's parse_bit_header reads (design, part, date, time), then the
    configuration data (here `payload`, no real bitstream)."""
    def field(key: int, text: str) -> bytes:
        data = text.encode("ascii") + b"\0"
        return bytes([key]) + struct.pack(">h", len(data)) + data

    magic = bytes([0x0F, 0xF0, 0x0F, 0xF0, 0x0F, 0xF0, 0x0F, 0xF0, 0x00])
    head = struct.pack(">h", len(magic)) + magic + struct.pack(">h", 1)
    head += field(0x61, f"{design};UserID=0XFFFFFFFF;Version=2024.2") + field(0x62, part)
    head += field(0x63, "2026/01/01") + field(0x64, "00:00:00")
    return head + bytes([0x65]) + struct.pack(">i", len(payload)) + payload


def write_design(folder, dims: IpDims = HLS_IP_DIMS, name: str = "spvit", **options) -> Path:
    """Write <folder>/<name>.bit and <name>.hwh (the emulated board's "bitstream"); returns the .bit path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.hwh").write_text(build_hwh(dims, name, **options), encoding="utf-8")
    bit = folder / f"{name}.bit"
    bit.write_bytes(bit_header(name))
    return bit
