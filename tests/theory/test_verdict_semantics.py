"""What a verdict says it is: the level of a statistical "held", the two readings of Theorem 3.6,
the names of the derived bounds, and the theorem's hypotheses."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import sympy
import torch

from loopbound.theory.bounds import approximation
from loopbound.theory.bounds.approximation import (
    LEMMA_4_1,
    THEOREM_3_6,
    THEOREM_3_6_EXACT_VALUES,
    THEOREM_4_2,
    theorem_bound,
    theorem_readings,
)
from loopbound.theory.bounds.hypotheses import target_range, theorem_hypotheses
from loopbound.theory.targets import BUILTIN_TARGETS, CallableTarget, builtin_target
from loopbound.theory.verdict import judge

N, d, p, w = (approximation.SYMBOLS[name] for name in ("N", "d", "p", "w"))


@pytest.mark.parametrize("timestep", [False, True])
def test_the_outside_reading_is_the_stricter(timestep: bool) -> None:
    """other − stricter = ((Nd)^{1/p} − 1)·w, which is ≥ 0 because (Nd)^{1/p} ≥ 1 for N, d ≥ 1,
    p ≥ 1 — zero exactly when N = d = 1 — so a "held" against the stricter holds against both."""
    readings = theorem_readings(timestep)
    assert readings.stricter is theorem_bound(timestep)
    difference = sympy.simplify(readings.other.expression - readings.stricter.expression)
    assert sympy.simplify(difference - ((N * d) ** (1 / p) - 1) * w) == 0
    names = [s.name for s in readings.stricter.symbols]
    assert names == [s.name for s in readings.other.symbols]
    base = dict(r=500.0, w=0.3, w_tok=0.1, w_cont=0.05, C_coll=0.7, C_band=1.3, M=2.0**30)
    for n_, d_, p_ in itertools.product([1, 2, 3], [1, 2], [1.0, 1.5, 2.0, 3.0, 30.0]):
        values = {k: v for k, v in dict(base, N=n_, d=d_, p=p_).items() if k in names}
        gap = readings.other.evaluate(**values) - readings.stricter.evaluate(**values)
        assert gap == pytest.approx(((n_ * d_) ** (1 / p_) - 1) * 0.3, rel=1e-9, abs=1e-15)
        assert gap >= -1e-15 and (gap > 1e-12) == (n_ * d_ > 1)  # float rounding of equal sums at N = d = 1


def test_names_say_what_each_bound_is() -> None:
    assert THEOREM_4_2 is THEOREM_3_6_EXACT_VALUES  # the old name stays importable
    assert "exact value mapping" in THEOREM_4_2.name and THEOREM_4_2.provenance.status == "derived here"
    assert "memorisation" in THEOREM_4_2.derivation and "stricter" in THEOREM_3_6.provenance.statement
    assert "no better" not in LEMMA_4_1.derivation
    for bound in (THEOREM_3_6, THEOREM_4_2, LEMMA_4_1):  # no file outside the repository is cited
        assert "theory-" + "notes" not in bound.derivation


def _verdict(level: float):
    return judge([10, 20, 40], [0.1, 0.08, 0.06], [0.09, 0.07, 0.05], [0.11, 0.09, 0.07], [0.5, 0.5, 0.5], level=level)


@pytest.mark.parametrize("level", [0.95, 0.9])
def test_held_says_at_which_level(level: float) -> None:
    verdict = _verdict(level)
    text = f"at the {round(level * 100)}% level"
    assert verdict.held and text in verdict.summary() and "Monte Carlo" in verdict.summary()
    payload = verdict.to_json()
    assert payload["level"] == level and payload["statistical"] is True and payload["warnings"] == []
    violated = judge([10, 20, 40], [1, 1, 1], [0.9, 0.9, 0.9], [1.1, 1.1, 1.1], [0.5, 0.5, 0.5], level=level)
    assert f"violated at r = 10, 20, 40 {text}" in violated.summary()


def test_reading_notes_and_context_reach_the_summary() -> None:
    import dataclasses

    violated = judge([10, 20], [1, 1], [0.9, 0.9], [1.1, 1.1], [0.5, 0.5])
    noted = dataclasses.replace(
        violated,
        reading_notes=((20, "violated under the stricter reading; held under the other"),),
        context="outside the theorem's hypotheses: outputs in [0, 1] fails",
        warnings=("w1",),
    )
    summary = noted.summary()
    assert summary.startswith(
        "outside the theorem's hypotheses: outputs in [0, 1] fails: bound violated at r = 10 at the 95% level"
    )
    assert "at r = 20 violated under the stricter reading; held under the other" in summary
    assert summary.endswith("; warning: w1")
    payload = noted.to_json()
    assert payload["reading_dependent"] == [
        {"r": 20, "note": "violated under the stricter reading; held under the other"}
    ]
    assert payload["context"].startswith("outside the theorem's hypotheses")


@pytest.mark.parametrize("name", sorted(BUILTIN_TARGETS))
def test_the_exact_output_range_contains_every_sampled_output(name: str) -> None:
    target = builtin_target(name, d=2, N=3)
    low, high, how = target_range(target)
    assert how == "exact" and low <= high
    X = torch.rand(4096, 3, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    X = torch.cat([X, torch.zeros(1, 3, 2, dtype=torch.float64), torch.ones(1, 3, 2, dtype=torch.float64)])
    out = target(X)
    assert float(out.min()) >= low - 1e-12 and float(out.max()) <= high + 1e-12


def test_hypotheses_name_what_fails() -> None:
    inside = theorem_hypotheses(builtin_target("holder", d=1, N=2))
    assert inside.inside and inside.describe().startswith("within the theorem's hypotheses")
    scaled = theorem_hypotheses(builtin_target("holder", d=1, N=2, scale=2.0))
    assert not scaled.inside and [h.name for h in scaled.failed] == ["outputs in [0, 1]"]
    assert "outside the theorem's hypotheses" in scaled.describe() and "[0, 2]" in scaled.describe()
    wide = CallableTarget(d=1, N=2, function=lambda X: torch.cat([X, X], dim=-1), label="wide")
    assert [h.name for h in theorem_hypotheses(wide).failed] == ["output width"]
    first = CallableTarget(d=1, N=2, function=lambda X: X[:, :1].expand(-1, 2, -1) * 0.5, label="first")
    failed = theorem_hypotheses(first).failed
    assert [h.name for h in failed] == ["permutation equivariance"] and failed[0].how == "certified"
    payload = theorem_hypotheses(wide).to_json()
    assert payload["inside"] is False and {c["name"] for c in payload["checks"]} >= {"output width", "continuity"}
    negative = CallableTarget(d=1, N=1, function=lambda X: X - 0.5, label="shifted")
    low, high, how = target_range(negative)
    assert how == "estimate" and low < 0 and np.isclose(high, 0.5)
    assert theorem_hypotheses(negative).failed[0].how == "certified"
