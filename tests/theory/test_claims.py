"""The claims loopbound verify holds a construction against, evaluated directly: each kind's range
agrees with the bound it names, evaluated by another path, and the moduli are bracketed as said."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
import sympy

from loopbound.constructions.universal import build_universal
from loopbound.theory.bounds.approximation import theorem_delta, theorem_readings
from loopbound.theory.bounds.construction import construction_bound
from loopbound.theory.bounds.parse import parse_bound
from loopbound.theory.claims import ClaimInputs, ConstructionClaim, TheoremClaim, UserClaim, claim_for
from loopbound.theory.errors import InputError
from loopbound.theory.kinds import ModulusKind
from loopbound.theory.moduli_bracket import modulus_values
from loopbound.theory.targets import builtin_target


def _guarantee(N: int, m: int):
    target = builtin_target("holder", d=1, N=N)
    return target, build_universal(target, Fraction(1, m)).guarantee


def test_claim_for_names_each_kind_and_refuses_other_words() -> None:
    assert isinstance(claim_for("construction", timestep=False), ConstructionClaim)
    assert claim_for("theorem", timestep=True) == TheoremClaim(True)
    user = claim_for(parse_bound("w + delta"), timestep=False)
    assert isinstance(user, UserClaim) and user.kind == "user"
    with pytest.raises(InputError, match="bound must be 'construction', 'theorem' or an expression"):
        claim_for("nonsense", timestep=False)


def test_the_construction_claim_is_the_guarantees_own_bound() -> None:
    target, guarantee = _guarantee(N=1, m=3)
    w = float(target.exact_modulus(ModulusKind.SEQUENCE, 1 / 3, 2.0))
    inputs = ClaimInputs(r=11, grid=3, d=1, N=1, p=2.0, sup=1.0, guarantee=guarantee, brackets={"w": (w, w)})
    found = ConstructionClaim().evaluate(inputs)
    expected = float(construction_bound(guarantee).evaluate(p=2.0, w=w, S=1.0))
    assert found.span.low == pytest.approx(expected, rel=1e-12) and found.span.exact
    assert found.values["w"] == w and found.other is None


def test_the_theorem_claim_reads_delta_of_r_and_its_other_reading_is_never_lower() -> None:
    _, guarantee = _guarantee(N=2, m=2)
    claim = TheoremClaim(False)
    with pytest.raises(InputError, match="needs r > N"):
        claim.check_budget(2, 2)
    assert claim.scale(20, 2, 1, 2) == theorem_delta(20, 1, 2)
    brackets = {"w": (0.4, 0.5), "w_tok": (0.2, 0.3), "w_cont": (0.1, 0.2)}
    found = claim.evaluate(ClaimInputs(r=20, grid=2, d=1, N=2, p=2.0, sup=1.0, guarantee=guarantee, brackets=brackets))
    assert found.other is not None and found.other.low >= found.span.low and found.other.high >= found.span.high
    constants = claim.constants(ClaimInputs(20, 2, 1, 2, 2.0, 1.0, guarantee, brackets))
    at_low = theorem_readings(False).stricter.evaluate(
        r=20,
        d=1,
        N=2,
        p=2.0,
        C_coll=constants["C_coll"],
        C_band=constants["C_band"],
        M=constants["M"],
        w=0.4,
        w_tok=0.2,
        w_cont=0.1,
    )
    assert found.span.low == pytest.approx(float(at_low), rel=1e-12)
    assert found.span.high > found.span.low  # increasing in every modulus: the range is not a point


def test_a_user_claim_reads_only_its_moduli_and_the_construction_grid() -> None:
    _, guarantee = _guarantee(N=1, m=4)
    claim = UserClaim(parse_bound("w + delta"))
    assert claim.moduli() == ("w",)
    found = claim.evaluate(
        ClaimInputs(r=17, grid=4, d=1, N=1, p=2.0, sup=1.0, guarantee=guarantee, brackets={"w": (0.3, 0.5)})
    )
    assert found.span.low == pytest.approx(0.3 + 0.25) and found.span.high == pytest.approx(0.5 + 0.25)


def test_moduli_are_exact_where_the_target_derives_them_and_contextual_is_zero_for_one_token() -> None:
    target = builtin_target("holder", d=1, N=1)
    found = modulus_values(target, [0.5, 0.25], ["w", "w_cont"], d=1, N=1, p=2.0, seed=0)
    for scale in (0.5, 0.25):
        w, w_cont = found[scale]["w"], found[scale]["w_cont"]
        assert w.source == "exact" and w.argument == scale
        # holder α = 1/2: ω(t) = t^{1/2}, a float64 rounding entered as a range of a few ulps around it
        true = sympy.sqrt(sympy.Rational(scale))
        assert w.lower < w.upper and sympy.Rational(w.lower) <= true <= sympy.Rational(w.upper)
        assert w.upper - w.lower <= 1e-9 * w.lower and w.lower == pytest.approx(math.sqrt(scale))
        assert (w_cont.lower, w_cont.upper, w_cont.source) == (0.0, 0.0, "exact")
