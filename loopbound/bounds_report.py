"""The bounds as LaTeX, for reports: every bound loopbound checks, and one verification's table.

- :func:`all_bounds`: the theorems (Theorem 3.6 in both readings, Theorem 3.6 with Theorem 4.2's
  exact value mapping in both readings, Lemma 4.1), the construction's instance of
  Theorem 3.6, the layer and loop budgets, and the in-context regression bounds, in that order;
- :func:`bounds_document`: a standalone LaTeX document (article, amsmath) in three sections
  (:func:`section_of`: the approximation theory, loopbound's construction, in-context regression),
  one entry per bound: its name, its provenance (source, statement, arXiv id, status:
  reconstructed / derived here / paper; a user's bound is tagged claimed) and its formula
  (:func:`bound_latex`: sympy's LaTeX printer with the symbols written as mathematics, ω_f for
  ``w``), and after each section the definition of every symbol its formulas use
  (:mod:`loopbound.bounds_glossary`);
- :func:`verify_document`: the bound a :class:`~loopbound.verify_result.VerifyResult` was held against,
  and its per-r rows (error with interval, bound or bound range, ratio, status) as a table, with
  the verdict and the fitted rate.

``loopbound run`` writes ``bounds.tex``; ``loopbound verify --latex FILE`` writes the second. Text
is escaped for LaTeX (``& % $ # _ { } ~ ^ \\``). Every formula is math that both amsmath and
matplotlib's mathtext render (no ``cases``, no ``\\text``: a piecewise expression is written inline),
so the documents are checked without TeX.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import sympy
from sympy.printing.latex import LatexPrinter

from loopbound.bounds_glossary import (
    CONSTRUCTION,
    LEMMA_4_1_LATEX,
    LEMMA_4_1_SYMBOLS,
    REGRESSION,
    SECTIONS,
    SYMBOL_LATEX,
    THEORY,
)
from loopbound.theory.bounds.core import Bound
from loopbound.verify_result import VerifyResult

__all__ = [
    "all_bounds",
    "escape",
    "citation",
    "bound_latex",
    "section_of",
    "symbols_used",
    "bound_entry",
    "glossary_entries",
    "glossary",
    "bounds_document",
    "verify_document",
    "formulas",
]

_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}
_GREEK = {
    "α": "alpha",
    "β": "beta",
    "γ": "gamma",
    "δ": "delta",
    "ε": "epsilon",
    "η": "eta",
    "θ": "theta",
    "κ": "kappa",
    "λ": "lambda",
    "μ": "mu",
    "π": "pi",
    "ρ": "rho",
    "σ": "sigma",
    "τ": "tau",
    "φ": "phi",
    "ψ": "psi",
    "ω": "omega",
    "Σ": "Sigma",
    "Δ": "Delta",
    "Ω": "Omega",
}
_SYMBOLS = {
    "≤": r"\leq",
    "≥": r"\geq",
    "≠": r"\neq",
    "≲": r"\lesssim",
    "×": r"\times",
    "·": r"\cdot",
    "‖": r"\|",
    "→": r"\to",
    "√": r"\surd",
    "∞": r"\infty",
    "ŵ": r"\hat{w}",
    "ŷ": r"\hat{y}",
    "⌊": r"\lfloor",
    "⌋": r"\rfloor",
    "∘": r"\circ",
}
_SUBSCRIPTS = {chr(0x2080 + k): f"_{k}" for k in range(10)}
_SUPERSCRIPTS = {"⁰": "^0", "¹": "^1", "²": "^2", "³": "^3", "⁻": "^-", "ᵀ": "^T"}
_TEXT_UNICODE = {"−": "-", "–": "--", "—": "---", "’": "'", "“": "``", "”": "''"}
_PREAMBLE = "\\documentclass{article}\n\\usepackage[utf8]{inputenc}\n\\usepackage{amsmath}\n\\usepackage[margin=2cm]{geometry}\n"


def _character(character: str) -> str:
    if character in _SPECIAL:
        return _SPECIAL[character]
    if character in _TEXT_UNICODE:
        return _TEXT_UNICODE[character]
    if character in _GREEK:
        return f"$\\{_GREEK[character]}$"
    for table in (_SYMBOLS, _SUBSCRIPTS, _SUPERSCRIPTS):
        if character in table:
            return f"${table[character]}$"
    return character


def escape(text: str) -> str:
    """``text`` with LaTeX's special characters escaped and the Greek letters, relations and
    sub/superscript digits loopbound's texts use written as LaTeX math (so pdflatex compiles it),
    neighbouring math joined into one ($\\rho_0$, not $\\rho$$_0$); other non-ASCII characters are
    kept (they need a Unicode engine)."""
    return re.sub(r"(?<!\\)\$\$", "", "".join(_character(character) for character in text))


def all_bounds() -> tuple[Bound, ...]:
    """Every bound loopbound checks, the approximation theorems first."""
    from loopbound.theory.bounds import approximation, construction, regression
    from loopbound.theory.bounds.budgets import BUDGETS

    theorems = (
        approximation.THEOREM_3_6,
        approximation.THEOREM_3_6_OTHER_READING,
        approximation.THEOREM_3_6_EXACT_VALUES,
        approximation.THEOREM_3_6_EXACT_VALUES_OTHER_READING,
        approximation.LEMMA_4_1,
        construction.CONSTRUCTION_TEMPLATE,
    )
    loops = (approximation.QUANTISATION_LOOPS, approximation.CONTEXTUAL_LOOPS, approximation.VALUE_LOOPS)
    in_context = tuple(value for value in vars(regression).values() if isinstance(value, Bound))
    seen: dict[int, Bound] = {}
    for bound in (*theorems, *loops, *BUDGETS, *in_context):
        seen.setdefault(id(bound), bound)
    return tuple(seen.values())


class _ReportPrinter(LatexPrinter):
    """sympy's LaTeX printer, with a piecewise expression written inline (mathtext has no ``cases``)."""

    def _print_Piecewise(self, expr: sympy.Piecewise) -> str:
        pieces = []
        for value, condition in expr.args:
            text = self._print(value)
            if condition is sympy.true:
                pieces.append(rf"{text}\ \mathrm{{otherwise}}")
            else:
                pieces.append(rf"{text}\ \mathrm{{if}}\ {self._print(condition)}")
        return r",\ ".join(pieces)


def citation(bound: Bound) -> str:
    """The bound's provenance as one line; a user's bound (source "the user") is tagged [claimed],
    never [paper]: it is a claim to check, not a statement read from a paper."""
    text = bound.provenance.cite()
    if bound.provenance.source == "the user" and text.endswith(f"[{bound.provenance.status}]"):
        text = text[: -len(f"[{bound.provenance.status}]")] + "[claimed]"
    return text


def bound_latex(bound: Bound) -> str:
    """The bound's formula as LaTeX math: Lemma 4.1 as its inequality (:data:`LEMMA_4_1_LATEX`),
    every other bound its expression, symbols written as mathematics (:data:`SYMBOL_LATEX`)."""
    from loopbound.theory.bounds.approximation import LEMMA_4_1

    if bound is LEMMA_4_1:
        return LEMMA_4_1_LATEX
    expression = bound.readable()
    names = {s: SYMBOL_LATEX[s.name] for s in expression.free_symbols if s.name in SYMBOL_LATEX}
    return _ReportPrinter({"symbol_names": names}).doprint(expression)


def section_of(bound: Bound) -> str:
    """The section of :data:`loopbound.bounds_glossary.SECTIONS` a bound belongs to: in-context
    regression, loopbound's construction (provenance from loopbound), or the approximation theory."""
    from loopbound.theory.bounds import regression

    if any(value is bound for value in vars(regression).values()):
        return REGRESSION
    return CONSTRUCTION if bound.provenance.source.startswith("loopbound") else THEORY


def symbols_used(bound: Bound) -> dict[str, str]:
    """Every symbol the bound's formula shows, as {name or written form: LaTeX}."""
    from loopbound.theory.bounds.approximation import LEMMA_4_1

    if bound is LEMMA_4_1:
        return {name: name for name in LEMMA_4_1_SYMBOLS}
    printer = LatexPrinter()
    return {s.name: SYMBOL_LATEX.get(s.name) or printer.doprint(s) for s in bound.readable().free_symbols}


def bound_entry(bound: Bound) -> str:
    """One bound: its name as a paragraph heading, its provenance, and its formula displayed."""
    return f"\\paragraph{{{escape(bound.name)}}} {escape(citation(bound))}.\n\\[ {bound_latex(bound)} \\]\n"


def glossary_entries(section: str, bounds: Iterable[Bound]) -> dict[str, str]:
    """Every symbol the ``bounds`` of ``section`` show, written as LaTeX math, with its definition
    (LaTeX text with inline math), in a stable order; raises KeyError naming a symbol the glossary
    lacks (a formula with an undefined symbol is a bug)."""
    from loopbound.theory.bounds.approximation import LEMMA_4_1

    definitions = SECTIONS[section]
    used: dict[str, str] = {}
    lemma = False
    for bound in bounds:
        if bound is LEMMA_4_1:
            lemma = True
            continue
        used.update(symbols_used(bound))
    missing = sorted(name for name in used if name not in definitions)
    if missing:
        raise KeyError(f"no definition of {', '.join(missing)} in the glossary of {section!r}")
    entries = {used[name]: definitions[name] for name in sorted(used, key=str.lower)}
    if lemma:
        entries.update({name: f"(Lemma 4.1) {text}" for name, text in LEMMA_4_1_SYMBOLS.items()})
    return entries


def glossary(section: str, bounds: Iterable[Bound]) -> str:
    """:func:`glossary_entries` as a LaTeX description list."""
    items = [f"\\item[${written}$] {text}" for written, text in glossary_entries(section, bounds).items()]
    return "\\paragraph{Symbols.}\n\\begin{description}\n" + "\n".join(items) + "\n\\end{description}\n"


def bounds_document(bounds: Iterable[Bound], *, title: str = "Bounds checked by loopbound") -> str:
    """A standalone LaTeX document listing ``bounds`` by section, each section ending with the
    definitions of its symbols."""
    bounds = tuple(bounds)
    parts = []
    for section in (THEORY, CONSTRUCTION, REGRESSION):
        members = [bound for bound in bounds if section_of(bound) == section]
        if members:
            entries = "\n".join(bound_entry(bound) for bound in members)
            parts.append(f"\\subsection*{{{escape(section)}}}\n{entries}\n{glossary(section, members)}")
    body = "\n".join(parts)
    return f"{_PREAMBLE}\\begin{{document}}\n\\section*{{{escape(title)}}}\n{body}\\end{{document}}\n"


def _number(value: float | None) -> str:
    return "--" if value is None else f"{value:.4g}"


def verify_document(result: VerifyResult) -> str:
    """The bound of one verification and its table of rows, with the verdict and the rate."""
    variant = "with timestep scaling" if result.timestep else "without timestep scaling"
    lines = [
        _PREAMBLE + "\\begin{document}",
        f"\\section*{{{escape(f'loopbound verify {result.target}')}}}",
        escape(
            f"d = {result.d}, N = {result.N}, p = {result.p:g}, {variant}; construction {result.construction}; "
            f"{result.samples} Sobol points in {result.scramblings} scramblings, {result.level:.0%} intervals, "
            f"seed {result.seed}, device {result.device}."
        ),
        "",
        bound_entry(result.bound),
        glossary(section_of(result.bound), [result.bound]),
        "\\begin{tabular}{rrrlllr l}",
        "$r$ & grid & loops & $L^p$ error & interval & bound & ratio & status \\\\ \\hline",
    ]
    for row in result.rows:
        if row.refused is not None:
            lines.append(
                f"{row.r} & {row.grid} & -- & \\multicolumn{{5}}{{l}}{{refused: {escape(row.refused[:60])}}} \\\\"
            )
            continue
        lp = row.measurement.lp  # type: ignore[union-attr]
        lines.append(
            f"{row.r} & {row.grid} & {row.loops} & {_number(lp.value)} & [{_number(lp.lower)}, {_number(lp.upper)}] & "
            f"{row.bound_text('--')} & {row.ratio:.3g} & {escape(result.status_text(row))} \\\\"
        )
    lines.append("\\end{tabular}\n")
    if result.hypotheses is not None:
        lines.append(escape(f"Hypotheses: {result.hypotheses.describe()}.") + "\n")
    for row in result.rows:
        for warning in row.warnings:
            lines.append(escape(f"Warning at r = {row.r}: {warning}.") + "\n")
    if result.verdict is not None:
        lines.append(escape(f"Verdict: {result.verdict.summary()}.") + "\n")
        lines.append(
            escape(f"Rate: error ~ {result.verdict.rate.describe()}; {result.verdict.rate_comparison}.") + "\n"
        )
    lines.append("\\end{document}\n")
    return "\n".join(lines)


_DISPLAY = re.compile(r"\\\[(.*?)\\\]", re.S)
_INLINE = re.compile(r"(?<!\\)\$(.+?)(?<!\\)\$", re.S)


def formulas(document: str) -> tuple[list[str], list[str]]:
    """The math of a LaTeX document from this module: its displayed formulas (``\\[ … \\]``) and
    its inline math (``$…$``, escaped dollars ``\\$`` excepted), each without delimiters."""
    body = document[document.index("\\begin{document}") :]
    displays = [match.strip() for match in _DISPLAY.findall(body)]
    inline = [match.strip() for match in _INLINE.findall(_DISPLAY.sub("", body))]
    return displays, inline
