"""loopbound.theory.bounds.approximation and .construction: the theorems' expressions and budgets,
the derived bound for the universal construction (each step of its derivation checked against the
construction itself), and sup|f| of the built-ins (loopbound.theory.target_sup)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pytest
import sympy
import torch
from hypothesis import given
from hypothesis import strategies as st

from loopbound.theory.bounds.approximation import (
    DELTA_OF_R,
    LEMMA_4_1,
    QUANTISATION_LOOPS,
    THEOREM_3_6,
    THEOREM_4_2,
    THEORY_LOOPS,
    VALUE_LOOPS,
    lemma_4_1_jump,
    modulus_arguments,
    theorem_bound,
    theorem_delta,
    theory_loops,
)
from loopbound.theory.bounds.construction import CONSTRUCTION_TEMPLATE, construction_bound, construction_terms
from loopbound.theory.errors import InputError
from loopbound.theory.kinds import ModulusKind
from loopbound.theory.target_sup import target_sup
from loopbound.theory.targets import BUILTIN_TARGETS, builtin_target


# --------------------------------------------------------------------------- the theorems
@given(d=st.integers(1, 3), N=st.integers(1, 4), excess=st.floats(1e-3, 1e7))
def test_theory_loop_budget_fits_in_r_at_delta_of_r(d: int, N: int, excess: float) -> None:
    r = N + excess
    delta = theorem_delta(r, d, N)
    assert 0 < delta
    # 2δ^{−(N+1)d}·δ^{−1} = r − N, the identity the theorem's δ(r) is chosen by
    assert 2 * delta ** (-(N + 1) * d - 1) == pytest.approx(r - N, rel=1e-9)
    if delta <= 1:  # the budgets count loops for a grid that exists
        assert theory_loops(delta, d, N) <= r * (1 + 1e-12)


def test_delta_of_r_expression_and_refusal() -> None:
    value = float(
        DELTA_OF_R.subs(
            {
                sympy.Symbol("r", positive=True): 1002,
                sympy.Symbol("d", positive=True): 1,
                sympy.Symbol("N", positive=True): 2,
            }
        )
    )
    assert value == pytest.approx(500 ** (-1 / 4))
    assert theorem_delta(1002, 1, 2) == pytest.approx(value)
    with pytest.raises(InputError, match="r > N"):
        theorem_delta(2, 1, 2)


def test_theorem_3_6_term_by_term() -> None:
    values = dict(r=130.0, d=1, N=2, p=2.0, w=0.3, w_tok=0.1, w_cont=0.05, C_coll=0.7, C_band=1.3, M=2.0**30)
    delta = ((130 - 2) / 2) ** (-1 / 4)
    expected = (
        math.sqrt(2) * (0.1 + 0.05)
        + 0.3
        + 0.7 * 2 ** (2 / 2) * delta ** (1 / 2)
        + 1.3 * (2 / (2**30 * delta)) ** (1 / 2)
    )
    assert THEOREM_3_6.evaluate(**values) == pytest.approx(expected, rel=1e-12)
    timestep = {k: v for k, v in values.items() if k not in ("w_tok", "w_cont")}
    assert THEOREM_4_2.evaluate(**timestep) == pytest.approx(expected - math.sqrt(2) * 0.15, rel=1e-12)
    assert theorem_bound(True) is THEOREM_4_2 and theorem_bound(False) is THEOREM_3_6
    for bound in (THEOREM_3_6, LEMMA_4_1, VALUE_LOOPS):
        assert bound.provenance.status == "reconstructed" and bound.provenance.arxiv == "2410.01405"
        assert bound.latex()
    # Theorem 4.2 is a memorisation result: the rate with its exact value mapping is derived here
    assert THEOREM_4_2.provenance.status == "derived here" and THEOREM_4_2.provenance.arxiv == "2410.01405"
    assert "exact value mapping" in THEOREM_4_2.name and THEOREM_4_2.latex()
    assert "C_{coll}" in THEOREM_3_6.latex()


def test_budgets_and_modulus_arguments() -> None:
    assert QUANTISATION_LOOPS.evaluate(delta=0.25, d=1, N=2) == 3
    assert VALUE_LOOPS.evaluate(delta=0.5, d=1, N=2) == 2 * 8 - 1
    assert THEORY_LOOPS.evaluate(delta=0.5, d=1, N=2) == 1 + 2 + 15
    arguments = modulus_arguments(0.1, d=2, N=3)
    assert arguments == pytest.approx(
        {"w": 0.1 * math.sqrt(6), "w_tok": 0.1 * math.sqrt(2), "w_cont": 0.1 * math.sqrt(6)}
    )


def test_lemma_4_1_jump() -> None:
    table = np.array([[0.0, 1.0], [0.5, 0.0], [0.25, 0.5]])
    assert lemma_4_1_jump(table).tolist() == [0.5, 1.0]
    assert lemma_4_1_jump(np.array([[3.0]])).tolist() == [0.0]
    assert LEMMA_4_1.evaluate(jump=0.25) == 0.25


# --------------------------------------------------------------------------- the derived bound
@dataclass(frozen=True)
class Guarantee:
    delta: float = 0.25
    N: int = 2
    d_out: int = 3
    timestep: bool = False
    value_error_bound: tuple[float, ...] = (0.1, 0.2, 0.05)
    label_rounding: float = 1e-6
    output_bound: float = 2.0
    band_measure: float = 1e-3
    collision_measure: float = 0.25


@pytest.mark.parametrize("p", [1.0, 2.0, 3.5])
def test_construction_bound_matches_its_derivation_and_is_below_minkowski(p: float) -> None:
    g = Guarantee()
    bound = construction_bound(g)
    assert bound.provenance.status == "derived here" and "(N d_out)^{1/p}" in bound.derivation
    assert {s.name for s in bound.symbols} == {"p", "w", "S"}
    w, S = 0.3, 1.5
    entries = (2 * 3) ** (1 / p)
    eps = 0.2 + 1e-6
    E_G, E_F = w + entries * eps, entries * (2.0 + S)
    tight = (E_G**p + (1e-3 + 0.25) * E_F**p) ** (1 / p)
    minkowski = E_G + E_F * (1e-3) ** (1 / p) + E_F * 0.25 ** (1 / p)
    value = bound.evaluate(p=p, w=w, S=S)
    assert value == pytest.approx(tight, rel=1e-12)
    assert value <= minkowski
    assert value >= E_G  # never below the good-set error


def test_construction_terms_read_the_guarantee() -> None:
    terms = construction_terms(Guarantee())
    assert terms == pytest.approx(
        {"N": 2, "d_out": 3, "epsilon": 0.2 + 1e-6, "B": 2.0, "B_C": 2.0, "mu_B": 1e-3, "mu_C": 0.25}
    )

    @dataclass(frozen=True)
    class WithCollisionBound(Guarantee):
        collision_output_bound: float = 0.5

    assert construction_terms(WithCollisionBound())["B_C"] == 0.5

    @dataclass(frozen=True)
    class Broken(Guarantee):
        output_bound: float = math.inf

    with pytest.raises(InputError, match="B = inf"):
        construction_terms(Broken())
    with pytest.raises(InputError, match="no field 'value_error_bound'"):
        construction_terms(object())  # type: ignore[arg-type]


def test_template_is_the_minkowski_form_when_p_is_1() -> None:
    values = dict(N=2, d_out=1, p=1.0, w=0.2, epsilon=0.1, B=1.0, B_C=1.0, S=1.0, mu_B=0.1, mu_C=0.3)
    E_G, E_F = 0.2 + 2 * 0.1, 2 * 2.0
    assert CONSTRUCTION_TEMPLATE.evaluate(**values) == pytest.approx(E_G + 0.4 * E_F)


# --------------------------------------------------------------------------- sup |f|
@pytest.mark.parametrize("name", sorted(BUILTIN_TARGETS))
@pytest.mark.parametrize("shape", [(1, 1), (1, 2), (2, 3)])
def test_target_sup_is_an_upper_bound_and_attained_at_a_vertex(name: str, shape: tuple[int, int]) -> None:
    d, N = shape
    target = builtin_target(name, d=d, N=N)
    value, source = target_sup(target)
    assert source == "exact"
    X = torch.rand(2048, N, d, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    corners = torch.tensor(list(np.ndindex(*([2] * (N * d)))), dtype=torch.float64).reshape(-1, N, d)
    largest_random = float(target(X).abs().max())
    largest_corner = float(target(corners).abs().max())
    assert largest_random <= value * (1 + 1e-12)
    assert largest_corner == pytest.approx(value, rel=1e-12)  # exact: attained at a vertex of the cube


def test_target_sup_of_a_callable_is_an_estimate() -> None:
    from loopbound.theory.targets import CallableTarget

    target = CallableTarget(d=1, N=2, function=lambda X: 3 * X - 1, label="affine")
    value, source = target_sup(target)
    assert source == "estimate" and value == pytest.approx(2.0)


# --------------------------------------------------------------------------- against the construction
universal = pytest.importorskip(
    "loopbound.constructions.universal", reason="needs constructions/universal.py (the lead's construction)"
)


@pytest.mark.parametrize(
    "name, N, m", [("holder", 1, 5), ("contextual_max", 2, 3), ("smooth", 2, 3), ("attention", 1, 4)]
)
@pytest.mark.parametrize("timestep", [False, True])
def test_each_step_of_the_derivation_holds_pointwise_on_the_construction(
    name: str, N: int, m: int, timestep: bool
) -> None:
    """Step 1: off the failure set e(X) ≤ E_G = w + (N d_out)^{1/2} ε (w the sequence modulus at
    δ√(Nd), exact or an analytic upper bound where known; for attention an estimate, so the check
    uses the sup of sampled cell-diameter differences plus its margin instead).
    Step 2: on the collision set e(X) ≤ E_F. Band points have measure ~1e-9 and do not occur."""
    target = builtin_target(name, d=1, N=N)
    model = universal.build_universal(target, 1.0 / m, timestep=timestep).model
    g = model.guarantee
    terms = construction_terms(g)
    S = target_sup(target)[0]
    X = torch.rand(4096, N, 1, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    with torch.no_grad():
        errors = (model(X) - target(X)).flatten(1).norm(dim=1)
    cells = torch.floor(X * m).flatten(1)
    collision = torch.zeros(X.shape[0], dtype=torch.bool)
    for i in range(N):
        for j in range(i + 1, N):
            collision |= cells[:, i] == cells[:, j]
    entries = math.sqrt(N * terms["d_out"])
    if name == "attention":
        with torch.no_grad():
            w = float((target(universal.cell_representative(X, 1.0 / m)) - target(X)).flatten(1).norm(dim=1).max())
    else:
        w = target.upper_modulus(ModulusKind.SEQUENCE, math.sqrt(N) / m, 2.0)
    E_G = w + entries * terms["epsilon"]
    E_F = entries * (max(terms["B"], terms["B_C"]) + S)
    good = ~collision
    assert bool((errors[good] <= E_G * (1 + 1e-9)).all()), float(errors[good].max())
    assert bool((errors <= max(E_G, E_F) * (1 + 1e-9)).all())
    assert (
        float(collision.double().mean())
        <= g.collision_measure + 4 * math.sqrt(g.collision_measure / X.shape[0]) + 1e-12
    )


def test_timestep_bound_is_never_above_the_unscaled_one() -> None:
    target = builtin_target("holder", d=1, N=1)
    for m in range(2, 7):
        scaled = construction_bound(universal.build_universal(target, 1.0 / m, timestep=True).guarantee)
        unscaled = construction_bound(universal.build_universal(target, 1.0 / m, timestep=False).guarantee)
        w = target.upper_modulus(ModulusKind.SEQUENCE, 1.0 / m, 2.0)
        assert scaled.evaluate(p=2.0, w=w, S=1.0) <= unscaled.evaluate(p=2.0, w=w, S=1.0)


# --------------------------------------------------------------------------- bracketed moduli
def test_a_bound_over_bracketed_moduli_is_the_range_of_its_values() -> None:
    """Nondecreasing in w (shown by sympy): the range is the bound at the brackets' ends; the true
    bound, at any w inside the bracket, lies in it. An inverted bracket is refused."""
    from loopbound.theory.bounds.bracket import bound_range, nondecreasing_in
    from loopbound.verify import parse_bound

    claim = parse_bound("0.5*w + w_tok^2 + delta")
    fixed = {"r": 10, "d": 1, "N": 2, "p": 2.0, "delta": 0.25, "w_cont": 0.0}
    span = bound_range(claim, fixed, {"w": (0.2, 0.6), "w_tok": (0.1, 0.3)})
    assert span.method == "monotone" and nondecreasing_in(claim, ("w", "w_tok"))
    assert span.low == pytest.approx(0.1 + 0.01 + 0.25) and span.high == pytest.approx(0.3 + 0.09 + 0.25)
    for w_true in (0.2, 0.45, 0.6):
        assert span.low <= claim.evaluate(**fixed, w=w_true, w_tok=0.2) <= span.high
    exact = bound_range(claim, fixed, {"w": (0.4, 0.4), "w_tok": (0.1, 0.1)})
    assert exact.exact and exact.method == "exact"
    with pytest.raises(InputError, match="exceeds the target's analytic upper bound"):
        bound_range(claim, fixed, {"w": (0.7, 0.6), "w_tok": (0.1, 0.1)})


def test_a_bound_not_monotone_in_the_moduli_is_enclosed_including_its_interior_extremum() -> None:
    from loopbound.theory.bounds.bracket import bound_range, nondecreasing_in
    from loopbound.verify import parse_bound

    claim = parse_bound("(w - 0.5)^2")  # minimum 0 at w = 0.5, inside the bracket
    fixed = {"r": 10, "d": 1, "N": 2, "p": 2.0, "delta": 0.25, "w_tok": 0.0, "w_cont": 0.0}
    assert not nondecreasing_in(claim, ("w",))
    span = bound_range(claim, fixed, {"w": (0.0, 1.0)})
    assert span.method == "interval arithmetic" and span.certified
    assert span.low <= 0.0 and span.high >= 0.25 and span.high == pytest.approx(0.25)


def test_an_upper_end_without_an_analytic_upper_bound_is_the_estimate_and_says_so() -> None:
    from loopbound.theory.bounds.bracket import bound_range
    from loopbound.verify import parse_bound

    claim = parse_bound("2*w")
    fixed = {"r": 10, "d": 1, "N": 2, "p": 2.0, "delta": 0.25, "w_tok": 0.0, "w_cont": 0.0}
    span = bound_range(claim, fixed, {"w": (0.3, None)})
    assert span.low == span.high == pytest.approx(0.6) and span.high_is_estimate
