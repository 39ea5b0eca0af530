"""Report lines of the in-context regression experiments (results of the ``looped_gd``,
``reference_curves`` and ``newton_schulz`` cell kinds, :mod:`loopbound.sweep.kinds`): one line per
cell, per reference point and per Newton–Schulz row, as the ``regression`` stage prints them."""

from __future__ import annotations

from collections.abc import Sequence

from loopbound.sweep.kinds.looped_gd_result import LoopedGDResult
from loopbound.sweep.kinds.newton_schulz import NewtonSchulzResult
from loopbound.sweep.kinds.reference import ReferenceResult

__all__ = ["sweep_report", "reference_report", "newton_schulz_report"]


def sweep_report(records: Sequence[LoopedGDResult]) -> list[str]:
    """One line per cell: κ(H), log ρ, fitted slope, slope/log ρ with its interval, bound check,
    loops to ε measured against the bound and against the κ-form."""
    lines = [
        f"  {'n/d':>3} {'κ_Σ':>5} {'rule':<8}{'κ(H)':>8}{'log ρ':>10}{'slope':>10}  {'slope/log ρ − 1 [interval]':<38}{'fit':>6}"
        f"{'max e/bound':>12}{'loops→ε':>9}{'bound':>7}{'κ-form':>8}",
    ]
    for record in records:
        c, s, lte = record.config, record.slope, record.loops_to_epsilon
        if s.ratio is None:
            interval = "not fitted (window beyond the loops)"
        else:
            ratio = s.ratio
            mark = "contains 1" if s.contains_one else "EXCLUDES 1"
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
