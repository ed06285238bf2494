"""Token selection: top-k with a run-time k, or threshold capped at k (docs/arithmetic.md §9)."""
from __future__ import annotations

import numpy as np

from .arith import as_i64


def candidates(n_valid, n_protected_tail: int, n: int):
    """§9 The tokens that may be pruned: all present tokens but the class token (index 0) and the package
    tokens of earlier stages (the last `n_protected_tail` present tokens). Returns bool [B, n]."""
    pos = np.arange(n)[None, :]
    n_valid = as_i64(n_valid)[:, None]
    return (pos >= 1) & (pos < n_valid - n_protected_tail)


def topk_select(scores, n_valid, n_protected_tail: int, k, threshold=None):
    """§9 Which candidates are kept: bool [B, N].

    A candidate's rank counts the candidates with a higher score, or an equal score and a lower index; it is
    kept when rank < k (k is clamped to the candidate count) and, in threshold mode, score >= threshold.
    """
    scores = as_i64(scores)
    b, n = scores.shape
    cand = candidates(n_valid, n_protected_tail, n)
    key = np.where(cand, -scores, np.iinfo(np.int64).max)  # non-candidates sort last
    order = np.argsort(key, axis=-1, kind="stable")  # stable: equal scores keep index order
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(n)[None, :].repeat(b, 0), axis=-1)
    keep = cand & (rank < as_i64(k).reshape(-1, 1))
    if threshold is not None:
        keep &= scores >= as_i64(threshold).reshape(-1, 1)
    return keep
