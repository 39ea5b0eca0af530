"""The text of ``loopbound verify``: the table, its column formatter, and the warnings' wording.

:func:`format_table` prints per r the grid, the construction's loops, the L^p error with its
interval, the sup lower bound, the bound (or its range), the ratio and the status, then the rate and
the verdict; :func:`format_columns` sizes each column from its content. :func:`rare_error_warning`
says when the sup search found errors the L^p samples may not have seen. The JSON is the result
types' own (:mod:`loopbound.verify_result`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from loopbound.theory.error_measure import ErrorMeasurement
from loopbound.theory.verdict import classify
from loopbound.verify_result import VerifyResult, VerifyRow

__all__ = [
    "format_table",
    "format_columns",
    "rare_error_warning",
    "rare_errors_summary",
    "RARE_ERROR_RATIO",
    "COLUMN_GAP",
]


RARE_ERROR_RATIO = 100.0
"""The sup/L^p ratio from which :func:`rare_error_warning` warns."""


def rare_error_warning(measurement: ErrorMeasurement, bound: float | None) -> str | None:
    """A warning (one line) where the sup-error search found values that the L^p estimate may not
    have seen, else None.

    The L^p interval is a statement about I = ∫ e^p from n sampled points; e(X) large on a set of
    measure μ ≪ 1/n contributes up to μ·sup e^p to I and is hit by none of the n points with
    probability about (1 − μ)^n. The certified sup lower bound s (attained at a witness) does not by
    itself contradict the interval — a needle has a large sup and a small L^p mass — but it shows
    that large errors exist. The criterion: warn when the sup search ran and

    - s ≥ :data:`RARE_ERROR_RATIO` × the interval's upper end U: a set where e ≥ s/2 can then have
      measure at most (2U/s)^p ≤ 50^{−p} if the estimate is right, i.e. it is rare on the scale of
      the samples and its true share of I is not estimated; or
    - s > the bound (its low end): the error exceeds the bound pointwise, so the verdict rests on
      the set where it does so being small, which only the samples judge.

    Neither makes the verdict wrong; both say that "held" is as good as the samples' coverage of
    rare large errors (raise --samples, or bound the error analytically)."""
    sup = measurement.sup
    if sup is None or not math.isfinite(sup.value):
        return None
    upper = measurement.lp.upper
    reasons = []
    if sup.value >= RARE_ERROR_RATIO * upper:
        ratio = "inf" if upper == 0 else f"{sup.value / upper:.3g}"
        reasons.append(f"{ratio}× the L^p interval's upper end {upper:.4g}")
    if bound is not None and sup.value > bound:
        reasons.append(f"above the bound {bound:.4g}")
    if not reasons:
        return None
    return (
        f"the sup search found an error ≥ {sup.value:.4g} ({' and '.join(reasons)}); the L^p estimate is from "
        f"{measurement.lp.samples} samples and can miss rare large errors (sets of measure ≲ 1/{measurement.lp.samples})"
    )


def rare_errors_summary(rs: Sequence[int]) -> str:
    """The verdict's warning for the loop budgets ``rs`` whose rows carry a rare-error warning."""
    return (
        f"at r = {', '.join(map(str, rs))} the sup search found errors the L^p samples may not "
        f"have seen (sup ≥ {RARE_ERROR_RATIO:g}× the interval's upper end, or above the bound): "
        "rare large errors may be missed"
    )


# --------------------------------------------------------------------------- the table
CONSTANT_NAMES = ("epsilon", "B", "B_C", "mu_B", "mu_C")


def _constants_per_grid(result: VerifyResult, names: tuple[str, ...], label: str) -> list[str]:
    """One line per grid: the constants ``names`` the bound was evaluated with, after ``label``."""
    lines, seen = [], set()
    for row in result.measured:
        if row.grid in seen or not all(name in row.values for name in names):
            continue
        seen.add(row.grid)
        constants = ", ".join(f"{name} = {row.values[name]:.4g}" for name in names)
        lines.append(f"  {label} at grid {row.grid}: {constants}")
    return lines


BOUND_LABELS = {
    "construction": "Theorem 3.6 for the construction (derived here, constants from its guarantee)",
    "theorem": "Theorem 3.6 at δ(r) (reconstructed), stricter reading (ω_f outside the (Nd)^{1/p} factor), "
    "O-constants C_coll, C_band, M loopbound's own (from its construction)",
    "theorem_timestep": "Theorem 3.6 with Theorem 4.2's exact value mapping at δ(r) (derived here), stricter reading, "
    "O-constants C_coll, C_band, M loopbound's own (from its construction)",
    "user": "the claimed bound",
}

COLUMN_GAP = "  "
"""Between every two columns, whatever the values: widths come from the content."""

THEOREM_CONSTANTS = ("C_coll", "C_band", "M")

THEOREM_CONSTANT_DEFINITIONS = {
    "C_coll": "collision term's constant, 2^{-1/p}(N d_out)^{1/p}(B_C + S)",
    "C_band": "transition-band term's constant, (N d_out)^{1/p}(B + S)",
    "M": "the quantiser's sharpness (its ramps have width 1/M)",
}
"""What each O-constant of the theorem is, as loopbound's construction fixes it (:mod:`loopbound.theory.claims`)."""


def theorem_constant_lines(result: VerifyResult) -> list[str]:
    """One line per O-constant the theorem leaves open (:data:`THEOREM_CONSTANT_DEFINITIONS`): what
    fixes it, and its value at each grid measured (one value where every grid gives the same)."""
    lines = ["  O-constants the theorem leaves open, fixed by loopbound's construction (B, B_C from its guarantee):"]
    for name, definition in THEOREM_CONSTANT_DEFINITIONS.items():
        by_grid = {row.grid: row.values[name] for row in result.measured if name in row.values}
        if not by_grid:
            continue
        shown = {f"{value:.4g}" for value in by_grid.values()}
        if len(shown) == 1:
            values = f"{shown.pop()} at every grid"
        else:
            values = ", ".join(f"{value:.4g} (grid {grid})" for grid, value in by_grid.items())
        lines.append(f"    {name} = {values}   [{definition}]")
    return lines if len(lines) > 1 else []


def format_columns(
    header: Sequence[str], body: Sequence[Sequence[str]], *, left: Sequence[int] = (), indent: str = "  "
) -> list[str]:
    """Rows of cells as text: each column as wide as its widest cell (header included), columns
    separated by :data:`COLUMN_GAP`, right-aligned except the columns in ``left``; a row with fewer
    cells ends early (its last cell is not padded). No value can run into its neighbour."""
    widths = [len(h) for h in header]
    for cells in body:
        for i, cell in enumerate(cells[:-1] if len(cells) < len(header) else cells):
            widths[i] = max(widths[i], len(cell))

    def line(cells: Sequence[str]) -> str:
        parts = []
        for i, cell in enumerate(cells):
            spans = len(cells) < len(header) and i == len(cells) - 1  # a short row's last cell runs on
            if spans or (i == len(header) - 1 and i in left):
                parts.append(cell)
            else:
                parts.append(cell.ljust(widths[i]) if i in left else cell.rjust(widths[i]))
        return (indent + COLUMN_GAP.join(parts)).rstrip()

    return [line(header), *(line(cells) for cells in body)]


def _preamble(result: VerifyResult) -> list[str]:
    """The settings, the bound with its provenance, the reading, the hypotheses, the moduli's sources and S."""
    variant = "with timestep scaling" if result.timestep else "without timestep scaling"
    label = BOUND_LABELS[
        "theorem_timestep" if result.bound_kind == "theorem" and result.timestep else result.bound_kind
    ]
    lines = [
        f"verify {result.target}  (d={result.d}, N={result.N}, p={result.p:g}, {variant}, construction {result.construction})",
        (
            f"  error: L^p over the uniform cube, {result.scramblings} Sobol scramblings, {result.samples} points, "
            f"{result.level:.0%} t-intervals (a statistical statement), seed {result.seed}, device {result.device}"
        ),
        f"  bound: {label}: {result.bound.readable()}  [{result.bound_status}]",
    ]
    if result.bound_kind == "theorem":
        lines.append(
            "  reading: the stricter of the two reconstructed readings (a violation that holds under the other, "
            "(Nd)^{1/p}[ω^tok + ω^cont + ω_f], is reported as such)"
        )
    if result.hypotheses is not None:
        lines.append(
            f"  hypotheses: {result.hypotheses.describe()}"
            + ("; this checks loopbound's extension, not the theorem as stated" if result.outside_hypotheses else "")
        )
    sources = result.moduli_sources()
    if sources:
        described = ", ".join(f"{name} {source}" for name, source in sources.items())
        notes = []
        if "bracketed" in described:
            notes.append("bracketed = certified lower bound and analytic upper bound: the bound is the range lo..hi")
        if "estimate" in described:
            notes.append("estimate = certified lower bound only: a violation is against the estimate")
        lines.append(f"  moduli: {described}" + (f"  ({'; '.join(notes)})" if notes else ""))
    if result.bound_kind in ("construction", "theorem"):
        lines.append(f"  sup|f| = {result.sup_target[0]:.6g} ({result.sup_target[1]})")
    return lines


def _cells(result: VerifyResult, row: VerifyRow) -> list[str]:
    """One row's cells: a refused row names why and runs on from its fourth cell."""
    if row.refused is not None:
        return [str(row.r), str(row.grid), "-", row.arithmetic or "-", f"refused: {row.refused}"]
    lp = row.measurement.lp  # type: ignore[union-attr]
    sup = row.measurement.sup  # type: ignore[union-attr]
    ratio = row.ratio
    return [
        str(row.r),
        str(row.grid),
        str(row.loops),
        row.arithmetic or "-",
        f"{lp.value:.4g}",
        f"[{lp.lower:.4g}, {lp.upper:.4g}]",
        "-" if sup is None else f"{sup.value:.4g}",
        row.bound_text(),
        "-" if ratio is None else f"{ratio:.4g}",
        result.status_text(row),
    ]


def _verdict_lines(result: VerifyResult) -> list[str]:
    """The fitted rate against the bound's slope, and the verdict."""
    verdict = result.verdict
    if verdict is None:
        return ["verdict: nothing measured (every r refused)"]
    fit = verdict.rate
    if fit.fitted:
        claimed = "-" if verdict.claimed_exponent is None else f"{verdict.claimed_exponent:.3f}"
        rate = f"  rate: error ~ {fit.describe()}; claimed (the bound's slope) {claimed}: {verdict.rate_comparison}"
    else:
        rate = f"  rate: {fit.status}"
    return [rate, f"verdict: {verdict.summary()}"]  # the summary names the refused r


def format_table(result: VerifyResult) -> str:
    """Per r: grid, the construction's loops, the arithmetic it ran in, the L^p error with its interval, the sup lower bound,
    the bound, the ratio and the status; then the rate and the verdict. Columns are sized from
    their content and separated by two spaces (:func:`format_columns`)."""
    lines = _preamble(result)
    header = [
        "r",
        "grid",
        "loops",
        "arithmetic",
        "L^p error",
        f"[{result.level:.0%} interval]",
        "sup err >=",
        "bound",
        "ratio",
        "status",
    ]
    lines.extend(format_columns(header, [_cells(result, row) for row in result.rows], left=(3, 9)))
    for row in result.rows:
        for warning in row.warnings:
            lines.append(f"  ! r={row.r}: {warning}")
    if result.bound_kind == "construction":
        lines.extend(_constants_per_grid(result, CONSTANT_NAMES, "constants"))
    if result.bound_kind == "theorem":
        lines.extend(theorem_constant_lines(result))
    lines.extend(_verdict_lines(result))
    return "\n".join(lines)


def progress_line(row: VerifyRow, done: int, total: int, seconds: float) -> str:
    """One line per finished row, printed as it finishes (before the verdict over all rows): r, the
    grid, loops and arithmetic, the measured error with its interval against the bound and that
    row's own status, or why it was refused; ``done``/``total`` rows and the seconds so far."""
    head = f"[{done}/{total}, {seconds:.1f} s] r={row.r}: grid {row.grid}"
    if row.refused is not None or row.measurement is None:
        return f"{head}, refused: {row.refused}"
    lp = row.measurement.lp
    status = "-"
    if row.bound is not None:
        status = classify(lp.lower, lp.upper, row.bound, row.bound_upper, row.bound_reason).value
    return (
        f"{head}, {row.loops} loops, {row.arithmetic or '-'}: error {lp.value:.4g} "
        f"[{lp.lower:.4g}, {lp.upper:.4g}], bound {row.bound_text()}: {status}"
    )
