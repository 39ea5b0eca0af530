"""Adversarial review of ``loopbound verify`` past float64 (round 4): exact rational arithmetic,
rows measured grid by grid with refusals, snapped ``LOW:HIGH:COUNT`` ranges, a user bound
evaluated before building, and the reflected contextual ids with ε ≤ ω^tok(δ) + ω^cont(δ) + 2^{1−F}
(constructions/universal.py, module docstring).

Each test asserts the correct behaviour. Tests marked "DEFECT" in their docstring failed when they
were written (the defect is described there); the others confirm the riskiest paths.
"""

from __future__ import annotations

import json
import math
import random
import re
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
import torch

from loopbound.bounds_report import verify_document
from loopbound.construction_family import ConstructionFamily, load_family
from loopbound.constructions.exact import exact_forward
from loopbound.constructions.universal import build_universal, cell_representative, universal_spec
from loopbound.grid_models import GridModel, refuse_slow
from loopbound.loop_budgets import parse_loops, snap_loops
from loopbound.target_loading import load_target
from loopbound.theory.targets import CallableTarget
from loopbound.verify import parse_bound, verify
from loopbound.work_estimate import points_measured
from tests.loopbound.cli_runner import assert_one_line_error, run_cli

SMALL = ("--samples", "256", "--scramblings", "4", "--no-sup", "--quiet")
FAST: dict[str, Any] = dict(samples=256, scramblings=4, sup_search=False)


@contextmanager
def _deadline(seconds: int) -> Iterator[None]:
    """Fail (TimeoutError) when the block runs longer than ``seconds`` (SIGALRM; POSIX main thread)."""

    def expire(signum: int, frame: object) -> None:
        raise TimeoutError(f"took longer than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


# --------------------------------------------------------------------------- refused rows


def test_json_verdict_is_not_held_when_an_r_was_refused() -> None:
    """DEFECT: ``loopbound verify holder --N 1 --loops 5,55 --arithmetic float64 --json`` exits 1
    (r = 55 refused: float64 cannot hold its 55 bits), but the JSON verdict reads
    ``"status": "held", "held": true`` and its summary omits r = 55; the text verdict says "not
    shown at r = 55". A JSON consumer reading ``verdict.held`` is told the bound held at every r."""
    result = verify(load_target("holder", d=1, N=1), loops=[5, 55], arithmetic="float64", on_refusal="record", **FAST)
    assert [row.r for row in result.refused] == [55]
    assert result.exit_status == 1
    payload = result.to_json()
    assert payload["refused"] == [55]
    verdict = payload["verdict"]
    assert verdict["held"] is False
    assert verdict["status"] != "held"
    assert "55" in verdict["summary"]


def test_latex_verdict_names_the_refused_r() -> None:
    """DEFECT: the LaTeX document of the same run says "Verdict: bound holds at every r measured
    (1) …" and never that r = 55 was not shown (the text table's verdict does)."""
    result = verify(load_target("holder", d=1, N=1), loops=[5, 55], arithmetic="float64", on_refusal="record", **FAST)
    document = verify_document(result)
    (verdict_line,) = [line for line in document.splitlines() if line.startswith("Verdict:")]
    assert "55" in verdict_line


def test_a_refused_row_claims_no_bound_method() -> None:
    """DEFECT (minor): a refused row computed no bound, yet its JSON (and CSV) ``bound_method``
    reads ``"exact"`` (the dataclass default), easily read as the arithmetic."""
    result = verify(load_target("holder", d=1, N=1), loops=[5, 55], arithmetic="float64", on_refusal="record", **FAST)
    (refused,) = [row for row in result.to_json()["rows"] if row["r"] == 55]
    assert refused["status"] == "refused" and refused["error"] is None
    assert refused["bound_method"] is None


def test_a_refused_row_never_counts_as_held_in_the_exit_status() -> None:
    """Every r refused: exit 1, no verdict; one refused beside held rows: exit 1 and the text
    verdict names it (CLI)."""
    result = verify(load_target("holder", d=1, N=1), loops=[55], arithmetic="float64", on_refusal="record", **FAST)
    assert result.verdict is None and result.exit_status == 1
    cli = run_cli("verify", "holder", "--N", "1", "--loops", "5,55", "--arithmetic", "float64", *SMALL)
    assert cli.code == 1
    assert "not shown at r = 55" in cli.stdout.splitlines()[-1]


def test_a_family_without_exact_arithmetic_says_so_under_auto() -> None:
    """DEFECT (wording): under ``--arithmetic auto`` a ``--construction`` whose build takes no
    ``exact=`` is refused at r = 55 with float64's message, which recommends "verify --arithmetic
    auto or exact" — what the user ran. The reason (no exact arithmetic in that family) is lost."""
    family = load_family()

    def build(target: Any, delta: Any, *, timestep: bool = False, dtype: Any = None, device: Any = None) -> Any:
        return family.build(target, delta, timestep=timestep, dtype=dtype, device=device)

    no_exact = ConstructionFamily(
        name="no-exact", build=build, loops_for_grid=family.loops_for_grid, grid_for_loops=family.grid_for_loops
    )
    result = verify(
        load_target("holder", d=1, N=1), loops=[55], family=no_exact, arithmetic="auto", on_refusal="record", **FAST
    )
    (row,) = result.rows
    assert row.refused is not None
    assert "no exact arithmetic" in row.refused


# --------------------------------------------------------------------------- the time estimate


def test_the_row_time_estimate_is_not_inflated_by_the_per_loop_cost() -> None:
    """DEFECT: :func:`refuse_slow` times 16 points and scales linearly, but the exact evaluator's
    cost per loop is mostly independent of the batch, so the estimate is ~30× too high: at grid 8
    (71 loops, N = 1) it estimates ~11 s for 1024 points that take ~0.4 s; at r = 1000 it printed
    "exact arithmetic at 16384 points would take about 922 s" (``loopbound verify holder --N 1
    --loops 1000 --no-sup --row-seconds 200`` refuses the row) while ``--row-seconds 5000`` runs the
    whole command in 31 s. The estimate must be within 4× of the time measured."""
    target = load_target("holder", d=1, N=1)
    model = build_universal(target, Fraction(1, 8), exact=True).model
    sampling: dict[str, Any] = dict(samples=1024, scramblings=4, seed=0, sup_search=False)
    refused = refuse_slow(GridModel(model, "exact"), 8, 71, target, sampling, 1e-9)
    assert refused.refused is not None
    estimate = float(re.search(r"about (\S+) s", refused.refused).group(1))  # type: ignore[union-attr]
    X = torch.rand(points_measured(1024, 4), 1, 1, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    began = time.perf_counter()
    model(X)
    actual = time.perf_counter() - began
    assert estimate <= 4 * actual + 1.0, f"estimated {estimate} s, measured {actual:.2f} s"


def test_a_tiny_row_limit_prints_numbers_that_show_the_refusal() -> None:
    """DEFECT (wording): ``--row-seconds 1e-300 --arithmetic exact`` refuses every grid with
    "would take about 0 s, over the row limit of 0 s": both numbers print as 0 (``:.0f``)."""
    cli = run_cli(
        "verify", "holder", "--N", "1", "--loops", "5", "--arithmetic", "exact", "--row-seconds", "1e-300", *SMALL
    )
    assert cli.code == 1
    match = re.search(r"about (\S+) s, over the row limit of (\S+) s", cli.stdout)
    assert match is not None
    assert float(match.group(1)) > float(match.group(2))


@pytest.mark.parametrize("seconds", ["nan", "inf", "-1", "0"])
def test_row_seconds_must_be_positive_and_finite(seconds: str) -> None:
    assert_one_line_error(run_cli("verify", "holder", "--N", "1", "--loops", "5", "--row-seconds", seconds, *SMALL))


# --------------------------------------------------------------------------- loop ranges


def test_snapping_a_wide_range_does_not_hang() -> None:
    """DEFECT: ``--loops 5:1000000:1000000`` (within LOOPS_RANGE_MAX) names 286 897 distinct r;
    :func:`snap_loops` calls grid_for_loops once per r (~1 ms each), so the CLI spends minutes
    (killed after 120 s here) before any row or refusal. There are only ~1000 distinct
    constructions below r = 10^6 at N = 1 (~20 below 10^5); snapping should cost in proportion to
    those. Here 5:100000:100000 (33 246 distinct r, parsed in 0.25 s) must snap within 3 s."""
    family = load_family()
    loops = parse_loops("5:100000:100000")
    with _deadline(3):
        snapped = snap_loops(loops, family, d=1, N=1, timestep=False)
    assert snapped[0] == 10 and len(snapped) <= 400  # 5..10 run the 5-loop construction: the largest budget kept


def test_a_range_does_not_hold_a_claim_that_the_same_list_violates() -> None:
    """DEFECT (design of the snapping): ``--loops 5:10:3`` names r = 5, 7, 10; all run grid 2
    (5 loops), so the range is snapped to r = 5 and ``--bound "1/sqrt(r)"`` is checked only at
    r = 5: "held", exit 0. The list ``--loops 5,7,10`` checks the same construction against the
    claim at the budgets asked for: violated at r = 10, exit 1. A bound decreasing in r is weakest
    at the snapped (smallest) r, so snapping down turns a violated claim into "held". Keeping,
    per construction, the largest budget asked for would avoid the duplicate measurements without
    weakening the claim."""
    common = ("holder", "--N", "1", "--samples", "64", "--scramblings", "4", "--no-sup", "--quiet")
    listed = run_cli("verify", *common, "--loops", "5,7,10", "--bound", "1/sqrt(r)")
    ranged = run_cli("verify", *common, "--loops", "5:10:3", "--bound", "1/sqrt(r)")
    assert listed.code == 1 and "violated at r = 10" in listed.stdout
    assert ranged.code == 1


def test_ranges_snap_to_construction_loop_counts() -> None:
    """``5:5:1`` is r = 5; ``9:10:100`` runs grid 2 (5 loops) for every value: one budget for it,
    the largest asked (10), said on the first line of the table; ``1:3:3`` lies below the smallest construction: exit 2."""
    family = load_family()
    assert snap_loops(parse_loops("5:5:1"), family, d=1, N=1, timestep=False) == (5,)
    assert snap_loops(parse_loops("9:10:100"), family, d=1, N=1, timestep=False) == (10,)
    cli = run_cli("verify", "holder", "--N", "1", "--loops", "9:10:100", *SMALL)
    assert cli.code == 0 and "one budget per construction, the largest asked: 10" in cli.stdout
    assert_one_line_error(run_cli("verify", "holder", "--N", "1", "--loops", "1:3:3", *SMALL), "r=1")


# --------------------------------------------------------------------------- exact arithmetic


def _adversarial_inputs(m: int, M: int, N: int, d: int, count: int, seed: int) -> torch.Tensor:
    rng = random.Random(seed)
    special = [0.0, 1.0, 1 - 2**-53, 0.5, 1 / m, 2 / m, 1 / m - 1 / M, 1 / m + 1 / M, 1 / m - 2**-40, 5e-324]
    rows = [[[rng.choice([*special, rng.random()]) for _ in range(d)] for _ in range(N)] for _ in range(count)]
    return torch.tensor(rows, dtype=torch.float64)


@pytest.mark.parametrize(
    ("name", "d", "N", "m", "timestep"),
    [("holder", 1, 1, 8, False), ("smooth", 1, 2, 4, False), ("smooth", 2, 2, 2, False), ("smooth", 1, 2, 3, True)],
)
def test_batched_exact_evaluation_equals_the_fraction_reference(
    name: str, d: int, N: int, m: int, timestep: bool
) -> None:
    """Past 64 bits (grid 8 at N = 1: 71 bits; grid 4 at N = 2: 67; d = N = 2 grid 2: 66), on inputs
    at cell corners, band edges, 1 − 2^−53 and subnormals: the batched exact evaluator rounds to
    the same float64 as :func:`exact_forward` (one sequence at a time, in Fractions)."""
    target = load_target(name, d=d, N=N)
    model = build_universal(target, Fraction(1, m), timestep=timestep, exact=True).model
    X = _adversarial_inputs(m, model.guarantee.sharpness, N, d, 10, seed=m + 7 * N)
    Y = model(X)
    for b in range(X.shape[0]):
        reference = exact_forward(model.spec, X[b].tolist())
        assert [[float(v) for v in token] for token in reference] == Y[b].tolist()


def test_exact_output_is_within_epsilon_of_f_at_the_corner_off_the_failure_set() -> None:
    """The guarantee at grid 5, N = 2 (129 bits, exact only): off collisions and bands, each output
    entry lies within ε_j (+ the label rounding 2^{−F−1}) of f at the cell's lower corner."""
    target = load_target("holder", d=1, N=2)
    model = build_universal(target, Fraction(1, 5), exact=True).model
    g = model.guarantee
    X = torch.rand(48, 2, 1, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    error = (model(X) - target(cell_representative(X, Fraction(1, 5)))).abs()
    cells = torch.floor(X * 5)
    checked = 0
    for b in range(X.shape[0]):
        fraction = X[b] * 5 - cells[b]
        if cells[b, 0, 0] == cells[b, 1, 0] or bool(((fraction < 1e-6) | (fraction > 1 - 1e-6)).any()):
            continue
        checked += 1
        assert error[b, :, 0].max().item() <= g.value_error_bound[0] + g.label_rounding
    assert checked >= 20


def test_exact_and_float64_rows_agree_without_timestep_scaling() -> None:
    """Where float64 holds the bits (N = 1 up to grid 6, 41 loops; sup search on), the exact rows
    give the same error, interval and sup lower bound on the same seed."""
    target = load_target("holder", d=1, N=1)
    settings: dict[str, Any] = dict(loops=[5, 41], samples=128, scramblings=4, sup_search=True)
    floating = verify(target, arithmetic="float64", **settings)
    exact = verify(target, arithmetic="exact", **settings)
    assert [row.arithmetic for row in floating.rows] == ["float64"] * 2
    assert [row.arithmetic for row in exact.rows] == ["exact"] * 2
    for a, b in zip(floating.rows, exact.rows):
        assert a.measurement is not None and b.measurement is not None
        for x, y in (
            (a.measurement.lp.value, b.measurement.lp.value),
            (a.measurement.lp.upper, b.measurement.lp.upper),
        ):
            assert y == pytest.approx(x, rel=1e-12, abs=1e-15)
        assert a.measurement.sup is not None and b.measurement.sup is not None
        assert b.measurement.sup.value == pytest.approx(a.measurement.sup.value, rel=1e-12)


def test_a_bound_just_below_an_exact_row_is_violated_and_just_above_held() -> None:
    """At r = 55 (exact under auto): a constant bound below the interval's lower end is violated
    (exit 1), one above its upper end held; the row says it ran in exact arithmetic."""
    target = load_target("holder", d=1, N=1)
    first = verify(target, loops=[55], arithmetic="auto", **FAST)
    (row,) = first.rows
    assert row.arithmetic == "exact" and row.measurement is not None
    lower, upper = row.measurement.lp.lower, row.measurement.lp.upper
    below = verify(target, loops=[55], arithmetic="auto", bound=parse_bound(repr(lower * (1 - 1e-9))), **FAST)
    above = verify(target, loops=[55], arithmetic="auto", bound=parse_bound(repr(upper * (1 + 1e-9))), **FAST)
    assert below.statuses == {55: "violated"} and below.exit_status == 1
    assert above.statuses == {55: "held"} and above.exit_status == 0


def test_a_user_bound_undefined_at_a_later_r_is_refused_before_any_row() -> None:
    """``(r-11)^-1 + 1`` at r = 11: one line, exit 2, and no progress line for r = 5."""
    cli = run_cli(
        "verify", "holder", "--N", "1", "--loops", "5,11,55", "--samples", "256", "--no-sup", "--bound", "(r-11)^-1 + 1"
    )
    assert cli.code == 2
    assert "r=5:" not in cli.stderr and "r = 11" in cli.stderr


# --------------------------------------------------------------------------- ε by hand


HAND_TARGETS = {
    # name: (f, Lipschitz constant of the token modulus, of the contextual modulus (Frobenius), N)
    "own": (lambda X: X.clone(), lambda N: 1.0, lambda N: 0.0),
    "max": (lambda X: X.amax(dim=1, keepdim=True).expand_as(X).clone(), lambda N: 1.0, lambda N: 1.0),
    "mean": (
        lambda X: X.mean(dim=1, keepdim=True).expand_as(X).clone(),
        lambda N: 1 / N,
        lambda N: math.sqrt(N - 1) / N,
    ),
}


@pytest.mark.parametrize("name", sorted(HAND_TARGETS))
@pytest.mark.parametrize(("d", "N", "m"), [(1, 2, 3), (1, 2, 4), (1, 2, 5), (2, 2, 2), (1, 3, 3)])
def test_value_error_is_within_the_hand_derived_moduli(name: str, d: int, N: int, m: int) -> None:
    """ε_j ≤ ω^tok(δ) + ω^cont(δ) + 2^{1−F} for targets whose moduli are derived by hand (Lipschitz
    in each token, output 2-norm per token): own token, max over tokens, mean over tokens."""
    f, tok, cont = HAND_TARGETS[name]
    target = CallableTarget(d=d, N=N, function=f, label=name)
    g = universal_spec(target, Fraction(1, m)).guarantee
    F = round(-math.log2(g.label_rounding)) - 1  # label_rounding = 2^{−F−1}
    bound = (tok(N) + cont(N)) / m + 2.0 ** (1 - F)
    assert max(g.value_error_bound) <= bound


# --------------------------------------------------------------------------- hostile targets


def test_a_target_near_the_float64_maximum_is_not_a_traceback(tmp_path: Path) -> None:
    """DEFECT: ``loopbound verify vast.py:vast --N 1 --loops 5`` with f(X) = 1.7e308·X (finite
    outputs) ends in a traceback, ``OverflowError: cannot convert float infinity to integer``, from
    ``fraction_bits(magnitude * (K + 2) * 4)`` (constructions/universal_values.py,
    fixed_point_labels): the product overflows float64. Correct: a refused row or one line (exit
    1 or 2), never a traceback. (1e200·X is measured, in exact arithmetic, labelled so.)"""
    source = tmp_path / "vast.py"
    source.write_text("def vast(X):\n    return 1.7e308 * X\n\ndef huge(X):\n    return 1e200 * X\n")
    cli = run_cli("verify", f"{source}:vast", "--N", "1", "--loops", "5", *SMALL)
    assert cli.code in (1, 2) and "Traceback" not in cli.stderr
    huge = json.loads(run_cli("verify", f"{source}:huge", "--N", "1", "--loops", "5", *SMALL, "--json").stdout)
    assert [row["arithmetic"] for row in huge["rows"]] == ["exact"]
