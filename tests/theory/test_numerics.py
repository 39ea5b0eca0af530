"""loopbound.theory.numerics: the thread policy restores the caller's setting; loopbound.theory.statistics: the
percentile interval on draws whose quantiles are known exactly."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from loopbound.theory.errors import InputError
from loopbound.theory.numerics import intra_op_threads
from loopbound.theory.statistics import percentile_interval


def test_intra_op_threads_sets_and_restores_the_count_even_when_the_body_raises() -> None:
    before = torch.get_num_threads()
    with intra_op_threads(2):
        assert torch.get_num_threads() == 2
    assert torch.get_num_threads() == before
    with pytest.raises(RuntimeError, match="inside"):
        with intra_op_threads(2):
            raise RuntimeError("inside")
    assert torch.get_num_threads() == before
    for bad in (0, -1, 1.5, True):
        with pytest.raises(InputError, match="intra-op threads must be an integer >= 1"):
            with intra_op_threads(bad):
                pass


def test_percentile_interval_takes_the_equal_tailed_quantiles() -> None:
    draws = np.arange(101.0)[::-1]  # quantile q of 0..100 is 100q exactly (linear interpolation)
    assert percentile_interval(draws, 0.9) == pytest.approx((5.0, 95.0), abs=1e-12)  # (1 − 0.9)/2 rounds below 0.05
    assert percentile_interval(draws, 0.5) == (25.0, 75.0)
    for bad in (0.0, 1.0, 1.5):
        with pytest.raises(InputError, match="0 < level < 1"):
            percentile_interval(draws, bad)
