"""A loop counter and phase flags in the residual stream (docs/theory.md §9), shared by the looped
constructions.

Conventions. The coordinate ``count`` starts at 0 (from L₁) and the feed-forward adds 1 in every
loop (ReLU(1) = 1 from the ``one`` coordinate), so **inside loop t the feed-forward sees
c = t − 1** and leaves c = t. A flag for loop t + 1 is computed in loop t, from integers, exactly:

    1[start ≤ t + 1 < stop] = 1[c + 2 − start ≥ 0] − 1[c + 2 − stop ≥ 0]     (integer steps),

and written over the flag's old value (the feed-forward adds new − old). A flag is therefore
valid from the loop after it is computed; its value in loop 1 comes from L₁ (:func:`initial_flag`).
"""

from __future__ import annotations

from fractions import Fraction

from loopbound.constructions import gadgets
from loopbound.constructions.spec import Unit, var

ONE = "one"
COUNT = "count"


def counter_units() -> list[Unit]:
    """count ← count + 1 in every loop."""
    return gadgets.nonnegative(var(ONE), {COUNT: 1}, label="loop counter")


def flag_units(flag: str, start: int, stop: int) -> list[Unit]:
    """Overwrite ``flag`` with 1[start ≤ t + 1 < stop] for the next loop (5 units).

    The flag is non-negative, so −flag is one unit; the new value is two integer steps.
    """
    c = var(COUNT)
    return [
        *gadgets.nonnegative(var(flag), {flag: -1}, label=f"{flag}: clear"),
        *gadgets.step(c + (2 - start), {flag: 1}, label=f"{flag}: t+1 >= {start}"),
        *gadgets.step(c + (2 - stop), {flag: -1}, label=f"{flag}: t+1 >= {stop}"),
    ]


def initial_flag(start: int, stop: int) -> Fraction:
    """The flag's value in loop 1, to be set by L₁: 1[start ≤ 1 < stop]."""
    return Fraction(1 if start <= 1 < stop else 0)
