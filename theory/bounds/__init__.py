"""Theorems as sympy expressions with provenance, evaluated in float64 through lambdify.

- :mod:`loopbound.theory.bounds.core`: the :class:`Bound` type (expression, symbols, provenance, derivation
  of every constant the construction fixes) and evaluation;
- :mod:`loopbound.theory.bounds.approximation`: Theorem 3.6 of Xu & Sato 2024 and its timestep-scaled form,
  Lemma 4.1, the loop and layer budgets of the constructions;
- :mod:`loopbound.theory.bounds.construction`: Theorem 3.6 for loopbound's own universal construction,
  derived from the guarantee it states;
- :mod:`loopbound.theory.bounds.regression`: looped linear attention as gradient descent (per-instance
  bound, loops to reach ε, the one-step optimum).
- :mod:`loopbound.theory.bounds.parse`: a user's bound read as mathematics (an ``ast`` whitelist), never
  evaluated as Python (its whitelist in :mod:`loopbound.theory.bounds.grammar`, the exact sympy building
  in :mod:`loopbound.theory.bounds.builder`);
- :mod:`loopbound.theory.bounds.bracket`: a bound's range over the moduli's brackets, certified (monotone
  ends or outward-rounded interval arithmetic) or said not to be.
"""

from loopbound.theory.bounds.core import Bound, Provenance

__all__ = ["Bound", "Provenance"]
