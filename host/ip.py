"""What the host knows about the hardware: the two Vitis HLS IP tops and the AXI DMA, as data.

- `IpDims`: the dimensions an IP build was synthesized for (hw/hls/vitis/tops/spvit_ip.hpp `block_config`:
  the digits model, D = 64, 4 heads, MLP 128, at most 67 tokens); `HLS_IP_DIMS` is that build.
- `encoder_block_spec(dims)` / `prune_stage_spec(dims)`: the s_axilite arguments of `encoder_block_top` /
  `prune_stage_top` in the order of their C++ prototypes, with the bit width and signedness of their C++ types
  (spvit_ip.hpp; tests/test_host_driver.py checks names and order against the tops' pragmas). VLNVs are those
  hw/hls/vitis/build_prj.tcl exports (vendor spvit, library hls) and boards/common/accel.tcl instantiates.
- `vitis_registers(spec)`: the register layout Vitis HLS gives such a top (ap_ctrl_hs control word at 0x00, GIE /
  IER / ISR, ap_return at 0x10, then every argument from 0x18: 8 bytes for up to 32 bits, 12 bytes -- two data words
  named `<arg>_1` / `<arg>_2` as PYNQ shows them -- for up to 64 bits). Only the emulated board (host/hwh.py,
  host/shim.py) uses it: on a board the driver takes every offset from the register map of the .hwh.
- AXI DMA (PG021) register offsets and status bits, simple (direct register) mode.
"""
from __future__ import annotations

from dataclasses import dataclass

# ---- dimensions ---------------------------------------------------------------------------------------------------------


def bits_for(n: int) -> int:
    """hw/hls/arith.hpp bits_for: bits to hold the unsigned value n (bits_for(0) = 1)."""
    return max(1, int(n).bit_length())


@dataclass(frozen=True)
class IpDims:
    """The sizes an encoder_block / prune_stage build is synthesized for."""

    embed_dim: int   # D, channels per token (a multiple of 16: whole 128-bit beats)
    num_heads: int   # H
    mlp_hidden: int  # M
    se_width: int    # SPViT selector head-weight branch width
    n_max: int       # tokens the block's buffers hold

    @classmethod
    def for_config(cls, cfg) -> "IpDims":
        """What a model config needs: class token + patches + one package token per stage."""
        return cls(cfg.embed_dim, cfg.num_heads, cfg.mlp_hidden, cfg.se_width, 1 + cfg.num_patches + cfg.num_stages)

    @property
    def head_dim(self) -> int:
        return self.embed_dim // self.num_heads

    @property
    def beats(self) -> int:
        """128-bit AXI-Stream beats per token."""
        return self.embed_dim // 16

    @property
    def token_bytes(self) -> int:
        return self.embed_dim

    @property
    def score_words(self) -> int:
        """128-bit words of the uint16 score array [n_max] (8 per word)."""
        return -(-self.n_max // 8)

    @property
    def source_words(self) -> int:
        """128-bit words of the uint16 source-index array [n_max + 1]."""
        return -(-(self.n_max + 1) // 8)

    @property
    def count_bits(self) -> int:
        """encoder_block_types::count_t = ap_uint<bits_for(n_max + 1)>."""
        return bits_for(self.n_max + 1)


# hw/hls/vitis/tops/spvit_ip.hpp block_config (the IP cores as built)
HLS_IP_DIMS = IpDims(embed_dim=64, num_heads=4, mlp_hidden=128, se_width=2, n_max=67)


# ---- the IP tops' interfaces ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Arg:
    """One s_axilite argument: a scalar of `bits` bits (two's complement when `signed`), or an m_axi pointer
    (`pointer`: its 64-bit base address)."""

    name: str
    bits: int
    signed: bool = False
    pointer: bool = False

    @property
    def lo(self) -> int:
        return -(1 << (self.bits - 1)) if self.signed else 0

    @property
    def hi(self) -> int:
        return (1 << (self.bits - 1)) - 1 if self.signed else (1 << self.bits) - 1


@dataclass(frozen=True)
class IpSpec:
    name: str               # block-design cell name (boards/common/accel.tcl) and IP name
    vlnv: str               # vendor:library:name:version of the exported IP
    args: tuple[Arg, ...]   # s_axilite arguments, prototype order
    return_bits: int        # ap_return width
    stream_in: str = "s_axis"
    stream_out: str = "m_axis"

    def arg(self, name: str) -> Arg:
        for a in self.args:
            if a.name == name:
                return a
        raise KeyError(f"{self.name} has no argument {name!r}")


SHIFT = 7       # encoder_block_types::shift_t = requantize_full_config::shift_t = ap_int<7>
FRAC = 7        # attention_config::frac_t = ap_int<7>
EPS = 41        # layernorm_config::eps_t = ap_uint<41>
ALIGN = 5       # residual_add_config::align_t = ap_uint<5>
RES_SHIFT = 6   # residual_requant_config::shift_t = ap_int<6>
SELECTOR_SHIFTS = ("sel_norm_shift", "sel_in_shift", "sel_mlp1_shift", "sel_mlp2_shift", "sel_keep_shift",
                   "sel_se1_shift", "sel_se2_shift")


def encoder_block_spec(dims: IpDims = HLS_IP_DIMS) -> IpSpec:
    """encoder_block_top(s_axis, m_axis, mem, scores, n, weights, ...): hw/hls/vitis/tops/encoder_block.cpp."""
    s = lambda name: Arg(name, SHIFT, True)  # noqa: E731
    args = (
        Arg("mem", 64, pointer=True), Arg("scores", 64, pointer=True), Arg("n", dims.count_bits), Arg("weights", 32),
        Arg("ln1_eps", EPS), s("ln1_shift"), s("q_shift"), s("k_shift"), s("v_shift"), Arg("f_qk", FRAC, True),
        s("ctx_shift"), s("proj_shift"), Arg("res1_x", ALIGN), Arg("res1_r", ALIGN), Arg("res1_out", RES_SHIFT, True),
        Arg("ln2_eps", EPS), s("ln2_shift"), s("fc1_shift"), s("fc2_shift"), Arg("res2_x", ALIGN),
        Arg("res2_r", ALIGN), Arg("res2_out", RES_SHIFT, True), Arg("score_mode", 2), Arg("sel_eps", EPS),
        *(s(name) for name in SELECTOR_SHIFTS),
    )
    return IpSpec("encoder_block", "spvit:hls:encoder_block:1.0", args, return_bits=1)


def prune_stage_spec(dims: IpDims = HLS_IP_DIMS) -> IpSpec:
    """prune_stage_top(s_axis, scores, m_axis, sources, n, ...): hw/hls/vitis/tops/prune_stage.cpp."""
    c = dims.count_bits
    args = (Arg("scores", 64, pointer=True), Arg("sources", 64, pointer=True), Arg("n", c),
            Arg("n_protected_tail", c), Arg("k", c), Arg("threshold_mode", 1), Arg("threshold", 16),
            Arg("package", 1))
    return IpSpec("prune_stage", "spvit:hls:prune_stage:1.0", args, return_bits=c)


# ---- Vitis HLS s_axilite layout (ap_ctrl_hs) ------------------------------------------------------------------------------
CTRL = 0x00
AP_START, AP_DONE, AP_IDLE, AP_READY, AUTO_RESTART = 0x1, 0x2, 0x4, 0x8, 0x80
GIE, IER, ISR = 0x04, 0x08, 0x0C
AP_RETURN = 0x10


@dataclass(frozen=True)
class Register:
    """One 32-bit register of the layout: `bits` data bits of argument `arg` starting at bit `first` of the value."""

    name: str
    offset: int
    arg: str
    first: int
    bits: int


def vitis_registers(spec: IpSpec) -> list[Register]:
    """The data registers Vitis HLS generates for the top's arguments (ap_return first), as PYNQ names them."""
    regs, offset = [], AP_RETURN
    if spec.return_bits:
        regs.append(Register("ap_return", offset, "ap_return", 0, spec.return_bits))
        offset += 8
    for a in spec.args:
        if a.bits <= 32:
            regs.append(Register(a.name, offset, a.name, 0, a.bits))
            offset += 8  # data word, reserved word
        elif a.bits <= 64:
            regs.append(Register(f"{a.name}_1", offset, a.name, 0, 32))
            regs.append(Register(f"{a.name}_2", offset + 4, a.name, 32, a.bits - 32))
            offset += 12  # two data words, reserved word
        else:
            raise ValueError(f"{spec.name}.{a.name}: {a.bits}-bit arguments are not laid out here")
    return regs


def control_addr_width(spec: IpSpec) -> int:
    """C_S_AXI_CONTROL_ADDR_WIDTH: enough bits for the last register."""
    last = max(r.offset for r in vitis_registers(spec)) + 8
    return max(4, (last - 1).bit_length())


# ---- AXI DMA (PG021), simple mode -------------------------------------------------------------------------------------------
MM2S, S2MM = "mm2s", "s2mm"
DMA_BASE = {MM2S: 0x00, S2MM: 0x30}
DMACR, DMASR, ADDR_LO, ADDR_HI, LENGTH = 0x00, 0x04, 0x18, 0x1C, 0x28  # per channel, from DMA_BASE
DMACR_RS, DMACR_RESET, DMACR_IOC_IRQ_EN, DMACR_ERR_IRQ_EN = 0x1, 0x4, 0x1000, 0x4000
DMASR_HALTED, DMASR_IDLE = 0x1, 0x2
DMASR_ERRORS = {
    0x10: "DMAIntErr (internal error: zero length, or a stream packet longer than the buffer)",
    0x20: "DMASlvErr (slave error: the memory interface refused the access)",
    0x40: "DMADecErr (decode error: address outside the memory map)",
    0x100: "SGIntErr", 0x200: "SGSlvErr", 0x400: "SGDecErr",
}
DMASR_ERROR_MASK = sum(DMASR_ERRORS)
DMASR_IOC_IRQ, DMASR_ERR_IRQ = 0x1000, 0x4000
DMA_VLNV = "xilinx.com:ip:axi_dma:7.1"


def dma_status_text(status: int) -> str:
    return ", ".join(text for bit, text in DMASR_ERRORS.items() if status & bit) or "no error bit"
