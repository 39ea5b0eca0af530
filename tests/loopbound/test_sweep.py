"""``loopbound sweep``: cells keyed by configuration hash, one atomic record each, resumable.

What these tests show: a sweep killed with SIGKILL and resumed ends with every cell
present exactly once; the same configuration gives the same hashes and any change gives another;
--resume recomputes nothing finished (a counter the test controls, and byte-identical records);
corrupt records are detected and reported; bad sweep files are one-line errors with status 2;
the local pool and submitit (its local fallback here) write the same records.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from loopbound.sweep import (
    LocalExecutor,
    ModulusCellParams,
    Store,
    SubmititExecutor,
    expand_cells,
    get_cell_kind,
    load_config,
    parse_config,
    register_cell_kind,
    run_sweep,
)
from loopbound.sweep.cells import Cell, configuration_hash
from loopbound.sweep.store import RECORD_FILE, CellRecord, CorruptRecord
from loopbound.theory.modulus import SearchBudget
from tests.loopbound.cli_runner import assert_one_line_error, run_cli

REPO = Path(__file__).resolve().parents[2]


# --------------------------------------------------------------------------- a kind with a counter
@dataclass(frozen=True)
class CountingParams:
    """A cell kind the tests control: each computation appends the cell's hash to ``log``."""

    value: int
    log: str
    fail_on: int = -1


def run_counting_cell(cell: Cell) -> dict[str, Any]:
    with open(cell.params.log, "a", encoding="utf-8") as handle:
        handle.write(cell.hash + "\n")
    if cell.params.value == cell.params.fail_on:
        raise RuntimeError(f"value {cell.params.value} fails on purpose")
    return {"square": cell.params.value**2}


register_cell_kind("counting", run_counting_cell, params=CountingParams, axes=("value",))


def counting_sweep(folder: Path, values: list[int], fail_on: int = -1) -> Path:
    log = folder / "computed.log"
    return write(
        folder / "counting.toml",
        f"""
        cell = "counting"
        imports = ["tests.loopbound.test_sweep"]
        targets = ["linear"]
        device = "cpu"
        [counting]
        value = {values}
        log = "{log}"
        fail_on = {fail_on}
    """,
    )


def computed(folder: Path) -> list[str]:
    log = folder / "computed.log"
    return log.read_text().split() if log.exists() else []


# --------------------------------------------------------------------------- helpers
MODULUS_SWEEP = """
    cell = "modulus"
    targets = ["holder:alpha=0.5", "contextual_max"]
    d = 1
    N = [1, 2]
    p = 2
    seeds = [0, 1]
    device = "cpu"
    [modulus]
    kind = ["sequence", "token"]
    deltas = [0.03, 0.1, 0.3]
"""
"""16 cells of a fraction of a second each (d=1, N <= 2, the estimator's default budget)."""


def write(path: Path, text: str) -> Path:
    path.write_text("\n".join(line.strip() for line in text.strip().splitlines()) + "\n")
    return path


def record_files(store: Path) -> list[str]:
    return (
        sorted(name for name in os.listdir(store / "records") if RECORD_FILE.match(name))
        if (store / "records").is_dir()
        else []
    )


def live_processes_in_session(session: int) -> list[int]:
    """Processes (not zombies) whose session id is ``session``."""
    alive = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if os.getsid(int(entry)) != session:
                continue
            state = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (ProcessLookupError, FileNotFoundError, PermissionError):
            continue
        if state != "Z":
            alive.append(int(entry))
    return alive


def sweep_command(config: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "loopbound.cli", "sweep", str(config), "--out", str(out), "--workers", "2", *extra]


# --------------------------------------------------------------------------- SIGKILL and --resume
def test_sigkill_mid_sweep_then_resume_leaves_every_cell_exactly_once(tmp_path: Path) -> None:
    config = write(tmp_path / "moduli.toml", MODULUS_SWEEP)
    out = tmp_path / "store"
    expected = {cell.hash for cell in expand_cells(load_config(config))}
    assert len(expected) == 16

    with subprocess.Popen(
        sweep_command(config, out),
        cwd=REPO,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        try:
            deadline = time.monotonic() + 120
            while not record_files(out) and process.poll() is None and time.monotonic() < deadline:
                time.sleep(0.005)
            assert process.poll() is None, f"the sweep ended before it could be killed: {process.stderr.read()}"
            os.kill(process.pid, signal.SIGKILL)  # the parent only: its workers are orphaned mid-cell
            process.wait()
            at_kill = len(record_files(out))
            deadline = time.monotonic() + 60
            while live_processes_in_session(process.pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert not live_processes_in_session(process.pid), "workers outlived their killed parent"
        finally:
            if live_processes_in_session(process.pid):  # never leave this test's processes behind
                os.killpg(process.pid, signal.SIGKILL)
    before = {name: (out / "records" / name).read_bytes() for name in record_files(out)}
    assert at_kill <= len(before) < len(expected), "the kill should land after some cells and before all"
    assert {name[:-5] for name in before} <= expected

    resumed = subprocess.run(
        sweep_command(config, out, "--resume"), cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert resumed.returncode == 0, resumed.stderr
    assert f"{len(expected) - len(before)} done, {len(before)} skipped" in resumed.stdout

    names = os.listdir(out / "records")
    records = [name for name in names if RECORD_FILE.match(name)]
    assert len(records) == len(set(records)) == len(expected)
    assert {name[:-5] for name in records} == expected
    assert all(RECORD_FILE.match(name) or name.startswith(".tmp-") for name in names)
    store = Store(out)
    assert store.verify() == ()
    configs = [json.dumps(store.read(h).config, sort_keys=True) for h in expected]
    assert len(set(configs)) == len(expected), "two records hold the same configuration"
    for name, content in before.items():  # finished cells were not computed again
        assert (out / "records" / name).read_bytes() == content
    print(
        f"SIGKILL: {len(expected)} cells expected; {at_kill} records at the kill, {len(before)} once the orphaned "
        f"workers had exited; after --resume {len(records)} present, {len(records) - len(set(records))} duplicates, "
        f"{len(names) - len(records)} temporary files"
    )


# --------------------------------------------------------------------------- hashes
BASE = """
    cell = "modulus"
    targets = ["holder:alpha=0.5"]
    d = 1
    N = 2
    p = 2
    seeds = 0
    device = "cpu"
    [modulus]
    kind = "sequence"
    deltas = [0.1, 0.3]
    screen = 64
    restarts = 4
    steps = 8
"""


def only_hash(text: str) -> str:
    cells = expand_cells(parse_config(text))
    assert len(cells) == 1
    return cells[0].hash


def test_same_configuration_gives_the_same_hashes() -> None:
    first = [cell.hash for cell in expand_cells(parse_config(MODULUS_SWEEP))]
    second = [cell.hash for cell in expand_cells(parse_config(MODULUS_SWEEP))]
    assert first == second and len(set(first)) == 16
    assert only_hash(BASE) == only_hash(BASE)


@pytest.mark.parametrize(
    "old, new",
    [
        ('targets = ["holder:alpha=0.5"]', 'targets = ["holder:alpha=0.6"]'),
        ('targets = ["holder:alpha=0.5"]', 'targets = ["linear"]'),
        ("d = 1", "d = 2"),
        ("N = 2", "N = 3"),
        ("p = 2", "p = 3"),
        ("seeds = 0", "seeds = 1"),
        ('kind = "sequence"', 'kind = "token"'),
        ("deltas = [0.1, 0.3]", "deltas = [0.1, 0.2]"),
        ("screen = 64", "screen = 65"),
        ("restarts = 4", "restarts = 5"),
        ("steps = 8", "steps = 9"),
    ],
)
def test_any_change_of_a_configuration_field_changes_the_hash(old: str, new: str) -> None:
    assert old in BASE
    assert only_hash(BASE.replace(old, new)) != only_hash(BASE)


def test_equal_configurations_spelled_differently_hash_alike() -> None:
    base = only_hash(BASE)
    assert only_hash(BASE.replace("p = 2", "p = 2.0")) == base
    assert only_hash(BASE.replace('"holder:alpha=0.5"', '"holder:scale=1,alpha=0.5"')) == base
    assert only_hash(BASE.replace('"holder:alpha=0.5"', '"holder"')) == base  # alpha=0.5 is the default
    assert only_hash(BASE.replace("[0.1, 0.3]", "[0.3, 0.1]")) == base
    assert only_hash(BASE.replace("seeds = 0", "seeds = [0]").replace('device = "cpu"', 'device = "auto"')) == base
    assert only_hash('name = "renamed"\n' + BASE) == base


def test_hash_covers_schema_and_kind_version_and_file_targets(tmp_path: Path) -> None:
    cell = expand_cells(parse_config(BASE))[0]
    assert configuration_hash(cell.to_json(), schema=2) != cell.hash
    assert dataclasses.replace(cell, kind_version="2").hash != cell.hash
    source = tmp_path / "mine.py"
    source.write_text("def f(X):\n    return X\n")
    spec = BASE.replace('"holder:alpha=0.5"', f'"{source}:f"')
    before = only_hash(spec)
    source.write_text("def f(X):\n    return 2 * X\n")  # the same spec, another function
    assert only_hash(spec) != before


def test_modulus_defaults_are_the_estimators() -> None:
    defaults = ModulusCellParams(kind="sequence", deltas=(0.1,))
    assert (defaults.screen, defaults.restarts, defaults.steps) == dataclasses.astuple(SearchBudget())


# --------------------------------------------------------------------------- resume and failures
def test_resume_skips_finished_cells_and_retries_failed_ones(tmp_path: Path) -> None:
    config = counting_sweep(tmp_path, [1, 2, 3, 4, 5], fail_on=3)
    out = tmp_path / "store"
    first = run_cli("sweep", str(config), "--out", str(out), "--workers", "2")
    assert first.code == 1, first.stderr
    assert "4 done, 0 skipped (already recorded), 1 failed" in first.stdout
    assert "value 3 fails on purpose" in first.stdout
    assert len(computed(tmp_path)) == 5 and len(record_files(out)) == 4
    cells = expand_cells(load_config(config))
    failing = next(cell for cell in cells if cell.params.value == 3)
    failure = json.loads((out / "failures" / f"{failing.hash}.json").read_text())
    assert "RuntimeError: value 3 fails on purpose" in failure["reason"] and "Traceback" in failure["details"]

    store = Store(out)
    records = {h: store.read(h) for h in store.record_hashes()}
    for cell in cells:
        if cell.hash in records:
            record = records[cell.hash]
            assert record.result == {"square": cell.params.value**2}
            assert record.seed == 0 and record.device == "cpu" and record.executor == "local"
            assert {"python", "torch", "numpy", "loopbound"} <= record.versions.keys()
            assert 0 <= record.wall_seconds < 60
    text_before = {name: (out / "records" / name).read_bytes() for name in record_files(out)}

    refused = run_cli("sweep", str(config), "--out", str(out))
    assert_one_line_error(refused, "already holds records for 4 of the 5 cells", "--resume")

    second = run_cli("sweep", str(config), "--out", str(out), "--resume", "--workers", "2")
    assert second.code == 1
    assert "0 done, 4 skipped (already recorded), 1 failed" in second.stdout
    assert (
        computed(tmp_path).count(failing.hash) == 2 and len(computed(tmp_path)) == 6
    )  # only the failed cell ran again
    assert {name: (out / "records" / name).read_bytes() for name in record_files(out)} == text_before


def test_temporary_files_are_not_records_and_other_records_are_left_alone(tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    store.prepare()
    cell, other = expand_cells(parse_config(BASE.replace("seeds = 0", "seeds = [0, 1]")))
    (store.records / f".tmp-{cell.hash}.json-abc123.json").write_text('{"trunc')
    assert store.record_hashes() == frozenset() and len(store.temporaries()) == 1
    store.write(
        CellRecord.for_cell(
            other,
            {"x": 1},
            versions={},
            wall_seconds=0.0,
            started_at="",
            finished_at="",
            host="h",
            pid=1,
            executor="local",
            run_id="r",
        )
    )
    plan = store.plan([cell], resume=False)  # a record of another configuration is no obstacle
    assert plan.pending == (cell,) and plan.temporaries == 1 and plan.other_records == 1
    assert store.read(other.hash).result == {"x": 1}


# --------------------------------------------------------------------------- corrupt records
def test_corrupt_records_are_detected_and_reported(tmp_path: Path) -> None:
    config = counting_sweep(tmp_path, [1, 2, 3, 4])
    out = tmp_path / "store"
    assert run_cli("sweep", str(config), "--out", str(out), "--workers", "2").code == 0
    store = Store(out)
    hashes = sorted(store.record_hashes())
    truncated, edited, moved, untouched = (store.record_path(h) for h in hashes)
    truncated.write_bytes(truncated.read_bytes()[:-40])
    edited.write_text(edited.read_text().replace('"square": ', '"square": 1'))
    moved.write_bytes(untouched.read_bytes())  # a valid record, under another cell's name

    problems = {problem.path: problem.reason for problem in store.verify()}
    assert set(problems) == {truncated, edited, moved}
    assert "not valid JSON" in problems[truncated]
    assert "checksum mismatch" in problems[edited]
    assert "not of its file name" in problems[moved]
    with pytest.raises(CorruptRecord, match="checksum mismatch"):
        store.read(hashes[1])
    store.read(hashes[3])

    resumed = run_cli("sweep", str(config), "--out", str(out), "--resume", "--workers", "2")
    assert resumed.code == 0
    reported = [line for line in resumed.stderr.splitlines() if "corrupt record" in line]
    assert len(reported) == 3 and all("moved to" in line for line in reported)
    assert "3 done, 1 skipped" in resumed.stdout and resumed.stdout.count("corrupt record") == 3
    assert store.verify() == () and store.record_hashes() == set(hashes)
    assert len(list((out / "quarantine").glob("*.json"))) == 3


def test_a_record_whose_content_and_checksum_were_both_rewritten_is_still_caught(tmp_path: Path) -> None:
    """The checksum guards against damage; the hash check catches a consistent but foreign record."""
    from loopbound.sweep.store import _checksum

    cells = expand_cells(parse_config(BASE.replace("seeds = 0", "seeds = [0, 1]")))
    store = Store(tmp_path)
    store.prepare()
    record = CellRecord.for_cell(
        cells[0],
        {"x": 1},
        versions={},
        wall_seconds=0.0,
        started_at="",
        finished_at="",
        host="h",
        pid=1,
        executor="local",
        run_id="r",
    )
    store.write(record)
    payload = record.to_json()
    del payload["checksum"]
    payload["config"] = {**payload["config"], "seed": 1}
    payload["seed"] = 1
    payload["checksum"] = _checksum(payload)
    store.record_path(record.hash).write_text(json.dumps(payload))
    with pytest.raises(CorruptRecord, match="does not hash to its key"):
        store.read(record.hash)


# --------------------------------------------------------------------------- executors
def test_local_pool_and_submitit_write_the_same_records(tmp_path: Path) -> None:
    config = load_config(
        write(tmp_path / "tiny.toml", BASE.replace('kind = "sequence"', 'kind = ["sequence", "token"]'))
    )
    cells = expand_cells(config)
    assert len(cells) == 2
    results = {}
    for name, executor in (
        ("local", LocalExecutor(workers=2)),
        # submitit's local executor, also where Slurm is installed (tests/slurm/ covers Slurm); one job: one process
        ("submitit", SubmititExecutor(tmp_path / "submitit" / "submitit", parameters={"cluster": "local"}, workers=1)),
    ):
        store = Store(tmp_path / name)
        store.prepare()
        ticks: list[int] = []
        summary = run_sweep(
            cells,
            store,
            executor,
            plan=store.plan(cells, resume=False),
            manifest=store.write_manifest(config, cells),
            tick=lambda ticks=ticks: ticks.append(1),
        )
        assert len(summary.done) == 2 and not summary.failed and len(ticks) == 2, summary
        results[name] = {h: store.read(h) for h in store.record_hashes()}
    assert results["local"].keys() == results["submitit"].keys() == {cell.hash for cell in cells}
    for h, record in results["local"].items():
        other = results["submitit"][h]
        assert (record.config, record.result, record.seed, record.device) == (
            other.config,
            other.result,
            other.seed,
            other.device,
        )
        assert (record.executor, other.executor) == ("local", "submitit-local")


# --------------------------------------------------------------------------- cell kinds
def test_registering_cell_kinds() -> None:
    assert register_cell_kind("counting", run_counting_cell, params=CountingParams, axes=("value",)).name == "counting"
    with pytest.raises(ValueError, match="already registered"):
        register_cell_kind("counting", run_modulus_like, params=CountingParams)
    with pytest.raises(ValueError, match="module-level function"):
        register_cell_kind("lambda", lambda cell: {}, params=CountingParams)
    with pytest.raises(ValueError, match="not a field"):
        register_cell_kind("bad_axis", run_modulus_like, params=CountingParams, axes=("nope",))
    with pytest.raises(ValueError, match="names a TOML table"):
        register_cell_kind("bad-name", run_modulus_like, params=CountingParams)

    @dataclass
    class Mutable:
        x: int

    with pytest.raises(ValueError, match="frozen dataclass"):
        register_cell_kind("mutable", run_modulus_like, params=Mutable)
    assert get_cell_kind("modulus").cpu_only


def test_the_shipped_kinds_are_registered_without_importing_verify() -> None:
    """Every shipped kind is in the registry from the start (imported statically, no lazy list),
    and a kind with ``run_batch`` also has its ``batch_key`` (the in-process engine groups by it)."""
    from loopbound.sweep import cell_kind_names
    from loopbound.sweep.cell import CellKind

    assert set(cell_kind_names()) >= {
        "modulus",
        "approximation",
        "approximation_curve",
        "looped_gd",
        "reference_curves",
        "newton_schulz",
    }
    assert get_cell_kind("looped_gd").run_batch is not None and get_cell_kind("looped_gd").batch_key is not None
    with pytest.raises(ValueError, match="go together"):
        CellKind("half", run_modulus_like, params=CountingParams, run_batch=run_many_like)


def run_modulus_like(cell: Cell) -> dict[str, Any]:
    return {}


def run_many_like(cells: list[Cell]) -> list[dict[str, Any]]:
    return [{} for _ in cells]


@pytest.mark.parametrize("path", sorted((REPO / "examples" / "sweeps").glob("*.toml")), ids=lambda p: p.name)
def test_example_sweeps_expand(path: Path) -> None:
    assert len(expand_cells(load_config(path))) >= 1


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "change, fragments",
    [
        (
            ('cell = "modulus"', 'cell = "counting"'),
            ["[modulus]: a parameter table for cell kind 'modulus', but cell = 'counting'"],
        ),
        (
            (('cell = "modulus"', 'cell = "nosuch"'), ("[modulus]", "[nosuch]")),
            ["cell: unknown cell kind 'nosuch'", "modulus"],
        ),
        (('device = "cpu"', 'device = "tpu"'), ["device: must be auto, cpu, cuda"]),
        (('device = "cpu"', 'device = "cuda"'), ["device:", "CPU only"]),
        (("d = 1", "d = 0"), ["d: must be an integer >= 1"]),
        (("d = 1", "d = 1.5"), ["d: must be an integer"]),
        (("N = 2", "N = []"), ["N: must not be an empty list"]),
        (("N = 2", "N = [2, 2]"), ["N: lists 2 twice"]),
        (("p = 2", "p = 0.5"), ["p: must be a number with 1 <= p < inf"]),
        (("seeds = 0", "seeds = -1"), ["seeds: must be an integer >= 0"]),
        (("seeds = 0", "seed = 0"), ["seed: unknown key"]),
        (('targets = ["holder:alpha=0.5"]', 'targets = ["nosuch"]'), ["targets:", "unknown target 'nosuch'"]),
        (('targets = ["holder:alpha=0.5"]', 'targets = ["holder:alpha=2"]'), ["targets:", "0 < alpha <= 1"]),
        (('targets = ["holder:alpha=0.5"]', 'targets = ["holder", "holder:alpha=0.5"]'), ["targets:", "same target"]),
        (('targets = ["holder:alpha=0.5"]', ""), ["targets: missing"]),
        (('cell = "modulus"', ""), ["cell: missing"]),
        (('kind = "sequence"', 'kind = "global"'), ["[modulus] kind: must be one of sequence, token, contextual"]),
        (("deltas = [0.1, 0.3]", "deltas = [0.1, -0.3]"), ["[modulus] deltas: must be > 0"]),
        (("deltas = [0.1, 0.3]", "deltas = []"), ["[modulus] deltas: must be a non-empty list"]),
        (("deltas = [0.1, 0.3]", ""), ["[modulus] deltas: missing (required)"]),
        (("steps = 8", "steps = -1"), ["[modulus] steps: must be an integer >= 0"]),
        (("steps = 8", "stepz = 8"), ["[modulus] stepz: unknown key", "steps"]),
        (("[modulus]", "[modulus]\nextra = { a = 1 }"), ["[modulus] extra: nested tables"]),
        (("[modulus]", 'imports = ["no.such.module"]\n[modulus]'), ["imports: cannot import 'no.such.module'"]),
        (("d = 1", "d = 1\nd = 2"), ["not valid TOML", "line"]),
    ],
)
def test_bad_sweep_files_are_one_line_errors_with_status_2(tmp_path: Path, change: tuple, fragments: list[str]) -> None:
    text = BASE
    for old, new in change if isinstance(change[0], tuple) else (change,):
        assert old in text
        text = text.replace(old, new, 1)
    config = write(tmp_path / "bad.toml", text)
    result = run_cli("sweep", str(config), "--out", str(tmp_path / "store"))
    assert_one_line_error(result, *fragments)
    assert not (tmp_path / "store").exists(), "nothing is written before the sweep file is valid"


def test_an_unknown_cell_kind_is_a_one_line_error_naming_the_known_ones(tmp_path: Path) -> None:
    config = write(
        tmp_path / "future.toml", BASE.replace('cell = "modulus"', 'cell = "future"').replace("[modulus]", "[future]")
    )
    assert_one_line_error(run_cli("sweep", str(config)), "unknown cell kind 'future'", "looped_gd", "modulus")


def test_missing_or_unreadable_sweep_files(tmp_path: Path) -> None:
    assert_one_line_error(run_cli("sweep", str(tmp_path / "missing.toml")), "no such file")
    assert_one_line_error(run_cli("sweep", str(tmp_path)), "is a folder")
    (tmp_path / "binary.toml").write_bytes(b"\xff\xfe\x00")
    assert_one_line_error(run_cli("sweep", str(tmp_path / "binary.toml")), "not UTF-8")
    config = write(tmp_path / "ok.toml", BASE)
    assert_one_line_error(run_cli("sweep", str(config), "--executor", "dask"), "invalid choice")
    assert_one_line_error(run_cli("sweep", str(config), "--workers", "0"), "--workers")
    (tmp_path / "file").write_text("")
    assert_one_line_error(run_cli("sweep", str(config), "--out", str(tmp_path / "file")), "is a file")
    bad_submitit = write(tmp_path / "sub.toml", BASE + "\n[submitit]\nbogus = 1\n")
    assert_one_line_error(
        run_cli("sweep", str(bad_submitit), "--executor", "submitit", "--out", str(tmp_path / "s")), "[submitit]"
    )


def test_the_console_script_reports_a_bad_sweep_file_without_traceback_or_heavy_imports(tmp_path: Path) -> None:
    """As a real process: status 2 and one line; and importing the sweep package (every shipped
    kind included) does not import the verification harness: the approximation kinds import it
    only when a cell runs."""
    config = write(tmp_path / "bad.toml", BASE.replace("p = 2", "p = 0"))
    code = (
        "import sys; import loopbound.sweep; heavy = [m for m in sys.modules if m == 'loopbound.verify']; "
        "from loopbound.cli import main; status = main(sys.argv[1:]); print(heavy); sys.exit(status)"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code, "sweep", str(config), "--out", str(tmp_path / "store")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 2
    assert completed.stderr.strip().count("\n") == 0 and "Traceback" not in completed.stderr
    assert "p: must be a number with 1 <= p < inf" in completed.stderr
    assert completed.stdout.strip() == "[]"


@pytest.mark.parametrize(
    "extra, fragments",
    [
        ('targets = ["linear"]', ["targets: cell kind 'looped_gd' does not use it", "remove it"]),
        ("N = 2", ["N: cell kind 'looped_gd' does not use it"]),
        ("p = 1", ["p: cell kind 'looped_gd' does not use it"]),
    ],
)
def test_a_kind_without_targets_refuses_targets_N_and_p(tmp_path: Path, extra: str, fragments: list[str]) -> None:
    config = write(
        tmp_path / "gd.toml",
        f"""
        cell = "looped_gd"
        d = 2
        {extra}
        [looped_gd]
        ratio = 2
        kappa = 1
        rule = "max"
    """,
    )
    assert_one_line_error(run_cli("sweep", str(config), "--out", str(tmp_path / "store")), *fragments)
    assert not (tmp_path / "store").exists()


def test_a_kind_without_targets_has_null_target_N_and_p_in_its_cells(tmp_path: Path) -> None:
    config = write(
        tmp_path / "gd.toml",
        """
        cell = "looped_gd"
        d = 2
        [looped_gd]
        ratio = [2, 4]
        kappa = [1, 8.0]
        rule = "max"
    """,
    )
    cells = expand_cells(load_config(config))
    assert len(cells) == 4
    for cell in cells:
        payload = cell.to_json()
        assert (payload["target"], payload["target_sha256"], payload["N"], payload["p"], payload["d"]) == (
            None,
            None,
            None,
            None,
            2,
        )
        assert isinstance(payload["params"]["kappa"], float)  # TOML 1 and 1.0 are one cell
    assert cells[0].label.startswith("looped_gd d=2 seed=0 ratio=2 kappa=1.0 rule=max")
