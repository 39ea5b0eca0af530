"""Verdicts: measurement against bound, per loop count and over the whole curve.

:func:`judge`: per r, a measured interval [lower, upper] against a bound b: **held** when
upper ≤ b, **violated** when lower > b (the violation is outside the measurement's uncertainty),
**inconclusive** otherwise (where b is itself a range [b_lo, b_hi], held needs upper ≤ b_lo and
violated lower > b_hi); then the fitted exponent (:func:`loopbound.theory.rate_fit.fit_rate`)
against the claimed one (the bound's own log-log slope on the same range).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from loopbound.theory.errors import InputError
from loopbound.theory.rate_fit import RateFit, fit_rate, loglog_slope

__all__ = ["Status", "PointVerdict", "Verdict", "classify", "judge", "compare_rates"]


class Status(str, Enum):
    """A bound at one r against a measured interval."""

    HELD = "held"
    VIOLATED = "violated"
    INCONCLUSIVE = "inconclusive"


@dataclass(frozen=True)
class PointVerdict:
    """At loop count ``r``: the measured estimate ``value`` with interval ``[lower, upper]`` against
    the ``bound``; ``ratio`` = value / bound (inf where the bound is 0 and the value is not).

    Where the bound's value is itself known only within [``bound``, ``bound_upper``] (moduli
    bracketed, :mod:`loopbound.theory.bounds.bracket`), ``bound`` is its low end and ``bound_upper`` its high
    end; None means the bound is known exactly. ``bound_reason``: why the bound's range is not
    certified (e.g. it decreases in a modulus known only from below); the point is then
    inconclusive for that reason."""

    r: int
    value: float
    lower: float
    upper: float
    bound: float
    status: Status
    bound_upper: float | None = None
    bound_reason: str | None = None

    @property
    def ratio(self) -> float:
        if self.bound > 0:
            return self.value / self.bound
        return 0.0 if self.value == 0 else math.inf

    @property
    def bound_known_exactly(self) -> bool:
        return self.bound_upper is None or self.bound_upper == self.bound

    @property
    def reason(self) -> str:
        """Why the point is inconclusive ("" otherwise): the measurement straddles the bound, or
        the bound is only known within a range that the measurement lies in."""
        if self.status is not Status.INCONCLUSIVE:
            return ""
        if self.bound_reason:
            return self.bound_reason
        if self.bound_known_exactly or self.lower <= self.bound:
            return "the interval straddles the bound"
        return "the bound is only known within its range (moduli bracketed)"

    def to_json(self) -> dict[str, Any]:
        return {
            "r": self.r,
            "value": self.value,
            "lower": self.lower,
            "upper": self.upper,
            "bound": self.bound,
            "bound_upper": self.bound_upper,
            "ratio": self.ratio if math.isfinite(self.ratio) else None,
            "status": self.status.value,
            "reason": self.reason,
        }


def classify(
    lower: float, upper: float, bound: float, bound_upper: float | None = None, uncertified: str | None = None
) -> Status:
    """held when upper ≤ bound, violated when lower > bound_upper (= bound when None), inconclusive
    in between. With a bound known within [bound, bound_upper], held is certain against any value
    in the range and violated against any value too. ``uncertified`` (why the bound's range is not
    certain, :class:`loopbound.theory.bounds.bracket.BoundRange`): always inconclusive."""
    high = bound if bound_upper is None else bound_upper
    if math.isnan(bound) or math.isnan(high):
        raise InputError("the bound evaluates to NaN")
    if high < bound:
        raise InputError(f"the bound's range is inverted: [{bound!r}, {high!r}]")
    if uncertified:
        return Status.INCONCLUSIVE
    if upper <= bound:
        return Status.HELD
    if lower > high:
        return Status.VIOLATED
    return Status.INCONCLUSIVE


def compare_rates(fit: RateFit, claimed: float | None) -> str:
    """Where the claimed exponent lies relative to the fitted exponent's interval."""
    if claimed is None or not math.isfinite(claimed):
        return "no claimed exponent"
    if not fit.fitted:
        return "not compared (" + fit.status + ")"
    if not fit.has_interval:
        return "not compared (" + fit.interval_note + ")"
    assert fit.lower is not None and fit.upper is not None
    if fit.lower <= claimed <= fit.upper:
        return "consistent with the claimed exponent"
    if fit.upper < claimed:
        return "falls faster than claimed"
    return "falls slower than claimed"


@dataclass(frozen=True)
class Verdict:
    """Measurement against bound at every r, and the fitted rate against the claimed exponent.

    ``held`` is True when every point held; ``violated`` and ``inconclusive`` name the r where the
    bound failed outside the measurement's interval, and where the interval straddles it.
    ``claimed_exponent`` is the bound's own log-log slope over the fitted range (None if it cannot
    be taken, e.g. a bound ≤ 0 there).

    What a status means: the measured intervals are Monte Carlo confidence intervals, so "held" and
    "violated" are statements **at the level** ``level`` (the intervals' confidence level; the rate
    fit's level where not given), and :meth:`summary` says so. The caller may attach:
    ``warnings`` (one line each, e.g. the rare-error warning of ``loopbound.verify``: the sup search
    found errors that the samples behind the L^p estimate could have missed), ``reading_notes``
    ((r, note) pairs: a violation that depends on the reading of the bound, e.g. "violated under
    the stricter reading; held under the other") and ``context`` (e.g. that the target lies outside
    the theorem's hypotheses)."""

    points: tuple[PointVerdict, ...]
    rate: RateFit
    claimed_exponent: float | None
    rate_comparison: str
    level: float | None = None
    warnings: tuple[str, ...] = ()
    reading_notes: tuple[tuple[int, str], ...] = ()
    context: str = ""
    not_shown: tuple[int, ...] = ()
    """The r asked for where nothing could be measured (the construction was refused there): the
    bound is then not shown to hold at every r asked, whatever the measured points say."""

    @property
    def confidence_level(self) -> float:
        """The level of the statistical statements: ``level``, else the rate fit's."""
        return self.rate.level if self.level is None else self.level

    @property
    def level_text(self) -> str:
        """``"at the 95% level"``."""
        percent = self.confidence_level * 100
        shown = f"{percent:.0f}" if abs(percent - round(percent)) < 1e-9 else f"{percent:.4g}"
        return f"at the {shown}% level"

    @property
    def violated(self) -> tuple[int, ...]:
        return tuple(v.r for v in self.points if v.status is Status.VIOLATED)

    @property
    def inconclusive(self) -> tuple[int, ...]:
        return tuple(v.r for v in self.points if v.status is Status.INCONCLUSIVE)

    @property
    def held(self) -> bool:
        """Held at every r asked: every point held and no r left unmeasured."""
        return bool(self.points) and not self.not_shown and all(v.status is Status.HELD for v in self.points)

    @property
    def status(self) -> Status:
        if self.violated:
            return Status.VIOLATED
        return Status.HELD if self.held else Status.INCONCLUSIVE

    def _undecided(self) -> str:
        """The inconclusive r, grouped by why."""
        straddled = [v.r for v in self.points if v.reason == "the interval straddles the bound"]
        noted: dict[str, list[int]] = {}
        for v in self.points:
            if v.status is Status.INCONCLUSIVE and v.bound_reason:
                noted.setdefault(v.bound_reason, []).append(v.r)
        bracketed = [
            v.r for v in self.points if v.status is Status.INCONCLUSIVE and v.r not in straddled and not v.bound_reason
        ]
        parts = [f"at r = {', '.join(map(str, rs))} {reason}" for reason, rs in noted.items()]
        if straddled:
            parts.append(f"at r = {', '.join(map(str, straddled))} the interval straddles it (raise --samples)")
        if bracketed:
            parts.append(
                f"at r = {', '.join(map(str, bracketed))} the error lies within the bound's range "
                "(its moduli are only bracketed: tighter moduli would decide)"
            )
        return "; ".join(parts)

    def _core_summary(self) -> str:
        level = self.level_text
        if self.violated:
            notes = dict(self.reading_notes)
            plain = [r for r in self.violated if r not in notes]
            parts = []
            if plain:
                parts.append(f"bound violated at r = {', '.join(map(str, plain))} {level}")
            by_note: dict[str, list[int]] = {}
            for r in self.violated:
                if r in notes:
                    by_note.setdefault(notes[r], []).append(r)
            for note, rs in by_note.items():
                parts.append(f"at r = {', '.join(map(str, rs))} {note} ({level})")
            text = "; ".join(parts)
            if self.inconclusive:
                text += f"; not decided: {self._undecided()}"
            return text
        if self.inconclusive:
            return "bound not shown to hold: " + self._undecided()
        return f"bound holds at every r measured ({len(self.points)}), held {level} (Monte Carlo intervals)"

    def summary(self) -> str:
        """One line: the context, the statuses (with the level and reading notes), the warnings."""
        text = self._core_summary()
        if self.context:
            text = f"{self.context}: {text}"
        if self.not_shown:
            named = ", ".join(map(str, self.not_shown))
            text += f"; not shown at r = {named} (refused: the construction could not be evaluated there)"
        for warning in self.warnings:
            text += f"; warning: {warning}"
        return text

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status.value,
            "held": self.held,
            "violated": list(self.violated),
            "inconclusive": list(self.inconclusive),
            "summary": self.summary(),
            "level": self.confidence_level,
            "statistical": True,
            "warnings": list(self.warnings),
            "reading_dependent": [{"r": r, "note": note} for r, note in self.reading_notes],
            "context": self.context or None,
            "rate": self.rate.to_json(),
            "claimed_exponent": self.claimed_exponent,
            "rate_comparison": self.rate_comparison,
        }


def judge(
    r: Sequence[int],
    values: Sequence[float],
    lowers: Sequence[float],
    uppers: Sequence[float],
    bounds: Sequence[float],
    *,
    bounds_upper: Sequence[float | None] | None = None,
    bound_reasons: Sequence[str | None] | None = None,
    asymptotic_from: float | None = None,
    level: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
) -> Verdict:
    """Per-r verdicts (:func:`classify`; ``bounds_upper``: the high ends where the bounds are
    ranges; ``bound_reasons``: why a bound's range is not certified, per r, None where it is), a
    rate fit of the measured values, and the bound's own slope (of ``bounds``, the low ends) over
    the same range as the claimed exponent."""
    highs = [None] * len(bounds) if bounds_upper is None else list(bounds_upper)
    notes = [None] * len(bounds) if bound_reasons is None else list(bound_reasons)
    lengths = {len(r), len(values), len(lowers), len(uppers), len(bounds), len(highs), len(notes)}
    if len(lengths) != 1:
        raise InputError("r, values, lowers, uppers, bounds, bounds_upper and bound_reasons must have the same length")
    points = tuple(
        PointVerdict(
            int(ri),
            float(v),
            float(lo),
            float(hi),
            float(b),
            classify(float(lo), float(hi), float(b), None if bh is None else float(bh), note),
            None if bh is None else float(bh),
            note or None,
        )
        for ri, v, lo, hi, b, bh, note in zip(r, values, lowers, uppers, bounds, highs, notes)
    )
    fit = fit_rate(r, values, asymptotic_from=asymptotic_from, level=level, resamples=resamples, seed=seed)
    claimed = None
    if fit.fitted:
        inside = [(ri, b) for ri, b in zip(r, bounds) if fit.r_min <= ri <= fit.r_max]  # type: ignore[operator]
        try:
            claimed = loglog_slope([ri for ri, _ in inside], [b for _, b in inside])
        except InputError:
            claimed = None
    return Verdict(points=points, rate=fit, claimed_exponent=claimed, rate_comparison=compare_rates(fit, claimed))
