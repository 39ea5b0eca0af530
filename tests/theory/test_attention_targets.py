"""The softmax and sigmoid attention targets: their analytic upper bounds hold (against certified
lower bounds, random pairs and Jacobians), are exact where the layer is linear (A = 0), and bad
parameters are refused."""

from __future__ import annotations

import math

import pytest
import torch

from loopbound.theory.attention_targets import (
    AttentionModulusPoint,
    SigmoidAttention,
    SoftmaxAttention,
    attention_moduli,
    attention_weights,
)
from loopbound.theory.errors import InputError
from loopbound.theory.kinds import ModulusKind
from loopbound.theory.modulus import SearchBudget, estimate_moduli

LAYERS = (SoftmaxAttention, SigmoidAttention)
SMALL = SearchBudget(screen=128, restarts=4, steps=20)


def test_the_weights_have_the_norms_asked_for() -> None:
    A, V = attention_weights(3, 4, 2.5)
    assert float(torch.linalg.matrix_norm(A, ord=2)) == pytest.approx(2.5, rel=1e-12)
    assert float(torch.linalg.matrix_norm(V, ord=2)) == pytest.approx(1.0, rel=1e-12)
    assert torch.equal(A, attention_weights(3, 4, 2.5)[0])  # seeded


@pytest.mark.parametrize("cls", LAYERS)
@pytest.mark.parametrize("N", [1, 3])
def test_with_a_zero_query_key_matrix_the_token_bound_is_the_exact_modulus(cls, N: int) -> None:
    """A = 0: softmax averages the values (weights 1/N), sigmoid weighs each by σ(−log N) = 1/(N+1);
    moving token n by u moves output n by w·uV, so ω^tok(δ) = w·δ·‖V‖₂ = w·δ, which the search
    attains and the bound states."""
    target = cls(d=2, N=N, qk_norm=0.0)
    weight = 1 / N if cls is SoftmaxAttention else 1 / (N + 1)
    converged = SearchBudget(screen=256, restarts=8, steps=160)
    [estimate] = estimate_moduli(target, [0.05], ["token"], budget=converged)[ModulusKind.TOKEN]
    assert target.upper_modulus(ModulusKind.TOKEN, 0.05) == pytest.approx(weight * 0.05, rel=1e-12)
    assert estimate.lower == pytest.approx(weight * 0.05, rel=1e-9)


@pytest.mark.parametrize("cls", LAYERS)
@pytest.mark.parametrize(("N", "qk_norm"), [(2, 0.5), (4, 3.0), (6, 8.0)])
def test_certified_lower_bounds_never_exceed_the_upper_bounds(cls, N: int, qk_norm: float) -> None:
    target = cls(d=2, N=N, qk_norm=qk_norm, seed=1)
    for kind, estimates in estimate_moduli(target, [0.02, 0.2, 1.0], budget=SMALL).items():
        for estimate in estimates:
            assert estimate.upper is not None and estimate.lower <= estimate.upper * (1 + 1e-12), (kind, estimate)


@pytest.mark.parametrize("cls", LAYERS)
def test_random_pairs_and_jacobians_stay_under_the_sequence_bound(cls) -> None:
    """‖f(X) − f(Y)‖ ≤ ω(‖X − Y‖) for random pairs in the cube, and the Jacobian's spectral norm at
    random points is at most the Lipschitz constant the sequence bound uses (its slope at δ → 0)."""
    generator = torch.Generator().manual_seed(0)
    target = cls(d=3, N=5, qk_norm=4.0)
    X = torch.rand(256, 5, 3, generator=generator, dtype=torch.float64)
    Y = (X + 0.05 * torch.randn(256, 5, 3, generator=generator, dtype=torch.float64)).clamp(0, 1)
    differences = (target(X) - target(Y)).flatten(1).norm(dim=1)
    distances = (X - Y).flatten(1).norm(dim=1)
    for difference, distance in zip(differences.tolist(), distances.tolist()):
        assert difference <= target.upper_modulus(ModulusKind.SEQUENCE, distance) * (1 + 1e-9)
    lipschitz = target.upper_modulus(ModulusKind.SEQUENCE, 1e-9) / 1e-9
    for x in X[:8]:
        jacobian = torch.autograd.functional.jacobian(lambda z: target(z.view(1, 5, 3)).flatten(), x.flatten())
        assert float(torch.linalg.matrix_norm(jacobian, ord=2)) <= lipschitz


def test_the_bound_is_capped_by_the_output_diameter_and_converts_to_other_p() -> None:
    target = SoftmaxAttention(d=2, N=3, qk_norm=1.0)
    assert target.upper_modulus(ModulusKind.TOKEN, 100.0) == pytest.approx(math.sqrt(2))  # hull of the values
    assert target.upper_modulus(ModulusKind.TOKEN, 0.01, p=1.0) == pytest.approx(
        math.sqrt(2) * target.upper_modulus(ModulusKind.TOKEN, 0.01)
    )
    assert SoftmaxAttention(d=2, N=1).upper_modulus(ModulusKind.CONTEXTUAL, 0.5) == 0.0


@pytest.mark.parametrize("bad", [-1.0, math.inf, math.nan, "2"])
def test_a_bad_query_key_norm_is_refused(bad) -> None:
    with pytest.raises(InputError, match="qk_norm"):
        SigmoidAttention(d=2, N=2, qk_norm=bad)


def test_attention_moduli_returns_both_layers_at_every_point() -> None:
    points = attention_moduli(Ns=(2,), qk_norms=(1.0,), deltas=(0.1,), kinds=("token",), budget=SMALL)
    assert {p.layer for p in points} == {"softmax", "sigmoid"} and all(
        isinstance(p, AttentionModulusPoint) for p in points
    )
    assert all(0 < p.lower <= p.upper for p in points)
