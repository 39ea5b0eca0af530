"""One contract for constructions: every builder returns a Built(model, guarantee) whose guarantee
states the common sizes, the theory's interface is met by structure, sizes come from one source,
and the spec's wide heads evaluate exactly."""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from typing import Any

import pytest
import torch

from loopbound.constructions.blocks import LoopedTransformer
from loopbound.constructions.built import Built, Guarantee, sizes
from loopbound.constructions.contextual_looped import build_looped_contextual
from loopbound.constructions.contextual_softmax import build_boltzmann
from loopbound.constructions.contextual_yun import build_selective_shift
from loopbound.constructions.exact import exact_forward
from loopbound.constructions.gradient_descent import build_gd_transformer
from loopbound.constructions.memorization import build_memoriser, memoriser_spec
from loopbound.constructions.newton_schulz import build_newton_schulz, newton_schulz_spec
from loopbound.constructions.quantization import build_looped_quantiser
from loopbound.constructions.sizes import largest_valid_id, loops_for_grid, theory_sizes, universal_sizes
from loopbound.constructions.spec import LoopedSpec
from loopbound.constructions.universal import build_universal, universal_spec
from loopbound.constructions.universal_values import value_table
from loopbound.theory.bounds.construction import construction_terms
from loopbound.theory.bounds.interface import ConstructionGuarantee
from loopbound.theory.targets import builtin_target

QUARTER = Fraction(1, 4)

BUILDERS: dict[str, Callable[[], Built[Any, Any]]] = {
    "universal": lambda: build_universal(builtin_target("holder", d=1, N=2), QUARTER, timestep=True),
    "quantiser": lambda: build_looped_quantiser(1, QUARTER),
    "looped contextual": lambda: build_looped_contextual(1, 2, QUARTER),
    "memoriser": lambda: build_memoriser([[0.0], [0.5], [1.0]], timestep=True),
    "selective shift": lambda: build_selective_shift(QUARTER, d=1, N=2),
    "boltzmann": lambda: build_boltzmann(QUARTER, d=1, N=2, inverse_temperature=0.5),
    "gradient descent": lambda: build_gd_transformer(2, 3, eta=0.1, loops=2),
    "newton-schulz": lambda: build_newton_schulz(3, alpha=0.25, loops=2),
}


def _parameters(model: torch.nn.Module) -> int:
    inner = getattr(model, "model", None)  # the universal approximator wraps its LoopedTransformer
    if isinstance(inner, LoopedTransformer):
        model = inner
    if isinstance(model, LoopedTransformer):
        return model.parameter_count()
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_every_builder_returns_a_built_model_whose_guarantee_states_the_common_sizes(name: str) -> None:
    built = BUILDERS[name]()
    assert isinstance(built, Built) and isinstance(built.model, torch.nn.Module)
    assert isinstance(built.guarantee, Guarantee), type(built.guarantee)
    record = sizes(built.guarantee)
    assert record["parameter_count"] == _parameters(built.model) > 0
    assert record["embedding_width"] >= 1 and record["loops"] >= 1 and record["head_size"] >= 1
    assert record["heads"] >= 0 and record["ff_width"] >= 0
    assert record["precision_bits"] is None or record["precision_bits"] >= 1
    with pytest.raises(TypeError):
        _model, _guarantee = built  # one contract: attributes, not positions


def test_spec_functions_return_the_exact_spec_as_the_model() -> None:
    for built in (
        universal_spec(builtin_target("holder", d=1, N=2), QUARTER, timestep=False),
        memoriser_spec([[0.0], [1.0]], timestep=False),
    ):
        assert isinstance(built, Built) and isinstance(built.model, LoopedSpec)
        assert built.guarantee.parameter_count == built.model.parameter_count()
        assert built.guarantee.loops == built.model.loops


@pytest.mark.parametrize("timestep", [True, False])
def test_the_universal_guarantee_meets_the_theory_interface_by_structure(timestep: bool) -> None:
    guarantee = universal_spec(builtin_target("holder", d=1, N=2), QUARTER, timestep=timestep).guarantee
    assert isinstance(guarantee, ConstructionGuarantee)
    terms = construction_terms(guarantee)
    assert terms["epsilon"] == max(guarantee.value_error_bound) + guarantee.label_rounding
    assert terms["mu_C"] == guarantee.collision_measure and terms["B"] == guarantee.output_bound


@pytest.mark.parametrize("d, N", [(1, 1), (1, 2), (1, 3), (2, 1), (2, 2)])
def test_the_value_loops_reach_every_contextual_id_the_construction_stores(d: int, N: int) -> None:
    """The closed form (one sympy source) against its definition — the walk covers the reflected
    ids 0 … K₀^{N+1} − 1 except, for N ≥ 2, the last, which is never valid — and against the ids
    the value table of the built construction actually holds."""
    for m in range(2, 6 if d == 1 else 4):
        if N > m**d:
            continue
        K0 = m**d
        defining = K0 ** (N + 1) - 1 - (1 if N >= 2 else 0)
        assert largest_valid_id(m, d, N) == defining
        sized = universal_sizes(m, d, N, 1, timestep=True)
        assert (sized.quantisation_loops, sized.contextual_loops, sized.value_loops) == (m - 1, N + d - 1, defining)
        assert sized.loops == loops_for_grid(m, d, N) == (m - 1) + (N + d - 1) + defining
        if m**d <= 9:
            ids = value_table(builtin_target("holder", d=d, N=N), m)
            assert max(ids) <= defining < K0 ** (N + 1)
            assert N == 1 or K0 ** (N + 1) - 1 not in ids


def test_the_theorem_sizes_are_the_theorems() -> None:
    for m, d, N in ((2, 1, 1), (4, 1, 2), (3, 2, 2)):
        theory = theory_sizes(m, d, N)
        assert (theory.embedding_width, theory.ff_width, theory.heads, theory.head_size) == (
            17 * d + 9,
            49 * d + 25,
            2,
            1,
        )
        assert theory.loops == (m - 1) + N + (2 * m ** ((N + 1) * d) - 1)


@pytest.mark.parametrize("init", ["identity", "transpose"])
def test_the_newton_schulz_spec_is_one_step_per_loop_in_exact_arithmetic(init: str) -> None:
    """The wide head evaluated in rationals: I − A X_t = (I − A X_0)^{2^t} with no rounding."""
    A = [[Fraction(2), Fraction(1, 2)], [Fraction(1, 2), Fraction(1)]]
    alpha = 0.25
    m = len(A)
    identity = [[Fraction(int(i == j)) for j in range(m)] for i in range(m)]
    tokens = [[A[p][k] for p in range(m)] + identity[k] for k in range(m)]  # token k = (A[:, k], e_k)

    def residual(X: list[list[Fraction]]) -> list[list[Fraction]]:
        return [[identity[i][j] - sum(A[i][p] * X[p][j] for p in range(m)) for j in range(m)] for i in range(m)]

    def power(M: list[list[Fraction]], k: int) -> list[list[Fraction]]:
        out = identity
        for _ in range(k):
            out = [[sum(out[i][p] * M[p][j] for p in range(m)) for j in range(m)] for i in range(m)]
        return out

    spec = newton_schulz_spec(m, alpha=alpha, init=init, loops=2)
    X0 = exact_forward(spec, tokens, loops=0)
    for t in (1, 2):
        Xt = exact_forward(spec, tokens, loops=t)
        assert residual(Xt) == power(residual(X0), 2**t)
    start = identity if init == "identity" else [list(row) for row in zip(*A)]
    assert X0 == [[Fraction(alpha) * v for v in row] for row in start]
