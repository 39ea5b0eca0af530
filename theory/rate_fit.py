"""Rates and verdicts: log-log fits of error against loop count, and measurement against bound.

- :func:`fit_rate`: on the asymptotic range, least squares of log(error) on log(r), so
  error ≈ C·r^a with a the fitted exponent (negative when the error falls). Its interval is a
  **pairs bootstrap** percentile interval (resample the (r, error) points with replacement, refit;
  :func:`loopbound.theory.bootstrap.percentile_interval`), at a stated level with a stated seed (Efron &
  Tibshirani 1993, ch. 9 and 13). It is an estimate:
  with few points the interval is wide, and it says nothing about r outside the range fitted. A
  fit needs :data:`MIN_POINTS` points; an interval needs :data:`MIN_INTERVAL_POINTS` (resampling
  three or four points has so few distinct resamples that its percentiles are not an interval at
  the stated level): with fewer, the exponent is reported without one and no rate is compared.
- :func:`judge`: per r, a measured interval [lower, upper] against a bound b: **held** when
  upper ≤ b, **violated** when lower > b (the violation is outside the measurement's uncertainty),
  **inconclusive** otherwise (where b is itself a range [b_lo, b_hi], held needs upper ≤ b_lo and
  violated lower > b_hi); then the fitted exponent against the claimed one (the bound's own
  log-log slope on the same range).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

import numpy as np
from loopbound.theory.bootstrap import percentile_interval
from loopbound.theory.errors import InputError

__all__ = ["RateFit", "fit_rate", "loglog_slope", "Status", "PointVerdict", "Verdict", "judge", "compare_rates"]

MIN_POINTS = 3
"""Points a fit needs (on the asymptotic range)."""
MIN_INTERVAL_POINTS = 5
"""Points a bootstrap interval needs: n points have C(2n−1, n) distinct resamples (10 for n = 3,
35 for n = 4, 126 for n = 5), some without two distinct r; below five the percentiles of so few
values do not make an interval at a 95% level worth printing."""


@dataclass(frozen=True)
class RateFit:
    """error ≈ prefactor · r^exponent fitted on ``r_min ≤ r ≤ r_max`` (``points`` points).

    ``exponent`` is an **estimate**; ``[lower, upper]`` its pairs-bootstrap percentile interval at
    ``level`` (``resamples`` resamples from ``seed``), None when fewer than
    :data:`MIN_INTERVAL_POINTS` points were fitted (``interval_note`` says so). ``status`` is
    ``"fitted"`` or says why not (then the numbers are None): never a silent fallback.
    ``excluded`` lists points left out and why.
    """

    exponent: float | None
    prefactor: float | None
    lower: float | None
    upper: float | None
    level: float
    seed: int
    resamples: int
    r_min: float | None
    r_max: float | None
    points: int
    status: str
    excluded: tuple[str, ...] = ()
    kind: str = "estimate"
    method: str = "least squares on log error vs log r; pairs bootstrap, percentile interval"

    @property
    def fitted(self) -> bool:
        return self.status == "fitted"

    @property
    def has_interval(self) -> bool:
        return self.lower is not None and self.upper is not None

    @property
    def interval_note(self) -> str:
        """Why there is no interval ("" when there is one or nothing was fitted)."""
        if not self.fitted or self.has_interval:
            return ""
        return f"no interval: {self.points} points, a bootstrap interval needs {MIN_INTERVAL_POINTS}"

    def describe(self, digits: int = 3) -> str:
        """``r^a, 95% bootstrap interval [lo, hi] (n points, r in [..])``, or why there is no interval
        or no fit."""
        if not self.fitted:
            return self.status
        assert self.exponent is not None
        where = f"{self.points} points, r in [{self.r_min:g}, {self.r_max:g}]"
        if not self.has_interval:
            return f"r^{self.exponent:.{digits}f} ({where}; {self.interval_note})"
        return (
            f"r^{self.exponent:.{digits}f}, {self.level:.0%} bootstrap interval "
            f"[{self.lower:.{digits}f}, {self.upper:.{digits}f}] (seed {self.seed}, {where})"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "status": self.status,
            "exponent": self.exponent,
            "prefactor": self.prefactor,
            "lower": self.lower,
            "upper": self.upper,
            "level": self.level,
            "seed": self.seed,
            "resamples": self.resamples,
            "r_min": self.r_min,
            "r_max": self.r_max,
            "points": self.points,
            "excluded": list(self.excluded),
            "interval_note": self.interval_note,
            "method": self.method,
        }


def _least_squares(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    xm = x.mean()
    sxx = float(((x - xm) ** 2).sum())
    slope = float(((x - xm) * (y - y.mean())).sum()) / sxx
    return slope, float(y.mean() - slope * xm)


def loglog_slope(r: Sequence[float], values: Sequence[float]) -> float:
    """The least-squares slope of log(values) on log(r) (no interval: for noiseless curves such as
    a bound). Needs two or more distinct r and positive values."""
    x = np.log(np.asarray(r, dtype=np.float64))
    y = np.asarray(values, dtype=np.float64)
    if np.any(~np.isfinite(y)) or np.any(y <= 0):
        raise InputError("a log-log slope needs finite positive values")
    if np.unique(x).size < 2:
        raise InputError("a log-log slope needs two or more distinct r")
    return _least_squares(x, np.log(y))[0]


def asymptotic_range(r: Sequence[float], asymptotic_from: float | None = None) -> float:
    """The smallest r of the fit: ``asymptotic_from`` when given, else the geometric midpoint of
    the range, moved down so that at least three points remain where there are three. (Points
    below the midpoint are not pulled in to reach :data:`MIN_INTERVAL_POINTS`: pre-asymptotic
    points bias the exponent; a range with fewer points has no interval instead.)"""
    values = np.sort(np.asarray(r, dtype=np.float64))
    if asymptotic_from is not None:
        return float(asymptotic_from)
    middle = math.sqrt(values[0] * values[-1])
    inside = values[values >= middle]
    if inside.size < MIN_POINTS:
        return float(values[max(0, values.size - MIN_POINTS)])
    return float(inside[0])


def fit_rate(
    r: Sequence[float],
    errors: Sequence[float],
    *,
    asymptotic_from: float | None = None,
    level: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
) -> RateFit:
    """Fit error ≈ C·r^a on the asymptotic range (:func:`asymptotic_range`), with a pairs-bootstrap
    percentile interval for a at ``level`` (``resamples`` from ``seed``). Points with error ≤ 0 or
    non-finite cannot enter a log-log fit and are listed in ``excluded``; fewer than three usable
    points (or fewer than two distinct r) gives ``status`` "not fitted: …"; three or four give the
    exponent without an interval (:data:`MIN_INTERVAL_POINTS`)."""
    x_all = np.asarray(r, dtype=np.float64)
    y_all = np.asarray(errors, dtype=np.float64)
    if x_all.shape != y_all.shape or x_all.ndim != 1:
        raise InputError(f"r and errors must be 1-D of the same length, got {x_all.shape} and {y_all.shape}")
    if not 0.0 < level < 1.0:
        raise InputError(f"level must satisfy 0 < level < 1, got {level!r}")
    if np.any(~np.isfinite(x_all)) or np.any(x_all <= 0):
        raise InputError("r must be finite and > 0")

    def unfitted(reason: str, excluded: tuple[str, ...] = (), points: int = 0) -> RateFit:
        return RateFit(
            None, None, None, None, level, seed, resamples, None, None, points, f"not fitted: {reason}", excluded
        )

    if x_all.size == 0:
        return unfitted("no points")
    usable = np.isfinite(y_all) & (y_all > 0)
    excluded = tuple(f"r={x:g}: error {y:g} (not > 0)" for x, y in zip(x_all[~usable], y_all[~usable]))
    x_use, y_use = x_all[usable], y_all[usable]
    if x_use.size == 0:
        return unfitted("no point with error > 0", excluded)
    start = asymptotic_range(x_use, asymptotic_from)
    keep = x_use >= start
    excluded += tuple(f"r={x:g}: below the asymptotic range (r >= {start:g})" for x in x_use[~keep])
    r_kept = x_use[keep]
    x, y = np.log(r_kept), np.log(y_use[keep])
    if x.size < MIN_POINTS or np.unique(x).size < 2:
        return unfitted(
            f"{x.size} usable point(s) on r >= {start:g}; a fit needs {MIN_POINTS} with two distinct r",
            excluded,
            int(x.size),
        )
    slope, intercept = _least_squares(x, y)
    if x.size < MIN_INTERVAL_POINTS:
        return RateFit(
            slope,
            float(math.exp(intercept)),
            None,
            None,
            level,
            seed,
            resamples,
            float(r_kept.min()),
            float(r_kept.max()),
            int(x.size),
            "fitted",
            excluded,
        )
    rng = np.random.default_rng(seed)
    slopes = np.empty(resamples)
    drawn = 0
    for b in range(resamples):
        while True:  # a resample with a single distinct r has no slope: draw again (counted)
            index = rng.integers(0, x.size, x.size)
            drawn += 1
            if np.unique(x[index]).size >= 2:
                break
        slopes[b] = _least_squares(x[index], y[index])[0]
    lower, upper = percentile_interval(slopes, level)
    return RateFit(
        exponent=slope,
        prefactor=float(math.exp(intercept)),
        lower=lower,
        upper=upper,
        level=level,
        seed=seed,
        resamples=resamples,
        r_min=float(r_kept.min()),
        r_max=float(r_kept.max()),
        points=int(x.size),
        status="fitted",
        excluded=excluded,
    )


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
        return bool(self.points) and all(v.status is Status.HELD for v in self.points)

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
