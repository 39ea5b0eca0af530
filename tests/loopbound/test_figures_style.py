"""Every figure is written in the project style: fonts embedded as TrueType (Type 42), never Type 3,
the same bytes from two runs, PDF and PNG; ``loopbound figures STORE`` draws every kind of cell it
knows (approximation, modulus, in-context regression); refused r are marked on the approximation
figure."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from loopbound.sweep import Store, SweepConfig, compute
from tests.loopbound.cli_runner import assert_one_line_error, run_cli

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from loopbound.figures.approximation import approximation_figure  # noqa: E402
from loopbound.figures.attention import attention_regularity_figure  # noqa: E402
from loopbound.figures.modulus import moduli_figure, modulus_records  # noqa: E402
from loopbound.figures.save import save_figure, save_pdf_png  # noqa: E402
from loopbound.figures.style import ONE_COLUMN, PALETTE, TWO_COLUMN, figure_size, style  # noqa: E402
from loopbound.theory.attention_targets import AttentionModulusPoint  # noqa: E402

TYPE3 = b"/Type3"


def verify_record(*, timestep: bool, target: str = "holder:alpha=0.5", N: int = 1, refused: int | None = None) -> dict:
    """A verify record (the JSON of ``loopbound verify --json``) with made-up numbers: errors ∝ r^-1/2,
    a bound above them, and optionally one refused r (no measurement, a reason)."""
    rows = [
        {"r": r, "error": r**-0.5, "lower": 0.97 * r**-0.5, "upper": 1.03 * r**-0.5, "bound": 2 * r**-0.4}
        for r in (5, 11, 19, 29, 41)
    ]
    if refused is not None:
        rows.append({"r": refused, "error": None, "lower": None, "upper": None, "bound": None, "refused": "float64"})
    bound = {"kind": "construction", "expression": "C"}
    return {"target": target, "d": 1, "N": N, "p": 2.0, "timestep": timestep, "bound": bound, "rows": rows}


RECORDS = [
    verify_record(timestep=False, refused=55),
    verify_record(timestep=True),
    verify_record(timestep=False, N=2, target="contextual_max"),
]


def attention_points() -> list[AttentionModulusPoint]:
    return [
        AttentionModulusPoint(layer, 2, N, a, kind, delta, 0.5 * a * delta * N, a * delta * N)
        for layer in ("softmax", "sigmoid")
        for N in (2, 8)
        for a in (0.5, 4.0)
        for kind in ("sequence", "token")
        for delta in (0.1, 1.0)
    ]


MODULUS = [
    (
        {"cell": "modulus", "target": "holder:alpha=0.5", "d": 1, "N": 2, "p": 2.0, "seed": 0},
        {
            "kind": kind,
            "curve": [{"kind": kind, "delta": x, "lower": x**0.5, "upper": None, "exact": x**0.5} for x in (0.01, 0.1)],
        },
    )
    for kind in ("sequence", "token")
]


FIGURES = {
    "approximation": lambda: approximation_figure(RECORDS),
    "approximation_one_panel": lambda: approximation_figure(RECORDS[:2]),
    "moduli": lambda: moduli_figure(MODULUS),
    "attention": lambda: attention_regularity_figure(attention_points(), qk_norm=4.0, delta=0.1),
}


SLOW_FIGURES = {"approximation", "attention"}
"""Over ~3 s of CPU for two runs: six panels, or nine."""


@pytest.mark.parametrize(
    "name", [pytest.param(name, marks=pytest.mark.slow if name in SLOW_FIGURES else ()) for name in sorted(FIGURES)]
)
def test_every_figure_embeds_no_type3_font_and_saves_the_same_bytes_twice(name: str, tmp_path: Path) -> None:
    written = []
    for run in ("a", "b"):
        (tmp_path / run).mkdir()
        written.append(save_pdf_png(FIGURES[name](), tmp_path / run / name))
    for first, second in zip(*written):
        assert first.read_bytes() == second.read_bytes(), f"{first.name} differs between two runs"
    pdf = written[0][0].read_bytes()
    assert TYPE3 not in pdf and b"/FontFile2" in pdf  # TrueType glyphs embedded, no Type 3 procedures


def test_the_type3_check_would_see_a_type3_font(tmp_path: Path) -> None:
    """The grep above can fail: the same text saved with matplotlib's own default (Type 3) has it."""
    figure, ax = plt.subplots()
    ax.set_title("ω(δ) ρ$^r$")
    with matplotlib.rc_context({"pdf.fonttype": 3}):
        figure.savefig(tmp_path / "type3.pdf")
    save_figure(figure, tmp_path / "type42.pdf")
    assert TYPE3 in (tmp_path / "type3.pdf").read_bytes()
    assert TYPE3 not in (tmp_path / "type42.pdf").read_bytes()


def test_the_style_sizes_and_palette() -> None:
    assert figure_size(1)[0] == ONE_COLUMN == 3.25 and figure_size(2)[0] == TWO_COLUMN == 6.75
    with pytest.raises(ValueError, match="columns"):
        figure_size(3)
    with style():
        assert matplotlib.rcParams["pdf.fonttype"] == 42 and not matplotlib.rcParams["text.usetex"]
        assert matplotlib.colors.to_hex("C0") == PALETTE["blue"].lower()
    figure = approximation_figure(RECORDS)
    assert figure.get_size_inches()[0] == pytest.approx(TWO_COLUMN)
    plt.close(figure)


def test_the_approximation_figure_marks_refused_r_and_keeps_the_table_order() -> None:
    figure = approximation_figure(RECORDS, columns=3)
    first, second = figure.axes[0], figure.axes[1]
    assert "holder" in first.get_title() and "contextual_max" in second.get_title()  # the records' order
    crosses = [line for line in first.get_lines() if line.get_marker() == "x"]
    assert [list(line.get_xdata()) for line in crosses] == [[55]]
    legend_texts = [text.get_text() for legend in figure.legends for text in legend.get_texts()]
    assert any("refused r" in text for text in legend_texts)
    assert any("interval" in text and "±3.0%" in text for text in legend_texts)  # how wide the band is, said
    assert not [ax for ax in figure.axes if ax.get_legend() is not None]  # no legend inside a panel
    plt.close(figure)


# --------------------------------------------------------------------------- figures STORE
@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    """A store with tiny modulus, looped_gd, reference_curves and newton_schulz cells."""
    folder = tmp_path_factory.mktemp("store")
    configs = [
        SweepConfig(
            name="m",
            cell="modulus",
            targets=("holder:alpha=0.5",),
            d=(1,),
            N=(2,),
            p=(2.0,),
            device="cpu",
            params=(
                ("kind", ("sequence", "token")),
                ("deltas", (0.1, 0.3)),
                ("screen", 16),
                ("restarts", 2),
                ("steps", 0),
            ),
        ),
        SweepConfig(
            name="g",
            cell="looped_gd",
            d=(2,),
            device="cpu",
            params=(("ratio", (2,)), ("kappa", (1.0,)), ("rule", ("max", "optimal")), ("instances", 8), ("loops", 40)),
        ),
        SweepConfig(
            name="ref",
            cell="reference_curves",
            d=(4,),
            device="cpu",
            params=(("ks", (2, 4, 8)), ("prompts", 20), ("queries", 2)),
        ),
        SweepConfig(
            name="ns",
            cell="newton_schulz",
            device="cpu",
            params=(("m", 3), ("kappas", (10.0,)), ("batch", 2), ("loops", 8)),
        ),
    ]
    for config in configs:
        compute(config, store=Store(folder))
    return folder


@pytest.mark.slow
def test_figures_draws_the_modulus_and_regression_cells_of_a_store(store: Path, tmp_path: Path) -> None:
    (tmp_path / "verify.json").write_text(json.dumps({"records": RECORDS}))
    result = run_cli("figures", str(store), str(tmp_path / "verify.json"), "--out", str(tmp_path / "out"))
    assert result.code == 0, result.stderr
    assert "2 modulus cell(s)" in result.stdout and "2 looped_gd cell(s)" in result.stdout
    assert "3 record(s), 3 series" in result.stdout
    names = ("approximation", "moduli", "regression_errors", "regression_summary")
    for name in names:
        for suffix in ("pdf", "png"):
            path = tmp_path / "out" / f"{name}.{suffix}"
            assert path.stat().st_size > 5_000, path
        assert TYPE3 not in (tmp_path / "out" / f"{name}.pdf").read_bytes(), name
    stem = run_cli("figures", str(store), "--out", str(tmp_path / "stem"), "--stem", "fig")
    assert stem.code == 0, stem.stderr
    assert sorted(p.name for p in (tmp_path / "stem").iterdir()) == sorted(
        f"fig_{name}.{suffix}"
        for name in ("moduli", "regression_errors", "regression_summary")
        for suffix in ("pdf", "png")
    )


def test_the_moduli_figure_reads_store_records_and_titles_every_panel(store: Path) -> None:
    figure = moduli_figure(modulus_records(list(Store(store).iter_records())))
    [panel] = [ax for ax in figure.axes if ax.get_visible()]
    assert "d=1, N=2, p=2" in panel.get_title()
    markers = {line.get_marker() for line in panel.get_lines() if line.get_marker() not in ("None", None, "")}
    assert markers == {"o", "s"}  # one marker per kind: a token curve under a sequence curve stays visible
    plt.close(figure)


def test_the_regression_bound_is_drawn_over_the_same_prompts_as_the_error(store: Path) -> None:
    import numpy as np

    from loopbound.figures.regression import plot_error_curves
    from loopbound.sweep.kinds.looped_gd_result import LoopedGDResult

    results = [
        LoopedGDResult.from_record(r.result) for r in Store(store).iter_records() if r.config["cell"] == "looped_gd"
    ]
    figure, ax = plt.subplots()
    plot_error_curves(results[:1], ax=ax)
    dotted = [line for line in ax.get_lines() if line.get_linestyle() == ":"]
    rho = np.asarray(results[0].instances.rho)
    r = dotted[0].get_xdata()
    assert len(dotted) == 2  # the 10% and 90% quantiles of ρ^r over the prompts
    assert np.allclose(dotted[1].get_ydata(), np.quantile(rho[None, :] ** r[:, None], 0.9, axis=1))
    plt.close(figure)


def test_figures_of_a_store_with_nothing_to_draw_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "records").mkdir()
    assert_one_line_error(run_cli("figures", str(tmp_path), "--out", str(tmp_path / "out")), "nothing to draw")


@pytest.mark.slow
def test_no_pdf_that_loopbound_run_writes_embeds_a_type3_font(tmp_path: Path) -> None:
    """``loopbound run`` (what ``make run`` calls) at the smoke scale: every PDF it writes has
    TrueType fonts only."""
    result = run_cli("run", "--scale", "smoke", "--out", str(tmp_path))
    assert result.code == 0, result.stderr[-2000:]
    pdfs = sorted(tmp_path.rglob("*.pdf"))
    assert {"moduli.pdf", "approximation.pdf", "regression_errors.pdf"} <= {path.name for path in pdfs}
    for path in pdfs:
        assert TYPE3 not in path.read_bytes(), path.name
