"""The host driver's pack / unpack layer: every byte layout between the host and the IP cores, in one place.

Where each part of the model runs (the split of spvit.sim.hls_backend.HlsBackend, kept here): the IP cores run the
encoder blocks (`encoder_block`, §11.2, with the stage scores of §8) and the pruning stages (`prune_stage`, §11.3);
the patch embedding (§11.1) and the head (§11.4) run on the host CPU with the golden model's own functions
(spvit.sim.golden.model.patch_embed / head -- integer NumPy, bit-exact by definition). So the host packs int8
tokens [n, D], not images, into the first block's input stream.

Layouts (docs/hls.md, "Interfaces of the IP tops"):
- tokens <-> AXI-Stream: a token is D / 16 beats of 128 bits; channel c is byte c % 16 of beat c / 16, TLAST on the
  last beat of the last token. In memory (the DMA buffers) that is simply the tokens' int8 bytes, row-major.
- parameters over m_axi: 128-bit words from spvit.sim.hls_kernels.pack_words in encoder_block.hpp
  load_block_params() order, laid out for every block by spvit.sim.block_regs.pack_blocks (imported, never copied);
  `block_param_specs` / `unpack_words` read them back (the emulated cores, and the round-trip tests).
- scores (uint16, frac 16) and source indices (uint16): 8 per 128-bit word, little-endian lanes, zero past the count.
- s_axilite arguments: two's-complement fields of their C++ widths (host/ip.py), `encode_arg` / `decode_arg`.
"""
from __future__ import annotations

import numpy as np

from spvit.sim import block_regs
from spvit.sim.golden.model import PACKAGE_ID
from spvit.sim.hls_kernels import pack_words

from .errors import (InputDtypeError, InputRangeError, InputShapeError, RegisterRangeError, StreamError,
                     TooManyTokensError)
from .ip import Arg, IpDims, IpSpec

BEAT_BYTES = 16  # one 128-bit AXI-Stream beat = 16 int8 channels
WORD_BYTES = 16  # one 128-bit m_axi word


# ---- images ------------------------------------------------------------------------------------------------------------
def check_images(images, cfg) -> np.ndarray:
    """Validate a batch of int8 images for model `cfg`: [B, C, H, W] (or one image [C, H, W]) of integers in
    [-128, 127]. Returns int64 [B, C, H, W]. Raises InputShapeError / InputDtypeError / InputRangeError."""
    try:
        a = np.asarray(images)
    except (TypeError, ValueError) as exc:
        raise InputShapeError(f"images are not an array: {exc}") from None
    if a.dtype == object:
        raise InputShapeError("images are ragged (images of different shapes in one batch)")
    if a.dtype == np.bool_ or not np.issubdtype(a.dtype, np.integer):
        raise InputDtypeError(f"images must be int8 (integers); got dtype {a.dtype}. Quantize float images first: "
                              "spvit.sim.golden.quantize_input(images, bundle.frac('input'))")
    want = (cfg.in_chans, cfg.img_size, cfg.img_size)
    if a.ndim == 3:
        a = a[None]
    if a.ndim != 4 or a.shape[1:] != want or a.shape[0] == 0:
        raise InputShapeError(f"images must be [B, {want[0]}, {want[1]}, {want[2]}] (model {cfg.name}), B >= 1; "
                              f"got {tuple(np.shape(images))}")
    if a.size and (a.min() < -128 or a.max() > 127):
        raise InputRangeError(f"pixels must lie in int8 [-128, 127]; got [{a.min()}, {a.max()}]")
    return a.astype(np.int64)


def check_token_count(n: int, dims: IpDims, what: str = "tokens") -> None:
    if not 1 <= n <= dims.n_max:
        raise TooManyTokensError(f"{n} {what}: the IP cores take 1..{dims.n_max} tokens (N_MAX of the build)")


# ---- tokens <-> 128-bit beats -----------------------------------------------------------------------------------------
def tokens_to_bytes(tokens) -> np.ndarray:
    """int8 tokens [n, D] -> the stream's bytes (uint8 [n * D]): beat b = bytes [16 b, 16 b + 16)."""
    t = np.asarray(tokens)
    if t.ndim != 2 or t.shape[1] % BEAT_BYTES:
        raise StreamError(f"tokens must be [n, D] with D a multiple of {BEAT_BYTES}; got {t.shape}")
    if t.size and (t.min() < -128 or t.max() > 127):
        raise RegisterRangeError(f"token values outside int8: [{t.min()}, {t.max()}]")
    return np.ascontiguousarray(t.astype(np.int8)).reshape(-1).view(np.uint8)


def tokens_to_beats(tokens) -> tuple[np.ndarray, np.ndarray]:
    """int8 tokens [n, D] -> (beats uint8 [n * D / 16, 16] with channel c in byte c % 16 of beat c / 16,
    TLAST bool per beat: only the last one)."""
    data = tokens_to_bytes(tokens).reshape(-1, BEAT_BYTES)
    tlast = np.zeros(len(data), dtype=bool)
    if len(tlast):
        tlast[-1] = True
    return data, tlast


def beats_to_tokens(beats, embed_dim: int, tlast=None) -> np.ndarray:
    """Beats (uint8 [nbeats, 16] or the flat bytes) -> int8 tokens [n, D] (as int64). With `tlast`, TLAST must be
    on the last beat only. Raises StreamError when the bytes are not whole tokens."""
    data = np.ascontiguousarray(beats, dtype=np.uint8).reshape(-1)
    if data.size % embed_dim:
        raise StreamError(f"{data.size} bytes are not whole tokens of {embed_dim} channels")
    if tlast is not None:
        tl = np.asarray(tlast, dtype=bool).reshape(-1)
        if tl.size != data.size // BEAT_BYTES or (tl.size and (not tl[-1] or tl[:-1].any())):
            raise StreamError("TLAST is not on the last beat of the last token")
    return data.view(np.int8).reshape(-1, embed_dim).astype(np.int64)


# ---- parameter words ------------------------------------------------------------------------------------------------------
def model_words(bundle) -> tuple[np.ndarray, list[int]]:
    """Every block's parameters in the m_axi layout (spvit.sim.block_regs.pack_blocks): (uint32 [4 * words], word
    offset of each block -- its `weights` register)."""
    return block_regs.pack_blocks(bundle)


def block_param_specs(dims: IpDims, selector: bool) -> list[tuple[str, tuple[int, ...], int, bool]]:
    """(name, shape, bits, signed) of a block's parameter arrays in load_block_params() order (the order of
    spvit.sim.block_regs.block_arrays), the SPViT selector's after the block's own when `selector`."""
    d, h, m, dh, se = dims.embed_dim, dims.num_heads, dims.mlp_hidden, dims.head_dim, dims.se_width
    out = [("norm1.weight", (d,), 16, True), ("norm1.bias", (d,), 32, True),
           ("attn.qkv.weight", (3 * d, d), 8, True), ("attn.qkv.bias", (3 * d,), 32, True),
           ("attn.proj.weight", (d, d), 8, True), ("attn.proj.bias", (d,), 32, True),
           ("norm2.weight", (d,), 16, True), ("norm2.bias", (d,), 32, True),
           ("mlp.fc1.weight", (m, d), 8, True), ("mlp.fc1.bias", (m,), 32, True), ("mlp.act.lut", (256,), 8, True),
           ("mlp.fc2.weight", (d, m), 8, True), ("mlp.fc2.bias", (d,), 32, True)]
    if selector:
        out += [("sel.norm.weight", (d,), 16, True), ("sel.norm.bias", (d,), 32, True)]
        for name, w_shape, b_shape, table_signed in (
                ("in_proj", (h, dh, dh), (h, dh), True), ("mlp1", (h, dh // 2, dh), (h, dh // 2), True),
                ("mlp2", (h, dh // 4, dh // 2), (h, dh // 4), True), ("keep", (h, 1, dh // 4), (h, 1), False),
                ("se1", (se, h), (se,), True), ("se2", (h, se), (h,), False)):
            act = f"{name.replace('_proj', '')}_act"  # in_act, mlp1_act, ... (SelectorParams names)
            out += [(f"sel.{name}.weight", w_shape, 8, True), (f"sel.{name}.bias", b_shape, 32, True),
                    (f"sel.{act}.lut", (256,), 8, table_signed)]
    return out


def unpack_words(words, specs, word: int = 0) -> tuple[dict[str, np.ndarray], int]:
    """Inverse of pack_words: read the arrays `specs` (block_param_specs) from uint32 words starting at 128-bit
    word `word`. Returns ({name: int64 array}, the word after the last one read)."""
    raw = np.ascontiguousarray(words, dtype="<u4").view(np.uint8)
    out = {}
    for name, shape, bits, signed in specs:
        count = int(np.prod(shape))
        nbytes = count * bits // 8
        start = word * WORD_BYTES
        if start + nbytes > raw.size:
            raise StreamError(f"parameter array {name} runs past the end of the parameter words")
        v = raw[start:start + nbytes].view(f"<{'i' if signed else 'u'}{bits // 8}")
        out[name] = v.astype(np.int64).reshape(shape)
        word += -(-nbytes // WORD_BYTES)
    return out, word


# ---- scores and source indices ---------------------------------------------------------------------------------------------
def pack_u16_words(values, words: int) -> np.ndarray:
    """uint16 values -> `words` 128-bit words (uint32 [4 * words]), 8 lanes a word, zero past the values."""
    v = np.asarray(values, dtype=np.int64).ravel()
    if v.size > 8 * words:
        raise StreamError(f"{v.size} values do not fit {words} words of 8")
    if v.size and (v.min() < 0 or v.max() > 0xFFFF):
        raise RegisterRangeError("uint16 values out of range")
    out = np.zeros(4 * words, dtype=np.uint32)
    packed = pack_words([(v, 16)]) if v.size else np.zeros(0, dtype=np.uint32)
    out[:packed.size] = packed
    return out


def unpack_u16_words(words, count: int) -> np.ndarray:
    """The first `count` uint16 lanes of 128-bit words (uint32 [4 * words] or raw bytes), as int64."""
    raw = np.ascontiguousarray(words).reshape(-1).view(np.uint8)
    if 2 * count > raw.size:
        raise StreamError(f"{count} uint16 values do not fit {raw.size} bytes")
    return raw[:2 * count].view("<u2").astype(np.int64)


def follow_sources(ids, sources, n: int, stage: int) -> np.ndarray:
    """§11.3 Token ids after a pruning stage: output token i came from input token sources[i]; source n is the
    stage's package token (id PACKAGE_ID - stage)."""
    ids, sources = np.asarray(ids, dtype=np.int64), np.asarray(sources, dtype=np.int64)
    if sources.size and (sources.min() < 0 or sources.max() > n):
        raise StreamError(f"source indices outside 0..{n}: {sources.tolist()}")
    return np.where(sources < n, ids[np.minimum(sources, n - 1)], PACKAGE_ID - stage).astype(np.int64)


# ---- s_axilite arguments ------------------------------------------------------------------------------------------------------
def encode_arg(arg: Arg, value: int) -> int:
    """A value -> the unsigned field of its register (two's complement for signed args). RegisterRangeError when it
    does not fit the argument's C++ type."""
    value = int(value)
    if not arg.lo <= value <= arg.hi:
        raise RegisterRangeError(f"{arg.name} = {value} does not fit its {'signed' if arg.signed else 'unsigned'} "
                                 f"{arg.bits}-bit register ([{arg.lo}, {arg.hi}])")
    return value & ((1 << arg.bits) - 1)


def decode_arg(arg: Arg, raw: int) -> int:
    """The register field (its low `bits` bits) -> the argument's value."""
    raw = int(raw) & ((1 << arg.bits) - 1)
    return raw - (1 << arg.bits) if arg.signed and raw >> (arg.bits - 1) else raw


def encoder_block_args(spec: IpSpec, regs: dict[str, int], n: int, mem_addr: int, scores_addr: int) -> dict[str, int]:
    """The encoder_block arguments of one run, in prototype order: the block's registers (spvit.sim.block_regs
    .block_regs, every shift derived from the bundle), the token count and the two m_axi base addresses."""
    values = dict(regs, n=n, mem=mem_addr, scores=scores_addr)
    return {a.name: int(values[a.name]) for a in spec.args}


def prune_stage_args(spec: IpSpec, n: int, n_protected_tail: int, k: int, threshold: int | None, package: bool,
                     scores_addr: int, sources_addr: int, n_max: int) -> dict[str, int]:
    """The prune_stage arguments of one run, in prototype order; k is clamped to N_MAX (the selection clamps it to
    the candidate count anyway, §9)."""
    values = dict(scores=scores_addr, sources=sources_addr, n=n, n_protected_tail=n_protected_tail,
                  k=min(int(k), n_max), threshold_mode=int(threshold is not None), threshold=int(threshold or 0),
                  package=int(bool(package)))
    return {a.name: int(values[a.name]) for a in spec.args}
