"""Refusals instead of tracebacks or hangs: sizes that cannot finish here, user targets returning
what is not a real tensor or calling sys.exit, seeds beyond 64 bits, empty sample files, records
with non-numbers, unwritable output paths (checked before any work), and one intra-op thread by
default. Every refusal is one line on stderr with exit status 2, and comes in well under a second."""

from __future__ import annotations

import io
import json
import re
import textwrap
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from loopbound import work_estimate
from loopbound.cli_types import MAX_DELTAS, delta_list, seed
from loopbound.commands import build as build_command
from loopbound.commands import modulus as modulus_command
from loopbound.commands import verify as verify_command
from loopbound.commands.sweep import _executor
from loopbound.size_checks import check_build, check_modulus, check_verify
from loopbound.sweep.executors import LocalExecutor
from loopbound.work_estimate import Budget, WorkTooLarge, construction_loops, largest_grid
from tests.loopbound.cli_runner import assert_one_line_error, run_cli

REFERENCE = Budget(memory_bytes=0.5 * 24 * 2**30, seconds=86_400.0)
"""The reference machine's budget (2 cores, 24 GiB): half the memory, a day."""


@pytest.fixture(autouse=True)
def reference_machine(monkeypatch):
    """Refusals are judged as on the reference machine, whatever memory the test machine has."""
    monkeypatch.setattr(work_estimate, "physical_memory", lambda: 24 * 2**30)


def _fast_refusal(*args: str, fragments: tuple[str, ...] = ()) -> str:
    started = time.perf_counter()
    result = run_cli(*args)
    seconds = time.perf_counter() - started
    assert_one_line_error(result, *fragments)
    assert seconds < 3.0, f"the refusal took {seconds:.1f} s"
    return result.stderr.strip()


# --------------------------------------------------------------------------- sizes
@pytest.mark.parametrize(
    "args, fragments",
    [
        (["modulus", "holder", "--N", "100000"], ("needs", "GiB of memory", "the largest feasible here is N*d")),
        (
            ["verify", "holder", "--loops", "100000000000", "--N", "3", "--d", "3"],
            ("needs", "value table", "the largest feasible here is r ="),
        ),
        (
            ["build", "holder", "--delta", "1/1000000", "--N", "3"],
            ("needs", "value table", "the smallest feasible delta here is 1/"),
        ),
        (
            ["verify", "holder", "--samples", "100000000000", "--loops", "20", "--N", "2"],
            ("needs", "sequence-loops", "--samples up to"),
        ),
        (
            ["modulus", "holder", "--deltas", "0.01:0.1:100000000"],
            ("--deltas", "1e+08 values of delta", f"at most {MAX_DELTAS}"),
        ),
        (["verify", "holder", "--loops", "10", "--N", "100000"], ("too few", "2^")),
        (
            ["verify", "holder", "--loops", "10000000", "--N", "2", "--arithmetic", "float64"],
            ("at least", "float64 has 53", "--timestep", "before building"),
        ),
        (  # past float64 the estimate counts exact arithmetic at the register's width: days, not hours
            ["verify", "holder", "--loops", "10000000", "--N", "2"],
            ("sequence-loops (in exact arithmetic past float64)", "days", "the largest feasible here is r = "),
        ),
    ],
)
def test_work_that_cannot_finish_is_refused_at_once(args: list[str], fragments: tuple[str, ...]) -> None:
    _fast_refusal(*args, fragments=fragments)


def test_the_suggested_largest_build_fits_and_the_next_does_not() -> None:
    with pytest.raises(WorkTooLarge) as refusal:
        check_build(1_000_000, d=1, N=3, d_out=1, budget=REFERENCE)
    m = int(re.search(r"smallest feasible delta here is 1/(\d+)", str(refusal.value)).group(1))
    check_build(m, d=1, N=3, d_out=1, budget=REFERENCE)
    with pytest.raises(WorkTooLarge):
        check_build(m + 1, d=1, N=3, d_out=1, budget=REFERENCE)


def test_the_suggested_loop_budget_fits() -> None:
    settings = dict(d=1, N=2, d_out=1, timestep=True, samples=1 << 14, scramblings=8, device="cpu", sup=True, moduli=1)
    with pytest.raises(WorkTooLarge) as refusal:
        check_verify([10**12], **settings, budget=REFERENCE)
    m = int(re.search(r"largest feasible here is r = \S+ \(delta = 1/(\d+)\)", str(refusal.value)).group(1))
    check_verify([construction_loops(m, 1, 2)], **settings, budget=REFERENCE)
    with pytest.raises(WorkTooLarge):
        check_verify([construction_loops(m + 1, 1, 2)], **settings, budget=REFERENCE)


def test_largest_grid_finds_the_boundary() -> None:
    assert largest_grid(lambda m: m <= 777, 2) == 777
    assert largest_grid(lambda m: m <= 2, 2) == 2
    assert largest_grid(lambda m: False, 2) is None


def test_the_budget_is_half_this_machines_memory_and_a_day(monkeypatch) -> None:
    monkeypatch.undo()
    memory = work_estimate.physical_memory()
    assert memory > 2**28  # read from /proc/meminfo (or sysconf): a real machine's memory
    budget = Budget.here()
    assert budget.memory_bytes == pytest.approx(0.5 * memory) and budget.seconds == 86_400.0


@pytest.mark.parametrize(
    "loops, N, timestep, samples",
    [
        ([9, 29, 67, 221, 519, 1341, 3389, 10669], 2, True, 131072),  # README (there on CUDA; here on CPU)
        ([5, 11, 19, 29, 41, 55, 71, 109, 155], 1, True, 4096),  # docs/verify.md
        ([9, 19, 29, 67], 2, False, 2048),  # examples/sweeps/approximation-small.toml
        ([9, 67], 2, True, 1 << 14),
    ],
)
def test_the_repositorys_own_verify_runs_are_not_refused(loops, N, timestep, samples) -> None:
    check_verify(
        loops,
        d=1,
        N=N,
        d_out=1,
        timestep=timestep,
        samples=samples,
        scramblings=8,
        device="cpu",
        sup=True,
        moduli=3,
        budget=REFERENCE,
    )


@pytest.mark.parametrize("d, N, deltas", [(2, 3, 3), (2, 3, 6), (1, 2, 4), (4, 4, 12)])
def test_the_repositorys_own_modulus_runs_are_not_refused(d, N, deltas) -> None:
    check_modulus(deltas, d=d, N=N, kinds=3, screen=4096, restarts=96, steps=160, budget=REFERENCE)


def test_the_repositorys_own_builds_are_not_refused() -> None:
    check_build(8, d=1, N=2, d_out=1, budget=REFERENCE)  # README: build holder --delta 1/8
    check_build(40, d=1, N=2, d_out=1, budget=REFERENCE)


def test_a_delta_range_at_the_cap_is_accepted() -> None:
    assert len(delta_list(f"0.01:0.1:{MAX_DELTAS}")) == MAX_DELTAS


# --------------------------------------------------------------------------- seeds
@pytest.mark.parametrize("command", [["modulus", "holder"], ["verify", "holder", "--loops", "9"]])
@pytest.mark.parametrize("value", [str(2**64), str(2**63), "-1", str(-(2**70)), "1.5"])
def test_seeds_beyond_64_bits_or_negative_are_refused(command: list[str], value: str) -> None:
    _fast_refusal(*command, f"--seed={value}", fragments=("--seed", "[0, 2^63)"))


def test_the_largest_seed_is_accepted() -> None:
    assert seed(str(2**63 - 1)) == 2**63 - 1
    assert seed("0") == 0


# --------------------------------------------------------------------------- user targets
USER_TARGETS = textwrap.dedent(
    """
    import sys
    import numpy as np
    import torch

    def ints(X):
        return (X * 10).long()

    def booleans(X):
        return X > 0.5

    def complex_tensor(X):
        return X.to(torch.complex128)

    def complex_array(X):
        return np.ones((X.shape[0], X.shape[1], 1), dtype=np.complex128)

    def complex_list(X):
        return [[[1j]] * X.shape[1]] * X.shape[0]

    def leaves(X):
        sys.exit(3)

    def leaves_quietly(X):
        sys.exit()

    def raises(X):
        raise KeyError("boom")

    def no_outputs(X):
        return X[..., :0]
    """
)


@pytest.mark.parametrize(
    "name, fragments",
    [
        ("ints", ("real floating-point", "int64")),
        ("booleans", ("real floating-point", "bool")),
        ("complex_tensor", ("real floating-point", "complex")),
        ("complex_array", ("real floating-point", "complex")),
        ("complex_list", ("real floating-point", "complex")),
        ("leaves", ("called sys.exit(3)",)),
        ("leaves_quietly", ("called sys.exit()",)),
        ("raises", ("raised KeyError",)),
        ("no_outputs", ("must return shape",)),
    ],
)
@pytest.mark.parametrize("command", ["modulus", "verify", "build"])
def test_bad_user_targets_are_one_line(tmp_path: Path, name: str, fragments: tuple[str, ...], command: str) -> None:
    source = tmp_path / "targets.py"
    source.write_text(USER_TARGETS)
    extra = {"modulus": ["--deltas", "0.1"], "verify": ["--loops", "9"], "build": ["--delta", "1/4"]}[command]
    message = _fast_refusal(command, f"{source}:{name}", *extra, fragments=fragments)
    assert f"{source}:{name}" in message  # names the target


def test_sys_exit_while_importing_a_target_is_one_line(tmp_path: Path) -> None:
    source = tmp_path / "exits.py"
    source.write_text("import sys\nsys.exit('no')\n")
    _fast_refusal("modulus", f"{source}:f", fragments=("importing", "called sys.exit('no')"))


# --------------------------------------------------------------------------- sample files
def test_an_npz_without_samples_is_one_line(tmp_path: Path) -> None:
    np.savez(tmp_path / "zero.npz", X=np.zeros((0, 2, 1)), Y=np.zeros((0, 2, 1)))
    np.savez(tmp_path / "none.npz")
    np.savez(tmp_path / "width.npz", X=np.zeros((4, 2, 1)), Y=np.zeros((4, 2, 0)))
    (tmp_path / "blank.npz").write_bytes(b"")
    _fast_refusal("modulus", str(tmp_path / "zero.npz"), "--kind", "sequence", fragments=("holds no samples",))
    _fast_refusal("modulus", str(tmp_path / "width.npz"), "--kind", "sequence", fragments=("holds no samples",))
    _fast_refusal("modulus", str(tmp_path / "none.npz"), "--kind", "sequence", fragments=("must hold arrays X",))
    _fast_refusal("modulus", str(tmp_path / "blank.npz"), "--kind", "sequence", fragments=("cannot read",))


def test_an_npz_too_large_for_memory_is_refused_from_its_headers(tmp_path: Path) -> None:
    path = tmp_path / "huge.npz"
    with zipfile.ZipFile(path, "w") as archive:
        for name in ("X", "Y"):
            header = io.BytesIO()
            np.lib.format.write_array_header_1_0(
                header, {"descr": "<f8", "fortran_order": False, "shape": (10**11, 2, 1)}
            )
            archive.writestr(f"{name}.npy", header.getvalue())
    _fast_refusal("modulus", str(path), "--kind", "sequence", fragments=("as float64", "half its memory"))


def test_too_many_samples_for_all_pairs_are_refused(tmp_path: Path, monkeypatch) -> None:
    from loopbound import size_checks

    monkeypatch.setattr(size_checks, "pairs_estimate", lambda n: work_estimate.Estimate(1e9, 0.0, (f"{n} pairs",)))
    np.savez(tmp_path / "s.npz", X=np.random.default_rng(0).random((8, 2, 1)), Y=np.zeros((8, 2, 1)))
    _fast_refusal("modulus", str(tmp_path / "s.npz"), "--kind", "sequence", fragments=("all-pairs", "largest feasible"))


# --------------------------------------------------------------------------- records given to figures
def _record(**row) -> dict:
    base = {"r": 9, "error": 0.1, "lower": 0.09, "upper": 0.11, "bound": 0.5}
    return {"target": "holder", "d": 1, "N": 2, "p": 2.0, "timestep": True, "rows": [{**base, **row}]}


@pytest.mark.parametrize(
    "record, fragment",
    [
        (_record(r="abc"), "r = 'abc'"),
        (_record(r=None), "r = None"),
        (_record(r=2.5), "r = 2.5"),
        (_record(error="0.1"), "error = '0.1'"),
        (_record(bound=[1]), "bound = [1]"),
        ({**_record(), "d": "one"}, "d must be an integer"),
        ({**_record(), "p": "two"}, "p must be a number"),
    ],
)
def test_records_with_non_numbers_are_one_line(tmp_path: Path, record: dict, fragment: str) -> None:
    path = tmp_path / "records.json"
    path.write_text(json.dumps(record))
    _fast_refusal("figures", str(path), "--out", str(tmp_path / "figures"), fragments=(fragment,))
    assert not (tmp_path / "figures" / "approximation.pdf").exists()


# --------------------------------------------------------------------------- unwritable outputs
@pytest.fixture
def no_work(monkeypatch):
    """Fails the test if a command gets as far as loading its target (the first piece of work)."""

    def refuse(*args, **kwargs):
        raise AssertionError("work started although the output path cannot be written")

    for module in (verify_command, modulus_command):
        monkeypatch.setattr(module, "load_target", refuse)


@pytest.mark.parametrize("flag, suffix", [("--plot", "png"), ("--latex", "tex")])
def test_unwritable_outputs_are_refused_before_any_work(tmp_path: Path, no_work, flag: str, suffix: str) -> None:
    missing = str(tmp_path / "no" / "such" / f"out.{suffix}")
    folder = tmp_path / f"taken.{suffix}"
    folder.mkdir()
    verify = ["verify", "holder", "--loops", "9"]
    _fast_refusal(*verify, flag, missing, fragments=(flag, "does not exist"))
    _fast_refusal(*verify, flag, str(folder), fragments=(flag, "is a folder"))
    if flag == "--plot":
        _fast_refusal("modulus", "holder", flag, missing, fragments=(flag, "does not exist"))
        _fast_refusal("modulus", "holder", flag, str(folder), fragments=(flag, "is a folder"))


def test_outputs_without_permission_are_refused_before_any_work(tmp_path: Path, no_work, monkeypatch) -> None:
    from loopbound import cli_types

    monkeypatch.setattr(cli_types.os, "access", lambda path, mode: False)  # as for a user without permission
    _fast_refusal("verify", "holder", "--loops", "9", "--plot", str(tmp_path / "a.png"), fragments=("no permission",))
    existing = tmp_path / "b.tex"
    existing.write_text("")
    _fast_refusal("verify", "holder", "--loops", "9", "--latex", str(existing), fragments=("no permission",))


# --------------------------------------------------------------------------- one thread by default
@pytest.fixture
def two_threads():
    previous = torch.get_num_threads()
    torch.set_num_threads(2)  # torch's default on a 2-core machine
    yield
    torch.set_num_threads(previous)


class _Stop(Exception):
    pass


def _record_threads(seen: list[int]):
    def fake(*args, **kwargs):
        seen.append(torch.get_num_threads())
        raise _Stop

    return fake


@pytest.mark.parametrize(
    "module, name, args",
    [
        (verify_command, "verify", ["verify", "holder", "--loops", "9"]),
        (modulus_command, "estimate_moduli", ["modulus", "holder", "--deltas", "0.1"]),
        (build_command, "universal_spec", ["build", "holder", "--delta", "1/4"]),
    ],
)
def test_one_intra_op_thread_by_default_and_threads_raises_it(two_threads, monkeypatch, module, name, args) -> None:
    seen: list[int] = []
    monkeypatch.setattr(module, name, _record_threads(seen))
    for extra, expected in (([], 1), (["--threads", "2"], 2)):
        with pytest.raises(_Stop):
            from loopbound.cli import main

            main([*args, *extra])
        assert seen[-1] == expected
    assert torch.get_num_threads() == 2  # restored afterwards


def test_sweep_workers_use_one_thread_unless_told(tmp_path: Path) -> None:
    import argparse

    from loopbound.sweep.config import load_config
    from loopbound.sweep.store import Store

    assert LocalExecutor().threads(cells=1) == 1  # even one worker alone on 2 cores: 1 thread
    assert LocalExecutor(threads_per_worker=2).threads(cells=1) == 2
    with pytest.raises(ValueError):
        LocalExecutor(threads_per_worker=0)
    config = load_config("examples/sweeps/moduli-small.toml")
    store = Store(tmp_path)
    for threads in (1, 2):
        args = argparse.Namespace(executor="local", workers=None, threads=threads)
        assert _executor(args, config, store).threads(cells=3) == threads


def test_run_and_sweep_files_refuse_seeds_beyond_64_bits(tmp_path) -> None:
    """`loopbound run --seed` and a sweep file's `seeds` take the same range as every other seed."""
    from loopbound.sweep.config import ConfigError, parse_config

    result = run_cli("run", "--seed", str(2**64), "--out", str(tmp_path / "runs"))
    assert_one_line_error(result, "2^63")
    assert not (tmp_path / "runs").exists()
    text = f'cell = "modulus"\ntargets = ["holder"]\nseeds = [{2**63}]\n'
    with pytest.raises(ConfigError, match="seeds"):
        parse_config(text)
