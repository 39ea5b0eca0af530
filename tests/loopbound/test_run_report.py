"""``loopbound run``'s reports: the HTML page (every image it references is an embedded PNG or a
file beside it, every verdict row is in its table), ``--scale``, ``--stages``, ``--help``; the
regression table's reading of slope/log ρ − 1."""

from __future__ import annotations

import base64
import json
import struct
import zlib
from html.parser import HTMLParser
from pathlib import Path

import pytest

from loopbound.commands.run import parse_stages
from loopbound.report_html import PNG_SIGNATURE, math_text, png_data_uri, render_html
from loopbound.stages import STAGE_NAMES
from loopbound.stages.regression_report import FLOAT_TOLERANCE, slope_interval_mark
from loopbound.stages.report import BoundEntry, StageContext, StageReport, VerdictRow
from loopbound.theory.errors import InputError
from tests.loopbound.cli_runner import assert_one_line_error, run_cli


def tiny_png(width: int = 3, height: int = 2) -> bytes:
    """A valid grey PNG, written by hand (no imaging library)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + bytes(range(width)) for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return PNG_SIGNATURE + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


class PageParser(HTMLParser):
    """Collects every <img src>, and the cells of every row of the table with id "verdicts"."""

    def __init__(self) -> None:
        super().__init__()
        self.images: list[str] = []
        self.rows: list[tuple[str, list[str]]] = []
        self._table: str | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "img":
            self.images.append(attributes.get("src") or "")
        elif tag == "table":
            self._table = attributes.get("id")
        elif tag == "tr" and self._table == "verdicts":
            self.rows.append((attributes.get("class") or "", []))
        elif tag == "td" and self._table == "verdicts":
            self._cell = []

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._cell is not None:
            self.rows[-1][1].append("".join(self._cell))
            self._cell = None
        elif tag == "table":
            self._table = None


def check_page(page: Path, rows: list[dict[str, str]]) -> PageParser:
    """The page parses; each image is a data URI that decodes as a PNG or a file beside the page
    that exists; each of ``rows`` is a row of the verdict table with its verdict as its class."""
    parser = PageParser()
    parser.feed(page.read_text(encoding="utf-8"))
    parser.close()
    assert parser.images, "the page shows no image"
    for source in parser.images:
        if source.startswith("data:"):
            assert source.startswith("data:image/png;base64,"), source[:40]
            assert base64.b64decode(source.split(",", 1)[1], validate=True).startswith(PNG_SIGNATURE)
        else:
            assert (page.parent / source).is_file(), source
    table = [(css, cells) for css, cells in parser.rows if cells]
    assert len(table) == len(rows), (len(table), len(rows))
    for row in rows:
        wanted = [row["stage"], row["claim"], row["measured"], row["bound"], row["verdict"], row["detail"]]
        assert any(css == row["verdict"] and cells[:6] == wanted for css, cells in table), row["claim"]
    return parser


def synthetic_reports(tmp_path: Path) -> list[StageReport]:
    figure = tmp_path / "figure.png"
    figure.write_bytes(tiny_png())
    rows = (
        VerdictRow("a", "claim <one> & more", "0.5", "1.0", "held", "3/3 r", "-0.50 [-0.6, -0.4] vs bound -0.50"),
        VerdictRow("a", "claim two", "1.5", "1.0", "violated", "0/3 r"),
        VerdictRow("b", "claim three", "0.9", "1.0", "inconclusive", "straddles"),
    )
    bounds = (BoundEntry("Section", "a bound", "somebody [claimed]", r"\rho^{r} \|x_q\|"),)
    definitions = (("Section", r"\rho", r"the contraction factor $\max_i |1 - \eta\lambda_i|$"),)
    return [
        StageReport("a", ("line a",), rows[:2], (figure,), notes=("a note",)),
        StageReport("b", ("line b",), rows[2:], bounds=bounds, definitions=definitions),
    ]


def test_the_html_page_embeds_its_figures_and_has_every_verdict_row(tmp_path: Path) -> None:
    reports = synthetic_reports(tmp_path)
    page = tmp_path / "report.html"
    page.write_text(render_html(reports, timings={"a": 1.25, "b": 0.5}, settings={"seed": "0"}), encoding="utf-8")
    rows = [row.__dict__ for report in reports for row in report.rows]
    parser = check_page(page, rows)
    assert len(parser.images) == 2  # the figure and the one formula
    text = page.read_text(encoding="utf-8")
    assert "claim &lt;one&gt; &amp; more" in text and "<one>" not in text
    assert "1 held, 1 violated, 1 inconclusive" in text and "a note" in text
    assert "<td>a</td><td>1.2</td>" in text or "<td>a</td><td>1.3</td>" in text  # the stage timing
    assert "λ<sub>i</sub>" in text  # the definition's inline math, as text


def test_the_page_check_catches_a_missing_image_and_a_missing_row(tmp_path: Path) -> None:
    reports = synthetic_reports(tmp_path)
    page = tmp_path / "report.html"
    page.write_text(render_html(reports, timings={}, settings={}), encoding="utf-8")
    rows = [row.__dict__ for report in reports for row in report.rows]
    with pytest.raises(AssertionError):
        check_page(page, rows + [{**rows[0], "claim": "a claim the page lacks"}])
    page.write_text(page.read_text(encoding="utf-8").replace('src="data:', 'src="missing.png" data-x="'))
    with pytest.raises(AssertionError, match="missing.png"):
        check_page(page, rows)


def test_a_figure_that_is_not_a_png_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a PNG"):
        png_data_uri(b"GIF89a")
    assert png_data_uri(tiny_png()).startswith("data:image/png;base64,iVBORw0KGgo")


def test_inline_math_reads_as_text() -> None:
    assert math_text(r"\omega^{\mathrm{tok}}_f") == "ω<sup>tok</sup><sub>f</sub>"
    assert math_text(r"1 \leq p < \infty") == "1 ≤ p &lt; ∞"
    assert math_text(r"\|w_{\mathrm{LS}}\|") == "‖w<sub>LS</sub>‖"


def test_stage_rows_and_contexts_are_validated() -> None:
    with pytest.raises(ValueError, match="verdict"):
        VerdictRow("a", "claim", "m", "b", "fine")
    with pytest.raises(ValueError, match="scale"):
        StageContext(out=Path("."), scale="huge")


def test_stages_option_takes_a_comma_list_in_run_order() -> None:
    assert parse_stages("bounds,moduli") == ("moduli", "bounds")
    assert parse_stages(",".join(STAGE_NAMES)) == STAGE_NAMES
    for bad in ("bound", "moduli,,bounds", "bounds,bounds", ""):
        with pytest.raises(InputError, match="--stages"):
            parse_stages(bad)


def test_an_unknown_stage_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = run_cli("run", "--stages", "moduli,nope", "--out", str(tmp_path))
    assert_one_line_error(result, "unknown stage 'nope'", "moduli,approximation,regression,bounds")
    assert not any(tmp_path.iterdir())  # nothing ran


def test_run_help_documents_seed_scale_and_stages() -> None:
    result = run_cli("run", "--help")
    assert result.code == 0
    text = " ".join(result.stdout.split())
    for fragment in ("--seed", "same seed gives the same numbers", "--scale {smoke,default,paper}", "--stages"):
        assert fragment in text, fragment
    for scale in ("smoke:", "default:", "paper:"):
        assert scale in text


def test_slope_interval_reads_against_zero_with_a_float_tolerance() -> None:
    """The column is slope/log ρ − 1, so the interval is read against 0; an interval that misses 0
    by floating-point noise is consistent, one that misses it by more is not."""
    as_ratio = lambda lower, upper: {"estimate": 1 + (lower + upper) / 2, "lower": 1 + lower, "upper": 1 + upper}  # noqa: E731
    assert slope_interval_mark(as_ratio(-4.5e-7, 9.6e-8)) == "contains 0"
    assert slope_interval_mark(as_ratio(1.8e-12, 9.3e-8)) == "≈ 0 (fp)"
    assert slope_interval_mark(as_ratio(-3e-7, -2e-9)) == "≈ 0 (fp)"
    assert slope_interval_mark(as_ratio(2 * FLOAT_TOLERANCE, 3e-5)) == "EXCLUDES 0"
    assert slope_interval_mark(as_ratio(-0.2, -0.1)) == "EXCLUDES 0"


@pytest.mark.slow
def test_run_at_smoke_scale_writes_a_page_with_every_verdict_row(tmp_path: Path) -> None:
    """``loopbound run --scale smoke``: every stage, a text report, an HTML page whose images are
    embedded PNGs and whose table has every row of ``verdicts.json``, as many rows as the stages'
    records have claims."""
    out = tmp_path / "runs"
    result = run_cli("run", "--scale", "smoke", "--out", str(out), "--seed", "3")
    assert result.code == 0, result.stderr[-2000:]
    for name in STAGE_NAMES:
        assert f"stage {name} done in" in result.stderr
    verdicts = json.loads((out / "verdicts.json").read_text(encoding="utf-8"))
    assert verdicts["scale"] == "smoke" and verdicts["seed"] == 3 and set(verdicts["stage_seconds"]) == set(STAGE_NAMES)
    rows = verdicts["rows"]
    parser = check_page(out / "report.html", rows)
    by_stage = {name: [row for row in rows if row["stage"] == name] for name in STAGE_NAMES}
    approximation = json.loads((out / "approximation.json").read_text())["records"]
    assert len(by_stage["approximation"]) == len(approximation) == 4
    moduli = json.loads((out / "moduli.json").read_text())
    moduli = moduli["records"] if isinstance(moduli, dict) else moduli
    assert len(by_stage["moduli"]) == len({(m["target"], m["kind"]) for m in moduli})
    reference = json.loads((out / "regression" / "reference.json").read_text())
    newton = json.loads((out / "regression" / "newton_schulz.json").read_text())
    assert len(by_stage["regression"]) == 2 * 2 + 1 + len(reference["points"]) + len(newton["rows"])
    figures = ["moduli.png", "approximation.png", "regression_errors.png", "regression_summary.png"]
    formulas = len([line for line in (out / "bounds.tex").read_text().splitlines() if line.startswith("\\[")])
    assert len(parser.images) == len(figures) + formulas
    assert all((out / name).is_file() for name in figures)
    assert (
        "slope/log ρ − 1" in (out / "report.txt").read_text() and "contains 1" not in (out / "report.txt").read_text()
    )


@pytest.mark.slow
def test_run_stages_runs_only_those(tmp_path: Path) -> None:
    result = run_cli("run", "--stages", "bounds", "--scale", "smoke", "--out", str(tmp_path))
    assert result.code == 0, result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bounds.tex", "report.html", "report.txt", "verdicts.json"]
    assert json.loads((tmp_path / "verdicts.json").read_text())["rows"] == []
    check_page(tmp_path / "report.html", [])
