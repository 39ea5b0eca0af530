"""The stages' verdict rows (loopbound.stages.*): each claim's verdict follows from its numbers —
held, violated or inconclusive — on hand-made results, so a wrong mapping cannot hide."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from loopbound.stages.moduli import ROUNDING, verdict_rows
from loopbound.stages.regression_report import FLOAT_TOLERANCE, float_tolerance
from loopbound.stages.regression_rows import NEWTON_SCHULZ_TOLERANCE, _looped_row, _newton_schulz_rows, summary_line
from loopbound.theory.kinds import ModulusKind


def _estimate(delta: float, lower: float, upper: float | None, exact: float | None = None) -> SimpleNamespace:
    return SimpleNamespace(kind=ModulusKind.TOKEN, delta=delta, lower=lower, upper=upper, exact=exact)


def _moduli(*estimates: SimpleNamespace) -> list:
    target = SimpleNamespace(spec="t", d=2, N=3)
    return [(target, {ModulusKind.TOKEN: tuple(estimates)})]


def test_a_modulus_lower_bound_above_its_exact_value_is_a_violation() -> None:
    [held] = verdict_rows(_moduli(_estimate(0.1, 0.5, 0.5, 0.5), _estimate(0.2, 0.9, 1.0, 1.0)))
    assert held.verdict == "held" and "2/2 δ" in held.detail and "exact 0.5" in held.bound
    [over] = verdict_rows(_moduli(_estimate(0.1, 0.5 * (1 + 10 * ROUNDING), 0.5, 0.5), _estimate(0.2, 0.9, 1.0, 1.0)))
    assert over.verdict == "violated" and "1/2 δ" in over.detail
    [unknown] = verdict_rows(_moduli(_estimate(0.1, 0.5, None)))
    assert unknown.verdict == "inconclusive"
    [upper] = verdict_rows(_moduli(_estimate(0.1, 0.5, 0.6)))
    assert upper.verdict == "held" and "upper bound" in upper.bound


def _newton(max_ratio: float, measured: int | None, bound: int, kappa: float = 10.0) -> SimpleNamespace:
    row = SimpleNamespace(
        kappa=kappa, init="identity", rho0=0.8, max_ratio=max_ratio, loops_measured_max=measured, loops_bound=bound
    )
    config = SimpleNamespace(m=8, check_floor=1e-4, epsilon=1e-8, loops=30)
    return SimpleNamespace(config=config, rows=(row,))


def test_newton_schulz_rows_allow_rounding_only() -> None:
    slack = NEWTON_SCHULZ_TOLERANCE
    assert (
        _newton_schulz_rows(_newton(1.0000000176338877, 14, 14, kappa=1000.0))[0].verdict == "held"
    )  # seed 0, κ = 1000
    assert _newton_schulz_rows(_newton(1.0 + slack / 2, 7, 7))[0].verdict == "held"
    assert _newton_schulz_rows(_newton(1.0 + 2 * slack, 7, 7))[0].verdict == "violated"
    assert _newton_schulz_rows(_newton(1.0, 8, 7))[0].verdict == "violated"
    assert _newton_schulz_rows(_newton(1.0, None, 25))[0].verdict == "violated"  # bound within the 30 loops
    assert _newton_schulz_rows(_newton(1.0, None, 40))[0].verdict == "inconclusive"


def _looped(violations: int, lower: float | None, upper: float | None, kappa_H: float = 200.0) -> SimpleNamespace:
    config = SimpleNamespace(d=4, ratio=2, kappa=1.0, rule="max", epsilon=1e-6, loops=500, instances=32, fit_lower=1e-8)
    ratio = None if lower is None else {"estimate": 1 + (lower + upper) / 2, "lower": 1 + lower, "upper": 1 + upper}
    return SimpleNamespace(
        config=config,
        kappa_H=SimpleNamespace(q90=kappa_H),
        slope=SimpleNamespace(ratio=ratio, fitted=16, instances=32),
        bound_check=SimpleNamespace(violations=violations, max_ratio=0.97, points=9000, check_floor=1e-10),
        loops_to_epsilon=SimpleNamespace(measured_within_bound=True, reached=32),
    )


def test_looped_gd_rows_read_the_interval_against_zero() -> None:
    row = _looped_row(_looped(0, 1.8e-12, 9.3e-8))
    assert row.verdict == "held" and "≈ 0 (fp)" in row.rate and "claimed 0" in row.rate and "fit 16/32" in row.rate
    assert _looped_row(_looped(2, -1e-7, 1e-7)).verdict == "violated"
    assert "EXCLUDES 0" in _looped_row(_looped(0, 1e-3, 2e-3)).rate
    assert "not fitted" in _looped_row(_looped(0, None, None)).rate
    line = summary_line([_looped(0, 1.8e-12, 9.3e-8), _looped(0, 1e-3, 2e-3), _looped(0, None, None)])
    assert "0 violations" in line and "in 1 of 2 fitted cells" in line


def test_the_float_tolerance_grows_with_the_conditioning_of_the_prompts() -> None:
    """κ(H)·u/fit_lower: rounding of e_r at the bottom of the fit window grows with κ(H)."""
    assert float_tolerance(_looped(0, 0.0, 0.0, kappa_H=4.0)) == FLOAT_TOLERANCE
    assert float_tolerance(_looped(0, 0.0, 0.0, kappa_H=1e5)) == pytest.approx(1e5 * 2.0**-53 / 1e-8)
    assert "EXCLUDES 0" in _looped_row(_looped(0, 5e-6, 1e-5, kappa_H=10.0)).rate
    assert "≈ 0 (fp)" in _looped_row(_looped(0, 5e-6, 1e-5, kappa_H=1e5)).rate
