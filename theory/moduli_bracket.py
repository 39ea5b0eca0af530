"""The moduli a bound is evaluated with, each known within a bracket [lower, upper].

At grid scale δ the approximation bounds read w = ω_f(δ√(Nd)), w_tok = ω^tok_f(δ√d) and
w_cont = ω^cont_f(δ√(Nd)) (:func:`loopbound.theory.bounds.approximation.modulus_arguments`;
docs/theory.md for the moduli). Each is

- *exact* where the target derives it (and ω^cont ≡ 0 for N = 1: one token has no context);
- else *bracketed*: a certified lower bound from a witness pair
  (:func:`loopbound.theory.modulus.estimate_modulus`) and the target's analytic upper bound;
- or an *estimate* where the target has no upper bound: the certified lower bound only.

Both ends are kept: a bound evaluated only at the upper end can pass a false claim
(:mod:`loopbound.theory.bounds.bracket` turns the brackets into the bound's range).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from loopbound.theory.bounds.approximation import modulus_arguments
from loopbound.theory.kinds import ModulusKind
from loopbound.theory.modulus import estimate_modulus
from loopbound.theory.targets import Target

__all__ = ["MODULUS_KINDS", "ModulusValue", "modulus_values"]

MODULUS_KINDS = {"w": ModulusKind.SEQUENCE, "w_tok": ModulusKind.TOKEN, "w_cont": ModulusKind.CONTEXTUAL}
"""The bounds' modulus symbols and the modulus each stands for."""

_Pending = dict[str, list[tuple[float, float, float | None]]]
"""Per modulus name, the (scale, argument, analytic upper bound or None) still to search."""


@dataclass(frozen=True)
class ModulusValue:
    """A modulus entering a bound: ``name`` (w, w_tok, w_cont) at ``argument``, known within
    [``lower``, ``upper``]: ``lower`` is exact or a certified lower bound (a witness pair), ``upper``
    exact, an analytic upper bound, or None (unknown). ``source``: ``exact`` (lower = upper),
    ``bracketed`` (certified lower bound and analytic upper bound) or ``estimate`` (lower only)."""

    name: str
    argument: float
    lower: float
    upper: float | None
    source: str

    @property
    def bracket(self) -> tuple[float, float | None]:
        return self.lower, self.upper


def _known(target: Target, name: str, argument: float, *, N: int, p: float) -> ModulusValue | None:
    """The modulus ``name`` at ``argument`` where it is known exactly (ω^cont ≡ 0 for N = 1, or the
    target's own exact value), else None."""
    kind = MODULUS_KINDS[name]
    if kind is ModulusKind.CONTEXTUAL and N == 1:
        return ModulusValue(name, argument, 0.0, 0.0, "exact")
    exact = target.exact_modulus(kind, argument, p)
    if exact is not None:
        return ModulusValue(name, argument, float(exact), float(exact), "exact")
    return None


def _searched(target: Target, pending: _Pending, *, p: float, seed: int) -> dict[float, dict[str, ModulusValue]]:
    """The moduli not known exactly: one batched witness search per kind over every argument
    wanted, paired with the target's analytic upper bound (``None``: an estimate)."""
    out: dict[float, dict[str, ModulusValue]] = {}
    for name, wanted in pending.items():
        estimates = estimate_modulus(target, MODULUS_KINDS[name], sorted({a for _, a, _ in wanted}), p=p, seed=seed)
        by_argument = {e.delta: e.lower for e in estimates}
        for scale, argument, upper in wanted:
            source = "estimate" if upper is None else "bracketed"
            out.setdefault(scale, {})[name] = ModulusValue(name, argument, float(by_argument[argument]), upper, source)
    return out


def modulus_values(
    target: Target, scales: Sequence[float], names: Sequence[str], *, d: int, N: int, p: float, seed: int
) -> dict[float, dict[str, ModulusValue]]:
    """For each grid scale δ, the moduli ``names`` at their arguments (:func:`modulus_arguments`):
    exact where the target derives it; else a certified lower bound (one batched search per kind,
    :func:`loopbound.theory.modulus.estimate_modulus`) with the target's analytic upper bound where it has one."""
    out: dict[float, dict[str, ModulusValue]] = {scale: {} for scale in scales}
    pending: _Pending = {}
    for scale in scales:
        arguments = modulus_arguments(scale, d, N)
        for name in names:
            argument = arguments[name]
            known = _known(target, name, argument, N=N, p=p)
            if known is not None:
                out[scale][name] = known
                continue
            upper = target.upper_modulus(MODULUS_KINDS[name], argument, p)
            pending.setdefault(name, []).append((scale, argument, None if upper is None else float(upper)))
    for scale, found in _searched(target, pending, p=p, seed=seed).items():
        out[scale].update(found)
    return out
