"""Throughput of the all-pairs modulus estimate (foundation issue), measured in one run:

- pairs per second of :func:`loopbound.theory.modulus_allpairs.all_pairs_modulus` at n samples (default
  2·10⁴), D_in = D_out = 32, over a 12-point δ grid, best of three;
- the same for a naive baseline: scipy's ``pdist`` on inputs and on outputs, then the max of the
  output distances under each δ;
- this machine's limit for the work: fp32 matrix-multiply FLOP/s (measured now) divided by the
  FLOPs a pair costs, 2·(D_in + D_out) (the two inner products).

Both estimates are checked to agree before any ratio is printed. Usage:
``python benchmarks/modulus.py [--n 20000] [--dim 32]``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from scipy.spatial.distance import pdist

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.machine import describe_machine, matmul_flops  # noqa: E402
from loopbound.theory.modulus_allpairs import all_pairs_modulus  # noqa: E402


def naive_all_pairs(x: np.ndarray, y: np.ndarray, deltas: np.ndarray) -> list[float]:
    din = pdist(x)
    dout = pdist(y)
    return [float(dout[din <= delta].max()) if (din <= delta).any() else 0.0 for delta in deltas]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--dim", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    x = rng.random((args.n, args.dim))
    y = np.tanh(x @ rng.normal(size=(args.dim, args.dim)) / np.sqrt(args.dim) * 3)
    deltas = np.geomspace(0.05, 1.5, 12)
    pairs = args.n * (args.n - 1) // 2
    flops_per_pair = 2 * (args.dim + args.dim)

    print(f"machine: {describe_machine()}")
    peak = matmul_flops()
    limit = peak / flops_per_pair
    print(
        f"fp32 matmul (2048³): {peak / 1e9:.1f} GFLOP/s  →  limit {limit / 1e9:.3f} Gpairs/s at {flops_per_pair} FLOPs a pair"
    )

    fast_seconds = float("inf")
    for _ in range(args.repeats):
        result = all_pairs_modulus(x, y, deltas)
        fast_seconds = min(fast_seconds, result.seconds)
    fast = pairs / fast_seconds
    print(
        f"all_pairs_modulus: n={args.n}, D_in=D_out={args.dim}, {pairs:.3g} pairs in {fast_seconds:.3f} s "
        f"= {fast / 1e9:.3f} Gpairs/s ({result.candidates} pairs re-checked in float64)"
    )

    start = time.perf_counter()
    expected = naive_all_pairs(x, y, deltas)
    naive_seconds = time.perf_counter() - start
    naive = pairs / naive_seconds
    print(
        f"naive (scipy pdist on inputs and outputs, then per-δ max): {naive_seconds:.2f} s = {naive / 1e9:.4f} Gpairs/s"
    )

    agree = all(abs(point.value - value) <= 1e-12 * max(value, 1e-300) for point, value in zip(result.points, expected))
    print(f"estimates agree with the baseline: {agree}")
    if not agree:
        raise SystemExit("the all-pairs estimate disagrees with the naive baseline")
    print(f"ratio to naive baseline: {fast / naive:.1f}x")
    print(f"fraction of the matmul-bound limit: {fast / limit:.1%}")


if __name__ == "__main__":
    main()
