"""The integer operations of the contract in torch (docs/arithmetic.md): the twin of `spvit.sim.golden`.

Every function has the name, signature and semantics of its golden counterpart, on torch.int64 tensors instead
of numpy arrays (inputs may be anything `torch.as_tensor` takes; results are int64, masks bool), vectorised over
leading batch dimensions, with the same masking. Everything is exact integer arithmetic; the only floats are
the ones golden uses for an estimate that is then corrected exactly (`isqrt`, `bit_length`) and, off the CPU, the
matmul of `_matmul` (exact, see there). Constants come from the golden modules: one definition of each.

torch pitfalls this module avoids: `>>` on int64 is arithmetic (= floor, as the contract wants), integer division
is always `torch.div(..., rounding_mode="floor")`, `torch.minimum`/`maximum` need tensors (use `clamp`), integer
division by zero raises (golden's numpy warns and returns 0), and int64 matmul exists only on the CPU.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from spvit.sim.golden import params as _gp
from spvit.sim.golden import scoring as _gs
from spvit.sim.golden.layernorm import NORM_FRAC, RSQRT_BITS
from spvit.sim.golden.scoring import SCORE_MAX  # noqa: F401  (re-exported: the uint16 score ceiling, §8)
from spvit.sim.golden.softmax import EXP_BITS, EXP_FRAC, LOG2E_Q15, POW2_LUT, PROB_FRAC, RECIP_BITS, SCORE_FRAC

I64 = torch.int64
_I64_MIN, _I64_MAX = torch.iinfo(I64).min, torch.iinfo(I64).max
_POW2 = torch.as_tensor(POW2_LUT, dtype=I64)


def _i64(x) -> torch.Tensor:
    """§1.2 int64 holds every register of the contract exactly (no copy for an int64 tensor)."""
    return torch.as_tensor(x, dtype=I64)


def _bool(m) -> torch.Tensor:
    return torch.as_tensor(m, dtype=torch.bool)


def _matmul(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """a @ b on int64: int64 matmul on the CPU; elsewhere (CUDA has no int64 matmul) `_matmul_f64`."""
    return a @ b if a.device.type == "cpu" else _matmul_f64(a, b)


def _matmul_f64(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """a @ b through float64, exact while max|a| * max|b| * K < 2**53: then every product and partial sum is an
    integer below 2**53, whatever the summation order. The contract's products (int8/uint8 x int8, or a uint17
    token_pack weight x int8, §1.2, §10) over reductions of at most 65,535 terms stay far below; checked anyway."""
    if a.numel() and b.numel():
        bound = a.abs().amax().item() * b.abs().amax().item() * a.shape[-1]
        if bound >= 2**53:
            raise OverflowError(f"float64 matmul would not be exact (bound {bound} >= 2**53)")
    return (a.double() @ b.double()).to(I64)


# --- §2 rounding, saturation and division primitives ------------------------------------------------------
def round_shift(x, shift):
    """§2.1 Shift right by `shift` rounding half up, `(x + 2**(s-1)) >> s`; a negative shift is an exact left
    shift. `shift` is an int or an int tensor broadcastable against x."""
    x = _i64(x)
    if isinstance(shift, int):
        return (x + (1 << (shift - 1))) >> shift if shift > 0 else x << -shift
    shift = _i64(shift).to(x.device)
    right = shift.clamp(min=0)
    bias = torch.where(right > 0, torch.ones_like(right) << (right - 1).clamp(min=0), 0)
    return torch.where(shift >= 0, (x + bias) >> right, x << (-shift).clamp(min=0))


def saturate(x, bits: int = 8, signed: bool = True):
    """§2.2 Clamp to a `bits`-wide two's-complement (or unsigned) range; never wraps."""
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    return _i64(x).clamp(lo, hi)


def requantize(acc, shift, bits: int = 8, signed: bool = True):
    """§2.3 Accumulator -> narrow integer: round_shift by `shift` (= f_acc - f_out), then saturate."""
    return saturate(round_shift(acc, shift), bits, signed)


def rdiv(num, den):
    """§2.4 Division rounded half up: floor((2*num + den) / (2*den)), den > 0 (exact for negative num)."""
    num, den = _i64(num), _i64(den)
    return torch.div(2 * num + den, 2 * den, rounding_mode="floor")


def reciprocal(den, k: int):
    """§2.5 floor(2**k / den), den > 0; k an int or an int tensor broadcastable against den."""
    den = _i64(den)
    k = k if isinstance(k, int) else _i64(k).to(den.device)
    return torch.div(torch.ones_like(den) << k, den, rounding_mode="floor")


def bit_length(x):
    """§2.7 Number of bits of x >= 0 (leading one + 1; 0 for 0), x < 2**53: frexp's exponent of float64(x)."""
    return torch.frexp(_i64(x).double()).exponent.to(I64)


def isqrt(n):
    """§2.6 floor(sqrt(n)) for 0 <= n < 2**62, exact: float64 estimate (within one), then integer correction."""
    n = _i64(n)
    r = torch.floor(torch.sqrt(n.double())).to(I64)
    for _ in range(2):
        r = torch.where(r * r > n, r - 1, r)
        r = torch.where((r + 1) * (r + 1) <= n, r + 1, r)
    return r


# --- §3 linear, §4 residual_add ----------------------------------------------------------------------------
def linear(x, weight, bias=None):
    """§3 int8 x [..., in] times int8 weight [out, in] -> int32 accumulators (+ int32 bias at f_in + f_w)."""
    acc = _matmul(_i64(x), _i64(weight).T)
    return acc if bias is None else acc + _i64(bias)


def residual_add(x, fx: int, y, fy: int, f_out: int):
    """§4 Align both operands to the finer scale (exact left shifts), add, requantize to f_out."""
    f = max(fx, fy)
    return requantize(round_shift(x, fx - f) + round_shift(y, fy - f), f - f_out)


# --- §5 softmax and attention ------------------------------------------------------------------------------
def exp2_neg(d, f: int):
    """§5.2 steps 1-3: e = 2**23 * exp(-d * 2**-f) for d >= 0, as POW2_LUT[r] >> q (z = q.r, 8 fraction bits)."""
    d = _i64(d).clamp(max=1 << (f + 5))  # beyond a real difference of 32.0 the result is 0 anyway
    z = round_shift(d * LOG2E_Q15, f + 15 - EXP_FRAC)
    q = (z >> EXP_FRAC).clamp(max=EXP_BITS + 1)
    return _POW2.to(z.device)[z & (2**EXP_FRAC - 1)] >> q


def softmax(x, f: int, mask=None):
    """§5.2 Softmax of int rows x (frac f) along the last axis; masked-out entries take no part and give 0.

    Returns (p8, p16): uint8 values at frac 8 (saturated at 255) and uint16 values at frac 16, as int64.
    """
    x = _i64(x)
    mask = torch.ones_like(x, dtype=torch.bool) if mask is None else _bool(mask).to(x.device).expand(x.shape)
    m = torch.where(mask, x, _I64_MIN).amax(dim=-1, keepdim=True)
    e = torch.where(mask, exp2_neg(m - torch.where(mask, x, m), f), 0)  # masked: d = 0, no overflow
    total = e.sum(dim=-1, keepdim=True)
    s = bit_length(total) - (EXP_BITS + 1)  # sum in [2**(23+s), 2**(24+s)), s >= 0
    # A fully masked row (never in the model) has total 0: golden's numpy divides by 0 -> 0 (and warns); torch
    # would raise, so divide by 1 instead, which gives the same all-zero row.
    r = reciprocal(total.clamp(min=1), RECIP_BITS + s)
    er = e * r
    p8 = round_shift(er, RECIP_BITS + s - PROB_FRAC).clamp(max=2**PROB_FRAC - 1)
    p16 = round_shift(er, RECIP_BITS + s - SCORE_FRAC).clamp(max=2**SCORE_FRAC - 1)
    return p8, p16


def attention(q, k, v, fq: int, fk: int, fv: int, f_out: int, mask=None):
    """§5 q, k, v: int8 [B, H, N, dh] (1/sqrt(dh) folded into q, §5.1); mask: bool [B, N] of the tokens present.

    Returns (context [B, H, N, dh] at f_out, §5.3, rows of absent tokens 0; class-attention p16 [B, H, N], §5.4).
    """
    q, k, v = _i64(q), _i64(k), _i64(v)
    mask = None if mask is None else _bool(mask).to(q.device)
    logits = _matmul(q, k.transpose(-1, -2))  # int32 at frac fq + fk
    p8, p16 = softmax(logits, fq + fk, None if mask is None else mask[:, None, None, :])
    ctx = requantize(_matmul(p8, v), PROB_FRAC + fv - f_out)
    if mask is not None:
        ctx = torch.where(mask[:, None, :, None], ctx, 0)
    return ctx, p16[:, :, 0, :]


# --- §6 layernorm, §7 lut ----------------------------------------------------------------------------------
def layernorm(x, gamma, beta, eps_term: int, shift: int):
    """§6 LayerNorm over the last axis of int8 x: gamma int16 (sqrt(D) folded in), beta int32 at frac 15 + f_g,
    eps_term = E (units of V), shift = 15 + f_g - f_out."""
    x = _i64(x)
    d = x.shape[-1]
    c = d * x - x.sum(dim=-1, keepdim=True)  # D * (x - mean), exact
    v = (c * c).sum(dim=-1, keepdim=True) + eps_term  # D**3 * (var + eps)
    r = isqrt(torch.div(torch.full_like(v, 1 << (2 * RSQRT_BITS)), v, rounding_mode="floor"))  # floor(2**31/sqrt V)
    z = round_shift(c * r, RSQRT_BITS - NORM_FRAC)
    return requantize(z * _i64(gamma) + _i64(beta), shift)


def lut(x, table):
    """§7 y = table[x & 0xFF]: the int8 input's two's-complement byte addresses a 256-entry table."""
    x = _i64(x)
    return _i64(table).to(x.device)[x & 0xFF]


# --- parameters (torch twins of golden's LinearParams, NormParams, SelectorParams) -------------------------
@dataclass(frozen=True)
class LinearInt:
    """§3 weight int8 [out, in] (or [H, out, in] per head), bias int32 at f_in + f_w, shift = f_in + f_w - f_out."""

    weight: torch.Tensor
    bias: torch.Tensor
    shift: int

    @classmethod
    def from_golden(cls, p: _gp.LinearParams) -> "LinearInt":
        return cls(_i64(p.weight), _i64(p.bias), int(p.shift))

    def accumulate(self, x):
        """§3 int32 accumulators; a per-head weight maps x [..., H, in] -> [..., H, out] (head h sees slice h)."""
        x, w = _i64(x), _i64(self.weight)
        if w.dim() == 3:  # [..., H, 1, in] @ [H, in, out] -> [..., H, 1, out]
            return _matmul(x.unsqueeze(-2), w.transpose(-1, -2)).squeeze(-2) + _i64(self.bias)
        return linear(x, w, self.bias)

    def __call__(self, x):
        """§2.3 accumulate, then requantize to int8."""
        return requantize(self.accumulate(x), self.shift)


@dataclass(frozen=True)
class NormInt:
    """§6 gamma int16, beta int32, eps_term, shift = 15 + f_g - f_out."""

    gamma: torch.Tensor
    beta: torch.Tensor
    eps_term: int
    shift: int

    @classmethod
    def from_golden(cls, p: _gp.NormParams) -> "NormInt":
        return cls(_i64(p.gamma), _i64(p.beta), int(p.eps_term), int(p.shift))

    def __call__(self, x):
        return layernorm(x, self.gamma, self.beta, self.eps_term, self.shift)


@dataclass(frozen=True)
class SelectorInt:
    """§8.2 One SPViT multi-head token selector; the fields of golden's SelectorParams, tables as tensors."""

    norm: NormInt
    in_proj: LinearInt  # [H, dh, dh]
    in_act: torch.Tensor  # GELU table
    mlp1: LinearInt  # [H, dh/2, dh]
    mlp1_act: torch.Tensor
    mlp2: LinearInt  # [H, dh/4, dh/2]
    mlp2_act: torch.Tensor
    keep: LinearInt  # [H, 1, dh/4] -> keep logit
    keep_act: torch.Tensor  # sigmoid table, uint8 frac 8
    se1: LinearInt  # [Hs, H]
    se1_act: torch.Tensor
    se2: LinearInt  # [H, Hs]
    se2_act: torch.Tensor  # sigmoid table, uint8 frac 8

    @classmethod
    def from_golden(cls, p: _gs.SelectorParams) -> "SelectorInt":
        conv = {_gp.LinearParams: LinearInt.from_golden, _gp.NormParams: NormInt.from_golden}
        return cls(**{name: conv.get(type(v), _i64)(v) for name, v in vars(p).items()})


# --- §8 scoring --------------------------------------------------------------------------------------------
def asvit_score(cls_p16, cls_ctx):
    """§8.1 Class-attention row [B, H, N] weighted by head importance n_h = isqrt(sum_c ctx[h, c]**2) of the
    class context [B, H, dh]; all heads weigh 1 when every n_h is 0. Returns [B, N] at frac 16."""
    ctx = _i64(cls_ctx)
    n = isqrt((ctx * ctx).sum(dim=-1))  # [B, H]
    n = torch.where(n.sum(dim=-1, keepdim=True) == 0, 1, n)
    num = (n[:, :, None] * _i64(cls_p16)).sum(dim=1)
    return rdiv(num, n.sum(dim=-1, keepdim=True))


def selector(x, mask, p: SelectorInt, num_heads: int):
    """§8.2 SPViT keep score of every token: x int8 [B, N, D], mask bool [B, N] -> uint16 [B, N] at frac 16
    (absent tokens 0)."""
    x = _i64(x)
    mask = _bool(mask).to(x.device)
    b, n, d = x.shape
    dh = d // num_heads
    u = lut(p.in_proj(p.norm(x).reshape(b, n, num_heads, dh)), p.in_act)  # [B, N, H, dh]
    present = mask.to(I64)[:, :, None, None]
    count = mask.sum(dim=1).clamp(min=1)[:, None, None, None]
    glob = rdiv((u[..., dh // 2:] * present).sum(dim=1, keepdim=True), count)  # global half, tokens present
    feat = torch.cat([u[..., : dh // 2], glob.expand_as(u[..., dh // 2:])], dim=-1)
    hid = lut(p.mlp2(lut(p.mlp1(feat), p.mlp1_act)), p.mlp2_act)
    keep = lut(p.keep(hid)[..., 0], p.keep_act)  # [B, N, H] uint8 frac 8
    pooled = rdiv(u.sum(dim=-1), dh)  # [B, N, H]
    w = lut(p.se2(lut(p.se1(pooled), p.se1_act)), p.se2_act)  # [B, N, H] uint8 frac 8
    num = (w * keep).sum(dim=-1) << 8  # frac 16 + 8
    return torch.where(mask, rdiv(num, w.sum(dim=-1).clamp(min=1)), 0)


# --- §9 topk_select, §10 token_pack ------------------------------------------------------------------------
def candidates(n_valid, n_protected_tail: int, n: int):
    """§9 Prunable tokens, bool [B, n]: present, not the class token (0), not among the last
    `n_protected_tail` present tokens (earlier stages' package tokens)."""
    n_valid = _i64(n_valid)
    pos = torch.arange(n, device=n_valid.device)[None, :]
    return (pos >= 1) & (pos < n_valid[:, None] - n_protected_tail)


def topk_select(scores, n_valid, n_protected_tail: int, k, threshold=None):
    """§9 Kept candidates, bool [B, N]: rank < k (k an int or [B]; clamping to the candidate count is implicit)
    and, in threshold mode, score >= threshold (an int or [B]). Rank = candidates with a higher score, or an
    equal one at a lower index: a stable sort of -score."""
    scores = _i64(scores)
    b, n = scores.shape
    cand = candidates(_i64(n_valid).to(scores.device), n_protected_tail, n)
    key = torch.where(cand, -scores, _I64_MAX)  # non-candidates sort last
    order = torch.sort(key, dim=-1, stable=True).indices
    rank = torch.empty_like(order).scatter_(-1, order, torch.arange(n, device=order.device).expand(b, n))
    keep = cand & (rank < _i64(k).to(scores.device).reshape(-1, 1))
    if threshold is not None:
        keep &= scores >= _i64(threshold).to(scores.device).reshape(-1, 1)
    return keep


def token_pack(x, scores, pruned):
    """§10 Package token [B, D] = rdiv(sum_j w_j x_j, sum_j w_j) over the pruned tokens, w_j = score_j + 1;
    all zeros when nothing is pruned."""
    x = _i64(x)
    w = torch.where(_bool(pruned).to(x.device), _i64(scores) + 1, 0)
    num = _matmul(w[:, None, :], x).squeeze(1)  # [B, 1, N] @ [B, N, D]
    den = w.sum(dim=-1, keepdim=True)
    return torch.where(den > 0, rdiv(num, den.clamp(min=1)), 0)


def gather_tokens(x, order, n_out: int):
    """§11.3 Take tokens x[b, order[b, :n_out]] (a pure data move, no arithmetic)."""
    x = _i64(x)
    idx = _i64(order).to(x.device)[:, :n_out, None].expand(-1, -1, x.shape[-1])
    return torch.gather(x, 1, idx)
