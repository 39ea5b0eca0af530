"""The three moduli of continuity of a sequence-to-sequence map (Xu & Sato 2024, arXiv 2410.01405).

For f: [0,1]^{N×d} → R^{N×d_out}, input distances in the entrywise 2-norm, outputs in the
entrywise p-norm:

- sequence:    ω_f(δ)      = sup ‖f(X) − f(X')‖_p                 over ‖X − X'‖_2 ≤ δ;
- token:       ω^tok_f(δ)  = sup ‖f(X)_n − f(X')_n‖_p  over pairs where only token n moves, by ≤ δ;
- contextual:  ω^cont_f(δ) = sup ‖f(X)_n − f(X')_n‖_p  over pairs where token n is fixed and the
  others move, ‖X − X'‖_2 ≤ δ.
"""

from __future__ import annotations

from enum import Enum

import torch


class ModulusKind(str, Enum):
    """Which modulus: the constraint on the pair and which output rows are compared."""

    SEQUENCE = "sequence"
    TOKEN = "token"
    CONTEXTUAL = "contextual"

    @property
    def per_token(self) -> bool:
        """True when the modulus compares the output at one token n only (token, contextual)."""
        return self is not ModulusKind.SEQUENCE

    def perturbation_mask(self, N: int, d: int, position: int | None) -> torch.Tensor:
        """Boolean [N, d] mask of the input entries allowed to differ between X and X'.

        sequence: every entry; token: only row ``position``; contextual: every row but ``position``.
        """
        mask = torch.ones(N, d, dtype=torch.bool)
        if self is ModulusKind.SEQUENCE:
            return mask
        if position is None or not 0 <= position < N:
            raise ValueError(f"{self.value} modulus needs a token position in [0, {N}), got {position}")
        if self is ModulusKind.TOKEN:
            mask[:] = False
            mask[position] = True
        else:
            mask[position] = False
        return mask


def parse_kinds(text: str) -> tuple[ModulusKind, ...]:
    """Parse ``sequence``, ``token``, ``contextual`` or ``all`` (comma lists allowed)."""
    from loopbound.theory.errors import InputError

    kinds: list[ModulusKind] = []
    for word in (w.strip() for w in text.split(",")):
        if word == "all":
            kinds.extend(ModulusKind)
            continue
        try:
            kinds.append(ModulusKind(word))
        except ValueError:
            choices = ", ".join([k.value for k in ModulusKind] + ["all"])
            raise InputError(f"unknown modulus kind {word!r}; choose from {choices}") from None
    return tuple(dict.fromkeys(kinds))
