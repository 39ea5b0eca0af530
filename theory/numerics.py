"""One precision and device policy for the whole toolkit (CONTRIBUTING.md §4).

- Constructions compute in float64 unless told otherwise; each states the bits it needs, and
  :func:`require_bits` refuses a dtype that cannot hold them (nothing returns silent garbage).
- Floating-point capacity: a dtype with t significand bits (float64: 53) represents every integer
  of magnitude ≤ 2^t exactly, and sums/differences of such integers exactly while they stay below it.
- Devices: ``auto`` takes CUDA when present; library code never calls ``.cuda()``, it takes a
  ``torch.device``. No TF32 or autocast is switched on anywhere.
- CPU threads: :func:`intra_op_threads` is the one way library code changes torch's intra-op
  thread count, and it restores the caller's count afterwards. The constructions run hundreds of
  tiny GEMMs per pass whose cost is synchronisation, not arithmetic: on a 2-core machine with one
  other busy process two threads gave 0.42× of one thread's throughput, while on an idle one they
  gave 1.1–1.3× (docs/benchmarks.md, "Looped evaluation"), so the stages that run beside other work
  evaluate them with one thread.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager

import torch

from loopbound.theory.errors import InputError, PrecisionError

SIGNIFICAND_BITS: dict[torch.dtype, int] = {
    torch.float16: 11,
    torch.bfloat16: 8,
    torch.float32: 24,
    torch.float64: 53,
}


def significand_bits(dtype: torch.dtype) -> int:
    """Bits of significand (with the implicit bit) of a floating dtype."""
    if dtype not in SIGNIFICAND_BITS:
        raise InputError(f"dtype {dtype} is not a floating-point dtype loopbound computes in")
    return SIGNIFICAND_BITS[dtype]


def bits_for_integer(magnitude: float) -> int:
    """Significand bits needed to hold every integer of absolute value ≤ ``magnitude`` exactly."""
    if magnitude < 1:
        return 1
    return max(1, math.ceil(math.log2(magnitude + 1)))


def require_bits(bits: int, dtype: torch.dtype, what: str) -> None:
    """Raise :class:`PrecisionError` (one line) if ``dtype`` has fewer than ``bits`` significand bits."""
    available = significand_bits(dtype)
    if bits > available:
        raise PrecisionError(
            f"{what} needs {bits} bits of precision; {str(dtype).replace('torch.', '')} has {available}"
            + (
                " (use float64)"
                if bits <= 53
                else " (beyond float64: exact arithmetic evaluates it, e.g. verify --arithmetic auto or exact)"
            )
        )


def resolve_device(spec: str | torch.device = "auto") -> torch.device:
    """``auto`` → CUDA when available, else CPU; ``cpu``, ``cuda``, ``cuda:1`` as given. Asking for
    CUDA on a machine without it is an :class:`InputError`, not a crash deep inside torch."""
    if isinstance(spec, torch.device):
        device = spec
    elif spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    else:
        try:
            device = torch.device(spec)
        except (RuntimeError, TypeError):
            raise InputError(f"unknown device {spec!r}; use auto, cpu, cuda or cuda:N") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise InputError(f"device {spec} asked for, but this machine has no CUDA device")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise InputError(f"device {spec} asked for, but only {torch.cuda.device_count()} CUDA device(s) exist")
    elif device.type != "cpu":
        raise InputError(f"device {spec!r} is not supported; use auto, cpu, cuda or cuda:N")
    return device


@contextmanager
def intra_op_threads(count: int) -> Iterator[None]:
    """Run the body with ``count`` torch intra-op threads, restoring the previous count afterwards
    (also when the body raises). Why one thread is usually the right count for loopbound's narrow
    models on a small CPU: module docstring."""
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise InputError(f"intra-op threads must be an integer >= 1, got {count!r}")
    previous = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
