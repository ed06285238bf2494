"""Host side of the encoder-block IP cores (HLS hw/hls/encoder_block.hpp and RTL hw/rtl/encoder_block.sv): the
parameter word layout and every run-time register, derived from a model bundle once, for every driver to share.

- `block_arrays(bundle, i, stages)`: block i's parameter arrays in load_block_params() order (docs/hls.md), packed by
  spvit.sim.hls_kernels.pack_words into 128-bit words; `pack_blocks` lays out every block one after the other.
- `block_regs(bundle, i, offset, stages)`: the registers of encoder_block.hpp's `encoder_block_regs` (HLS names), each
  shift derived from the bundle's fracs (docs/arithmetic.md §2.3, §4, §5, §6).
- `RTL_REGS` / `rtl_reg_writes`: the AXI4-Lite register map of hw/rtl/encoder_block.sv (the table in its header) and
  the register writes that run one block there. The cocotb testbench, spvit.sim.rtl_backend and a PYNQ driver use
  these; nothing else spells out an offset.
"""
from __future__ import annotations

import numpy as np

from .golden import Bundle
from .hls_kernels import SCORE_MODES, pack_words


def stage_blocks(bundle: Bundle) -> dict[int, int]:
    """§11.3 {block index (0-based): stage index} of the blocks a pruning stage follows."""
    cfg = bundle.config
    return {a - 1: s for s, a in enumerate(cfg.prune.after_blocks)} if cfg.num_stages else {}


def dense_block_arrays(bundle: Bundle, i: int) -> list[tuple[np.ndarray, int]]:
    """The block's own parameters (values, bits): norm1, qkv, proj, norm2, fc1, GELU table, fc2."""
    a, b = bundle.arrays, f"blocks.{i}"
    return [(a[f"{b}.norm1.weight"], 16), (a[f"{b}.norm1.bias"], 32), (a[f"{b}.attn.qkv.weight"], 8),
            (a[f"{b}.attn.qkv.bias"], 32), (a[f"{b}.attn.proj.weight"], 8), (a[f"{b}.attn.proj.bias"], 32),
            (a[f"{b}.norm2.weight"], 16), (a[f"{b}.norm2.bias"], 32), (a[f"{b}.mlp.fc1.weight"], 8),
            (a[f"{b}.mlp.fc1.bias"], 32), (bundle.table(f"{b}.mlp.act"), 8), (a[f"{b}.mlp.fc2.weight"], 8),
            (a[f"{b}.mlp.fc2.bias"], 32)]


def selector_arrays(bundle: Bundle, stage: int) -> list[tuple[np.ndarray, int]]:
    """§8.2 The selector of a stage in selector_params order (it follows its block's parameters)."""
    p = bundle.selector(stage)
    out = [(p.norm.gamma, 16), (p.norm.beta, 32)]
    for layer, table in ((p.in_proj, p.in_act), (p.mlp1, p.mlp1_act), (p.mlp2, p.mlp2_act),
                         (p.keep, p.keep_act), (p.se1, p.se1_act), (p.se2, p.se2_act)):
        out += [(layer.weight, 8), (layer.bias, 32), (table, 8)]
    return out


def block_arrays(bundle: Bundle, i: int, stages: dict[int, int] | None = None) -> list[tuple[np.ndarray, int]]:
    """encoder_block.hpp load_block_params() order: the block, then (spvit stage blocks) the selector."""
    stages = stage_blocks(bundle) if stages is None else stages
    out = dense_block_arrays(bundle, i)
    if i in stages and bundle.config.prune.score == "spvit":
        out += selector_arrays(bundle, stages[i])
    return out


def words_of(arrays: list[tuple[np.ndarray, int]]) -> int:
    """128-bit words the arrays take in the m_axi layout (every array starts on a word)."""
    return sum(-(-np.asarray(a).size * bits // 128) for a, bits in arrays)


def pack_blocks(bundle: Bundle, stages: dict[int, int] | None = None) -> tuple[np.ndarray, list[int]]:
    """Every block's parameters, one block after the other: (uint32 [4 * words], word offset of each block)."""
    stages = stage_blocks(bundle) if stages is None else stages
    arrays, offsets, words = [], [], 0
    for i in range(bundle.config.depth):
        offsets.append(words)
        block = block_arrays(bundle, i, stages)
        arrays += block
        words += words_of(block)
    packed = pack_words(arrays)
    assert packed.size == 4 * words
    return packed, offsets


def _res(fx: int, fy: int, fo: int) -> tuple[int, int, int]:
    """§4 residual_add registers: left shifts aligning x and y to f = max(fx, fy), then the output shift f - fo."""
    f = max(fx, fy)
    return f - fx, f - fy, f - fo


def block_regs(bundle: Bundle, i: int, offset: int = 0, stages: dict[int, int] | None = None) -> dict[str, int]:
    """encoder_block.hpp `encoder_block_regs` of block i (n left 0: set per image), every shift derived from the
    bundle's fracs (§2.3, §4, §5, §6); `offset` is the word address of the block's parameters."""
    stages = stage_blocks(bundle) if stages is None else stages
    bd, b = bundle, f"blocks.{i}"
    fr = bd.frac
    f_in = fr("embed.out") if i == 0 else fr(f"blocks.{i - 1}.out")
    norm1, norm2 = bd.norm(f"{b}.norm1"), bd.norm(f"{b}.norm2")
    acc = fr(f"{b}.norm1.out") + fr(f"{b}.attn.qkv.weight")
    r1 = _res(f_in, fr(f"{b}.attn.proj.out"), fr(f"{b}.attn_res.out"))
    r2 = _res(fr(f"{b}.attn_res.out"), fr(f"{b}.mlp.fc2.out"), fr(f"{b}.out"))
    regs = dict(
        n=0, weights=offset, ln1_eps=norm1.eps_term, ln1_shift=norm1.shift,
        q_shift=acc - fr(f"{b}.attn.q"), k_shift=acc - fr(f"{b}.attn.k"), v_shift=acc - fr(f"{b}.attn.v"),
        f_qk=fr(f"{b}.attn.q") + fr(f"{b}.attn.k"), ctx_shift=8 + fr(f"{b}.attn.v") - fr(f"{b}.attn.ctx"),
        proj_shift=bd.linear(f"{b}.attn.proj", fr(f"{b}.attn.ctx")).shift,
        res1_x=r1[0], res1_r=r1[1], res1_out=r1[2], ln2_eps=norm2.eps_term, ln2_shift=norm2.shift,
        fc1_shift=bd.linear(f"{b}.mlp.fc1", fr(f"{b}.norm2.out")).shift,
        fc2_shift=bd.linear(f"{b}.mlp.fc2", fr(f"{b}.mlp.act.out")).shift,
        res2_x=r2[0], res2_r=r2[1], res2_out=r2[2], score_mode=0, sel_eps=1,
        # the residual adds' fracs themselves (hw/rtl/residual_add.sv derives its shifts from them)
        res1_fx=f_in, res1_fr=fr(f"{b}.attn.proj.out"), res1_fout=fr(f"{b}.attn_res.out"),
        res2_fx=fr(f"{b}.attn_res.out"), res2_fr=fr(f"{b}.mlp.fc2.out"), res2_fout=fr(f"{b}.out"),
        **{f"sel_{n}_shift": 0 for n in ("norm", "in", "mlp1", "mlp2", "keep", "se1", "se2")},
    )
    if i in stages:
        regs["score_mode"] = SCORE_MODES[bd.config.prune.score]
        if bd.config.prune.score == "spvit":
            p = bd.selector(stages[i])
            regs.update(sel_eps=p.norm.eps_term, sel_norm_shift=p.norm.shift, sel_in_shift=p.in_proj.shift,
                        sel_mlp1_shift=p.mlp1.shift, sel_mlp2_shift=p.mlp2.shift, sel_keep_shift=p.keep.shift,
                        sel_se1_shift=p.se1.shift, sel_se2_shift=p.se2.shift)
    return regs


# ---- hw/rtl/encoder_block.sv: AXI4-Lite register map (byte offsets, 32-bit registers) --------------------------------
# Keep in step with the table in the header of hw/rtl/encoder_block.sv.
RTL_REGS = {
    "ctrl": 0x00,        # bit0 ap_start (write 1; reads 1 until the block starts), bit1 ap_done (clear on read),
                         # bit2 ap_idle, bit3 ap_ready
    "n": 0x10,           # tokens present, 1..N_MAX
    "weights_lo": 0x14,  # byte address of the block's parameter words (16-byte aligned), low 32 bits
    "weights_hi": 0x18,  # high bits
    "flags": 0x1C,       # bit0 cls_out: emit the class-attention side stream; bit1 reload: fetch parameters anyway;
                         # bit2 prefetch: fetch the words at next_lo/hi into another parameter set during the run
    "ln1_eps_lo": 0x20, "ln1_eps_hi": 0x24, "ln1_shift": 0x28,
    "q_shift": 0x2C, "k_shift": 0x30, "v_shift": 0x34, "f_qk": 0x38, "ctx_shift": 0x3C, "proj_shift": 0x40,
    "res1_fx": 0x44, "res1_fr": 0x48, "res1_fout": 0x4C,  # §4 fracs of x, of the residual, of the result
    "ln2_eps_lo": 0x50, "ln2_eps_hi": 0x54, "ln2_shift": 0x58,
    "fc1_shift": 0x5C, "fc2_shift": 0x60,
    "res2_fx": 0x64, "res2_fr": 0x68, "res2_fout": 0x6C,
    "next_lo": 0x70,     # byte address of the parameter words to prefetch, low 32 bits
    "next_hi": 0x74,     # high bits
    # read-only
    "cycles": 0x80,       # clock cycles from ap_start to ap_done of the last run
    "load_cycles": 0x84,  # cycles the last run spent fetching parameters (0: kept on chip)
    "status": 0x88,       # bit0 input tlast misplaced, bit1 AXI read error, bit2 parameters on chip,
                          # bit3 the loader is busy (after ap_done: a prefetch)
    "info0": 0x8C,        # D | MLP hidden << 16
    "info1": 0x90,        # N_MAX | H << 16
    "param_words": 0x94,  # 128-bit parameter words a block fetches
    "param_sets": 0x98,   # parameter sets the core keeps on chip (PARAM_SETS)
}
RTL_CTRL = {"ap_start": 1, "ap_done": 2, "ap_idle": 4, "ap_ready": 8}
RTL_FLAGS = {"cls_out": 1, "reload": 2, "prefetch": 4, "link": 8}
RTL_STATUS = {"framing_error": 1, "axi_error": 2, "params_valid": 4, "fetching": 8}
# registers a run writes, in the order written (shifts as 32-bit two's complement)
_RTL_SCALARS = ("ln1_shift", "q_shift", "k_shift", "v_shift", "f_qk", "ctx_shift", "proj_shift", "res1_fx", "res1_fr",
                "res1_fout", "ln2_shift", "fc1_shift", "fc2_shift", "res2_fx", "res2_fr", "res2_fout")


def dense_words(bundle: Bundle, i: int = 0) -> int:
    """128-bit words encoder_block.sv fetches for a block (the dense part; a selector's words, if any, follow)."""
    return words_of(dense_block_arrays(bundle, i))


def head_words(bundle: Bundle, i: int = 0) -> int:
    """The first of them, LN1's and qkv's: what encoder_block.sv's head prefetch fetches (PARAM_SETS = 1)."""
    return words_of(dense_block_arrays(bundle, i)[:4])


def rtl_reg_writes(regs: dict[str, int], n: int, weights_addr: int, cls_out: bool = False,
                   reload: bool = False, prefetch_addr: int | None = None, link: bool = False) -> list[tuple[int, int]]:
    """(offset, 32-bit value) writes that set up encoder_block.sv for one run of a block, from `block_regs`
    (HLS names) plus the token count, the byte address of the block's parameters, the flags and, to have the core
    fetch the next block's parameters during this run (with one parameter set, their LN1/qkv words), their address
    (`prefetch_addr`). `link`: the output tokens
    also go to the pruning stage on m_axis_link. ap_start is not among them."""
    u32 = lambda v: int(v) & 0xFFFFFFFF  # noqa: E731
    flags = (RTL_FLAGS["cls_out"] if cls_out else 0) | (RTL_FLAGS["reload"] if reload else 0) \
        | (RTL_FLAGS["prefetch"] if prefetch_addr is not None else 0) | (RTL_FLAGS["link"] if link else 0)
    writes = [(RTL_REGS["n"], n), (RTL_REGS["weights_lo"], u32(weights_addr)),
              (RTL_REGS["weights_hi"], u32(weights_addr >> 32)), (RTL_REGS["flags"], flags)]
    if prefetch_addr is not None:
        writes += [(RTL_REGS["next_lo"], u32(prefetch_addr)), (RTL_REGS["next_hi"], u32(prefetch_addr >> 32))]
    for name in ("ln1_eps", "ln2_eps"):
        writes += [(RTL_REGS[f"{name}_lo"], u32(regs[name])), (RTL_REGS[f"{name}_hi"], u32(regs[name] >> 32))]
    writes += [(RTL_REGS[name], u32(regs[name])) for name in _RTL_SCALARS]
    return writes
