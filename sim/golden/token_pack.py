"""Token packaging: the pruned tokens of a stage become one package token (docs/arithmetic.md §10)."""
from __future__ import annotations

import numpy as np

from .arith import as_i64, rdiv


def token_pack(x, scores, pruned):
    """§10 Package token = score-weighted mean of the pruned tokens, weights w_j = score_j + 1.

    x: int8 [B, N, D]; scores: uint16 [B, N]; pruned: bool [B, N]. Returns int8 [B, D]; all zeros when
    nothing is pruned. The +1 keeps the weights positive, so all-zero scores give the plain mean.
    """
    w = np.where(pruned, as_i64(scores) + 1, 0)
    num = np.einsum("bn,bnd->bd", w, as_i64(x))
    den = np.sum(w, axis=-1, keepdims=True)
    return np.where(den > 0, rdiv(num, np.maximum(den, 1)), 0)


def gather_tokens(x, order, n_out: int):
    """§11.3 Take tokens x[b, order[b, :n_out]] (a pure data move, no arithmetic)."""
    return np.take_along_axis(as_i64(x), order[:, :n_out, None], axis=1)
