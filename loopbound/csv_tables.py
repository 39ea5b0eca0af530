"""The tables a user loads into pandas, as CSV: one row per verify loop budget, one per modulus point.

``loopbound verify --csv FILE`` writes :func:`verify_rows` and ``loopbound modulus --csv FILE``
:func:`modulus_rows`: flat records with one column per number, read by ``pandas.read_csv(FILE)``
as they are. They flatten the JSON records (:meth:`loopbound.verify_result.VerifyResult.to_json`,
the ``results`` of ``modulus --json``) by a fixed rule:

- the settings every row shares (target, d, N, p, ...) repeat on each row;
- a nested number becomes a column named by its path with dots: the bound's constants
  ``values.<name>``, each modulus' bracket ``moduli.<name>.lower`` and ``moduli.<name>.upper``;
- lists that are not one number per row (Monte Carlo replicates, witness pairs) stay in the JSON.

An empty cell is a null (a refused row's error, an unknown upper bound).
"""

from __future__ import annotations

import argparse
import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from loopbound.atomic import write_text_atomic
from loopbound.cli_types import output_file

__all__ = [
    "add_csv_argument",
    "csv_path",
    "verify_rows",
    "modulus_rows",
    "write_csv",
    "VERIFY_SETTINGS",
    "VERIFY_ROW_FIELDS",
]

csv_path = output_file((".csv",), "CSV file")
"""A CSV file to write: .csv, in a folder that exists."""


def add_csv_argument(parser: argparse.ArgumentParser, rows: str) -> None:
    """``--csv FILE``: write the command's table, one row per ``rows``, as CSV."""
    parser.add_argument(
        "--csv",
        type=csv_path,
        default=None,
        metavar="FILE",
        help=f"write one row per {rows} as CSV (for pandas.read_csv; nested numbers as dotted columns, "
        "e.g. values.B or moduli.w.lower; an empty cell is a null)",
    )


VERIFY_SETTINGS = ("target", "d", "N", "p", "timestep", "construction")
"""The verify record's settings repeated on every CSV row (then the bound's kind and status, and
the measurement settings: samples, scramblings, level, seed)."""

VERIFY_ROW_FIELDS = (
    "r",
    "grid",
    "delta",
    "loops",
    "arithmetic",
    "error",
    "lower",
    "upper",
    "sup_error_lower_bound",
    "bound",
    "bound_upper",
    "bound_method",
    "ratio",
    "status",
    "refused",
)
"""A verify row's own scalar fields, in the order of the CSV's columns (absent ones are skipped)."""

MODULUS_FIELDS = ("kind", "delta", "lower", "upper", "exact", "position", "distance")
"""A modulus point's scalar fields (its witness pair stays in the JSON)."""


def verify_rows(record: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One flat row per loop budget r of a verify record (module docstring)."""
    bound = record.get("bound") or {}
    settings = record.get("settings") or {}
    shared = {name: record.get(name) for name in VERIFY_SETTINGS}
    shared.update(bound_kind=bound.get("kind"), bound_status=bound.get("status"))
    shared.update({name: settings.get(name) for name in ("samples", "scramblings", "level", "seed")})
    rows = []
    for row in record.get("rows", []):
        flat = dict(shared)
        flat.update({name: row[name] for name in VERIFY_ROW_FIELDS if name in row})
        flat.update({f"values.{name}": value for name, value in (row.get("values") or {}).items()})
        for modulus in row.get("moduli") or []:
            flat[f"moduli.{modulus['name']}.lower"] = modulus.get("lower")
            flat[f"moduli.{modulus['name']}.upper"] = modulus.get("upper")
        rows.append(flat)
    return rows


def modulus_rows(record: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One flat row per (kind, δ) of a ``modulus --json`` record (module docstring)."""
    shared = {name: record.get(name) for name in ("target", "d", "N", "p", "seed")}
    return [{**shared, **{name: result.get(name) for name in MODULUS_FIELDS}} for result in record.get("results", [])]


def _columns(rows: Iterable[Mapping[str, Any]]) -> list[str]:
    """Every key of ``rows``, in the order first seen."""
    columns: dict[str, None] = {}
    for row in rows:
        columns.update(dict.fromkeys(row))
    return list(columns)


def _cell(value: Any) -> Any:
    """A CSV cell: empty for None, ``true``/``false`` for a bool (pandas reads both), repr-free numbers."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)  # the shortest text that reads back to the same float
    return value


def to_csv(rows: Sequence[Mapping[str, Any]]) -> str:
    """The rows as CSV text with a header (the union of their keys)."""
    columns = _columns(rows)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(column)) for column in columns])
    return buffer.getvalue()


def write_csv(path: str | Path, rows: Sequence[Mapping[str, Any]]) -> Path:
    """Write the rows as CSV to ``path``, atomically."""
    return write_text_atomic(path, to_csv(rows))
