"""The bounds as LaTeX, for reports: every bound loopbound checks, and one verification's table.

- :func:`all_bounds`: the theorems (Theorem 3.6 in both readings, Theorem 3.6 with Theorem 4.2's
  exact value mapping in both readings, Lemma 4.1), the construction's instance of
  Theorem 3.6, the layer and loop budgets, and the in-context regression bounds, in that order;
- :func:`bounds_document`: a standalone LaTeX document (article, amsmath) with one entry per bound:
  its name, its provenance (source, statement, arXiv id, status: reconstructed / derived here /
  paper) and the expression (:meth:`loopbound.theory.bounds.core.Bound.latex`, sympy's LaTeX printer);
- :func:`verify_document`: the bound a :class:`~loopbound.verify_result.VerifyResult` was held against,
  and its per-r rows (error with interval, bound or bound range, ratio, status) as a table, with
  the verdict and the fitted rate.

``loopbound run`` writes ``bounds.tex``; ``loopbound verify --latex FILE`` writes the second. Text
is escaped for LaTeX (``& % $ # _ { } ~ ^ \\``); the expressions are sympy's and need amsmath only.
"""

from __future__ import annotations

from collections.abc import Iterable

from loopbound.theory.bounds.core import Bound
from loopbound.verify_result import VerifyResult

__all__ = ["all_bounds", "escape", "bound_entry", "bounds_document", "verify_document"]

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
    "≤": r"\le",
    "≥": r"\ge",
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
    sub/superscript digits loopbound's texts use written as LaTeX math (so pdflatex compiles it);
    other non-ASCII characters are kept (they need a Unicode engine)."""
    return "".join(_character(character) for character in text)


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


def bound_entry(bound: Bound) -> str:
    """One bound: its name as a paragraph heading, its provenance, and its expression displayed."""
    return f"\\paragraph{{{escape(bound.name)}}} {escape(bound.provenance.cite())}.\n\\[ {bound.latex()} \\]\n"


def bounds_document(bounds: Iterable[Bound], *, title: str = "Bounds checked by loopbound") -> str:
    """A standalone LaTeX document listing ``bounds``."""
    body = "\n".join(bound_entry(bound) for bound in bounds)
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
