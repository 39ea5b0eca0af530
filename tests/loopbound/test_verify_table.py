"""The verify table and JSON say what a verdict is: columns that never run together, the
rare-error warning (a needle target), the reading-dependent violation, and the theorem's
hypotheses and loopbound's own O-constants."""

from __future__ import annotations

import dataclasses
import json
import math
import re
import textwrap
from pathlib import Path

from loopbound.theory.error_measure import ErrorMeasurement, LpErrorEstimate
from loopbound.theory.targets import builtin_target
from loopbound.theory.verdict import judge
from loopbound.verify import (
    _annotate,
    format_columns,
    format_table,
    load_family,
    verify,
)
from tests.loopbound.cli_runner import run_cli

EXTREMES = (1e-300, 3.6e287, math.inf, 5e-324, 1.0)


def _cells(line: str) -> list[str]:
    return re.split(r" {2,}", line.strip())


def test_columns_are_separated_by_two_spaces_whatever_the_values() -> None:
    header = ["a", "b", "c", "status"]
    body = [[f"{x:.4g}", f"{y:.4g}", f"[{x:.4g}, {y:.4g}]", "held"] for x in EXTREMES for y in EXTREMES]
    lines = format_columns(header, body, left=(3,))
    for line, cells in zip(lines[1:], body):
        assert _cells(line) == cells, line
    assert len({len(line) for line in lines[1:]}) == 1  # aligned: the status column starts at one place


def _lp(template: LpErrorEstimate, value: float, lower: float, upper: float) -> LpErrorEstimate:
    """A measured estimate with its value and interval replaced (for the table alone)."""
    return dataclasses.replace(template, value=value, lower=lower, upper=upper)


def test_the_table_keeps_extreme_values_apart() -> None:
    result = verify(
        builtin_target("holder", d=1, N=1), loops=[5, 11], samples=256, seed=0, family=load_family(), sup_search=False
    )
    values = [(1e-300, 1e-300, 3.6e287, 3.6e287), (3.6e287, 1e-300, math.inf, 1e-300)]
    rows = tuple(
        dataclasses.replace(
            row, measurement=ErrorMeasurement(_lp(row.measurement.lp, v, lo, hi), None), bound=b, bound_upper=None
        )
        for row, (v, lo, hi, b) in zip(result.rows, values)
    )
    verdict = judge(
        [r.r for r in rows],
        [v[0] for v in values],
        [v[1] for v in values],
        [v[2] for v in values],
        [v[3] for v in values],
    )
    table = format_table(dataclasses.replace(result, rows=rows, verdict=verdict))
    lines = table.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith("r "))
    for row, line in zip(rows, lines[start + 1 : start + 3]):
        lp = row.measurement.lp
        cells = _cells(line)
        assert cells[:6] == [
            str(row.r),
            str(row.grid),
            str(row.loops),
            str(row.arithmetic),
            f"{lp.value:.4g}",
            f"[{lp.lower:.4g}, {lp.upper:.4g}]",
        ], line
        assert cells[7] == f"{row.bound:.4g}"
    assert "1e-3003.6e+287" not in table and "1e-300  " in table


def test_a_needle_reads_held_at_a_level_with_a_rare_error_warning(tmp_path: Path) -> None:
    """f(x) = 0.1x + 30·max(0, 1 − |x − 1|/10⁻⁶): the needle at x = 1 adds 900·10⁻⁶/3 to ∫e², so
    the true L² error at r = 5 is √(0.0289² + 3·10⁻⁴) ≈ 0.034 > 0.03, while 1024 samples see 0.029
    and the interval holds against 0.03. The verdict says "held at the 95% level" and warns: the sup
    search reaches the needle (≥ 100× the interval's end, above the bound)."""
    source = tmp_path / "needle.py"
    source.write_text(
        textwrap.dedent("""
        import torch

        def needle(X):
            return 0.1 * X + 30.0 * torch.relu(1.0 - (X - 1.0).abs() / 1e-6)
    """)
    )
    spec = f"{source}:needle"
    table = run_cli("verify", spec, "--N", "1", "--loops", "5", "--samples", "1024", "--bound", "0.03")
    assert table.code == 0, table.stderr
    assert "held at the 95% level" in table.stdout and "rare large errors may be missed" in table.stdout
    assert "held !" in table.stdout and "! r=5:" in table.stdout
    payload = json.loads(
        run_cli("verify", spec, "--N", "1", "--loops", "5", "--samples", "1024", "--bound", "0.03", "--json").stdout
    )
    (row,) = payload["rows"]
    assert row["status"] == "held" and row["upper"] <= 0.03 < math.sqrt(row["error"] ** 2 + 900e-6 / 3)
    assert row["sup_error_lower_bound"] >= 100 * row["upper"] and "rare large errors" in row["warnings"][0]
    assert payload["verdict"]["warnings"] and payload["verdict"]["level"] == 0.95
    quiet = json.loads(run_cli("verify", "holder", "--N", "1", "--loops", "5", "--samples", "256", "--json").stdout)
    assert quiet["rows"][0]["warnings"] == [] and quiet["verdict"]["warnings"] == []


def test_a_violation_only_under_the_stricter_reading_is_reported_so() -> None:
    """N = 2, d = 1, p = 2: the other reading adds (√2 − 1)·w. A row whose interval lies between
    the two readings is "violated under the stricter reading; held under the other"."""
    result = verify(
        builtin_target("holder", d=1, N=2),
        loops=[9, 29],
        bound="theorem",
        samples=256,
        seed=0,
        family=load_family(),
        sup_search=False,
    )
    rows = []
    for row in result.rows:
        assert row.other_reading is not None and row.other_reading[0] > row.bound  # the other is larger
        middle = (row.bound + row.other_reading[0]) / 2
        rows.append(
            dataclasses.replace(
                row,
                measurement=ErrorMeasurement(
                    _lp(row.measurement.lp, middle, middle * (1 - 1e-9), middle * (1 + 1e-9)), None
                ),
                other_reading=(row.other_reading[0], row.other_reading[1], "held"),
            )
        )
    verdict = judge(
        [r.r for r in rows],
        [r.measurement.lp.value for r in rows],
        [r.measurement.lp.lower for r in rows],
        [r.measurement.lp.upper for r in rows],
        [r.bound for r in rows],
    )
    verdict, rows = _annotate(verdict, rows, 0.95, result.hypotheses)
    changed = dataclasses.replace(result, rows=tuple(rows), verdict=verdict)
    table = format_table(changed)
    assert table.count("violated under the stricter reading; held under the other") == 3  # two rows, the verdict
    payload = changed.to_json()
    assert [row["status"] for row in payload["rows"]] == [
        "violated under the stricter reading; held under the other"
    ] * 2
    assert [row["other_reading"]["status"] for row in payload["rows"]] == ["held", "held"]
    assert [note["r"] for note in payload["verdict"]["reading_dependent"]] == [9, 29]


def test_the_theorem_outside_its_hypotheses_says_so_and_prints_its_constants() -> None:
    result = run_cli(
        "verify", "holder:scale=2", "--N", "1", "--loops", "5,11", "--bound", "theorem", "--samples", "256", "--no-sup"
    )
    assert result.code in (0, 1), result.stderr
    assert "hypotheses: outside the theorem's hypotheses: outputs in [0, 1] fails" in result.stdout
    assert "(outside the theorem's hypotheses)" in result.stdout
    assert "fixed by loopbound's construction" in result.stdout
    assert "    C_coll = " in result.stdout and "    C_band = " in result.stdout and "    M = " in result.stdout
    assert "verdict: outside the theorem's hypotheses" in result.stdout
    payload = json.loads(
        run_cli(
            "verify",
            "holder:scale=2",
            "--N",
            "1",
            "--loops",
            "5",
            "--bound",
            "theorem",
            "--samples",
            "256",
            "--no-sup",
            "--json",
        ).stdout
    )
    assert payload["hypotheses"]["inside"] is False
    assert payload["rows"][0]["status"].endswith("(outside the theorem's hypotheses)")
    assert payload["verdict"]["context"].startswith("outside the theorem's hypotheses")
    assert {"C_coll", "C_band", "M"} <= payload["rows"][0]["values"].keys()
    inside = json.loads(
        run_cli(
            "verify",
            "holder",
            "--N",
            "1",
            "--loops",
            "5",
            "--bound",
            "theorem",
            "--samples",
            "256",
            "--no-sup",
            "--json",
        ).stdout
    )
    assert inside["hypotheses"]["inside"] is True and inside["verdict"]["context"] is None
