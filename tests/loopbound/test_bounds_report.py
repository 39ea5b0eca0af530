"""Every bound as LaTeX with provenance (loopbound.bounds_report), for reports: every formula
renders (through matplotlib's mathtext, as the machine has no TeX), every symbol is defined in the
document, a user's bound is tagged claimed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from matplotlib.mathtext import MathTextParser

from loopbound.bounds_glossary import LEMMA_4_1_SYMBOLS, SECTIONS, SYMBOL_LATEX
from loopbound.bounds_report import (
    all_bounds,
    bound_latex,
    bounds_document,
    citation,
    escape,
    formulas,
    glossary,
    section_of,
    symbols_used,
)
from loopbound.stages.bounds import bounds_stage
from loopbound.theory.bounds import approximation, budgets, construction, regression
from loopbound.theory.bounds.parse import parse_bound

_PARSER = MathTextParser("agg")


def _renders(formula: str) -> bool:
    _PARSER.parse(f"${formula}$", dpi=72)
    return True


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
        assert bound_latex(bound) in document
        assert escape(citation(bound)) in document


def test_text_is_escaped_for_pdflatex() -> None:
    assert escape("Xu & Sato, 50% of x_1 {a} #2 $") == r"Xu \& Sato, 50\% of x\_1 \{a\} \#2 \$"
    assert escape("η ≤ ρ₀ − 1") == r"$\eta$ $\leq$ $\rho_0$ - 1"
    assert escape("costs $5 and δ") == r"costs \$5 and $\delta$"
    document = bounds_document(all_bounds())
    assert all(ord(c) < 128 for c in document)


def test_every_formula_of_the_document_renders_through_mathtext() -> None:
    displays, inline = formulas(bounds_document(all_bounds()))
    assert len(displays) == len(all_bounds()) and len(inline) > 40
    failures = []
    for formula in displays + inline:
        try:
            _renders(formula)
        except ValueError as error:
            failures.append(f"{formula[:70]}: {str(error).splitlines()[-1]}")
    assert not failures, failures


def test_no_bound_shows_a_placeholder_and_lemma_4_1_is_its_inequality() -> None:
    document = bounds_document(all_bounds())
    displays, _ = formulas(document)
    assert "jump" not in " ".join(displays)
    lemma = bound_latex(approximation.LEMMA_4_1)
    assert r"\leq" in lemma and r"\max" in lemma and "y_{j-1}" in lemma
    for formula in displays:  # a word of Latin letters outside \mathrm{...} would be a placeholder name
        stripped = re.sub(r"\\mathrm\{[^}]*\}|\\[A-Za-z]+", " ", formula)
        assert not re.search(r"[A-Za-z]{2,}", stripped), formula


def test_every_symbol_shown_is_defined_in_the_document() -> None:
    document = bounds_document(all_bounds())
    for bound in all_bounds():
        section = SECTIONS[section_of(bound)]
        for name, written in symbols_used(bound).items():
            assert name in section or name in LEMMA_4_1_SYMBOLS, (bound.name, name)
            assert f"\\item[${written}$]" in document, (bound.name, name, written)
    for name in ("C_band", "C_coll", "M"):  # the constants of the O-terms of Theorem 3.6
        definition = SECTIONS[section_of(approximation.THEOREM_3_6)][name]
        assert f"\\item[${SYMBOL_LATEX.get(name, name)}$] {definition}" in document


def test_every_letter_and_greek_command_in_a_formula_is_defined_in_its_section() -> None:
    """From the text alone: each single letter and each Greek command in a displayed formula is
    the written form (or a part of one) of a symbol its section's list defines."""
    operators = {"left", "right", "frac", "log", "lceil", "rceil", "mathrm", "circ", "leq", "max", "min", "sqrt"}
    document = bounds_document(all_bounds())
    sections = re.split(r"\\subsection\*", document)[1:]
    assert len(sections) == 3
    for text in sections:
        defined = " ".join(re.findall(r"\\item\[\$(.*?)\$\]", text))
        displays, _ = formulas("\\begin{document}" + text)
        for formula in displays:
            without_names = re.sub(r"\\mathrm\{[^}]*\}", " ", formula)
            for command in set(re.findall(r"\\([A-Za-z]+)", without_names)) - operators:
                assert f"\\{command}" in defined, (command, formula[:60])
            letters = set(
                re.findall(r"(?<![\\A-Za-z])[A-Za-z](?![A-Za-z])", re.sub(r"\\[A-Za-z]+", " ", without_names))
            )
            undefined = {
                letter for letter in letters if not re.search(rf"(?<![\\A-Za-z]){letter}(?![A-Za-z])", defined)
            }
            assert not undefined, (undefined, formula[:60])


def test_a_glossary_without_a_symbol_of_its_bounds_refuses() -> None:
    user = parse_bound("r^(-1/3) + w_tok", what="bound")
    assert "\\item[$\\omega^{\\mathrm{tok}}_f$]" in glossary(section_of(user), [user])
    stray = regression.GD_PREDICTION_ERROR
    with pytest.raises(KeyError, match="x_norm"):
        glossary(section_of(approximation.THEOREM_3_6), [stray])


def test_a_users_bound_is_tagged_claimed_not_paper() -> None:
    user = parse_bound("2 * r^(-1/3)", what="bound")
    assert citation(user).endswith("[claimed]") and "[paper]" not in citation(user)
    assert citation(approximation.THEOREM_3_6).endswith("[reconstructed]")


def test_the_run_stage_writes_bounds_tex(tmp_path: Path) -> None:
    (line,) = bounds_stage(tmp_path, 0)
    text = (tmp_path / "bounds.tex").read_text()
    assert "reconstructed" in line and "derived here" in line and str(tmp_path / "bounds.tex") in line
    assert text.count("\\paragraph{") == len(all_bounds()) + 3  # one per bound, one "Symbols." per section


@pytest.mark.slow
def test_verify_latex_tags_a_users_bound_claimed_and_defines_its_symbols(tmp_path: Path) -> None:
    from tests.loopbound.cli_runner import run_cli

    out = tmp_path / "verify.tex"
    common = ("verify", "holder", "--N", "1", "--timestep", "--loops", "5,19", "--samples", "256")
    result = run_cli(*common, "--scramblings", "2", "--no-sup", "--bound", "2*r^(-1/3) + w", "--latex", str(out))
    assert result.code == 0, result.stderr
    document = out.read_text()
    assert "[claimed]" in document and "[paper]" not in document
    displays, inline = formulas(document)
    assert all(_renders(formula) for formula in displays + inline)
    assert "\\item[$r$]" in document and "\\item[$\\omega_f$]" in document
