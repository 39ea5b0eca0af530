"""Hand-set weights as exact rationals: the single source of truth of every construction.

A construction writes its block in terms of *named* residual coordinates (``"one"``, ``"count"``,
``"grid0"`` …) with :class:`fractions.Fraction` coefficients:

- an :class:`Affine` form Σ c_name · z_name + c₀ over the coordinates;
- a feed-forward :class:`Unit` computes ReLU(pre) and adds ``out[name]`` times it to coordinates;
- an attention :class:`Head` of size 1 has query, key and value forms (no constant: use ``one``)
  and routes its output to coordinates; a :class:`WideHead` of size s has s of each (the score is
  the inner product of the s query and key forms, value component b is routed by ``out[b]``).

From one :class:`LoopedSpec`, :func:`to_module` builds the float :class:`~loopbound.constructions.blocks.LoopedTransformer`
(complete state dict, loaded strictly: a missing or misshapen weight is an error, CONTRIBUTING.md §2) and
:mod:`loopbound.constructions.exact` evaluates the same weights in exact rational arithmetic. There is no
second hand-written implementation that could silently disagree.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction

import torch
from torch import nn

from loopbound.constructions.blocks import (
    FeedForward,
    LoopedTransformer,
    MultiHeadAttention,
    ResidualBlock,
    TableModulation,
)
from loopbound.theory.errors import InputError
from loopbound.theory.numerics import require_bits

Number = int | Fraction


def _fraction(value: Number | float) -> Fraction:
    return value if isinstance(value, Fraction) else Fraction(value)


class Affine:
    """An affine form Σ c_name · z_name + constant over named coordinates, with exact coefficients."""

    __slots__ = ("terms", "constant")

    def __init__(self, terms: Mapping[str, Number] | None = None, constant: Number = 0) -> None:
        self.terms: dict[str, Fraction] = {k: _fraction(v) for k, v in (terms or {}).items() if v != 0}
        self.constant = _fraction(constant)

    def __add__(self, other: Affine | Number) -> Affine:
        if not isinstance(other, Affine):
            return Affine(self.terms, self.constant + _fraction(other))
        terms = dict(self.terms)
        for name, coefficient in other.terms.items():
            terms[name] = terms.get(name, Fraction(0)) + coefficient
        return Affine(terms, self.constant + other.constant)

    __radd__ = __add__

    def __neg__(self) -> Affine:
        return Affine({k: -v for k, v in self.terms.items()}, -self.constant)

    def __sub__(self, other: Affine | Number) -> Affine:
        return self + (-other if isinstance(other, Affine) else -_fraction(other))

    def __rsub__(self, other: Number) -> Affine:
        return (-self) + other

    def __mul__(self, scalar: Number) -> Affine:
        scalar = _fraction(scalar)
        return Affine({k: v * scalar for k, v in self.terms.items()}, self.constant * scalar)

    __rmul__ = __mul__

    def __repr__(self) -> str:
        parts = [f"{v}·{k}" for k, v in self.terms.items()]
        if self.constant or not parts:
            parts.append(str(self.constant))
        return " + ".join(parts)

    def names(self) -> set[str]:
        return set(self.terms)


def var(name: str) -> Affine:
    """The coordinate ``name`` as an affine form."""
    return Affine({name: 1})


@dataclass(frozen=True)
class Unit:
    """One hidden unit: ReLU(pre), added to ``out[name]``·ReLU(pre) on each named coordinate."""

    pre: Affine
    out: Mapping[str, Fraction]
    label: str = ""


@dataclass(frozen=True)
class Head:
    """An attention head of size 1: score(n, k) = λ·q(z_n)·k(z_k), value v(z_k), routed to ``out``."""

    query: Affine
    key: Affine
    value: Affine
    out: Mapping[str, Fraction]
    label: str = ""


@dataclass(frozen=True)
class WideHead:
    """An attention head of size s: score(n, k) = λ·Σ_a q_a(z_n)·k_a(z_k); value component b,
    v_b(z_k), is added to ``out[b][name]`` times it on each named coordinate (W_O's column b)."""

    queries: tuple[Affine, ...]
    keys: tuple[Affine, ...]
    values: tuple[Affine, ...]
    out: tuple[Mapping[str, Fraction], ...]
    label: str = ""

    def __post_init__(self) -> None:
        if not len(self.queries) == len(self.keys) >= 1 or len(self.values) != len(self.out) or not self.values:
            raise ValueError(
                f"head {self.label}: as many query as key forms, as many value forms as outputs, at least one of each"
            )


AnyHead = Head | WideHead


def head_rows(
    head: AnyHead,
) -> tuple[tuple[Affine, ...], tuple[Affine, ...], tuple[Affine, ...], tuple[Mapping[str, Fraction], ...]]:
    """(query forms, key forms, value forms, output routes) of a head of any size."""
    if isinstance(head, Head):
        return (head.query,), (head.key,), (head.value,), (head.out,)
    return head.queries, head.keys, head.values, head.out


def head_size(head: AnyHead) -> int:
    """The head's size: its number of query (and key) forms, or of value forms if more."""
    queries, _, values, _ = head_rows(head)
    return max(len(queries), len(values))


@dataclass(frozen=True)
class BlockSpec:
    """One block's exact weights over named coordinates."""

    coordinates: tuple[str, ...]
    heads: tuple[AnyHead, ...]
    units: tuple[Unit, ...]
    attention: str = "hardmax"
    inverse_temperature: Fraction = Fraction(1)
    ff_bias: Mapping[str, Fraction] = field(default_factory=dict)

    def __post_init__(self) -> None:
        known = set(self.coordinates)
        if len(known) != len(self.coordinates):
            raise ValueError("coordinate names must be distinct")
        for unit in self.units:
            self._check(unit.pre.names() | set(unit.out), known, unit.label or repr(unit.pre))
        for head in self.heads:
            queries, keys, values, routes = head_rows(head)
            names: set[str] = set()
            for form in (*queries, *keys, *values):
                if form.constant != 0:
                    raise ValueError(f"head {head.label}: attention forms take no constant; use the 'one' coordinate")
                names |= form.names()
            for route in routes:
                names |= set(route)
            self._check(names, known, head.label)
        self._check(set(self.ff_bias), known, "feed-forward bias")

    @staticmethod
    def _check(names: set[str], known: set[str], where: str) -> None:
        unknown = names - known
        if unknown:
            raise ValueError(f"{where}: unknown coordinates {sorted(unknown)}")

    def index(self, name: str) -> int:
        return self.coordinates.index(name)

    @property
    def width(self) -> int:
        return len(self.coordinates)

    @property
    def head_size(self) -> int:
        """The size every head is stored with (the largest head's; 1 when there is none)."""
        return max((head_size(head) for head in self.heads), default=1)

    def parameter_count(self) -> int:
        """Parameters of :func:`block_module`'s block: 4·H·s·w for the attention (at least one
        head), hidden·(w + 1) + (hidden + 1)·w for the feed-forward (hidden ≥ 1)."""
        heads, hidden, width = max(1, len(self.heads)), max(1, len(self.units)), self.width
        return 4 * heads * self.head_size * width + hidden * (width + 1) + (hidden + 1) * width


@dataclass(frozen=True)
class LoopedSpec:
    """L₂ ∘ block^r ∘ L₁ with exact weights.

    ``embed[name]``: the coordinate ``name`` after L₁ as an affine form of the input features
    ``in0 … in{d_in−1}`` (coordinates not listed start at 0). ``readout``: d_out affine forms of the
    coordinates. ``ff_gate(t)``, when given, is the timestep scaling η(t): a mapping from coordinate
    to the factor on the feed-forward update of that coordinate in loop t (others: 1), and
    ``ff_gate_after`` the factors for every loop past the table (others: 1).
    """

    block: BlockSpec
    d_in: int
    embed: Mapping[str, Affine]
    readout: tuple[Affine, ...]
    loops: int
    ff_gate: Sequence[Mapping[str, Fraction]] | None = None
    ff_gate_after: Mapping[str, Fraction] | None = None

    def gate(self, t: int) -> Mapping[str, Fraction] | None:
        """The feed-forward factors of loop t (None: no timestep scaling)."""
        if self.ff_gate is None:
            return None
        if 1 <= t <= len(self.ff_gate):
            return self.ff_gate[t - 1]
        return self.ff_gate_after or {}

    def input_names(self) -> list[str]:
        return [f"in{i}" for i in range(self.d_in)]

    def parameter_count(self) -> int:
        """Parameters of :func:`to_module`'s model: L₁ (d_in + 1)·w, the block, L₂ (w + 1)·d_out."""
        width = self.block.width
        return (self.d_in + 1) * width + self.block.parameter_count() + (width + 1) * len(self.readout)

    def weights(self) -> Iterable[Fraction]:
        """Every coefficient of the spec (for precision checks)."""
        for form in self.embed.values():
            yield from form.terms.values()
            yield form.constant
        for form in self.readout:
            yield from form.terms.values()
            yield form.constant
        for unit in self.block.units:
            yield from unit.pre.terms.values()
            yield unit.pre.constant
            yield from unit.out.values()
        for head in self.block.heads:
            queries, keys, values, routes = head_rows(head)
            for form in (*queries, *keys, *values):
                yield from form.terms.values()
            for route in routes:
                yield from route.values()
        yield from self.block.ff_bias.values()
        for gate in self.ff_gate or ():
            yield from gate.values()
        yield from (self.ff_gate_after or {}).values()


def dyadic_bits(value: Fraction) -> int | None:
    """Significand bits needed to store ``value`` exactly in binary floating point; None if its
    denominator is not a power of two (no binary float holds it exactly)."""
    denominator = value.denominator
    if denominator & (denominator - 1):
        return None
    numerator = abs(value.numerator)
    if numerator == 0:
        return 1
    while numerator % 2 == 0:
        numerator //= 2
    return numerator.bit_length()


def _matrix(rows: Sequence[Mapping[str, Fraction]], columns: Sequence[str], dtype: torch.dtype) -> torch.Tensor:
    index = {name: i for i, name in enumerate(columns)}
    out = torch.zeros(len(rows), len(columns), dtype=dtype)
    for r, row in enumerate(rows):
        for name, coefficient in row.items():
            out[r, index[name]] = float(coefficient)
    return out


def block_state_dict(block: BlockSpec, dtype: torch.dtype = torch.float64, prefix: str = "") -> dict[str, torch.Tensor]:
    """The complete state dict of the :class:`ResidualBlock` that ``block`` describes."""
    names = block.coordinates
    rows = [head_rows(head) for head in block.heads] or [((), (), (), ())]
    size = block.head_size

    def stacked(forms_of: list[tuple[Affine, ...]]) -> torch.Tensor:  # [H, s, w]: row a of head h is its a-th form
        padded = [[form.terms for form in forms] + [{}] * (size - len(forms)) for forms in forms_of]
        return torch.stack([_matrix(head, names, dtype) for head in padded])

    W_O = torch.stack(
        [_matrix(list(row[3]) + [{}] * (size - len(row[3])), names, dtype).T for row in rows]
    ).contiguous()  # [H, w, s]: column b of head h routes its value component b
    W_Q = stacked([queries for queries, _, _, _ in rows])
    W_K = stacked([keys for _, keys, _, _ in rows])
    W_V = stacked([values for _, _, values, _ in rows])
    units = list(block.units) or [Unit(Affine(), {})]
    return {
        f"{prefix}attention.W_Q": W_Q,
        f"{prefix}attention.W_K": W_K,
        f"{prefix}attention.W_V": W_V,
        f"{prefix}attention.W_O": W_O,
        f"{prefix}feed_forward.W_in": _matrix([u.pre.terms for u in units], names, dtype),
        f"{prefix}feed_forward.b_in": torch.tensor([float(u.pre.constant) for u in units], dtype=dtype),
        f"{prefix}feed_forward.W_out": _matrix([u.out for u in units], names, dtype).T.contiguous(),
        f"{prefix}feed_forward.b_out": _matrix([block.ff_bias], names, dtype)[0],
    }


def block_module(block: BlockSpec, *, dtype: torch.dtype = torch.float64) -> ResidualBlock:
    """The :class:`ResidualBlock` of ``block``, its state dict loaded strictly."""
    width, hidden = block.width, max(1, len(block.units))
    attention = MultiHeadAttention(
        width,
        max(1, len(block.heads)),
        block.head_size,
        block.attention,  # type: ignore[arg-type]
        inverse_temperature=float(block.inverse_temperature),
        dtype=dtype,
    )
    module = ResidualBlock(attention, FeedForward(width, hidden, dtype=dtype))
    module.load_state_dict(block_state_dict(block, dtype), strict=True)
    return module.requires_grad_(False)


def state_dict(spec: LoopedSpec, dtype: torch.dtype = torch.float64) -> dict[str, torch.Tensor]:
    """The complete state dict of the :class:`LoopedTransformer` that ``spec`` describes."""
    names = spec.block.coordinates
    inputs = spec.input_names()
    embed_forms = [spec.embed.get(name, Affine()) for name in names]
    return {
        "embed.weight": _matrix([form.terms for form in embed_forms], inputs, dtype),
        "embed.bias": torch.tensor([float(form.constant) for form in embed_forms], dtype=dtype),
        **block_state_dict(spec.block, dtype, prefix="block."),
        "readout.weight": _matrix([form.terms for form in spec.readout], names, dtype),
        "readout.bias": torch.tensor([float(form.constant) for form in spec.readout], dtype=dtype),
    }


def to_module(
    spec: LoopedSpec,
    *,
    dtype: torch.dtype = torch.float64,
    device: torch.device | str | None = None,
    precision_bits: int | None = None,
) -> LoopedTransformer:
    """Build the float module of ``spec``; refuse ``dtype`` if it has fewer than ``precision_bits``
    significand bits (the construction's own statement of what its values need)."""
    if precision_bits is not None:
        require_bits(precision_bits, dtype, "this construction")
    block = spec.block
    width = block.width
    model_block = block_module(block, dtype=dtype)
    embed = nn.Linear(spec.d_in, width, dtype=dtype)
    readout = nn.Linear(width, len(spec.readout), dtype=dtype)
    modulation = None
    if spec.ff_gate is not None:
        table = torch.ones(len(spec.ff_gate), width, dtype=dtype)
        for t, gate in enumerate(spec.ff_gate):
            for name, factor in gate.items():
                table[t, block.index(name)] = float(factor)
        after = torch.ones(width, dtype=dtype)
        for name, factor in (spec.ff_gate_after or {}).items():
            after[block.index(name)] = float(factor)
        modulation = TableModulation(table, after)
    model = LoopedTransformer(
        embed, model_block, readout, loops=spec.loops, modulation=modulation, precision_bits=precision_bits
    )
    weights = state_dict(spec, dtype)
    if modulation is not None:
        weights["modulation.table"] = modulation.table
        weights["modulation.after"] = modulation.after
    model.load_state_dict(weights, strict=True)
    model.requires_grad_(False)
    return model.to(device) if device is not None else model


def max_weight_bits(spec: LoopedSpec) -> int | None:
    """The most significand bits any coefficient needs (None if one is not dyadic)."""
    most = 1
    for value in spec.weights():
        bits = dyadic_bits(value)
        if bits is None:
            return None
        most = max(most, bits)
    return most


def check_input_width(spec: LoopedSpec, X: torch.Tensor) -> None:
    if X.dim() != 3 or X.shape[-1] != spec.d_in:
        raise InputError(f"input must be [B, N, {spec.d_in}], got {list(X.shape)}")
