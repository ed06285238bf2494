"""The two IP cores at register level, computed by the golden model: what the `golden` backend runs directly and the
emulated board (host/shim.py) runs behind its registers and DMA streams.

Each model sees only what the hardware sees -- its decoded s_axilite arguments, its parameter / score words in
memory, its input beats -- never the bundle, so a driver that programs a wrong register, a wrong address or a wrong
layout gets a wrong answer here, as it would on the board. The arithmetic is the golden model's own functions
(spvit.sim.golden: layernorm, linear, requantize, attention, lut, asvit_score, selector, topk_select, token_pack),
composed as hw/hls/encoder_block.hpp composes its kernels (§11.2, §11.3), parameterised by shifts rather than fracs.
"""
from __future__ import annotations

import numpy as np

from spvit.sim.golden.arith import linear, requantize, round_shift
from spvit.sim.golden.attention import attention
from spvit.sim.golden.layernorm import layernorm
from spvit.sim.golden.lut import lut
from spvit.sim.golden.params import LinearParams, NormParams
from spvit.sim.golden.scoring import SelectorParams, asvit_score, selector
from spvit.sim.golden.softmax import PROB_FRAC
from spvit.sim.golden.token_pack import token_pack
from spvit.sim.golden.topk_select import candidates, topk_select
from spvit.sim.hls_kernels import SCORE_MODES

from . import pack
from .errors import StreamError
from .ip import IpDims, SELECTOR_SHIFTS


class FramingError(StreamError):
    """The input beats' TLAST is not exactly on the last beat of the last token (the cores return false / 0)."""


def _tokens(in_bytes, tlast, n: int, dims: IpDims) -> tuple[np.ndarray, bool]:
    """n tokens from exactly n * D / 16 beats; framed = TLAST only on the final beat (the tops' read_token)."""
    data = np.asarray(in_bytes, dtype=np.uint8).reshape(-1)
    if data.size != n * dims.embed_dim:
        raise StreamError(f"expected {n * dims.beats} beats, got {data.size / 16:g}")
    tl = np.asarray(tlast, dtype=bool).reshape(-1)
    framed = tl.size == n * dims.beats and bool(tl[-1]) and not tl[:-1].any()
    return data.view(np.int8).reshape(n, dims.embed_dim).astype(np.int64), framed


def _residual(x, y, shift_x: int, shift_r: int, shift_out: int):
    """§4 with the registers' shifts: (x << shift_x) + (y << shift_r), requantized by shift_out."""
    return requantize(round_shift(x, -shift_x) + round_shift(y, -shift_r), shift_out)


def encoder_block(dims: IpDims, args: dict[str, int], mem_words: np.ndarray, in_bytes, tlast):
    """encoder_block_top: args (decoded values; `mem` / `scores` are the caller's business), the uint32 words at the
    `mem` pointer, the input beats. Returns (output bytes, uint32 score words [4 * score_words], ap_return)."""
    n = args["n"]
    x, framed = _tokens(in_bytes, tlast, n, dims)
    d, h, dh = dims.embed_dim, dims.num_heads, dims.head_dim
    mode = args["score_mode"]
    spvit = mode == SCORE_MODES["spvit"]
    p, _ = pack.unpack_words(mem_words, pack.block_param_specs(dims, spvit), args["weights"])
    y = layernorm(x, p["norm1.weight"], p["norm1.bias"], args["ln1_eps"], args["ln1_shift"])
    qkv = linear(y, p["attn.qkv.weight"], p["attn.qkv.bias"])
    q, k, v = (requantize(qkv[:, j * d:(j + 1) * d], args[f"{part}_shift"]).reshape(1, n, h, dh).transpose(0, 2, 1, 3)
               for j, part in enumerate("qkv"))
    # attention() only uses fq + fk (= f_qk) and PROB_FRAC + fv - f_out (= ctx_shift)
    ctx, cls_p16 = attention(q, k, v, args["f_qk"], 0, args["ctx_shift"] - PROB_FRAC, 0)
    cls_ctx = ctx[:, :, 0, :]
    proj = requantize(linear(ctx.transpose(0, 2, 1, 3).reshape(n, d), p["attn.proj.weight"], p["attn.proj.bias"]),
                      args["proj_shift"])
    x = _residual(x, proj, args["res1_x"], args["res1_r"], args["res1_out"])
    y = layernorm(x, p["norm2.weight"], p["norm2.bias"], args["ln2_eps"], args["ln2_shift"])
    y = lut(requantize(linear(y, p["mlp.fc1.weight"], p["mlp.fc1.bias"]), args["fc1_shift"]), p["mlp.act.lut"])
    y = requantize(linear(y, p["mlp.fc2.weight"], p["mlp.fc2.bias"]), args["fc2_shift"])
    out = _residual(x, y, args["res2_x"], args["res2_r"], args["res2_out"])
    if mode == SCORE_MODES["asvit"]:
        scores = asvit_score(cls_p16, cls_ctx)[0]
    elif spvit:
        sel = _selector_params(p, args)
        scores = selector(out[None], np.ones((1, n), dtype=bool), sel, h)[0]
    else:
        scores = np.zeros(n, dtype=np.int64)
    return pack.tokens_to_bytes(out), pack.pack_u16_words(scores, dims.score_words), int(framed)


def _selector_params(p: dict, args: dict) -> SelectorParams:
    shift = dict(zip(("norm", "in", "mlp1", "mlp2", "keep", "se1", "se2"), (args[s] for s in SELECTOR_SHIFTS)))

    def lin(name, s):
        return LinearParams(p[f"sel.{name}.weight"], p[f"sel.{name}.bias"], shift[s])

    return SelectorParams(
        norm=NormParams(p["sel.norm.weight"], p["sel.norm.bias"], args["sel_eps"], shift["norm"]),
        in_proj=lin("in_proj", "in"), in_act=p["sel.in_act.lut"], mlp1=lin("mlp1", "mlp1"),
        mlp1_act=p["sel.mlp1_act.lut"], mlp2=lin("mlp2", "mlp2"), mlp2_act=p["sel.mlp2_act.lut"],
        keep=lin("keep", "keep"), keep_act=p["sel.keep_act.lut"], se1=lin("se1", "se1"), se1_act=p["sel.se1_act.lut"],
        se2=lin("se2", "se2"), se2_act=p["sel.se2_act.lut"])


def prune_stage(dims: IpDims, args: dict[str, int], score_words: np.ndarray, in_bytes, tlast):
    """prune_stage_top: args (decoded), the uint32 words at the `scores` pointer, the input beats. Returns (output
    bytes, uint32 source words [4 * source_words], ap_return = output token count, 0 for a misplaced TLAST)."""
    n, tail = args["n"], args["n_protected_tail"]
    x, framed = _tokens(in_bytes, tlast, n, dims)
    scores = pack.unpack_u16_words(score_words, n)[None]
    threshold = args["threshold"] if args["threshold_mode"] else None
    keep = topk_select(scores, np.array([n]), tail, np.array([args["k"]]), threshold)
    pruned = candidates(np.array([n]), tail, n) & ~keep
    sources = np.flatnonzero(~pruned[0])
    out = x[sources]
    if args["package"]:
        out = np.concatenate([out, token_pack(x[None], scores, pruned)], axis=0)
        sources = np.append(sources, n)
    count = len(out) if framed else 0
    return pack.tokens_to_bytes(out), pack.pack_u16_words(sources, dims.source_words), count
