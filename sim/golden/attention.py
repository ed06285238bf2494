"""Multi-head attention core: QK^T -> integer softmax -> AV (docs/arithmetic.md §5)."""
from __future__ import annotations

import numpy as np

from .arith import as_i64, requantize
from .softmax import PROB_FRAC, softmax


def attention(q, k, v, fq: int, fk: int, fv: int, f_out: int, mask=None):
    """§5 q, k, v: int8 [B, H, N, dh] (1/sqrt(dh) already folded into q's projection, §5.1).

    mask: bool [B, N] of the tokens present (threshold mode leaves images with different counts).
    Returns (context int8 [B, H, N, dh] at f_out, class-attention row p16 [B, H, N], §5.4). Rows of absent
    tokens are 0.
    """
    q, k, v = as_i64(q), as_i64(k), as_i64(v)
    logits = q @ np.swapaxes(k, -1, -2)  # int32 at frac fq + fk
    key_mask = None if mask is None else mask[:, None, None, :]
    p8, p16 = softmax(logits, fq + fk, key_mask)
    ctx = requantize(p8 @ v, PROB_FRAC + fv - f_out)
    if mask is not None:
        ctx = np.where(mask[:, None, :, None], ctx, 0)
    return ctx, p16[:, :, 0, :]
