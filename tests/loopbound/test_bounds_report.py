"""Every bound as LaTeX with provenance (loopbound.bounds_report), for reports."""

from __future__ import annotations

from pathlib import Path

from loopbound.bounds_report import all_bounds, bounds_document, escape
from loopbound.stages.bounds import bounds_stage
from loopbound.theory.bounds import approximation, budgets, construction, regression


def test_every_bound_is_listed_once_with_its_provenance_and_expression() -> None:
    bounds = all_bounds()
    assert len({id(b) for b in bounds}) == len(bounds)
    for required in (
        approximation.THEOREM_3_6,
        approximation.THEOREM_4_2,
        approximation.LEMMA_4_1,
        construction.CONSTRUCTION_TEMPLATE,
        budgets.CONSTRUCTION_LOOPS,
        regression.GD_PREDICTION_ERROR,
    ):
        assert any(b is required for b in bounds)
    document = bounds_document(bounds)
    for bound in bounds:
        assert bound.latex() in document
        assert escape(bound.provenance.cite()) in document


def test_text_is_escaped_for_pdflatex() -> None:
    assert escape("Xu & Sato, 50% of x_1 {a} #2 $") == r"Xu \& Sato, 50\% of x\_1 \{a\} \#2 \$"
    assert escape("η ≤ ρ₀ − 1") == r"$\eta$ $\le$ $\rho$$_0$ - 1"
    document = bounds_document(all_bounds())
    assert all(ord(c) < 128 for c in document)


def test_the_run_stage_writes_bounds_tex(tmp_path: Path) -> None:
    (line,) = bounds_stage(tmp_path, 0)
    text = (tmp_path / "bounds.tex").read_text()
    assert "reconstructed" in line and "derived here" in line and str(tmp_path / "bounds.tex") in line
    assert text.count("\\paragraph{") == len(all_bounds())
