"""Throughput of the looped evaluation, measured in one run:

- sequence-loops per second of the universal construction's LoopedTransformer (one block applied
  r times; hardmax attention, ReLU feed-forward, timestep gate) on CPU at batch B = 4096, float64:
  B·r / (seconds of one forward pass of r loops), best of ``--repeats``;
- this machine's matrix-multiply-bound limit for the same shapes, measured now: the block's
  matrix products per loop — the Q, K, V projections [B·N, W]×[W, 1] (one head of size 1, the
  construction's), the output projection [B·N, 1]×[1, W] and the feed-forward [B·N, W]×[W, H] and
  [B·N, H]×[H, W] — timed as bare ``torch.mm`` calls in float64 (best of repeats each). Their sum
  is the least time a loop can take if nothing but its matmuls cost, so the limit is
  B / Σ t_mm sequence-loops per second, and the ratio measured/limit is the fraction reached;
- the fraction of this machine's fp64 peak: the block's matrix-product FLOPs per sequence-loop (the
  products above, divided by B) times the sequence-loops per second, over the FLOP rate of a large
  float64 GEMM (2048³, ``torch.mm``) measured in the same run at each thread count (the best is the
  peak);
- exact arithmetic: sequence-loops per second of the batched exact backend
  (:class:`loopbound.constructions.exact_batch.ExactEvaluator`) against the one-sequence Fraction
  evaluation (:func:`loopbound.constructions.exact.exact_forward`) on the same spec and the same
  ``--exact-batch`` sequences (outputs checked equal), for this spec and for the same grid without
  timestep scaling (the variant whose bits float64 cannot hold), and the backend alone at batch B;
- with ``--compile``: the same loop with the *block* under ``torch.compile`` (one loop body, compiled
  once, called r times; compiling the whole model instead unrolls all r loops and took 430 s for
  r = 129 here), kept only if it is faster and gives bit-identical outputs.

``--device cuda`` measures the same on a GPU (timings synchronised); ``--compile-mode
reduce-overhead`` replays the compiled block through CUDA graphs there.

Usage: ``python benchmarks/loops.py [--batch 4096] [--N 2] [--m 5] [--threads T] [--compile]
[--device cpu|cuda] [--compile-mode default|reduce-overhead] [--exact-batch 32]``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.machine import describe_machine, matmul_flops  # noqa: E402
from loopbound.constructions.exact import exact_forward  # noqa: E402
from loopbound.constructions.exact_batch import ExactEvaluator  # noqa: E402
from loopbound.constructions.universal import build_universal, universal_spec  # noqa: E402
from loopbound.theory.targets import builtin_target  # noqa: E402


def _synchronise(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


CPU = torch.device("cpu")


def best_time(function, repeats: int, device: torch.device = CPU) -> float:
    function()  # warm-up
    _synchronise(device)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        _synchronise(device)
        best = min(best, time.perf_counter() - start)
    return best


def matmul_limit(
    rows: int, width: int, hidden: int, heads: int, head_size: int, repeats: int, device: torch.device = CPU
) -> tuple[float, float]:
    """(seconds per loop of the block's matrix products alone, their FLOPs per loop)."""
    generator = torch.Generator().manual_seed(0)

    def operand(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=generator, dtype=torch.float64).to(device)

    Z, H, A = operand(rows, width), operand(rows, hidden), operand(rows, heads * head_size)
    shapes = [
        (Z, operand(width, heads * head_size), 3),  # W_Q, W_K, W_V
        (A, operand(heads * head_size, width), 1),  # W_O
        (Z, operand(width, hidden), 1),  # W_in
        (H, operand(hidden, width), 1),  # W_out
    ]
    seconds = flops = 0.0
    for left, right, count in shapes:
        out = torch.empty(left.shape[0], right.shape[1], dtype=torch.float64, device=device)
        seconds += count * best_time(lambda a=left, b=right, c=out: torch.mm(a, b, out=c), repeats * 5, device)
        flops += count * 2.0 * left.shape[0] * left.shape[1] * right.shape[1]
    return seconds, flops


def thread_counts(requested: int | None, device: torch.device) -> list[int]:
    """The intra-op thread counts to measure: the one asked for, else 1 and torch's default."""
    if requested:
        return [requested]
    if device.type == "cuda":
        return [torch.get_num_threads()]
    return sorted({1, torch.get_num_threads()})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=4096)
    parser.add_argument("--N", type=int, default=2)
    parser.add_argument("--m", type=int, default=5, help="grid 1/δ of the construction (loops grow like m^(N+1))")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--threads", type=int, default=None, help="torch intra-op threads (default: measure 1 and torch's default)"
    )
    parser.add_argument("--compile", action="store_true", help="also try torch.compile on the block")
    parser.add_argument(
        "--compile-mode", default="default", choices=("default", "reduce-overhead", "max-autotune-no-cudagraphs")
    )
    parser.add_argument("--device", default="cpu", help="cpu or cuda[:K]")
    parser.add_argument(
        "--exact-batch", type=int, default=32, help="sequences for exact vs Fraction evaluation (0: skip)"
    )
    args = parser.parse_args()
    device = torch.device(args.device)

    target = builtin_target("holder", d=1, N=args.N)
    built = build_universal(target, 1.0 / args.m, timestep=True, device=device)
    model, g = built.model.model, built.guarantee  # the approximator's LoopedTransformer
    loops = g.loops
    X = torch.rand(args.batch, args.N, 1, generator=torch.Generator().manual_seed(0), dtype=torch.float64).to(device)
    rows = args.batch * args.N

    print(f"machine: {describe_machine()}")
    if device.type == "cuda":
        print(f"device: {torch.cuda.get_device_name(device)}")
    print(
        f"model: universal construction, d=1, N={args.N}, m={args.m}, timestep scaling: {loops} loops, "
        f"width {g.embedding_width}, feed-forward {g.ff_width}, {g.heads} head(s) of size {g.head_size}, float64, "
        f"batch {args.batch}"
    )

    # The limit is the machine's: the fastest the block's matmuls run at any thread count measured.
    counts = thread_counts(args.threads, device)
    results: list[tuple[str, float]] = []
    limit_seconds = float("inf")
    peak = 0.0
    eager_out = None
    for threads in counts:
        torch.set_num_threads(threads)
        if device.type != "cuda":
            gemm = matmul_flops(dtype=torch.float64)
            peak = max(peak, gemm)
            print(f"[{threads} thread(s)] fp64 matmul (2048³): {gemm / 1e9:.1f} GFLOP/s")
        mm_seconds, mm_flops = matmul_limit(
            rows, g.embedding_width, g.ff_width, g.heads, g.head_size, args.repeats, device
        )
        limit_seconds = min(limit_seconds, mm_seconds)
        print(
            f"[{threads} thread(s)] matmuls of one loop alone: {mm_seconds * 1e6:.1f} µs "
            f"({mm_flops / mm_seconds / 1e9:.2f} GFLOP/s at these shapes)"
        )
        with torch.no_grad():
            out = model(X)
            eager = best_time(lambda: model(X), args.repeats, device)
        eager_out = out if eager_out is None else eager_out
        if not torch.equal(out, eager_out):
            raise SystemExit("eager outputs differ between thread counts")
        results.append((f"eager, {threads} thread(s)", args.batch * loops / eager))
        if args.compile:
            results.extend(_compiled(model, X, loops, eager_out, args, device, threads))
    limit = args.batch / limit_seconds
    print(
        f"matmul-bound limit for these shapes: {limit_seconds * 1e6:.1f} µs of matmuls per loop "
        f"→ {limit / 1e6:.3f} M sequence-loops/s"
    )
    flops_per_sequence_loop = mm_flops / args.batch
    for name, rate in results:
        share = f", {flops_per_sequence_loop * rate / peak:.2%} of the fp64 peak" if peak else ""
        print(f"{name}: {rate / 1e6:.3f} M sequence-loops/s = {rate / limit:.1%} of the matmul-bound limit{share}")
    if peak:
        print(
            f"fp64 peak (best 2048³ GEMM): {peak / 1e9:.1f} GFLOP/s; {flops_per_sequence_loop:.0f} FLOPs of matrix "
            f"products per sequence-loop"
        )
    best_name, best_rate = max(results, key=lambda item: item[1])
    print(
        f"best: {best_name}, {best_rate / 1e6:.3f} M sequence-loops/s, {best_rate / limit:.1%} of the matmul-bound limit "
        f"(aim: >= 25%)"
    )
    if args.exact_batch > 0:
        torch.set_num_threads(1)
        _exact_rates(built.model.spec, X[: args.exact_batch].cpu(), loops, "this spec (timestep scaling)")
        unscaled = universal_spec(target, 1.0 / args.m, timestep=False).model
        fraction_rate = _exact_rates(
            unscaled, X[: args.exact_batch].cpu(), unscaled.loops, "the same grid without timestep scaling"
        )
        start = time.perf_counter()
        ExactEvaluator(unscaled).forward(X.cpu())
        seconds = time.perf_counter() - start
        print(
            f"exact backend alone, without timestep scaling, batch {args.batch}: "
            f"{args.batch * unscaled.loops / seconds:.0f} sequence-loops/s ({seconds:.2f} s), "
            f"{args.batch * unscaled.loops / seconds / fraction_rate:.0f}× Fraction evaluation's rate"
        )


def _exact_rates(spec, X: torch.Tensor, loops: int, label: str) -> float:
    """Sequence-loops per second of the batched exact backend and of Fraction evaluation, one
    thread, on the same sequences; their outputs must be the same rationals. Returns Fraction
    evaluation's rate."""
    start = time.perf_counter()
    evaluator = ExactEvaluator(spec)
    batched = evaluator.exact(X)
    batched_seconds = time.perf_counter() - start
    start = time.perf_counter()
    fractions = [exact_forward(spec, sample.tolist()) for sample in X]
    fraction_seconds = time.perf_counter() - start
    if batched != fractions:
        raise SystemExit("the exact backend and Fraction evaluation disagree")
    work = len(X) * loops
    print(
        f"exact, {label}, {loops} loops, {len(X)} sequences, 1 thread: batched backend "
        f"{work / batched_seconds:.0f} sequence-loops/s, Fraction evaluation {work / fraction_seconds:.0f}: "
        f"{fraction_seconds / batched_seconds:.1f}× (outputs identical)"
    )
    return work / fraction_seconds


def _compiled(model, X, loops, eager_out, args, device, threads) -> list[tuple[str, float]]:
    """The loop with the block under torch.compile; kept only when bit-identical to eager."""
    try:
        block = torch.compile(model.block, dynamic=False, mode=args.compile_mode)

        def compiled(X: torch.Tensor) -> torch.Tensor:  # LoopedTransformer.forward with the block compiled
            Z = model.embed(X)
            for t in range(1, loops + 1):
                Z = block(Z, None if model.modulation is None else model.modulation(t), None)
            return model.readout(Z)

        with torch.no_grad():
            start = time.perf_counter()
            compiled_out = compiled(X)
            _synchronise(device)
            compile_seconds = time.perf_counter() - start
            seconds = best_time(lambda: compiled(X), args.repeats, device)
    except Exception as error:  # report, do not hide: compile support varies by platform
        print(f"torch.compile failed: {type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}")
        return []
    same = bool(torch.equal(compiled_out, eager_out))
    print(
        f"[{threads} thread(s)] torch.compile of the block (mode {args.compile_mode}): first call {compile_seconds:.1f} s, "
        f"outputs bit-identical to eager: {same}"
    )
    return [(f"torch.compile (block), {threads} thread(s)", args.batch * loops / seconds)] if same else []


if __name__ == "__main__":
    main()
