"""A researcher's own contextual mapping, in two versions: one with a planted bug, one fixed.

A contextual mapping (Yun et al. 2020, Def. 3.1; docs/theory.md §5) gives each token of a sequence
of N distinct grid tokens an id such that (i) the N ids of one sequence are distinct and (ii) two
sequences that are not permutations of each other share no id. Both versions below give token n
the id ``s·B + t_n``, where t_n = Σ_i m^i·round(m·x_{n,i}) is the token's grid index (m = 1/δ,
B = m^d tokens) and s is a sequence id that must depend on the *set* of tokens only:

- :func:`summed_contextual_ids` (the bug): s = Σ_n t_n. Two different sets can have the same sum;
  when they also share a token, that token gets the same id in both, e.g. the token sets
  {0, 1, 4} and {0, 2, 3} (sum 5) at N = 3. At N ≤ 2 no such pair exists, which is why a test
  that only tries pairs of tokens passes.
- :func:`horner_contextual_ids` (the fix): s = Horner's rule on the sorted token indices,
  s = (…(t_(1)·B + t_(2))·B + …)·B + t_(N), i.e. the digits of the set in base B: one s per set.

Both take a batch X [batch, N, d] of grid sequences (float, grid points k·δ) and return the ids
as an int64 [batch, N] tensor (exact: needs B^(N+1) < 2^63).
"""

from __future__ import annotations

from fractions import Fraction

import torch


def token_indices(X: torch.Tensor, *, delta: float | Fraction) -> tuple[torch.Tensor, int]:
    """The grid index t = Σ_i m^i·round(m·x_i) of every token of X [batch, N, d] (int64
    [batch, N]) and the number of grid tokens B = m^d."""
    m = round(1 / Fraction(delta))
    digits = torch.round(X * m).long()
    powers = m ** torch.arange(X.shape[-1])
    return (digits * powers).sum(-1), m ** X.shape[-1]


def summed_contextual_ids(X: torch.Tensor, *, delta: float | Fraction) -> torch.Tensor:
    """The planted bug: the sequence id is the sum of the token indices."""
    t, B = token_indices(X, delta=delta)
    return t.sum(-1, keepdim=True) * B + t


def horner_contextual_ids(X: torch.Tensor, *, delta: float | Fraction) -> torch.Tensor:
    """The fix: the sequence id is Horner's rule in base B on the sorted token indices."""
    t, B = token_indices(X, delta=delta)
    s = torch.zeros_like(t[..., :1])
    for column in torch.sort(t, dim=-1).values.unbind(-1):
        s = s * B + column[..., None]
    return s * B + t
