"""Report lines of the in-context regression experiments (results of the ``looped_gd``,
``reference_curves`` and ``newton_schulz`` cell kinds, :mod:`loopbound.sweep.kinds`): one line per
cell, per reference point and per Newton–Schulz row, as the ``regression`` stage prints them, the
legend of the looped-GD table (:func:`sweep_legend`), and the interval's reading
(:func:`slope_interval_mark`).

The looped-GD table's column is slope/log ρ − 1: the fitted decay of the prediction error
|ŷ_r − ŷ_LS| (docs/theory.md §6) against the rate ρ^r the gradient-descent analysis gives, minus
one, so 0 means "decays exactly at ρ^r". Its bootstrap interval is read with the floating-point
tolerance of its cell (:func:`float_tolerance`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from loopbound.sweep.kinds.looped_gd_result import LoopedGDConfig, LoopedGDResult
from loopbound.sweep.kinds.newton_schulz import NewtonSchulzResult
from loopbound.sweep.kinds.reference import ReferenceResult

__all__ = [
    "FLOAT_TOLERANCE",
    "UNIT_ROUNDOFF",
    "float_tolerance",
    "slope_interval_mark",
    "sweep_report",
    "sweep_legend",
    "reference_report",
    "newton_schulz_report",
]

FLOAT_TOLERANCE = 1e-6
"""How far from 0 an interval of slope/log ρ − 1 may lie and still read as consistent with 0.

The slope is fitted to log e_r over loops where ρ^r runs from ``fit_upper`` = 1e-2 down to
``fit_lower`` = 1e-8 of the start. float64 rounds the iterates with unit roundoff u ≈ 1.1e-16, and
a solve of the normal equations carries an absolute error of order κ(H)·u; at the bottom of the
window, where e_r ≈ 1e-8, that is a relative perturbation of log e_r up to κ(H)·u/1e-8 ≈ 2e-6 for
the κ(H) ≈ 200 of these prompts. A least-squares slope over a window spanning
ln(fit_upper/fit_lower) ≈ 14 units of log error moves by a fraction of that relative to log ρ, so
rounding alone can put slope/log ρ − 1 a few 1e-7 away from 0, and an interval of width 1e-8
(bootstrap over prompts whose slopes agree to 1e-8) can exclude 0 without meaning anything. A
genuine departure from the rate (a wrong ρ, a step size off by a relative 1e-4) moves it by 1e-4 or
more. An interval within 1e-6 of 0 is therefore reported as consistent, marked apart from one that
contains 0 outright; for worse-conditioned prompts the tolerance grows with κ(H)
(:func:`float_tolerance`)."""
UNIT_ROUNDOFF = 2.0**-53
"""float64's unit roundoff u."""


def float_tolerance(record: LoopedGDResult) -> float:
    """The cell's tolerance on slope/log ρ − 1: max(:data:`FLOAT_TOLERANCE`, κ·u/fit_lower) with κ
    the 90% quantile of κ(H) over its prompts, the relative rounding of e_r at the bottom of the fit
    window (an overestimate of its effect on the slope, by the factor the window's length gives)."""
    kappa = float(record.kappa_H.q90)  # type: ignore[arg-type]
    return max(FLOAT_TOLERANCE, kappa * UNIT_ROUNDOFF / record.config.fit_lower)


def slope_interval_mark(ratio: Mapping[str, Any], tolerance: float = FLOAT_TOLERANCE) -> str:
    """How the interval [lower − 1, upper − 1] of slope/log ρ − 1 reads: "contains 0", "≈ 0 (fp)"
    (it excludes 0 by at most ``tolerance``, :data:`FLOAT_TOLERANCE`), or "EXCLUDES 0"."""
    lower, upper = ratio["lower"] - 1.0, ratio["upper"] - 1.0
    if lower <= 0.0 <= upper:
        return "contains 0"
    if lower - tolerance <= 0.0 <= upper + tolerance:
        return "≈ 0 (fp)"
    return "EXCLUDES 0"


def slope_consistent(ratio: Mapping[str, Any] | None, tolerance: float = FLOAT_TOLERANCE) -> bool | None:
    """Whether slope/log ρ − 1 is consistent with 0 (contains it, or within ``tolerance``); None when not fitted."""
    return None if ratio is None else slope_interval_mark(ratio, tolerance) != "EXCLUDES 0"


def sweep_report(records: Sequence[LoopedGDResult]) -> list[str]:
    """One line per cell: κ(H), log ρ, fitted slope, slope/log ρ with its interval, bound check,
    loops to ε measured against the bound and against the κ-form."""
    lines = [
        f"  {'n/d':>3} {'κ_Σ':>5} {'rule':<8}{'κ(H)':>8}{'log ρ':>10}{'slope':>10}  {'slope/log ρ − 1 [interval]':<38}{'fit¹':>6}"
        f"{'max e/bound':>12}{'loops→ε':>9}{'bound':>7}{'κ-form':>8}",
    ]
    for record in records:
        c, s, lte = record.config, record.slope, record.loops_to_epsilon
        if s.ratio is None:
            interval = "not fitted (window beyond the loops)"
        else:
            ratio = s.ratio
            mark = slope_interval_mark(ratio, float_tolerance(record))
            interval = f"{ratio['estimate'] - 1:+.1e} [{ratio['lower'] - 1:+.1e}, {ratio['upper'] - 1:+.1e}] {mark}"
        slope = "-" if s.median_slope is None else f"{s.median_slope:.5f}"
        log_rho = "-" if s.median_log_rho is None else f"{s.median_log_rho:.5f}"
        fmt = lambda v: "-" if v is None else f"{v:.0f}"  # noqa: E731
        check = record.bound_check
        bound_cell = f"{check.max_ratio:.3f}" + ("" if check.violations == 0 else f" ({check.violations} over)")
        lines.append(
            f"  {c.ratio:>3} {c.kappa:>5g} {c.rule:<8}{record.kappa_H.median:>8.3g}{log_rho:>10}{slope:>10}  {interval:<38}"
            f"{s.fitted:>3}/{s.instances:<2}{bound_cell:>12}{fmt(lte.measured_median):>9}{fmt(lte.bound_median):>7}{fmt(lte.kappa_form_median):>8}"
        )
    return lines


def sweep_legend(config: LoopedGDConfig) -> list[str]:
    """The footnotes of :func:`sweep_report`'s table: what "fit a/b" counts and how the interval reads."""
    return [
        f"  ¹ fit a/b: a of the b prompts were fitted, those with ≥ {config.min_fit_points} loops in the fit window "
        f"(ρ^r from {config.fit_upper:g} down to {config.fit_lower:g}, after the subdominant modes decayed "
        f"{1 / config.transient:g}× relative to the dominant one, error above {config.error_floor:g}); the others' window "
        "does not fit in the loop budget or is too short. log ρ, slope and the interval are over the fitted prompts.",
        "  slope/log ρ − 1: 0 means the error decays exactly at the rate ρ^r; 'contains 0': its "
        f"{config.level:.0%} bootstrap interval contains 0; '≈ 0 (fp)': it misses 0 by less than the float64 "
        f"tolerance max({FLOAT_TOLERANCE:g}, κ(H)·u/{config.fit_lower:g}) with u = 2^-53 and κ(H) its 90% quantile over "
        "the cell's prompts (rounding noise); 'EXCLUDES 0': a departure beyond rounding.",
    ]


def reference_report(record: ReferenceResult) -> list[str]:
    """One line per reference point: closed form, Monte Carlo mean with its interval, z, verdict."""
    lines = [
        f"  {'curve':<15}{'k':>4}{'closed form':>13}{'Monte Carlo [' + format(record.config.level, '.0%') + ' interval]':>40}{'z':>8}  verdict (|z| ≤ {record.z_critical:.2f})"
    ]
    for p in record.points:
        verdict = "agrees" if p.agrees else "DISAGREES"
        z = "-" if p.z is None else f"{p.z:+.2f}"
        lines.append(
            f"  {p.curve:<15}{p.k:>4}{p.closed_form:>13.5f}{p.mean:>14.5f} [{p.lower:.5f}, {p.upper:.5f}]{z:>8}  {verdict}"
        )
    return lines


def newton_schulz_report(record: NewtonSchulzResult) -> list[str]:
    """One line per κ and start: ρ₀, worst residual/bound, loops to ε against its bounds, the floor."""
    eps = record.config.epsilon
    lines = [
        f"  {'κ':>6} {'X_0':<5}{'ρ₀':>10}{'max ‖I−AX_t‖/bound':>20}{'loops→' + format(eps, 'g'):>12}{'bound':>7}{'κ-form':>8}{'floor':>10}"
    ]
    for row in record.rows:
        measured = "-" if row.loops_measured_max is None else str(row.loops_measured_max)
        start = "αI" if row.init == "identity" else "αAᵀ"
        lines.append(
            f"  {row.kappa:>6g} {start:<5}{row.rho0:>10.6f}{row.max_ratio:>20.4f}{measured:>12}{row.loops_bound:>7}{row.loops_kappa_form:>8}{row.floor_median:>10.1e}"
        )
    return lines
