"""The work and memory a command would take, estimated before it starts, and the refusal of what
cannot finish on this machine.

A command that would run for weeks or die of ``MemoryError`` halfway is refused at once, with one
line saying what it would take and the largest run of its kind that fits. Every estimate here is a
closed-form count (grid sizes, contextual ids, loops, points, pairs), turned into seconds and bytes
by rates and sizes measured on the reference machine (2 AMD EPYC cores, 24 GiB; docs/benchmarks.md)
and then made *optimistic*: the rates are about twice the fastest measured and the sizes about the
smallest, so a refusal means the run could not finish even on a good day.

Thresholds (:class:`Budget`):

- memory: :data:`MEMORY_FRACTION` (one half) of this machine's physical memory, read from
  ``MemTotal`` in ``/proc/meminfo`` (else ``os.sysconf``); the other half is for the interpreter,
  torch, and whatever else runs beside;
- time: :data:`TIME_LIMIT_S`, one day of estimated work.

Counts, for the universal construction at δ = 1/m on inputs [N, d] with d_out outputs
(:mod:`loopbound.constructions.universal`):

- K = largest valid contextual id ≈ m^{(N+1)d}; r = (m − 1) + N + K loops;
- building it walks the K + 1 value-loop entries per output coordinate in exact rational
  arithmetic: ≥ :data:`BUILD_SECONDS_PER_ENTRY` s and ≥ :data:`TABLE_BYTES_PER_ENTRY` bytes each
  (measured 6–31 µs and 197–564 bytes per id, d_out ∈ {1, 2}), twice the bytes with timestep
  scaling (the per-loop scales η are a second table); without it the K signs of the walk are packed
  into one K-bit register integer bit by bit, which costs ≥ :data:`REGISTER_SECONDS_PER_BIT_SQUARED`
  × K² s (quadratic: measured 2.3·10⁻¹¹ K² s for K ∈ {10⁵, 4·10⁵});
- evaluating it costs points × loops × N token-loops at :data:`TOKEN_LOOPS_PER_SECOND` (measured
  ≤ 9.5 M on the CPU; the CUDA rate is an unmeasured generous guess).

The modulus search at a grid of k values of δ screens k × S candidate pairs [N, d] at once and
refines k × R of them for ``steps`` steps: memory ≈ :data:`SEARCH_BYTES_PER_ENTRY` × k × S × N × d
bytes (measured 11–17 × 8 per entry), time ≈ k × (S + 3·R·steps) × 2Nd target entries at
:data:`TARGET_ENTRIES_PER_SECOND` (measured ≈ 3·10⁷) per modulus kind.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from loopbound.theory.errors import InputError

MEMORY_FRACTION = 0.5
"""The share of physical memory a single command may plan to use."""
TIME_LIMIT_S = 86_400.0
"""The longest estimated run accepted: one day."""
TOKEN_LOOPS_PER_SECOND = {"cpu": 2e7, "cuda": 2e9}
"""Looped evaluation, token-loops per second (one token through one loop of one block)."""
EXACT_SECONDS_PER_TOKEN_LOOP_KILOBIT = 1e-6
"""Exact evaluation (:mod:`loopbound.constructions.exact_batch`): seconds per token-loop per 1000 bits
of the construction's widest integer, plus one 1000-bit unit for the fixed cost (measured 1.5–3.0 µs
per token-loop at 520–1055 bits, 3.4 µs at 4101 bits, d ≤ 2, N ≤ 2, 1024 points: about twice this)."""
BUILD_SECONDS_PER_ENTRY = 5e-6
"""Building the construction: seconds per value-loop entry and output coordinate."""
TABLE_BYTES_PER_ENTRY = 192
"""Building the construction: bytes per value-loop entry and output coordinate (×2 with timestep)."""
REGISTER_SECONDS_PER_BIT_SQUARED = 1e-11
"""Building the unscaled construction: seconds per squared register bit (per output coordinate)."""
TARGET_ENTRIES_PER_SECOND = 3e8
"""Modulus search: input entries through the target (forward or backward) per second."""
SEARCH_BYTES_PER_ENTRY = 80
"""Modulus search: bytes per screened input entry (several [k·S, N, d] float64 tensors at once)."""
PAIRS_PER_SECOND = 2e9
"""All-pairs modulus of samples: unordered pairs per second (measured ≤ 0.83 G on 2 cores)."""
LARGE = 2.0**1000
"""Counts beyond this are reported as 2^x without being computed exactly."""


class WorkTooLarge(InputError):
    """A command would take more time or memory than this machine allows; one line says how much."""


def physical_memory() -> int:
    """Bytes of physical memory: ``MemTotal`` of /proc/meminfo, else pages × page size."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return 8 << 30


@dataclass(frozen=True)
class Budget:
    """What one command may use: ``memory_bytes`` of memory and ``seconds`` of estimated work."""

    memory_bytes: float
    seconds: float

    @classmethod
    def here(cls) -> Budget:
        """This machine's budget (module docstring: half its memory, a day)."""
        return cls(memory_bytes=MEMORY_FRACTION * physical_memory(), seconds=TIME_LIMIT_S)

    def fits(self, estimate: Estimate) -> bool:
        return estimate.seconds <= self.seconds and estimate.memory_bytes <= self.memory_bytes


@dataclass(frozen=True)
class Estimate:
    """Seconds and bytes a piece of work needs, and what it counts (``work``, e.g. ``3e13 loops``)."""

    seconds: float
    memory_bytes: float
    work: tuple[str, ...] = ()

    def __add__(self, other: Estimate) -> Estimate:
        return Estimate(self.seconds + other.seconds, self.memory_bytes + other.memory_bytes, self.work + other.work)


# --------------------------------------------------------------------------- formatting
def count(value: float | int) -> str:
    """A count for a message: ``3.2e+13``, ``2^3000`` beyond :data:`LARGE`, plain below 10⁴."""
    if isinstance(value, int) and value > LARGE:
        return f"2^{value.bit_length() - 1}"
    if value == math.inf:
        return "more than 2^1000"
    return f"{value:.0f}" if value < 1e4 else f"{value:.2g}"


def duration(seconds: float) -> str:
    """``40 s``, ``12 min``, ``3.1 h``, ``2.4e+05 days``."""
    if seconds == math.inf:
        return "more than 10^300 s"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * 86_400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86_400:.2g} days"


def size(num_bytes: float) -> str:
    """``512 MiB``, ``3.2 GiB``, ``1.1e+04 TiB``."""
    if num_bytes == math.inf:
        return "more than 2^1000 bytes"
    for unit, scale in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20)):
        if num_bytes >= scale:
            return f"{num_bytes / scale:.3g} {unit}"
    return f"{num_bytes / 2**10:.3g} KiB"


def _float(value: int | float) -> float:
    return math.inf if value > LARGE else float(value)


def refuse_unless_fits(what: str, estimate: Estimate, budget: Budget, feasible: str) -> None:
    """Raise :class:`WorkTooLarge` (one line) when ``estimate`` exceeds ``budget``: what the work is,
    the time and memory it would take, this machine's limits and ``feasible`` (the largest run that
    fits, in the command's own terms)."""
    if budget.fits(estimate):
        return
    work = " and ".join(estimate.work)
    about = lambda text: text if text.startswith("more") else f"~{text}"
    raise WorkTooLarge(
        f"{what} needs {work} ({about(duration(estimate.seconds))} and {about(size(estimate.memory_bytes))} of memory, "
        f"estimated optimistically); this machine allows a day of work and {size(budget.memory_bytes)} "
        f"(half its memory); {feasible}"
    )


# --------------------------------------------------------------------------- the universal construction
def log2_largest_id(m: int, d: int, N: int) -> float:
    """log₂ K without computing K: K < m^{(N+1)d}."""
    return (N + 1) * d * math.log2(m)


def largest_id(m: int, d: int, N: int) -> int | float:
    """K (exact) where it is below 2^1000, else ``inf`` (cheap for any m, d, N)."""
    if log2_largest_id(m, d, N) > 1000:
        return math.inf
    from loopbound.constructions.universal import largest_valid_id

    return largest_valid_id(m, d, N)


def construction_loops(m: int, d: int, N: int) -> int | float:
    """r = (m − 1) + N + K for the universal construction at δ = 1/m (``inf`` beyond 2^1000)."""
    K = largest_id(m, d, N)
    return K if K == math.inf else (m - 1) + N + K


def build_estimate(m: int, d: int, N: int, d_out: int, *, timestep: bool) -> Estimate:
    """Building the universal construction at δ = 1/m (module docstring)."""
    K = largest_id(m, d, N)
    entries = _float(K) + 1.0
    per_entry = TABLE_BYTES_PER_ENTRY * (2 if timestep else 1)
    loops = construction_loops(m, d, N)
    register = 0.0 if timestep else entries * entries * REGISTER_SECONDS_PER_BIT_SQUARED
    return Estimate(
        seconds=d_out * (entries * BUILD_SECONDS_PER_ENTRY + register),
        memory_bytes=entries * d_out * per_entry,
        work=(
            (
                f"a value table of {count(K if K == math.inf else K + 1)} entries per output coordinate "
                f"({count(loops)} loops at delta = 1/{count(m)})"
            ),
        ),
    )


def evaluation_estimate(points: int | float, loops: int | float, N: int, device: str) -> Estimate:
    """Evaluating a looped model: ``points`` inputs of N tokens through ``loops`` loops each."""
    token_loops = _float(points) * _float(loops) * N
    rate = TOKEN_LOOPS_PER_SECOND["cuda" if device.startswith("cuda") else "cpu"]
    return Estimate(
        seconds=token_loops / rate, memory_bytes=0.0, work=(f"{count(_float(points) * _float(loops))} sequence-loops",)
    )


def exact_evaluation_estimate(points: int | float, loops: int | float, N: int, bits: int | float) -> Estimate:
    """Evaluating a construction in exact integer arithmetic: ``points`` inputs of N tokens through
    ``loops`` loops, its integers up to ``bits`` bits wide (:data:`EXACT_SECONDS_PER_TOKEN_LOOP_KILOBIT`)."""
    token_loops = _float(points) * _float(loops) * N
    seconds = token_loops * (1.0 + _float(bits) / 1000.0) * EXACT_SECONDS_PER_TOKEN_LOOP_KILOBIT
    return Estimate(
        seconds=seconds,
        memory_bytes=0.0,
        work=(f"{count(_float(points) * _float(loops))} sequence-loops in exact arithmetic at {count(bits)} bits",),
    )


def points_measured(samples: int, scramblings: int) -> int:
    """Points :func:`loopbound.theory.error_measure.measure_error` evaluates: ⌈samples/R⌉ rounded up to a power
    of two, times R."""
    per = max(2, math.ceil(samples / scramblings))
    return (1 << (per - 1).bit_length()) * scramblings


def largest_grid(fits: Callable[[int], bool], smallest: int) -> int | None:
    """The largest m ≥ ``smallest`` with ``fits(m)`` (``fits`` decreasing in m), or None."""
    if not fits(smallest):
        return None
    low, high = smallest, smallest * 2
    while fits(high):
        low, high = high, high * 2
        if high > 2**64:
            return low
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if fits(middle) else (low, middle)
    return low


def smallest_grid(d: int, N: int) -> int:
    """The smallest m whose grid holds N distinct cells (m^d ≥ N, m ≥ 2)."""
    m = 2
    while m**d < N:
        m = max(m + 1, int(round(N ** (1.0 / d))))
    return m


# --------------------------------------------------------------------------- the modulus search
def search_estimate(deltas: int, N: int, d: int, *, kinds: int, screen: int, restarts: int, steps: int) -> Estimate:
    """The modulus search (:mod:`loopbound.theory.modulus_search`) over ``deltas`` values of δ, per the module
    docstring; ``kinds`` searches run one after the other."""
    entries = float(deltas) * N * d
    refine = min(restarts, screen) * steps * 3
    return Estimate(
        seconds=kinds * entries * (screen + refine) * 2 / TARGET_ENTRIES_PER_SECOND,
        memory_bytes=SEARCH_BYTES_PER_ENTRY * entries * screen,
        work=(f"{count(kinds * deltas * (screen + refine))} target evaluations of {count(N * d)} entries",),
    )


def pairs_estimate(n: int) -> Estimate:
    """The all-pairs modulus of n samples: n(n − 1)/2 pairs."""
    pairs = n * (n - 1) / 2
    return Estimate(seconds=pairs / PAIRS_PER_SECOND, memory_bytes=0.0, work=(f"{count(pairs)} pairs",))
