"""The results store: one record per sweep cell, written atomically, keyed by the cell's hash.

Layout under the store's folder (``--out``)::

    records/<hash>.json      one record per finished cell (CellRecord): configuration, result,
                             seed, device, versions, wall time, a checksum
    failures/<hash>.json     the last failure of a cell without a record (reason, traceback)
    quarantine/<hash>-K.json corrupt records moved aside by --resume, kept for inspection
    sweeps/<name>-<id>.json  manifest of each sweep run here: its file's text and every cell's
                             hash, label and resolved configuration
    submitit/                submitit's job folder (pickles and logs), with --executor submitit

A record is written to a temporary ``records/.tmp-*`` file, fsync-ed and renamed over
``records/<hash>.json`` (:mod:`loopbound.atomic`), so it is either absent or complete: a killed
writer leaves at most a temporary file, which is never counted as a record. Reading is strict: a
record must parse as JSON without duplicate keys or NaN, hold exactly the expected fields, match
its checksum (sha256 of its canonical JSON), and its configuration must hash to its file name; any
failure is a :class:`CorruptRecord` with the reason, never skipped silently. Staleness is by hash
only (a changed configuration is a different cell), never by timestamp.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import platform
import re
import socket
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

from loopbound.atomic import write_text_atomic
from loopbound.sweep.cell import SCHEMA_VERSION, Cell, canonical_json, configuration_hash
from loopbound.sweep.config import SweepConfig
from loopbound.sweep.result import result_record
from loopbound.theory.errors import InputError

RECORD_FILE = re.compile(r"^(?P<hash>[0-9a-f]{64})\.json$")
TEMPORARY_PREFIX = ".tmp-"
RECORD_FIELDS = frozenset(
    {
        "schema",
        "hash",
        "config",
        "result",
        "seed",
        "device",
        "versions",
        "wall_seconds",
        "started_at",
        "finished_at",
        "host",
        "pid",
        "executor",
        "run_id",
        "checksum",
    }
)


class CorruptRecord(InputError):
    """A record file that is truncated, not strict JSON, incomplete, or fails its checksum or hash."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"corrupt record {path}: {reason}")
        self.path = path
        self.reason = reason


def now_utc() -> str:
    """The current time, ISO 8601 in UTC (records carry it; staleness never depends on it)."""
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def _checksum(payload: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical_json(payload).encode("ascii")).hexdigest()


@dataclass(frozen=True)
class CellRecord:
    """The stored result of one cell. ``config`` is the cell's resolved configuration (its JSON);
    ``run_id`` is unique to the computation that wrote the record, so a recomputed cell is visible."""

    hash: str
    config: Mapping[str, Any]
    result: Mapping[str, Any]
    seed: int
    device: str
    versions: Mapping[str, str]
    wall_seconds: float
    started_at: str
    finished_at: str
    host: str
    pid: int
    executor: str
    run_id: str
    schema: int = SCHEMA_VERSION

    def __post_init__(self) -> None:
        if not isinstance(self.hash, str) or not RECORD_FILE.match(f"{self.hash}.json"):
            raise ValueError(f"hash must be 64 hex digits, got {self.hash!r}")
        if not isinstance(self.config, Mapping) or not isinstance(self.result, Mapping):
            raise ValueError("config and result must be JSON objects")
        if not isinstance(self.schema, int) or configuration_hash(self.config, self.schema) != self.hash:
            raise ValueError("its configuration does not hash to its key (edited, or written by another schema)")
        if self.config.get("seed") != self.seed or self.config.get("device") != self.device:
            raise ValueError("seed or device differ from the configuration's")
        if (
            isinstance(self.wall_seconds, bool)
            or not isinstance(self.wall_seconds, (int, float))
            or not (math.isfinite(self.wall_seconds) and self.wall_seconds >= 0)
        ):
            raise ValueError(f"wall_seconds must be a finite number >= 0, got {self.wall_seconds!r}")
        for name in ("device", "started_at", "finished_at", "host", "executor", "run_id"):
            if not isinstance(getattr(self, name), str):
                raise ValueError(f"{name} must be a string")
        if not isinstance(self.versions, Mapping) or isinstance(self.pid, bool) or not isinstance(self.pid, int):
            raise ValueError("versions must be an object and pid an integer")

    @classmethod
    def for_cell(cls, cell: Cell, result: Mapping[str, Any], **run_facts: Any) -> CellRecord:
        """A record of ``cell`` with its result and the facts of the run (versions, times, host…)."""
        config = cell.to_json()
        return cls(
            hash=cell.hash,
            config=json.loads(canonical_json(config)),
            result=result,
            seed=cell.seed,
            device=cell.device,
            **run_facts,
        )

    def to_json(self) -> dict[str, Any]:
        """The record as stored, with its checksum."""
        payload = {name: getattr(self, name) for name in sorted(RECORD_FIELDS - {"checksum"})}
        payload["checksum"] = _checksum(payload)
        return payload

    def to_text(self) -> str:
        """The file's text: indented JSON (the checksum does not depend on the layout)."""
        return json.dumps(self.to_json(), sort_keys=True, indent=1, ensure_ascii=True, allow_nan=False) + "\n"

    @classmethod
    def from_text(cls, text: str, *, path: Path) -> CellRecord:
        """Parse a record strictly; any problem is a :class:`CorruptRecord` naming it."""
        try:
            payload = json.loads(text, object_pairs_hook=_no_duplicate_keys, parse_constant=_no_constants)
        except (json.JSONDecodeError, ValueError) as error:
            raise CorruptRecord(path, f"not valid JSON (truncated?): {' '.join(str(error).split())}") from None
        if not isinstance(payload, dict):
            raise CorruptRecord(path, f"not a JSON object but {type(payload).__name__}")
        missing, extra = RECORD_FIELDS - payload.keys(), payload.keys() - RECORD_FIELDS
        if missing or extra:
            raise CorruptRecord(path, f"fields missing {sorted(missing)}, unexpected {sorted(extra)}")
        stored = payload.pop("checksum")
        if stored != _checksum(payload):
            raise CorruptRecord(path, "checksum mismatch (the content changed after it was written)")
        try:
            record = cls(**payload)
        except (ValueError, TypeError) as error:
            raise CorruptRecord(path, " ".join(str(error).split())) from None
        match = RECORD_FILE.match(path.name)
        if match is None or match["hash"] != record.hash:
            raise CorruptRecord(path, f"holds the record of {record.hash}, not of its file name")
        return record


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    if len(set(keys)) != len(keys):
        raise ValueError(f"duplicate keys {sorted({k for k in keys if keys.count(k) > 1})}")
    return dict(pairs)


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not allowed in a record")


def runtime_versions(device: str) -> dict[str, str]:
    """Python, platform and package versions of this process, the git commit of loopbound's checkout
    (``git_commit``: "not a checkout" for an installed copy), and the CUDA device when used."""
    from loopbound.metadata import git_commit

    versions = {"python": platform.python_version(), "platform": platform.platform()}
    versions["git_commit"] = git_commit() or "not a checkout"
    for package in ("loopbound", "torch", "numpy", "scipy"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    if device.startswith("cuda"):
        import torch

        versions["cuda"] = str(torch.version.cuda)
        versions["cuda_device"] = torch.cuda.get_device_name(torch.device(device))
    return versions


def computed_record(cell: Cell, result: Any, *, started_at: str, wall_seconds: float, executor: str) -> CellRecord:
    """The record of ``cell`` computed in this process, finishing now: its result (typed, stored as
    its ``to_record()``, or JSON values) with the versions, host, pid and a fresh ``run_id`` (every
    writer of records builds them here)."""
    return CellRecord.for_cell(
        cell,
        result_record(result),
        versions=runtime_versions(cell.device),
        wall_seconds=wall_seconds,
        started_at=started_at,
        finished_at=now_utc(),
        host=socket.gethostname(),
        pid=os.getpid(),
        executor=executor,
        run_id=uuid.uuid4().hex,
    )


@dataclass(frozen=True)
class Quarantined:
    """A corrupt record found by --resume: why, and where it was moved (its cell is recomputed)."""

    hash: str
    reason: str
    moved_to: Path


@dataclass(frozen=True)
class Plan:
    """What a sweep still has to do in a store: pending cells, finished ones (valid records), the
    corrupt records moved aside, and what else lies in the store."""

    pending: tuple[Cell, ...]
    finished: tuple[Cell, ...]
    quarantined: tuple[Quarantined, ...] = ()
    other_records: int = 0
    temporaries: int = 0


@dataclass(frozen=True)
class Store:
    """A results store rooted at ``root`` (module docstring: layout, atomicity, strict reads)."""

    root: Path
    records: Path = field(init=False)
    failures: Path = field(init=False)
    quarantine_folder: Path = field(init=False)
    sweeps: Path = field(init=False)

    def __post_init__(self) -> None:
        root = Path(self.root)
        object.__setattr__(self, "root", root)
        object.__setattr__(self, "records", root / "records")
        object.__setattr__(self, "failures", root / "failures")
        object.__setattr__(self, "quarantine_folder", root / "quarantine")
        object.__setattr__(self, "sweeps", root / "sweeps")

    def prepare(self) -> None:
        """Create the folders (a file in the way is an InputError)."""
        if self.root.exists() and not self.root.is_dir():
            raise InputError(f"--out {self.root} is a file, not a folder")
        for folder in (self.records, self.failures, self.quarantine_folder, self.sweeps):
            folder.mkdir(parents=True, exist_ok=True)

    # ----------------------------------------------------------------------- records
    def record_path(self, hash: str) -> Path:
        return self.records / f"{hash}.json"

    def record_hashes(self) -> frozenset[str]:
        """Hashes of the record files present (temporary files are not records)."""
        if not self.records.is_dir():
            return frozenset()
        with os.scandir(self.records) as entries:
            return frozenset(m["hash"] for entry in entries if (m := RECORD_FILE.match(entry.name)) is not None)

    def temporaries(self) -> tuple[Path, ...]:
        """Temporary files left by writers that were killed mid-write (never records)."""
        if not self.records.is_dir():
            return ()
        return tuple(sorted(p for p in self.records.iterdir() if p.name.startswith(TEMPORARY_PREFIX)))

    def read(self, hash: str) -> CellRecord:
        """The record of ``hash``; FileNotFoundError if absent, :class:`CorruptRecord` if damaged."""
        path = self.record_path(hash)
        data = path.read_bytes()
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as error:
            raise CorruptRecord(path, f"not UTF-8 at byte {error.start}") from None
        return CellRecord.from_text(text, path=path)

    def write(self, record: CellRecord) -> Path:
        """Write ``record`` atomically (a concurrent writer of the same cell leaves one whole record)."""
        self.records.mkdir(parents=True, exist_ok=True)
        return write_text_atomic(self.record_path(record.hash), record.to_text())

    def iter_records(self, hashes: Iterable[str] | None = None) -> Iterator[CellRecord]:
        """Read records (all, or the given hashes that exist), raising on the first corrupt one."""
        present = self.record_hashes()
        for hash in sorted(present if hashes is None else set(hashes) & present):
            yield self.read(hash)

    def verify(self, hashes: Iterable[str] | None = None) -> tuple[CorruptRecord, ...]:
        """Every corrupt record among ``hashes`` (default: all present), with its reason."""
        problems = []
        present = self.record_hashes()
        for hash in sorted(present if hashes is None else set(hashes) & present):
            try:
                self.read(hash)
            except CorruptRecord as problem:
                problems.append(problem)
        return tuple(problems)

    def quarantine(self, hash: str, reason: str) -> Path:
        """Move a corrupt record to ``quarantine/<hash>-K.json`` with a ``.reason.txt`` beside it."""
        self.quarantine_folder.mkdir(parents=True, exist_ok=True)
        k = 0
        while (self.quarantine_folder / f"{hash}-{k}.json").exists():
            k += 1
        destination = self.quarantine_folder / f"{hash}-{k}.json"
        os.replace(self.record_path(hash), destination)
        write_text_atomic(destination.with_suffix(".reason.txt"), reason + "\n")
        return destination

    # ----------------------------------------------------------------------- failures
    def write_failure(self, cell: Cell, reason: str, details: str | None) -> Path:
        """Record why ``cell`` failed (replaced by its record once it succeeds)."""
        self.failures.mkdir(parents=True, exist_ok=True)
        payload = {
            "hash": cell.hash,
            "label": cell.label,
            "reason": reason,
            "details": details,
            "config": cell.to_json(),
            "at": now_utc(),
        }
        return write_text_atomic(
            self.failures / f"{cell.hash}.json", json.dumps(payload, indent=1, default=list) + "\n"
        )

    def clear_failure(self, hash: str) -> None:
        (self.failures / f"{hash}.json").unlink(missing_ok=True)

    # ----------------------------------------------------------------------- sweeps
    def plan(self, cells: Sequence[Cell], *, resume: bool) -> Plan:
        """Sort a sweep's cells into pending and finished.

        Without ``resume``, records already present for cells of this sweep are an InputError
        (nothing is overwritten or mixed silently). With it, valid records are skipped and corrupt
        ones are moved to quarantine (reported in the plan) and their cells recomputed.
        """
        present = self.record_hashes()
        wanted = {cell.hash for cell in cells}
        overlap = present & wanted
        if overlap and not resume:
            raise InputError(
                f"{self.root} already holds records for {len(overlap)} of the {len(wanted)} cells of this sweep; "
                "pass --resume to skip them, or choose another --out"
            )
        pending, finished, quarantined = [], [], []
        for cell in cells:
            if cell.hash not in overlap:
                pending.append(cell)
                continue
            try:
                self.read(cell.hash)
            except CorruptRecord as problem:
                quarantined.append(Quarantined(cell.hash, problem.reason, self.quarantine(cell.hash, problem.reason)))
                pending.append(cell)
            else:
                finished.append(cell)
        return Plan(tuple(pending), tuple(finished), tuple(quarantined), len(present - wanted), len(self.temporaries()))

    def write_manifest(self, config: SweepConfig, cells: Sequence[Cell]) -> Path:
        """Save the sweep file's text and every cell's hash, label and configuration (atomically)."""
        self.sweeps.mkdir(parents=True, exist_ok=True)
        hashes = [cell.hash for cell in cells]
        sweep_id = hashlib.sha256(canonical_json(hashes).encode("ascii")).hexdigest()[:16]
        payload = {
            "schema": SCHEMA_VERSION,
            "name": config.name,
            "source": config.source,
            "config_sha256": config.digest,
            "config_text": config.text,
            "cells": [{"hash": cell.hash, "label": cell.label, "config": cell.to_json()} for cell in cells],
        }
        return write_text_atomic(self.sweeps / f"{config.name}-{sweep_id}.json", json.dumps(payload, indent=1) + "\n")
