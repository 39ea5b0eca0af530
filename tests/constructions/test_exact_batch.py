"""The batched exact backend (:class:`loopbound.constructions.exact_batch.ExactEvaluator`).

It must compute the same rationals as the one-sequence Fraction evaluation
(:func:`loopbound.constructions.exact.exact_forward`) bit for bit — on random specs with hardmax
and linear heads of size 1 and 2, non-dyadic weights, timestep gates and any inverse temperature,
on random dyadic inputs, grid points and repeated tokens (hardmax ties) — round each output to the
nearest float64 exactly as ``float(Fraction)`` does, and agree with the float64 module where the
construction's own precision statement says float64 suffices.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from loopbound.constructions.exact import exact_forward
from loopbound.constructions.exact_batch import ExactEvaluator
from loopbound.constructions.exact_columns import Column, from_floats, to_floats
from loopbound.constructions.spec import Affine, BlockSpec, Head, LoopedSpec, Unit, WideHead, to_module
from loopbound.constructions.universal import build_universal, universal_spec
from loopbound.testing import strategies as lbst
from loopbound.theory.errors import InputError
from loopbound.theory.targets import builtin_target

COEFFICIENTS = st.sampled_from(
    [Fraction(v) for v in (1, -1, 2, -3, 5)] + [Fraction(1, 2), Fraction(-3, 4), Fraction(1, 3)]
)


@st.composite
def affine_forms(draw: st.DrawFn, names: list[str], *, constant: bool) -> Affine:
    chosen = draw(st.lists(st.sampled_from(names), min_size=1, max_size=3, unique=True))
    offset = draw(COEFFICIENTS) if constant and draw(st.booleans()) else 0
    return Affine({name: draw(COEFFICIENTS) for name in chosen}, offset)


@st.composite
def routes(draw: st.DrawFn, names: list[str]) -> dict[str, Fraction]:
    chosen = draw(st.lists(st.sampled_from(names), min_size=1, max_size=2, unique=True))
    return {name: draw(COEFFICIENTS) for name in chosen}


@st.composite
def heads(draw: st.DrawFn, names: list[str]) -> Head | WideHead:
    size = draw(st.sampled_from([1, 2]))
    forms = [draw(affine_forms(names, constant=False)) for _ in range(3 * size)]
    if size == 1:
        return Head(forms[0], forms[1], forms[2], draw(routes(names)))
    return WideHead(tuple(forms[0:2]), tuple(forms[2:4]), tuple(forms[4:6]), (draw(routes(names)), draw(routes(names))))


@st.composite
def looped_specs(draw: st.DrawFn, *, attention: str) -> LoopedSpec:
    """A random spec over ``one`` and 2–3 free coordinates: 0–2 heads, 1–4 units, bias, gates."""
    names = ["one", *(f"c{i}" for i in range(draw(st.integers(2, 3))))]
    d_in = draw(st.integers(1, 2))
    inputs = [f"in{i}" for i in range(d_in)]
    embed = {"one": Affine(constant=1), **{name: draw(affine_forms(inputs, constant=True)) for name in names[1:]}}
    units = tuple(
        Unit(draw(affine_forms(names, constant=True)), draw(routes(names[1:]))) for _ in range(draw(st.integers(1, 4)))
    )
    block = BlockSpec(
        tuple(names),
        heads=tuple(draw(heads(names)) for _ in range(draw(st.integers(0, 2)))),
        units=units,
        attention=attention,
        inverse_temperature=draw(st.sampled_from([Fraction(1), Fraction(3, 2), Fraction(-1), Fraction(0)])),
        ff_bias={names[1]: draw(COEFFICIENTS)} if draw(st.booleans()) else {},
    )
    loops = draw(st.integers(0, 4 if attention == "hardmax" else 2))
    gates = None
    if draw(st.booleans()):
        factors = st.sampled_from([Fraction(0), Fraction(1, 2), Fraction(2), Fraction(-1, 3)])
        gates = [{draw(st.sampled_from(names[1:])): draw(factors)} for _ in range(draw(st.integers(0, 2)))]
    after = {names[-1]: Fraction(1, 4)} if gates is not None and draw(st.booleans()) else None
    readout = tuple(draw(affine_forms(names, constant=True)) for _ in range(draw(st.integers(1, 2))))
    return LoopedSpec(block, d_in=d_in, embed=embed, readout=readout, loops=loops, ff_gate=gates, ff_gate_after=after)


@st.composite
def dyadic_batches(draw: st.DrawFn, *, d_in: int) -> torch.Tensor:
    """[B, N, d_in] float64: grid points k/4, random floats, and repeated tokens (hardmax ties)."""
    B, N = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    grid = st.integers(-4, 4).map(lambda k: k / 4)
    anywhere = st.floats(-2, 2, allow_nan=False, allow_subnormal=True)
    values = draw(st.lists(st.one_of(grid, anywhere), min_size=B * N * d_in, max_size=B * N * d_in))
    X = torch.tensor(values, dtype=torch.float64).reshape(B, N, d_in)
    if N > 1 and draw(st.booleans()):
        X[:, -1] = X[:, 0]  # a repeated token: equal keys, so hardmax rows tie
    return X


def _check_against_fractions(spec: LoopedSpec, X: torch.Tensor) -> None:
    evaluator = ExactEvaluator(spec)
    expected = [exact_forward(spec, x.tolist()) for x in X]
    assert evaluator.exact(X) == expected
    rounded = torch.tensor([[[float(v) for v in token] for token in row] for row in expected], dtype=torch.float64)
    assert torch.equal(evaluator.forward(X), rounded.reshape(evaluator.forward(X).shape))


@pytest.mark.parametrize("attention", ["hardmax", "linear"])
@settings(max_examples=30)
@given(data=st.data())
def test_agrees_with_fraction_evaluation_bit_for_bit(attention: str, data: st.DataObject) -> None:
    spec = data.draw(looped_specs(attention=attention))
    _check_against_fractions(spec, data.draw(dyadic_batches(d_in=spec.d_in)))


@pytest.mark.parametrize(("N", "m", "timestep"), [(1, 4, False), (2, 4, False), (2, 3, True), (3, 3, True)])
@settings(max_examples=3)
@given(data=st.data())
def test_universal_construction_agrees_with_fraction_evaluation(
    N: int, m: int, timestep: bool, data: st.DataObject
) -> None:
    """Random points, grid points (on the quantiser's bands) and collisions (ties in the head)."""
    spec = universal_spec(builtin_target("contextual_max", d=1, N=N), Fraction(1, m), timestep=timestep).model
    points = torch.stack([data.draw(lbst.cube_points(d=1, N=N)) for _ in range(2)])
    grid = torch.stack([data.draw(lbst.grid_inputs(delta=Fraction(1, m), d=1, N=N, distinct_tokens=False))])
    _check_against_fractions(spec, torch.cat([points, grid]))


def test_the_approximator_uses_the_batched_backend_past_float64() -> None:
    """δ = 1/8 without timestep scaling needs ~K bits: exact=True evaluates it, as the Fractions do."""
    approximator = build_universal(builtin_target("smooth", d=1, N=2), Fraction(1, 8), timestep=False, exact=True)
    X = torch.tensor([[[0.06], [0.81]], [[0.44], [0.3]], [[0.5], [0.5]]], dtype=torch.float64)
    expected = [[[float(v) for v in token] for token in exact_forward(approximator.model.spec, x.tolist())] for x in X]
    assert approximator.guarantee.precision_bits > 53
    assert approximator.model(X).tolist() == expected


@pytest.mark.parametrize(("N", "m", "timestep"), [(1, 4, True), (2, 4, True), (1, 4, False), (2, 2, False)])
@settings(max_examples=4)
@given(data=st.data())
def test_agrees_with_float64_where_float64_suffices(N: int, m: int, timestep: bool, data: st.DataObject) -> None:
    """Away from the failure set the float module computes exactly with the bits the construction
    states; where those are ≤ 53, float64 and the exact backend give the same floats."""
    target = builtin_target("holder", d=1, N=N)
    built = build_universal(target, Fraction(1, m), timestep=timestep)
    assert built.guarantee.precision_bits <= 53
    cells = st.lists(st.integers(0, m - 1), min_size=N, max_size=N, unique=True)
    offsets = st.lists(st.floats(0.1, 0.9), min_size=N, max_size=N)
    X = torch.tensor(
        [[[(c + o) / m] for c, o in zip(data.draw(cells), data.draw(offsets))] for _ in range(8)], dtype=torch.float64
    )  # tokens inside distinct cells, δ/10 away from the edges: off the bands, no collision
    assert torch.equal(ExactEvaluator(built.model.spec).forward(X), built.model(X))


@settings(max_examples=40)
@given(
    numerator=st.integers(-(2**1100), 2**1100),
    denominator=st.integers(1, 2**1200),
    shift=st.integers(-1100, 1100),
)
def test_rounding_to_float64_is_float_of_the_fraction(numerator: int, denominator: int, shift: int) -> None:
    """Nearest float64, ties to even, subnormals, and ±inf where float() overflows."""
    value = Fraction(numerator, denominator) * Fraction(2) ** shift
    halfway = Fraction(2**53 + 1) * Fraction(2) ** (shift % 64)  # a tie: rounds to the even 2^53
    cases = [value, -value, halfway, Fraction(3, 2**1076), Fraction(2**1024 - 2**970, 1)]
    for case in cases:
        got = to_floats(Column(np.array([case.numerator], dtype=object), case.denominator, abs(case.numerator)))[0]
        try:
            want = float(case)
        except OverflowError:
            want = float("inf") if case > 0 else float("-inf")
        assert got == want, case


@settings(max_examples=40)
@given(st.lists(st.floats(allow_nan=False, allow_infinity=False, allow_subnormal=True), min_size=1, max_size=20))
def test_floats_convert_exactly(values: list[float]) -> None:
    column = from_floats(np.array(values, dtype=np.float64))
    assert column.fractions() == [Fraction(v) for v in values]
    assert to_floats(column).tolist() == values


def test_refuses_softmax_and_bad_inputs() -> None:
    block = BlockSpec(
        ("one", "a"),
        heads=(Head(Affine({"a": 1}), Affine({"a": 1}), Affine({"a": 1}), {"a": 1}),),
        units=(),
        attention="softmax",
    )
    spec = LoopedSpec(
        block, d_in=1, embed={"one": Affine(constant=1), "a": Affine({"in0": 1})}, readout=(Affine({"a": 1}),), loops=1
    )
    with pytest.raises(InputError, match="hardmax and linear"):
        ExactEvaluator(spec)
    linear = LoopedSpec(
        BlockSpec(block.coordinates, block.heads, (), attention="linear"), 1, spec.embed, spec.readout, loops=1
    )
    with pytest.raises(InputError, match="finite"):
        ExactEvaluator(linear).forward(torch.tensor([[[float("nan")]]], dtype=torch.float64))
    with pytest.raises(InputError, match="input must be"):
        ExactEvaluator(linear).forward(torch.zeros(1, 2, 3, dtype=torch.float64))
    assert to_module(linear)(torch.full((1, 1, 1), 0.5, dtype=torch.float64)).item() == 0.5 + 0.5**3
    assert ExactEvaluator(linear).forward(torch.full((1, 1, 1), 0.5, dtype=torch.float64)).item() == 0.5 + 0.5**3
