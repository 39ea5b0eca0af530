"""The looped quantiser: grid indices ⌊x/δ⌋ exactly off the transition bands (δ ∈ {1/2,
1/4, 1/8, 1/16}, d ∈ {1, 2}), the same function as Yun's layer-by-layer stack, exact in rational
arithmetic too, and the band measure it reports."""

from __future__ import annotations

from fractions import Fraction

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from loopbound.constructions.quantization import (
    LayerwiseQuantiser,
    band_measure,
    build_looped_quantiser,
    looped_quantiser_spec,
)
from loopbound.testing import assert_matches_reference
from loopbound.testing import strategies as lbst
from loopbound.testing.construction_assertions import failure_set
from loopbound.theory.errors import InputError, PrecisionError

DELTAS = [Fraction(1, 2), Fraction(1, 4), Fraction(1, 8), Fraction(1, 16)]
SHARPNESS = 2**12  # bands of width 2⁻¹² are wide enough for hypothesis to land in them


def off_band(X: torch.Tensor, m: int, sharpness: int) -> torch.Tensor:
    """True per input when no entry lies in (kδ − 1/M − margin, kδ + margin), k = 1 … m (the band
    part of the public failure set)."""
    band, _ = failure_set(X, delta=Fraction(1, m), sharpness=sharpness)
    return ~band


@given(data=st.data())
def test_looped_quantiser_is_exact_off_the_bands(data: st.DataObject) -> None:
    delta = data.draw(st.sampled_from(DELTAS))
    d = data.draw(st.sampled_from([1, 2]))
    m = int(1 / delta)
    X = torch.stack([data.draw(lbst.cube_points(d=d, N=3)) for _ in range(8)]).clamp(max=1 - 2.0**-20)
    built = build_looped_quantiser(d, delta, sharpness=SHARPNESS)
    model, guarantee = built.model, built.guarantee
    assert guarantee.loops == m - 1
    out = model(X)
    good = off_band(X, m, SHARPNESS)
    assert_matches_reference(model, lambda Z: torch.floor(Z * m), X[good], atol=0)
    # inside a band the index is between its neighbours, never outside
    assert bool(((out >= torch.floor(X * m) - 1) & (out <= torch.floor(X * m) + 1)).all())


@pytest.mark.parametrize("delta", DELTAS)
@pytest.mark.parametrize("d", [1, 2])
def test_grid_points_and_points_just_below_thresholds(delta: Fraction, d: int) -> None:
    m = int(1 / delta)
    model = build_looped_quantiser(d, delta).model
    corners = torch.arange(m, dtype=torch.float64) / m
    X = torch.stack([corners, corners - 2.0**-20, corners + 0.5 / m], dim=1).clamp(min=0)  # [m, 3]
    X = X.reshape(1, -1, 1).expand(1, -1, d).contiguous()
    expected = torch.floor(X * m)
    assert torch.equal(model(X), expected)


@given(data=st.data())
def test_looped_block_computes_the_layer_by_layer_function(data: st.DataObject) -> None:
    """One weight-tied block looped m − 1 times equals Yun's stack of m − 1 distinct layers, on
    every input (band points included)."""
    delta = data.draw(st.sampled_from(DELTAS))
    d = data.draw(st.sampled_from([1, 2]))
    X = torch.stack([data.draw(lbst.cube_points(d=d, N=2)) for _ in range(4)])
    looped = build_looped_quantiser(d, delta, sharpness=SHARPNESS).model
    layered = LayerwiseQuantiser(d, delta, sharpness=SHARPNESS)
    assert_matches_reference(looped, layered, X, atol=1e-9)


@given(st.lists(st.fractions(min_value=0, max_value=Fraction(255, 256), max_denominator=256), min_size=2, max_size=2))
def test_exact_rational_evaluation_is_floor(values: list[Fraction]) -> None:
    spec = looped_quantiser_spec(2, Fraction(1, 8), sharpness=2**20)
    floor = lambda batch: [[[Fraction(int(v * 8)) for v in token] for token in sample] for sample in batch]  # noqa: E731
    assert_matches_reference(spec, floor, [[values]], exact=True)


def test_band_measure_matches_monte_carlo() -> None:
    m, sharpness, entries = 4, 64, 3
    torch.manual_seed(0)
    X = torch.rand(200_000, entries, 1, dtype=torch.float64)
    measured = float((~off_band(X, m, sharpness)).double().mean())
    claimed = band_measure(m, sharpness, entries)
    standard_error = (claimed * (1 - claimed) / len(X)) ** 0.5
    assert abs(measured - claimed) < 5 * standard_error


def test_float32_is_refused_and_bad_deltas_are_input_errors() -> None:
    with pytest.raises(PrecisionError, match="float32 has 24"):
        build_looped_quantiser(1, Fraction(1, 4), dtype=torch.float32)
    for bad in (0.3, 1.0, 0, -0.5):
        with pytest.raises(InputError, match="1/m"):
            build_looped_quantiser(1, bad)
    with pytest.raises(InputError, match="sharpness"):
        build_looped_quantiser(1, Fraction(1, 4), sharpness=3)
