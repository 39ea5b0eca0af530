"""``loopbound verify`` and ``loopbound figures``: the universal construction's error against loop
count held against Theorem 3.6 for the construction (d = 1, N ∈ {1, 2}, three permutation-equivariant
built-ins, with and without timestep scaling), a false bound reported violated with exit status 1,
the JSON contract, figures from stored records, and one-line errors with exit status 2."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from loopbound.theory.error_measure import lp_error
from loopbound.theory.errors import InputError
from loopbound.theory.targets import builtin_target
from loopbound.verify import load_family, parse_bound, parse_loops, verify
from tests.loopbound.cli_runner import assert_one_line_error, run_cli

universal = pytest.importorskip(
    "loopbound.constructions.universal", reason="needs constructions/universal.py (the lead's construction)"
)


# --------------------------------------------------------------------------- parsing
def test_parse_loops() -> None:
    assert parse_loops("19, 5,11,5") == (5, 11, 19)
    assert parse_loops("10:1000:3") == (10, 100, 1000)
    assert parse_loops("7:7:1") == (7,)
    for bad, message in [
        ("", "comma-separated"),
        ("5,,6", "comma-separated"),
        ("x", "not an integer"),
        ("0", ">= 1"),
        ("10:5:3", "LOW <= HIGH"),
        ("1:2:x", "LOW:HIGH:COUNT"),
    ]:
        with pytest.raises(InputError, match=message):
            parse_loops(bad)


def test_parse_bound() -> None:
    bound = parse_bound("(N*d)^(1/p)*(w_tok + w_cont) + w + r^-0.1")
    assert bound.evaluate(r=1.0, d=1, N=4, p=2.0, delta=0.5, w=0.1, w_tok=0.2, w_cont=0.3) == pytest.approx(
        2 * 0.5 + 0.1 + 1
    )
    assert bound.provenance.source == "the user"
    for bad, message in [
        ("r*z", "unknown symbol"),
        ("foo(r)", "unknown function"),
        ("r < 3", "not an expression"),
        ("r +* 2", "does not parse"),
        ("__import__('os')", "not a mathematical"),
        ("  ", "empty"),
    ]:
        with pytest.raises(InputError, match=message):
            parse_bound(bad)


# --------------------------------------------------------------------------- what it must show
TARGETS = ("holder:alpha=0.5", "contextual_max", "smooth")
GRIDS = {1: (2, 3, 4, 5, 6), 2: (2, 3)}  # the unscaled construction fits float64 up to these grids


def _target(spec: str, N: int):
    name, _, params = spec.partition(":")
    return builtin_target(name, d=1, N=N, **dict(item.split("=") for item in params.split(",") if item))


@pytest.fixture(scope="module")
def verified() -> dict:
    family = load_family()
    results = {}
    for spec in TARGETS:
        for N, grids in GRIDS.items():
            loops = [universal.loops_for_grid(m, 1, N) for m in grids]
            for timestep in (False, True):
                results[spec, N, timestep] = verify(
                    _target(spec, N),
                    loops=loops,
                    timestep=timestep,
                    samples=1024,
                    scramblings=8,
                    seed=0,
                    family=family,
                    sup_search=False,
                )
    return results


@pytest.mark.parametrize("spec", TARGETS)
@pytest.mark.parametrize("N", [1, 2])
@pytest.mark.parametrize("timestep", [False, True])
def test_error_falls_with_r_and_stays_under_the_bound(verified: dict, spec: str, N: int, timestep: bool) -> None:
    result = verified[spec, N, timestep]
    assert result.verdict is not None and result.verdict.held and result.exit_status == 0
    rows = result.measured
    assert [row.grid for row in rows] == list(GRIDS[N])
    for row in rows:
        assert row.measurement.lp.upper <= row.bound
        assert row.loops <= row.r
    for before, after in zip(rows, rows[1:]):  # falls, beyond the measurement's uncertainty
        assert after.measurement.lp.upper < before.measurement.lp.lower


@pytest.mark.parametrize("spec", TARGETS)
@pytest.mark.parametrize("N", [1, 2])
@pytest.mark.parametrize("timestep", [False, True])
def test_the_reconstructed_theorem_at_delta_of_r_holds_at_every_r(spec: str, N: int, timestep: bool) -> None:
    """Theorem 3.6 (4.2 with timestep scaling) as stated, at δ(r) with its moduli there and the
    O-constants fixed by the construction: held at every r of the small grid, bracketed moduli
    (smooth) judged at their certified lower ends."""
    loops = [universal.loops_for_grid(m, 1, N) for m in GRIDS[N]]
    loops = [r for r in loops if r > N]
    result = verify(
        _target(spec, N),
        loops=loops,
        timestep=timestep,
        bound="theorem",
        samples=512,
        scramblings=8,
        seed=0,
        family=load_family(),
        sup_search=False,
    )
    assert result.bound_kind == "theorem" and result.bound_status == ("derived here" if timestep else "reconstructed")
    assert result.verdict is not None and result.verdict.held, (
        result.verdict.summary() if result.verdict else "no verdict"
    )
    for row in result.measured:
        assert row.measurement.lp.upper <= row.bound


@pytest.mark.parametrize("spec", TARGETS)
@pytest.mark.parametrize("N", [1, 2])
def test_timestep_scaling_is_never_worse_than_the_unscaled_construction(verified: dict, spec: str, N: int) -> None:
    """At every r, with timestep scaling: the guaranteed error (the bound) is at most the unscaled
    one's, and so is the measured value-mapping error ‖g − f∘q‖_{L²} (q the cell's lower corner),
    the error Theorem 4.2 removes. (The measured error to f itself is not ordered at every grid:
    the unscaled greedy walk's ±ε steps sometimes offset the lower-corner bias; docs/verify.md.)"""
    target = _target(spec, N)
    scaled, unscaled = verified[spec, N, True], verified[spec, N, False]
    for a, b in zip(scaled.measured, unscaled.measured):
        assert a.r == b.r and a.bound <= b.bound
        m = a.grid
        cell_target = lambda X, m=m: target(universal.cell_representative(X, 1.0 / m))  # noqa: E731
        mapping = [
            lp_error(
                universal.build_universal(target, 1.0 / m, timestep=t).model, cell_target, N=N, d=1, samples=512, seed=0
            )
            for t in (True, False)
        ]
        assert mapping[0].value <= mapping[1].value + 1e-9


def test_a_false_bound_is_reported_violated_with_exit_status_1() -> None:
    result = run_cli(
        "verify", "holder", "--N", "1", "--loops", "5,11,19", "--bound", "r^-5", "--samples", "256", "--no-sup"
    )
    assert result.code == 1, result.stderr
    assert "violated at r = 5, 11, 19" in result.stdout
    payload = json.loads(
        run_cli(
            "verify",
            "holder",
            "--N",
            "1",
            "--loops",
            "5,11,19",
            "--bound",
            "r^-5",
            "--samples",
            "256",
            "--no-sup",
            "--json",
        ).stdout
    )
    assert payload["verdict"]["status"] == "violated" and payload["verdict"]["violated"] == [5, 11, 19]
    assert payload["bound"]["kind"] == "user" and payload["bound"]["status"] == "claimed"
    assert payload["verdict"]["claimed_exponent"] == pytest.approx(-5.0)
    # three points on the fitted range: an exponent, but no interval and so no comparison
    assert payload["verdict"]["rate"]["lower"] is None and payload["verdict"]["rate"]["interval_note"]
    assert payload["verdict"]["rate_comparison"].startswith("not compared (no interval: 3 points")


def test_a_false_rate_is_reported_slower_than_claimed_when_the_fit_has_an_interval() -> None:
    """Twelve loop budgets (timestep scaling keeps the construction in float64 up to r = 400): six
    on the asymptotic range, enough for a bootstrap interval, which lies far above the claimed −5."""
    payload = json.loads(
        run_cli(
            "verify",
            "holder",
            "--N",
            "1",
            "--timestep",
            "--loops",
            "5:400:12",
            "--bound",
            "r^-5",
            "--samples",
            "256",
            "--no-sup",
            "--json",
        ).stdout
    )
    rate = payload["verdict"]["rate"]
    assert rate["points"] >= 5 and rate["lower"] is not None and rate["upper"] < -0.2
    assert payload["verdict"]["rate_comparison"] == "falls slower than claimed"


def test_json_contract_and_table(tmp_path: Path) -> None:
    result = run_cli(
        "verify", "contextual_max", "--N", "1", "--timestep", "--loops", "5,11,19,29", "--samples", "512", "--json"
    )
    assert result.code == 0, result.stderr
    payload = json.loads(result.stdout)
    assert {
        "target",
        "d",
        "N",
        "p",
        "timestep",
        "bound",
        "moduli_sources",
        "sup_target",
        "settings",
        "rows",
        "verdict",
    } <= payload.keys()
    assert payload["timestep"] is True and payload["bound"]["status"] == "derived here"
    assert payload["moduli_sources"] == {"w": "exact"} and payload["sup_target"]["source"] == "exact"
    for row in payload["rows"]:
        assert {
            "r",
            "grid",
            "loops",
            "error",
            "lower",
            "upper",
            "sup_error_lower_bound",
            "bound",
            "ratio",
        } <= row.keys()
        assert row["lower"] <= row["error"] <= row["upper"] <= row["bound"]
        assert row["ratio"] == pytest.approx(row["error"] / row["bound"])
        assert row["sup_error_lower_bound"] >= row["error"] * 0.99  # the sup is at least the L² average here
    assert payload["verdict"]["held"] is True and payload["verdict"]["rate"]["level"] == 0.95

    record = tmp_path / "record.json"
    record.write_text(result.stdout)
    table = run_cli(
        "verify", "contextual_max", "--N", "1", "--loops", "5,11", "--samples", "256", "--plot", str(tmp_path / "v.png")
    )
    assert table.code == 0 and "held" in table.stdout and "verdict: bound holds at every r" in table.stdout
    assert (tmp_path / "v.png").stat().st_size > 10_000
    assert b"/Type3" not in (tmp_path / "v.pdf").read_bytes()  # a PDF beside the PNG asked for, Type 42 fonts

    figures = run_cli("figures", str(record), "--out", str(tmp_path / "figs"), "--stem", "rate")
    assert figures.code == 0, figures.stderr
    for suffix in ("pdf", "png"):
        assert (tmp_path / "figs" / f"rate.{suffix}").stat().st_size > 5_000


def test_moduli_sources_and_the_theorem_bound() -> None:
    result = run_cli(
        "verify",
        "attention",
        "--N",
        "1",
        "--loops",
        "5,11",
        "--bound",
        "w + w_tok",
        "--samples",
        "256",
        "--no-sup",
        "--json",
    )
    assert result.code in (0, 1), result.stderr
    payload = json.loads(result.stdout)
    assert payload["moduli_sources"] == {"w": "estimate", "w_tok": "estimate"}
    theorem = run_cli(
        "verify",
        "holder",
        "--N",
        "1",
        "--timestep",
        "--loops",
        "11,19",
        "--bound",
        "theorem",
        "--samples",
        "256",
        "--no-sup",
        "--json",
    )
    assert theorem.code == 0, theorem.stdout + theorem.stderr
    payload = json.loads(theorem.stdout)
    assert (
        "Theorem 4.2's exact value mapping" in payload["bound"]["name"] and payload["bound"]["status"] == "derived here"
    )
    assert all(row["values"]["delta_r"] == pytest.approx(((row["r"] - 1) / 2) ** (-1 / 3)) for row in payload["rows"])


def test_a_users_construction_from_a_file(tmp_path: Path) -> None:
    source = tmp_path / "lookup.py"
    source.write_text(
        textwrap.dedent("""
        from dataclasses import dataclass
        import torch

        @dataclass(frozen=True)
        class Guarantee:
            delta: float
            N: int
            d_out: int
            timestep: bool
            loops: int
            value_error_bound: tuple = (0.0,)
            output_bound: float = 0.0
            band_measure: float = 0.0
            collision_measure: float = 0.0

        def loops_for_grid(m, d, N, *, timestep=True):
            return m

        def grid_for_loops(r, d, N, *, timestep=True):
            return r if r >= 2 else None

        class Lookup(torch.nn.Module):
            def __init__(self, target, m):
                super().__init__()
                self.target, self.m = target, m
                self.guarantee = Guarantee(1 / m, target.N, target.d_out, True, m)
                self.loops = m

            def forward(self, X):
                return self.target(torch.floor(X * self.m) / self.m)

        def build(target, delta, *, timestep=False, dtype=torch.float64, device=None):
            return Lookup(target, round(1 / delta))
    """)
    )
    result = run_cli(
        "verify",
        "holder",
        "--N",
        "2",
        "--loops",
        "2,4,8,16",
        "--construction",
        str(source),
        "--samples",
        "512",
        "--no-sup",
    )
    assert result.code == 0, result.stderr
    assert "construction " + str(source) in result.stdout and "rate: error ~ r^" in result.stdout


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "args, fragment",
    [
        (["holder", "--loops", "5,x"], "argument --loops"),
        (["holder", "--loops", "0"], ">= 1"),
        (["holder"], "--loops"),
        (["holder", "--loops", "5", "--bound", "r +* 2"], "does not parse"),
        (["holder", "--loops", "5", "--bound", "r*z"], "unknown symbol 'z'"),
        (["holder", "--loops", "5", "--bound", "foo(r)"], "unknown function"),
        (["holder", "--N", "1", "--loops", "2,5"], "r=2 loops are too few"),
        (["holder", "--loops", "9", "--device", "tpu"], "unknown device"),
        (["nosuch", "--loops", "9"], "unknown target"),
        (["holder", "--loops", "9", "--samples", "4"], "fewer than two points"),
        (["holder", "--loops", "9", "--level", "1.5"], "argument --level"),
        (["holder", "--loops", "9", "--p", "0.5"], "argument --p"),
        (["holder", "--loops", "9", "--construction", "nosuch.module"], "no module named 'nosuch'"),
        (["prefix_mean", "--loops", "9"], "not permutation-equivariant"),
        (["holder", "--N", "2", "--loops", "2,9", "--bound", "theorem"], "r=2 loops are too few"),
    ],
)
def test_bad_input_is_one_line_with_exit_status_2(args: list[str], fragment: str) -> None:
    assert_one_line_error(run_cli("verify", *args), fragment)


@pytest.mark.parametrize(
    "make_input, fragment",
    [
        (lambda tmp: tmp / "missing.json", "no such file"),
        (lambda tmp: (tmp / "bad.json").write_text("{not json") and tmp / "bad.json", "is not JSON"),
        (lambda tmp: (tmp / "other.json").write_text('{"a": 1}') and tmp / "other.json", "not a verify record"),
        (lambda tmp: tmp, "not a sweep store"),
    ],
)
def test_figures_bad_input_is_one_line(tmp_path: Path, make_input, fragment: str) -> None:
    assert_one_line_error(run_cli("figures", str(make_input(tmp_path)), "--out", str(tmp_path / "out")), fragment)


def test_run_stage_at_tiny_size(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from loopbound.stages import approximation as stage

    monkeypatch.setattr(stage, "STAGE_TARGETS", ("contextual_max",))
    monkeypatch.setattr(
        stage, "STAGE_GRIDS", {(1, False): (2, 3, 7), (1, True): (2, 3, 4), (2, False): (2,), (2, True): (2, 3)}
    )
    monkeypatch.setattr(stage, "STAGE_SAMPLES", 256)
    lines = stage.approximation_stage(tmp_path, 0)
    text = "\n".join(lines)
    assert "held (2/2)" in text and "refused: contextual_max N=1 looped: r=55 (grid 7)" in text
    assert "the bound holds in every case" in text
    records = json.loads((tmp_path / "approximation.json").read_text())["records"]
    assert len(records) == 4 and {r["timestep"] for r in records} == {False, True}
    assert (tmp_path / "approximation.pdf").stat().st_size > 5_000 and (
        tmp_path / "approximation.png"
    ).stat().st_size > 10_000


@pytest.mark.slow
def test_run_stage_at_its_default_size(tmp_path: Path) -> None:
    from loopbound.stages.approximation import approximation_stage

    text = "\n".join(approximation_stage(tmp_path, 0))
    assert "the bound holds in every case and at every r measured" in text


def test_compiled_block_gives_the_same_measurement() -> None:
    """--compile is an opt-in speed-up: the same numbers as eager evaluation (bit-identical blocks)."""
    common = (
        "verify",
        "holder",
        "--N",
        "1",
        "--timestep",
        "--loops",
        "5,19",
        "--samples",
        "512",
        "--scramblings",
        "2",
        "--no-sup",
        "--json",
    )
    eager = json.loads(run_cli(*common).stdout)
    compiled = json.loads(run_cli(*common, "--compile").stdout)
    assert [row["error"] for row in eager["rows"]] == [row["error"] for row in compiled["rows"]]


def test_an_approximation_sweep_records_verify_per_r_and_figures_draws_its_store(tmp_path: Path) -> None:
    """``approximation`` sweep cells: one r each, the result is verify's record at that r without
    timings (the same numbers as ``verify`` itself), a precision refusal is recorded, not failed;
    ``loopbound figures STORE`` merges the cells of a series by r and writes PDF and PNG."""
    from loopbound.sweep import Store

    config = tmp_path / "approximation.toml"
    config.write_text(
        textwrap.dedent("""
        cell = "approximation"
        targets = ["contextual_max"]
        d = 1
        N = 1
        device = "cpu"
        [approximation]
        timestep = [false, true]
        loops = [5, 11, 19, 55]
        samples = 256
        sup = false
    """)
    )
    store = tmp_path / "store"
    result = run_cli("sweep", str(config), "--out", str(store), "--workers", "2")
    assert result.code == 0, result.stdout + result.stderr
    records = list(Store(store).iter_records())
    assert len(records) == 8
    by_cell = {(r.config["params"]["timestep"], r.config["params"]["loops"]): r.result for r in records}
    assert by_cell[False, 55]["refused"] == [55] and by_cell[True, 55]["refused"] == []
    direct = verify(
        _target("contextual_max", 1),
        loops=[11],
        timestep=True,
        samples=256,
        scramblings=8,
        seed=0,
        family=load_family(),
        sup_search=False,
    ).to_json()
    stored = by_cell[True, 11]
    assert "seconds" not in stored and "seconds" not in stored["rows"][0]["measurement"]["lp"]
    assert stored["rows"][0]["error"] == direct["rows"][0]["error"] and stored["bound"] == direct["bound"]
    assert stored["rows"][0]["measurement"]["lp"]["replicates"] == direct["rows"][0]["measurement"]["lp"]["replicates"]

    figures = run_cli("figures", str(store), "--out", str(tmp_path / "figs"), "--stem", "sweep")
    assert figures.code == 0, figures.stderr
    assert "8 record(s), 2 series" in figures.stdout
    for suffix in ("pdf", "png"):
        assert (tmp_path / "figs" / f"sweep.{suffix}").stat().st_size > 5_000


def test_a_false_claim_is_not_held_when_the_moduli_are_only_bracketed() -> None:
    """The smooth target's w is known only within [certified lower bound, analytic upper bound].
    The claim 0.17·w holds at the upper bound but not at the lower one: evaluating the claim at
    the upper bound alone printed "held" (exit 0) for a claim the certified witness refutes
    at its own value. The verdict must not say held; the table shows the bound's range."""
    args = (
        "verify",
        "smooth",
        "--d",
        "1",
        "--N",
        "2",
        "--timestep",
        "--loops",
        "9,67",
        "--bound",
        "0.17*w",
        "--samples",
        "512",
        "--no-sup",
    )
    payload = json.loads(run_cli(*args, "--json").stdout)
    for row in payload["rows"]:
        (w,) = row["moduli"]
        assert w["source"] == "bracketed" and w["lower"] < w["upper"] and row["bound_method"] == "monotone"
        assert row["bound"] == pytest.approx(0.17 * w["lower"]) and row["bound_upper"] == pytest.approx(
            0.17 * w["upper"]
        )
        assert row["bound"] < row["lower"] and row["upper"] <= row["bound_upper"]  # the case in question
    assert payload["verdict"]["status"] == "inconclusive" and not payload["verdict"]["held"]
    result = run_cli(*args)
    assert result.code == 1 and "tighter moduli would decide" in result.stdout and ".." in result.stdout


def test_a_bound_decreasing_in_w_is_ranged_by_its_certified_direction() -> None:
    """A claim decreasing in w (nonsense, but a user may type it) is evaluated over the bracket,
    not at one end: its derivative is certified ≤ 0, so its range runs from the bracket's upper end
    to its lower one, and the row says how it was found."""
    payload = json.loads(
        run_cli(
            "verify",
            "smooth",
            "--d",
            "1",
            "--N",
            "1",
            "--loops",
            "9",
            "--bound",
            "1/(1+w)",
            "--samples",
            "256",
            "--no-sup",
            "--json",
        ).stdout
    )
    (row,) = payload["rows"]
    (w,) = row["moduli"]
    assert row["bound_method"] == "monotone" and row["bound_reason"] is None
    assert row["bound"] == pytest.approx(1 / (1 + w["upper"])) and row["bound_upper"] == pytest.approx(
        1 / (1 + w["lower"])
    )


def test_the_construction_bound_header_is_the_template_and_each_grid_prints_its_constants() -> None:
    result = run_cli("verify", "holder", "--N", "1", "--loops", "5,11,19", "--samples", "256", "--no-sup")
    assert result.code == 0, result.stdout + result.stderr
    assert "epsilon" in result.stdout.splitlines()[2] and "mu_B" in result.stdout.splitlines()[2]
    for grid in (2, 3, 4):
        assert f"constants at grid {grid}: epsilon = " in result.stdout
    payload = json.loads(
        run_cli("verify", "holder", "--N", "1", "--loops", "5,11,19", "--samples", "256", "--no-sup", "--json").stdout
    )
    epsilons = [row["values"]["epsilon"] for row in payload["rows"]]
    assert len(set(epsilons)) == 3  # each row evaluated with its own construction's constants


def test_verify_writes_its_bound_and_table_as_latex(tmp_path: Path) -> None:
    out = tmp_path / "verify.tex"
    result = run_cli(
        "verify",
        "smooth",
        "--N",
        "1",
        "--loops",
        "5,11",
        "--bound",
        "0.5*w + r^-1",
        "--samples",
        "256",
        "--no-sup",
        "--latex",
        str(out),
    )
    assert result.code in (0, 1) and f"LaTeX: {out}" in result.stdout
    text = out.read_text()
    assert text.startswith("\\documentclass") and text.rstrip().endswith("\\end{document}")
    assert "\\begin{tabular}" in text and text.count("\\\\") >= 3  # header and two rows
    assert "0.5 \\omega_f" in text and "\\frac{1}{r}" in text  # the claim's LaTeX, w written as the modulus ω_f
    assert all(ord(c) < 128 for c in text)
    bad = run_cli("verify", "smooth", "--N", "1", "--loops", "5", "--latex", str(tmp_path / "x.txt"))
    assert_one_line_error(bad, "LaTeX file must end in .tex")


def test_an_r_beyond_float64_is_a_refused_row_and_the_others_are_measured() -> None:
    """One r the construction cannot be evaluated at (here float64 cannot hold the unscaled
    construction's bits at grid 7) does not abort the run: its row says why it was refused, the
    other r are measured and judged, and the verdict is "not shown" there (exit 1, as for an
    inconclusive r); the JSON lists the refused r."""
    result = run_cli(
        "verify", "holder", "--N", "1", "--loops", "5,55", "--samples", "256", "--no-sup", "--arithmetic", "float64"
    )
    assert result.code == 1, result.stderr
    assert "refused: r=55 (grid 7): this construction needs" in result.stdout
    assert "not shown at r = 55" in result.stdout.splitlines()[-1]
    measured = json.loads(
        run_cli(
            "verify",
            "holder",
            "--N",
            "1",
            "--loops",
            "5,55",
            "--samples",
            "256",
            "--no-sup",
            "--json",
            "--arithmetic",
            "float64",
        ).stdout
    )
    assert measured["refused"] == [55]
    assert [row["r"] for row in measured["rows"] if row["refused"] is None] == [5]
