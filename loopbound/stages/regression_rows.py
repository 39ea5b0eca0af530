"""The in-context regression results as verdict rows (:class:`~loopbound.stages.report.VerdictRow`)
and the one-line summary of the looped-GD table, for the ``regression`` stage of ``loopbound run``.

Claims (docs/theory.md §6, :mod:`loopbound.theory.bounds.regression`):
- per looped-GD cell, |ŷ_r − ŷ_LS| ≤ ‖x_q‖ρ^r‖w_LS‖ wherever ρ^r ≥ ``check_floor``, with the fitted
  slope/log ρ − 1 as the rate against the claimed one (0);
- loops to ε ≤ ⌈ln(1/ε)/ln(1/ρ)⌉ in every prompt, over all cells;
- per reference point, the Monte Carlo error/d agrees with its closed form (family level);
- per Newton–Schulz row, ‖I − AX_t‖₂ ≤ ρ₀^{2^t} where the bound ≥ ``check_floor`` (with the
  rounding slack :data:`NEWTON_SCHULZ_TOLERANCE`), and loops to ε ≤ its bound.
"""

from __future__ import annotations

from collections.abc import Sequence

from loopbound.stages.regression_report import FLOAT_TOLERANCE, float_tolerance, slope_consistent, slope_interval_mark
from loopbound.stages.report import VerdictRow
from loopbound.sweep.kinds.looped_gd_result import LoopedGDResult
from loopbound.sweep.kinds.newton_schulz import NewtonSchulzResult
from loopbound.sweep.kinds.reference import ReferenceResult

__all__ = ["NEWTON_SCHULZ_TOLERANCE", "summary_line", "regression_rows"]


def summary_line(sweep: Sequence[LoopedGDResult]) -> str:
    """The looped-GD table in one line: violations of the bound, the worst ratio, how many fitted
    intervals of slope/log ρ − 1 are consistent with 0, and whether loops to ε stayed within the bound."""
    fitted = [r for r in sweep if r.slope.ratio is not None]
    consistent = sum(bool(slope_consistent(r.slope.ratio, float_tolerance(r))) for r in fitted)
    violations = sum(r.bound_check.violations for r in sweep)
    worst = max(r.bound_check.max_ratio for r in sweep)
    c = sweep[0].config
    return (
        f"  bound: {violations} violations, worst measured/bound {worst:.4f}; slope/log ρ − 1 consistent with 0 "
        f"(interval contains 0, or within its float64 tolerance) in {consistent} of {len(fitted)} fitted cells; "
        f"loops to ε={c.epsilon:g} ≤ bound in every prompt: {all(r.loops_to_epsilon.measured_within_bound for r in sweep)}"
    )


def _looped_row(record: LoopedGDResult) -> VerdictRow:
    c, s, check = record.config, record.slope, record.bound_check
    claim = f"|ŷ_r − ŷ_LS| ≤ ‖x_q‖ρ^r‖w_LS‖: looped GD, d={c.d}, n/d={c.ratio}, κ_Σ={c.kappa:g}, η rule {c.rule}"
    measured = f"max measured/bound {check.max_ratio:.4f} over {check.points} (prompt, r) points"
    if s.ratio is None:
        rate = f"slope/log ρ − 1 not fitted (fit {s.fitted}/{s.instances})"
    else:
        ratio = s.ratio
        rate = (
            f"slope/log ρ − 1 = {ratio['estimate'] - 1:+.1e} [{ratio['lower'] - 1:+.1e}, {ratio['upper'] - 1:+.1e}] "
            f"{slope_interval_mark(ratio, float_tolerance(record))}, claimed 0 (fit {s.fitted}/{s.instances})"
        )
    verdict = "held" if check.violations == 0 else "violated"
    detail = f"{check.violations} over, where ρ^r ≥ {check.check_floor:g}"
    return VerdictRow("regression", claim, measured, "‖x_q‖ρ^r‖w_LS‖", verdict, detail, rate)


def _loops_row(sweep: Sequence[LoopedGDResult]) -> VerdictRow:
    c = sweep[0].config
    within = all(r.loops_to_epsilon.measured_within_bound for r in sweep)
    reached = sum(r.loops_to_epsilon.reached for r in sweep)
    prompts = sum(r.config.instances for r in sweep)
    return VerdictRow(
        "regression",
        f"loops of looped GD to ε = {c.epsilon:g} ≤ ⌈ln(1/ε)/ln(1/ρ)⌉, every prompt of {len(sweep)} cells",
        f"{reached} of {prompts} prompts reached ε in {c.loops} loops",
        "⌈ln(1/ε)/ln(1/ρ)⌉ per prompt",
        "held" if within else "violated",
        "every measured count within its bound" if within else "some count above its bound",
    )


def _reference_rows(reference: ReferenceResult) -> list[VerdictRow]:
    rows = []
    family = reference.config.family_level
    for p in reference.points:
        z = "z undefined (zero variance)" if p.z is None else f"z = {p.z:+.2f}"
        rows.append(
            VerdictRow(
                "regression",
                f"{p.curve} error/d at k={p.k}, d={p.d} equals its closed form",
                f"{p.mean:.5f} [{p.lower:.5f}, {p.upper:.5f}] ({p.level:.0%}, {p.samples} prompts)",
                f"{p.closed_form:.5f}",
                "held" if p.agrees else "violated",
                f"{z}, |z| ≤ {reference.z_critical:.2f} at family level {family}",
            )
        )
    return rows


NEWTON_SCHULZ_TOLERANCE = FLOAT_TOLERANCE
"""Relative slack of ‖I − AX_t‖₂ ≤ ρ₀^{2^t} (1e-6). The bound is attained along the extreme
singular direction, so the measured ratio is 1 up to rounding, and rounding grows: the residual
squares each loop (R_{t+1} = R_t²), so a relative error doubles per loop, and each loop adds a
rounding of order m·κ·u; over the T ≈ log₂(ln(check_floor)/ln ρ₀) loops compared that is about
2^T·m·κ·u, 4e-9 for κ = 1000 from αI (ρ₀ = 0.998, T = 12, m = 8), where seed 0 measures
1.8e-8. 1e-6 covers the stage's κ ≤ 1000 with room; an iteration that is not Newton–Schulz misses
the bound by a factor, not by 1e-6."""


def _newton_schulz_rows(record: NewtonSchulzResult) -> list[VerdictRow]:
    rows = []
    c = record.config
    for row in record.rows:
        slack = NEWTON_SCHULZ_TOLERANCE
        start = "αI" if row.init == "identity" else "αAᵀ"
        measured_loops = "not reached" if row.loops_measured_max is None else str(row.loops_measured_max)
        if row.max_ratio > 1.0 + slack or (row.loops_measured_max or 0) > row.loops_bound:
            verdict = "violated"
        elif row.loops_measured_max is None:  # ε not reached: a violation only if the bound is inside the budget
            verdict = "violated" if row.loops_bound <= c.loops else "inconclusive"
        else:
            verdict = "held"
        rows.append(
            VerdictRow(
                "regression",
                f"Newton–Schulz ‖I − AX_t‖₂ ≤ ρ₀^(2^t) and loops to ε = {c.epsilon:g}: κ={row.kappa:g}, X_0 = {start}",
                f"max residual/bound − 1 = {row.max_ratio - 1:+.1e}; loops to ε {measured_loops}",
                f"ρ₀^(2^t), ρ₀ = {row.rho0:.6f}; {row.loops_bound} loops",
                verdict,
                f"ratio ≤ 1 + {slack:g} (float64 rounding) where the bound ≥ {c.check_floor:g}",
            )
        )
    return rows


def regression_rows(
    sweep: Sequence[LoopedGDResult], reference: ReferenceResult, newton_schulz: NewtonSchulzResult
) -> tuple[VerdictRow, ...]:
    """Every claim of the regression stage as a verdict row."""
    return (
        *(_looped_row(r) for r in sweep),
        _loops_row(sweep),
        *_reference_rows(reference),
        *_newton_schulz_rows(newton_schulz),
    )
