"""The HTML report of ``loopbound run`` (``report.html`` beside ``report.txt``): one self-contained
page that opens in any browser without a network.

It holds, from the stages' :class:`~loopbound.stages.report.StageReport`:
- a summary (how many claims held, were violated, were inconclusive) and the run's settings;
- the verdict table: per claim, what was measured, the bound, the verdict, what the verdict counts
  and the fitted rate against the claimed one; the tables' legends below it;
- every figure the stages wrote, embedded as a PNG data URI (nothing is referenced outside the page);
- the bounds, each formula drawn by matplotlib's mathtext as an embedded PNG (its LaTeX as the
  image's alt text), with its citation, and the definition of every symbol;
- the time each stage took.

Text is escaped with :func:`html.escape`; inline LaTeX of the symbol definitions is shown as text
with Unicode letters and sub/superscripts (:func:`math_text`).
"""

from __future__ import annotations

import base64
import html
import io
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from loopbound.stages.report import VERDICTS, BoundEntry, StageReport, VerdictRow

__all__ = ["PNG_SIGNATURE", "png_data_uri", "formula_png", "math_text", "render_html"]

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
"""The first eight bytes of every PNG file."""

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
th, td { border: 1px solid #bbb; padding: 0.3em 0.5em; text-align: left; vertical-align: top; }
th { background: #eee; }
tr.held td.verdict { background: #d9f0d3; }
tr.violated td.verdict { background: #f4a582; font-weight: bold; }
tr.inconclusive td.verdict { background: #fee08b; }
figure { margin: 1.5em 0; } figure img { max-width: 100%; border: 1px solid #ddd; }
.formula { margin: 0.3em 0 1em 1.5em; } .citation { color: #555; font-size: 0.9em; }
code { font-size: 0.85em; }
"""


def png_data_uri(data: bytes) -> str:
    """``data`` (a PNG file's bytes) as a ``data:image/png;base64,…`` URI; refuses bytes that are not a PNG."""
    if not data.startswith(PNG_SIGNATURE):
        raise ValueError("not a PNG file (its signature is missing)")
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def formula_png(latex: str, *, dpi: int = 110) -> bytes:
    """The formula ``latex`` (math, without dollars) drawn by matplotlib's mathtext as PNG bytes."""
    from matplotlib import mathtext

    buffer = io.BytesIO()
    mathtext.math_to_image(f"${latex}$", buffer, dpi=dpi, format="png")
    return buffer.getvalue()


_GREEK = {
    name: chr(code)
    for name, code in {
        "alpha": 0x3B1, "delta": 0x3B4, "epsilon": 0x3B5, "eta": 0x3B7, "kappa": 0x3BA, "lambda": 0x3BB,
        "mu": 0x3BC, "omega": 0x3C9, "rho": 0x3C1, "infty": 0x221E, "leq": 0x2264, "geq": 0x2265,
        "times": 0xD7, "in": 0x2208, "circ": 0x2218, "dots": 0x2026,
    }.items()
}  # fmt: skip
_SCRIPT = re.compile(r"([_^])(\{[^{}]*\}|\\[A-Za-z]+|.)")


def math_text(latex: str) -> str:
    """Inline LaTeX of the symbol definitions as HTML text: Greek letters and relations as Unicode,
    ``\\mathrm{x}`` as x, ``\\sqrt{x}`` as √(x), sub- and superscripts as ``<sub>``/``<sup>``;
    everything else escaped."""
    text = re.sub(r"\\(?:mathrm|operatorname)\{([^{}]*)\}", r"\1", latex)
    text = re.sub(r"\\sqrt\{([^{}]*)\}", "\u221a(\\1)", text)
    text = re.sub(r"\\(max|min|sup|log)\b", r"\1", text)
    text = re.sub(r"\\([A-Za-z]+)", lambda m: _GREEK.get(m.group(1), m.group(1)), text)
    text = text.replace("\\|", "\u2016").replace("\\{", "{").replace("\\}", "}")
    parts: list[str] = []
    position = 0
    for match in _SCRIPT.finditer(text):
        parts.append(html.escape(text[position : match.start()]))
        body = match.group(2).strip("{}")
        tag = "sub" if match.group(1) == "_" else "sup"
        parts.append(f"<{tag}>{html.escape(body)}</{tag}>")
        position = match.end()
    parts.append(html.escape(text[position:]))
    return "".join(parts)


def _with_math(text: str) -> str:
    """A definition with inline ``$…$`` math: text escaped, math through :func:`math_text`."""
    pieces = re.split(r"(?<!\\)\$(.+?)(?<!\\)\$", text)
    return "".join(math_text(piece) if k % 2 else html.escape(piece) for k, piece in enumerate(pieces))


def _cell(text: str, css: str = "") -> str:
    attribute = f' class="{css}"' if css else ""
    return f"<td{attribute}>{html.escape(text)}</td>"


def _verdict_table(rows: Sequence[VerdictRow]) -> list[str]:
    head = ("stage", "claim", "measured", "bound", "verdict", "what it counts", "fitted rate vs claimed")
    out = ['<table id="verdicts">', "<tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr>"]
    for row in rows:
        cells = (
            _cell(row.stage)
            + _cell(row.claim, "claim")
            + _cell(row.measured)
            + _cell(row.bound)
            + _cell(row.verdict, "verdict")
            + _cell(row.detail)
            + _cell(row.rate or "-")
        )
        out.append(f'<tr class="{row.verdict}">{cells}</tr>')
    out.append("</table>")
    return out


def _figures(reports: Sequence[StageReport]) -> list[str]:
    out = []
    for report in reports:
        for path in report.figures:
            uri = png_data_uri(Path(path).read_bytes())
            name = html.escape(Path(path).name)
            out.append(
                f'<figure><img src="{uri}" alt="{html.escape(report.name)} figure {name}">'
                f"<figcaption>{html.escape(report.name)}: {name}</figcaption></figure>"
            )
    return out


def _bounds(entries: Sequence[BoundEntry], definitions: Sequence[tuple[str, str, str]]) -> list[str]:
    out: list[str] = []
    for section in dict.fromkeys(entry.section for entry in entries):
        out.append(f"<h3>{html.escape(section)}</h3>")
        for entry in (e for e in entries if e.section == section):
            uri = png_data_uri(formula_png(entry.latex))
            out.append(
                f"<p><b>{html.escape(entry.name)}</b> <span class=citation>{html.escape(entry.citation)}</span></p>"
                f'<div class=formula><img src="{uri}" alt="{html.escape(entry.latex)}"></div>'
            )
        items = "".join(
            f"<dt>{math_text(symbol)}</dt><dd>{_with_math(text)}</dd>"
            for where, symbol, text in definitions
            if where == section
        )
        if items:
            out.append(f"<p>Symbols:</p><dl>{items}</dl>")
    return out


def render_html(
    reports: Sequence[StageReport],
    *,
    timings: Mapping[str, float],
    settings: Mapping[str, str],
) -> str:
    """The page for the stages' ``reports``: ``timings`` (seconds per stage) and ``settings``
    (shown as given: seed, scale, version…)."""
    rows = [row for report in reports for row in report.rows]
    counts = ", ".join(f"{sum(row.verdict == v for row in rows)} {v}" for v in VERDICTS)
    notes = [note for report in reports for note in report.notes]
    entries = [entry for report in reports for entry in report.bounds]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8"><title>loopbound run report</title>',
        f"<style>{_STYLE}</style></head><body>",
        "<h1>loopbound run report</h1>",
        "<p>" + "; ".join(f"{html.escape(k)}: {html.escape(v)}" for k, v in settings.items()) + "</p>",
        f"<h2>Verdicts</h2><p>{len(rows)} claims: {counts}.</p>",
        *_verdict_table(rows),
        *(f"<p class=note>{html.escape(note)}</p>" for note in notes),
        "<h2>Figures</h2>",
        *_figures(reports),
        "<h2>Bounds</h2>",
        *_bounds(entries, [item for report in reports for item in report.definitions]),
        '<h2>Stage timings</h2><table id="timings"><tr><th>stage</th><th>seconds</th></tr>',
        *(f"<tr><td>{html.escape(name)}</td><td>{seconds:.1f}</td></tr>" for name, seconds in timings.items()),
        "</table>",
        "<h2>Text report</h2><pre>",
        html.escape("\n".join(line for report in reports for line in report.lines)),
        "</pre></body></html>",
    ]
    return "\n".join(parts) + "\n"
