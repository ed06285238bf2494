"""Brevitas fixed-point building blocks, each able to hand out the integers of docs/arithmetic.md.

Training runs the float forward with Brevitas fake quantization (power-of-two scales everywhere the hardware sees
a tensor). `to_int(...)` turns a layer into the integer parameters of the contract: the exporter writes exactly
these into the bundle and the torch integer-eval forward runs on exactly these, so the two cannot drift apart.
Brevitas' fake quantization rounds half to even while the contract rounds half up (§2.1): the two differ only
on exact ties, and only in training; every integer result is produced by the contract's rounding.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from brevitas.nn import QuantConv2d, QuantIdentity, QuantLinear
from brevitas.quant.fixed_point import Int8ActPerTensorFixedPoint, Int8WeightPerTensorFixedPoint
from torch import nn
from torch.nn import functional as F

from spvit.sim.golden.bundle import FRAC_RANGE
from spvit.sim.golden.generate import quantize_bias, quantize_norm
from spvit.sim.golden.layernorm import eps_term
from spvit.sim.golden.lut import make_lut

from .integer import LinearInt, NormInt


class FracError(ValueError):
    """A learned scale that the contract cannot represent (fractional bits outside FRAC_RANGE)."""


def frac_of(scale: torch.Tensor, what: str) -> int:
    """§1.1 Fractional bits of a power-of-two scale."""
    f = -math.log2(float(scale.detach()))
    if abs(f - round(f)) > 1e-6 or not FRAC_RANGE[0] <= round(f) <= FRAC_RANGE[1]:
        raise FracError(f"{what}: scale {float(scale)} is not 2**-f with f in {list(FRAC_RANGE)}")
    return int(round(f))


def fixed_quant(x, frac: int, lo: int, hi: int):
    """Fake quantization to a fixed format (softmax and sigmoid outputs, §5.2, §7): round half up, clamp,
    straight-through gradient. Plain tensor ops, so ONNX export traces it."""
    q = torch.clamp(torch.floor(x * 2.0**frac + 0.5), lo, hi) * 2.0**-frac
    return x + (q - x).detach()


# Activation scales are initialised from percentile statistics over this many training steps, then learned.
ActQuant = Int8ActPerTensorFixedPoint.let(collect_stats_steps=30)


class Quantized:
    """Mixin: `quant_enabled` False runs the layer in plain float (the dense float stage of training, §README)."""

    quant_enabled = True


def set_quant(model: nn.Module, enabled: bool) -> None:
    for m in model.modules():
        if isinstance(m, Quantized):
            m.quant_enabled = enabled


class QAct(Quantized, nn.Module):
    """An int8 activation quantizer with a learned power-of-two scale (Brevitas Int8ActPerTensorFixedPoint)."""

    def __init__(self):
        super().__init__()
        self.quant = QuantIdentity(act_quant=ActQuant, return_quant_tensor=False)

    def forward(self, x):
        return self.quant(x) if self.quant_enabled else x

    def frac(self) -> int:
        return frac_of(self.quant.act_quant.scale(), "activation quantizer")

    def to_int(self, x) -> torch.Tensor:
        """The int8 codes of x (what the exporter stores for quantized parameters such as pos_embed)."""
        return torch.round(self.quant(x) * 2.0 ** self.frac()).to(torch.int64)


class QLinear(Quantized, QuantLinear):
    """nn.Linear (timm key names `weight`, `bias`) with int8 narrow-range power-of-two weights. The bias stays
    float in training and is quantized to int32 at the accumulator's scale on export (§1.3)."""

    def __init__(self, in_features: int, out_features: int):
        super().__init__(in_features, out_features, bias=True, weight_quant=Int8WeightPerTensorFixedPoint)

    def forward(self, x):
        return super().forward(x) if self.quant_enabled else F.linear(x, self.weight, self.bias)

    def fake_weight(self) -> torch.Tensor:
        return self.quant_weight().value if self.quant_enabled else self.weight

    def weight_int(self) -> tuple[torch.Tensor, int]:
        qw = self.quant_weight()
        return qw.int().to(torch.int64), frac_of(qw.scale, "weight quantizer")

    def to_int(self, f_in: int, f_out: int | None = None) -> tuple[LinearInt, int]:
        """§3 (weight, bias, requantization shift) and the weight's frac; f_out None keeps the accumulator."""
        w, f_w = self.weight_int()
        bias = torch.from_numpy(quantize_bias(self.bias.detach().double().numpy(), f_in + f_w).astype(np.int64))
        return LinearInt(w, bias, 0 if f_out is None else f_in + f_w - f_out), f_w


class HeadLinear(nn.Module):
    """A per-head linear layer (§8.2): head h maps its own slice [.., h, in] -> [.., h, out] with its own weights.
    One Brevitas weight quantizer covers all heads (one frac, as the bundle stores it)."""

    def __init__(self, heads: int, in_features: int, out_features: int):
        super().__init__()
        self.heads, self.out_features, self.in_features = heads, out_features, in_features
        self.lin = QLinear(in_features, heads * out_features)
        with torch.no_grad():  # each head's block initialised like a standalone nn.Linear
            self.lin.weight.copy_(torch.stack([nn.Linear(in_features, out_features).weight for _ in range(heads)]).reshape(-1, in_features))

    def forward(self, x):
        w = self.lin.fake_weight().view(self.heads, self.out_features, self.in_features)
        return torch.einsum("...hi,hoi->...ho", x, w) + self.lin.bias.view(self.heads, self.out_features)

    def to_int(self, f_in: int, f_out: int) -> tuple[LinearInt, int]:
        lin, f_w = self.lin.to_int(f_in, f_out)
        return LinearInt(lin.weight.view(self.heads, self.out_features, self.in_features),
                         lin.bias.view(self.heads, self.out_features), lin.shift), f_w


class PatchEmbed(Quantized, nn.Module):
    """timm's PatchEmbed: a P x P stride-P convolution (`patch_embed.proj.weight` [D, C, P, P])."""

    def __init__(self, in_chans: int, dim: int, patch: int):
        super().__init__()
        self.proj = QuantConv2d(in_chans, dim, patch, stride=patch, bias=True, weight_quant=Int8WeightPerTensorFixedPoint)

    def forward(self, x):
        if self.quant_enabled:
            y = self.proj(x)
        else:
            y = F.conv2d(x, self.proj.weight, self.proj.bias, stride=self.proj.stride)
        return y.flatten(2).transpose(1, 2)

    def to_int(self, f_in: int, f_out: int) -> tuple[LinearInt, int]:
        """§11.1 The convolution's weight [D, C, P, P], bias and shift, and the weight's frac."""
        qw = self.proj.quant_weight()
        w, f_w = qw.int().to(torch.int64), frac_of(qw.scale, "patch_embed weight quantizer")
        bias = torch.from_numpy(quantize_bias(self.proj.bias.detach().double().numpy(), f_in + f_w).astype(np.int64))
        return LinearInt(w, bias, f_in + f_w - f_out), f_w


class QLayerNorm(nn.LayerNorm):
    """nn.LayerNorm in training; §6 integers (G, B, E) on export."""

    def to_int(self, f_in: int, f_out: int) -> tuple[NormInt, int]:
        """Returns the integer LayerNorm and f_g (the frac the bundle records as `<name>.weight`)."""
        g, b, f_g = quantize_norm(self.weight.detach().double().numpy(), self.bias.detach().double().numpy())
        e = eps_term(self.eps, f_in, self.normalized_shape[0])
        norm = NormInt(torch.from_numpy(g.astype(np.int64)), torch.from_numpy(b.astype(np.int64)), e, 15 + f_g - f_out)
        return norm, f_g


def gelu_table(f_in: int, f_out: int) -> torch.Tensor:
    """§7 GELU table for the given scales."""
    return torch.from_numpy(make_lut("gelu", f_in, f_out).astype(np.int64))


def sigmoid_table(f_in: int) -> torch.Tensor:
    """§7 sigmoid table, uint8 at frac 8."""
    return torch.from_numpy(make_lut("sigmoid", f_in, 8, signed=False).astype(np.int64))
