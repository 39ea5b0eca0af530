"""verify past float64: the arithmetic each row ran in, rows as they finish, refused rows that do
not abort the run, and LOW:HIGH:COUNT snapped to one budget per construction."""

from __future__ import annotations

import json
import math

import pytest

from loopbound.construction_family import load_family
from loopbound.target_loading import load_target
from loopbound.verify import snap_loops, verify
from tests.loopbound.cli_runner import assert_one_line_error, run_cli

SMALL = ("--samples", "256", "--no-sup")


def test_auto_evaluates_a_grid_beyond_float64_exactly_and_says_so() -> None:
    """Without timestep scaling, grid 7 at N = 1 needs more bits than float64 has: under the default
    ``--arithmetic auto`` the row is measured in exact arithmetic (named in the table and the JSON),
    the float64 row beside it stays float64, and nothing is refused."""
    payload = json.loads(run_cli("verify", "holder", "--N", "1", "--loops", "5,55", *SMALL, "--json").stdout)
    arithmetic = {row["r"]: row["arithmetic"] for row in payload["rows"]}
    assert arithmetic == {5: "float64", 55: "exact"}
    assert payload["refused"] == []
    assert all(row["error"] is not None and math.isfinite(row["error"]) for row in payload["rows"])
    table = run_cli("verify", "holder", "--N", "1", "--loops", "5,55", *SMALL).stdout
    (row_55,) = [line for line in table.splitlines() if line.split()[:1] == ["55"]]
    assert "exact" in row_55.split()


def test_exact_arithmetic_measures_what_float64_measures_where_float64_suffices() -> None:
    """At grids where float64 holds every bit, the exact evaluation rounded once to float64 gives
    the same outputs, hence the same measured error (up to the summation's own rounding)."""
    target = load_target("smooth", d=1, N=2)
    family = load_family()
    loops = [family.loops_for_grid(m, 1, 2, timestep=True) for m in (2, 3)]
    settings = dict(loops=loops, timestep=True, samples=256, scramblings=4, sup_search=False)
    floating = verify(target, arithmetic="float64", **settings)  # type: ignore[arg-type]
    exact = verify(target, arithmetic="exact", **settings)  # type: ignore[arg-type]
    assert [row.arithmetic for row in exact.rows] == ["exact", "exact"]
    for a, b in zip(floating.rows, exact.rows):
        assert a.measurement is not None and b.measurement is not None
        assert b.measurement.lp.value == pytest.approx(a.measurement.lp.value, rel=1e-12, abs=1e-15)


def test_rows_are_reported_as_they_finish_in_order() -> None:
    """``on_row`` sees each row once, in order of r, each already measured (or refused) with its
    arithmetic, before the verdict is formed; the CLI prints one progress line per row on stderr."""
    seen = []
    target = load_target("smooth", d=1, N=1)
    result = verify(target, loops=[5, 11, 19], samples=128, scramblings=4, sup_search=False, on_row=seen.append)
    assert [row.r for row in seen] == [5, 11, 19] == [row.r for row in result.rows]
    assert all(row.measurement is not None and row.arithmetic == "float64" for row in seen)
    cli = run_cli("verify", "smooth", "--N", "1", "--loops", "5,11,19", *SMALL)
    lines = cli.stderr.strip().splitlines()
    assert [line.split("] ")[1].split(":")[0] for line in lines] == ["r=5", "r=11", "r=19"]
    assert lines[-1].startswith("[3/3,") and "float64: error" in lines[-1]
    assert run_cli("verify", "smooth", "--N", "1", "--loops", "5,11", *SMALL, "--quiet").stderr == ""


def test_an_exact_grid_estimated_over_the_row_limit_is_refused_and_the_rest_measured() -> None:
    """A grid whose exact evaluation would take longer than ``--row-seconds`` is a refused row with
    the estimate and the way out; the other r are measured and the exit status is 1 (not shown)."""
    result = run_cli("verify", "holder", "--N", "1", "--loops", "5,55", *SMALL, "--row-seconds", "1e-6")
    assert result.code == 1, result.stderr
    assert "refused: r=55 (grid 7): exact arithmetic at" in result.stdout
    assert "over the row limit" in result.stdout
    assert "not shown at r = 55" in result.stdout.splitlines()[-1]
    assert_one_line_error(run_cli("verify", "holder", "--loops", "5", "--row-seconds", "0"), "row-seconds")
    assert_one_line_error(run_cli("verify", "holder", "--loops", "5", "--arithmetic", "fp16"), "arithmetic")


def test_a_loops_range_keeps_one_budget_per_construction_the_largest_asked() -> None:
    """Of the budgets of a range that run the same construction, only the largest is kept: no
    construction enters the rate fit twice, and the claim is checked at the strictest budget asked
    (a bound decreasing in r would read "held" at a smaller one); the first line of the table says
    which budgets were kept."""
    family = load_family()
    budgets = range(9, 200)
    kept = snap_loops(budgets, family, d=1, N=1, timestep=False)
    grid = lambda r: family.grid_for_loops(r, 1, 1, timestep=False)  # noqa: E731
    assert len({grid(r) for r in kept}) == len(kept)
    assert {grid(r) for r in kept} == {grid(r) for r in budgets}
    assert all(r == max(b for b in budgets if grid(b) == grid(r)) for r in kept)
    result = run_cli("verify", "smooth", "--N", "1", "--loops", "5:41:12", *SMALL, "--timestep", "--quiet")
    assert result.code in (0, 1), result.stderr
    first = result.stdout.splitlines()[0]
    assert first == "loops 5:41:12: one budget per construction, the largest asked: 9, 16, 28, 34, 41"


@pytest.mark.slow
def test_the_unscaled_construction_verifies_past_a_thousand_loops() -> None:
    """The issue's check: without timestep scaling, N = 1, r = 17, 129, 1025 on a smooth target
    exits 0 with exact arithmetic named in the rows past float64."""
    result = run_cli("verify", "smooth", "--N", "1", "--loops", "17,129,1025", "--samples", "1024", "--json")
    assert result.code == 0, result.stdout[-2000:] + result.stderr[-2000:]
    payload = json.loads(result.stdout)
    arithmetic = {row["r"]: row["arithmetic"] for row in payload["rows"]}
    assert arithmetic[1025] == "exact" and arithmetic[129] == "exact"


@pytest.mark.slow
def test_timestep_scaling_verifies_d2_n1_past_four_thousand_loops() -> None:
    """The issue's check: with timestep scaling, d = 2 and N = 1 verify to >= 4000 loops (float64
    holds the timestep-scaled construction at every grid)."""
    result = run_cli(
        "verify", "smooth", "--d", "2", "--N", "1", "--timestep", "--loops", "260,4104", "--samples", "512", "--json"
    )
    assert result.code == 0, result.stderr[-2000:]
    rows = json.loads(result.stdout)["rows"]
    assert max(row["loops"] for row in rows) >= 4000
    assert all(row["arithmetic"] == "float64" and row["status"] == "held" for row in rows)
