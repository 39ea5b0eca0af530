"""Typed results of the shipped cell kinds: every kind declares its result dataclass, whose
``to_record()`` is the JSON stored and ``from_record`` reads it back unchanged; a store written in
the record format before the results were typed is read (not recomputed) by
:func:`loopbound.sweep.compute`."""

from __future__ import annotations

import json

import pytest

from loopbound.sweep import Store, SweepConfig, compute, expand_cells, get_cell_kind
from loopbound.sweep.cell import canonical_json
from loopbound.sweep.kinds import SHIPPED_KINDS
from loopbound.sweep.kinds import newton_schulz as newton_schulz_kind
from loopbound.sweep.kinds.newton_schulz import NewtonSchulzResult
from loopbound.sweep.store import CorruptRecord, computed_record, now_utc

TARGET = dict(targets=("holder:alpha=0.5",), d=(1,), N=(1,), p=(2.0,))

#: one tiny sweep per shipped kind (a cell or two, well under a second each)
TINY: dict[str, SweepConfig] = {
    "modulus": SweepConfig(
        name="tiny",
        cell="modulus",
        device="cpu",
        params=(("kind", "sequence"), ("deltas", (0.5,)), ("screen", 16), ("restarts", 2), ("steps", 2)),
        **TARGET,
    ),
    "approximation": SweepConfig(
        name="tiny",
        cell="approximation",
        device="cpu",
        params=(("loops", 5), ("samples", 32), ("scramblings", 2), ("sup", False)),
        **TARGET,
    ),
    "approximation_curve": SweepConfig(
        name="tiny",
        cell="approximation_curve",
        device="cpu",
        params=(("loops", (5, 11)), ("samples", 32), ("scramblings", 2), ("sup", False)),
        **TARGET,
    ),
    "looped_gd": SweepConfig(
        name="tiny",
        cell="looped_gd",
        d=(2,),
        device="cpu",
        params=(("ratio", 2), ("kappa", 2.0), ("rule", ("max", "optimal")), ("instances", 4), ("loops", 30)),
    ),
    "reference_curves": SweepConfig(
        name="tiny",
        cell="reference_curves",
        d=(3,),
        device="cpu",
        params=(("ks", (3, 6)), ("prompts", 20), ("queries", 2)),
    ),
    "newton_schulz": SweepConfig(
        name="tiny",
        cell="newton_schulz",
        device="cpu",
        params=(("m", 3), ("kappas", (10.0,)), ("batch", 2), ("loops", 8)),
    ),
    "train": SweepConfig(
        name="tiny",
        cell="train",
        device="cpu",
        params=(("model", "looped"), ("loops", 2), ("width", 8), ("steps", 3), ("samples", 64)),
        targets=("holder:alpha=0.5",),
        d=(1,),
        N=(2,),
        p=(2.0,),
    ),
}


def test_every_shipped_kind_has_a_tiny_sweep_here() -> None:
    assert sorted(TINY) == sorted(kind.name for kind in SHIPPED_KINDS)


@pytest.mark.parametrize("name", sorted(TINY))
def test_a_result_survives_its_record_and_the_store(name: str, tmp_path) -> None:
    """from_record(to_record(x)) == x for a computed result, also through the store's JSON text;
    the result read back from a store equals the one computed into it."""
    kind = get_cell_kind(name)
    assert kind.result is not None, f"cell kind {name!r} declares no result type"
    store = Store(tmp_path)
    computed = compute(TINY[name], store=store)
    assert computed and all(type(result) is kind.result for result in computed)
    for result in computed:
        record = result.to_record()
        assert isinstance(record, dict)
        assert kind.result.from_record(record) == result
        assert kind.result.from_record(json.loads(canonical_json(record))) == result
    read_back = compute(TINY[name], store=store)  # every record is there now: read, not computed
    assert read_back == computed
    for cell, result in zip(expand_cells(TINY[name]), computed):
        assert store.read(cell.hash).result == json.loads(canonical_json(result.to_record()))


#: a ``newton_schulz`` result (m = 3, κ = 10, 2 matrices, 2 loops, seed 0) as the kind wrote it
#: before results were typed
PINNED_NEWTON_SCHULZ = {
    "kind": "newton_schulz",
    "config": {
        "m": 3,
        "kappas": [10.0],
        "batch": 2,
        "loops": 2,
        "epsilon": 1e-8,
        "check_floor": 1e-4,
        "seed": 0,
        "version": 1,
    },
    "rows": [
        {
            "kappa": 10.0,
            "init": "identity",
            "alpha": 1.8181818181818181,
            "rho0": 0.8181818181818187,
            "residual_median": [0.8181818181818183, 0.669421487603306, 0.44812512806502314],
            "bound": [0.8181818181818187, 0.6694214876033066, 0.44812512806502397],
            "max_ratio": 1.0,
            "loops_measured_max": None,
            "loops_bound": 7,
            "loops_kappa_form": 8,
            "kappa_form": "Newton-Schulz loops, A SPD, X_0 = I/lambda_max: log2(kappa) + log2 ln(1/epsilon)",
            "floor_median": 0.44812512806502314,
        },
        {
            "kappa": 10.0,
            "init": "transpose",
            "alpha": 1.0,
            "rho0": 0.99,
            "residual_median": [0.99, 0.9800999999999999, 0.96059601],
            "bound": [0.99, 0.9801, 0.96059601],
            "max_ratio": 1.0000000000000002,
            "loops_measured_max": None,
            "loops_bound": 11,
            "loops_kappa_form": 11,
            "kappa_form": "Newton-Schulz loops, X_0 = A^T/sigma_max^2: 2 log2(kappa) + log2 ln(1/epsilon)",
            "floor_median": 0.96059601,
        },
    ],
}


def test_a_pinned_old_format_record_loads() -> None:
    result = NewtonSchulzResult.from_record(PINNED_NEWTON_SCHULZ)
    assert result.kind == "newton_schulz" and result.config.kappas == (10.0,) and result.config.loops == 2
    identity, transpose = result.rows
    assert identity.init == "identity" and identity.loops_measured_max is None and identity.loops_bound == 7
    assert identity.residual_median == (0.8181818181818183, 0.669421487603306, 0.44812512806502314)
    assert transpose.init == "transpose" and transpose.alpha == 1.0 and transpose.loops_kappa_form == 11
    assert result.to_record() == PINNED_NEWTON_SCHULZ


def test_a_store_written_in_the_old_format_resumes_without_recomputing(tmp_path, monkeypatch) -> None:
    """A record file holding the pinned result under its cell's hash is read by compute (the
    kind's function is never called) and returned typed."""
    config = SweepConfig(
        name="pinned",
        cell="newton_schulz",
        device="cpu",
        params=(("m", 3), ("kappas", (10.0,)), ("batch", 2), ("loops", 2)),
    )
    [cell] = expand_cells(config)
    store = Store(tmp_path)
    store.write(computed_record(cell, PINNED_NEWTON_SCHULZ, started_at=now_utc(), wall_seconds=0.0, executor="old"))

    def refuse(*args, **kwargs):
        raise AssertionError("a stored cell was recomputed")

    monkeypatch.setattr(newton_schulz_kind, "looped_newton_schulz", refuse)
    [result] = compute(config, store=store)
    assert result == NewtonSchulzResult.from_record(PINNED_NEWTON_SCHULZ)


def test_a_record_of_another_layout_is_a_corrupt_record(tmp_path) -> None:
    """A stored result missing a key of the kind's layout is refused in one line naming the file."""
    config = SweepConfig(
        name="pinned",
        cell="newton_schulz",
        device="cpu",
        params=(("m", 3), ("kappas", (10.0,)), ("batch", 2), ("loops", 2)),
    )
    [cell] = expand_cells(config)
    store = Store(tmp_path)
    broken = {key: value for key, value in PINNED_NEWTON_SCHULZ.items() if key != "rows"}
    store.write(computed_record(cell, broken, started_at=now_utc(), wall_seconds=0.0, executor="old"))
    with pytest.raises(CorruptRecord, match="missing key 'rows'") as raised:
        compute(config, store=store)
    assert cell.hash in str(raised.value) and "\n" not in str(raised.value)
