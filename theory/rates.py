"""Error measurement and rates (DESIGN.md: ``theory/rates.py``), re-exported from two modules:

- :mod:`loopbound.theory.error_measure`: L^p error over the uniform cube by randomised quasi-Monte Carlo
  (scrambled Sobol, interval from independent scramblings) and the sup error by search;
- :mod:`loopbound.theory.rate_fit`: log-log rate fits with bootstrap intervals, and verdicts of measurement
  against bound.
"""

from loopbound.theory.error_measure import (
    ErrorMeasurement,
    LpErrorEstimate,
    SupErrorLowerBound,
    lp_error,
    measure_error,
    pointwise_error,
    pointwise_norm,
    sup_error,
)
from loopbound.theory.rate_fit import (
    PointVerdict,
    RateFit,
    Status,
    Verdict,
    compare_rates,
    fit_rate,
    judge,
    loglog_slope,
)

__all__ = [
    "ErrorMeasurement",
    "LpErrorEstimate",
    "SupErrorLowerBound",
    "lp_error",
    "measure_error",
    "pointwise_error",
    "pointwise_norm",
    "sup_error",
    "PointVerdict",
    "RateFit",
    "Status",
    "Verdict",
    "compare_rates",
    "fit_rate",
    "judge",
    "loglog_slope",
]
