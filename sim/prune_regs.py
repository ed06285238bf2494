"""AXI4-Lite register map of the prune_stage IP core (hw/rtl/prune_stage.sv), for the host driver and the testbench.

The map is an ap_ctrl_hs-style control word at 0x00 (with Vitis HLS's GIE / IER / ISR at 0x04 / 0x08 / 0x0C) and
32-bit parameter registers from 0x10. hw/rtl/prune_stage.sv documents the same map in its header table and declares
it as localparams; tests/test_rtl_prune_stage.py checks that the three agree.
"""
from __future__ import annotations

import numpy as np

# register name -> byte offset
PRUNE_REGS: dict[str, int] = {
    "CTRL": 0x00,           # ap_start (bit 0), ap_done (1, clear on read), ap_idle (2), ap_ready (3), auto_restart (7)
    "GIE": 0x04,            # global interrupt enable (bit 0)
    "IER": 0x08,            # interrupt enables: ap_done (bit 0), ap_ready (bit 1)
    "ISR": 0x0C,            # interrupt status, same bits; write 1 toggles
    "N": 0x10,              # tokens present, 1 .. N_MAX
    "TAIL": 0x18,           # n_protected_tail (package tokens of earlier stages), 0 .. TAIL_MAX
    "K": 0x20,              # keep at most k candidates
    "THR_MODE": 0x28,       # bit 0: threshold mode (score >= THRESHOLD, capped at k)
    "THRESHOLD": 0x30,      # uint16 at frac 16
    "PACKAGE": 0x38,        # bit 0: append the package token
    "N_OUT": 0x40,          # read-only: tokens emitted by the last run
    "N_KEPT": 0x48,         # read-only: candidates kept by the last run
    "STATUS": 0x50,         # read-only: bit 0 registers out of range, bit 1 / 2 token / score tlast misplaced
    "SEL_EPS_LO": 0x58,     # SCORER = 1: selector LayerNorm E, bits 31:0
    "SEL_EPS_HI": 0x5C,     # ... bits 40:32
    "SEL_SHIFTS_0": 0x60,   # SCORER = 1: signed bytes norm, in_proj, mlp1, mlp2 (byte 0 first)
    "SEL_SHIFTS_1": 0x64,   # SCORER = 1: signed bytes keep, se1, se2
}

# CTRL bits
AP_START = 1 << 0
AP_DONE = 1 << 1
AP_IDLE = 1 << 2
AP_READY = 1 << 3
AUTO_RESTART = 1 << 7

# STATUS bits
STATUS_BAD_REGS = 1 << 0
STATUS_TOKEN_TLAST = 1 << 1
STATUS_SCORE_TLAST = 1 << 2


def selector_regs(params) -> dict[str, int]:
    """The SEL_* register values of a selector (spvit.sim.golden.scoring.SelectorParams): E and the seven shifts."""
    def byte(v: int) -> int:
        if not -64 <= v < 64:
            raise ValueError(f"selector shift {v} does not fit the 7-bit shift ports")
        return v & 0xFF

    s0 = [params.norm.shift, params.in_proj.shift, params.mlp1.shift, params.mlp2.shift]
    s1 = [params.keep.shift, params.se1.shift, params.se2.shift]
    eps = int(params.norm.eps_term)
    if not 1 <= eps < 2**41:
        raise ValueError(f"LayerNorm E {eps} does not fit the 41-bit eps port")
    return {
        "SEL_EPS_LO": eps & 0xFFFFFFFF,
        "SEL_EPS_HI": eps >> 32,
        "SEL_SHIFTS_0": sum(byte(v) << (8 * i) for i, v in enumerate(s0)),
        "SEL_SHIFTS_1": sum(byte(v) << (8 * i) for i, v in enumerate(s1)),
    }


def selector_param_arrays(params) -> list[tuple[np.ndarray, int]]:
    """The selector's parameter arrays with their bit widths, in the order of the HLS m_axi layout
    (encoder_block.hpp load_block_params, HlsBackend._block_arrays' selector part): LayerNorm G, B, then weight, bias
    and table of in_proj, mlp1, mlp2, keep, se1, se2."""
    out = [(params.norm.gamma, 16), (params.norm.beta, 32)]
    for layer, table in ((params.in_proj, params.in_act), (params.mlp1, params.mlp1_act),
                         (params.mlp2, params.mlp2_act), (params.keep, params.keep_act),
                         (params.se1, params.se1_act), (params.se2, params.se2_act)):
        out += [(layer.weight, 8), (layer.bias, 32), (table, 8)]
    return out


def selector_param_bytes(params) -> bytes:
    """The s_axis_prm stream of selector.sv / prune_stage.sv (SCORER = 1): the 128-bit words of
    spvit.sim.hls_kernels.pack_words, little-endian (byte i of the stream is lane i % 16 of word i // 16)."""
    from .hls_kernels import pack_words

    return pack_words(selector_param_arrays(params)).astype("<u4").tobytes()
