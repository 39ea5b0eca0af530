"""A target's output over the cube is a method of the target (Target.output_range, Target.output_sup):
exact for the built-ins, None on the base class; target_sup and target_range use the method and
fall back to sampling (and say so) where it is None."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import pytest
import torch

from loopbound.theory.bounds.hypotheses import target_range
from loopbound.theory.target_sup import sample_outputs, target_sup
from loopbound.theory.targets import BUILTIN_TARGETS, CallableTarget, Target, builtin_target


@pytest.mark.parametrize("name", sorted(BUILTIN_TARGETS))
@pytest.mark.parametrize("shape", [(1, 1), (2, 3), (3, 4)])
def test_a_builtins_sup_is_the_largest_magnitude_of_its_range_and_contains_the_samples(
    name: str, shape: tuple[int, int]
) -> None:
    d, N = shape
    target = builtin_target(name, d=d, N=N)
    output_range, output_sup = target.output_range(), target.output_sup()
    assert output_range is not None and output_sup is not None
    low, high = output_range
    assert low <= high
    assert output_sup == pytest.approx(max(-low, high), rel=1e-12, abs=1e-15)
    sampled = sample_outputs(target, samples=256, seed=1)
    tolerance = 1e-12 * max(1.0, output_sup)
    assert float(sampled.min()) >= low - tolerance and float(sampled.max()) <= high + tolerance
    assert target_sup(target) == (output_sup, "exact")
    assert target_range(target) == (low, high, "exact")


def test_a_negative_scale_flips_the_range_and_keeps_the_sup() -> None:
    target = builtin_target("holder", d=2, N=2, scale=-2.5)
    assert target.output_range() == (-2.5, 0.0)
    assert target.output_sup() == 2.5


@dataclass(frozen=True)
class _Doubled(Target):
    """f(X) = 2X, a user's subclass that derives its own output: range [0, 2], sup 2."""

    name: ClassVar[str] = "doubled"

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return 2.0 * X

    def output_range(self) -> tuple[float, float] | None:
        return 0.0, 2.0

    def output_sup(self) -> float | None:
        return 2.0


def test_any_target_that_derives_its_output_is_exact_and_one_that_does_not_is_sampled() -> None:
    assert target_sup(_Doubled(d=1, N=2)) == (2.0, "exact")
    assert target_range(_Doubled(d=1, N=2)) == (0.0, 2.0, "exact")
    unknown = CallableTarget(d=1, N=2, function=lambda X: 2.0 * X, label="doubled")
    assert unknown.output_sup() is None and unknown.output_range() is None
    value, how = target_sup(unknown)
    assert how == "estimate" and value == pytest.approx(2.0)  # the corner X = 1 is among the samples
    low, high, how = target_range(unknown)
    assert how == "estimate" and (low, high) == pytest.approx((0.0, 2.0))
