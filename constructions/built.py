"""What every builder returns: the built model with its guarantee, and the sizes every guarantee states.

A builder ``build_*`` (or a spec function ``*_spec``) returns one :class:`Built`: ``model`` is the
evaluable object (a float module, or the exact :class:`~loopbound.constructions.spec.LoopedSpec` for a
spec function) and ``guarantee`` the record of what the construction claims. Every guarantee provides
the fields of :class:`Guarantee` (the block's sizes and the precision it needs); the error terms a
bound reads are the theory's interface,
:class:`loopbound.theory.bounds.interface.ConstructionGuarantee`, which constructions meet by
structure, not by inheritance.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar, runtime_checkable

__all__ = ["Built", "Guarantee", "SIZE_FIELDS", "sizes"]

ModelT = TypeVar("ModelT", covariant=True)
GuaranteeT = TypeVar("GuaranteeT", covariant=True)


@dataclass(frozen=True)
class Built(Generic[ModelT, GuaranteeT]):
    """A built construction: ``model`` (what is evaluated) and ``guarantee`` (what it claims)."""

    model: ModelT
    guarantee: GuaranteeT


@runtime_checkable
class Guarantee(Protocol):
    """The sizes every construction's guarantee states.

    ``loops``: how many times the block is applied; ``embedding_width``: the residual width;
    ``ff_width``: the feed-forward hidden width; ``heads`` attention heads of size ``head_size``
    (per block); ``parameter_count``: the float module's parameters (L₁, the block or blocks, L₂);
    ``precision_bits``: the significand bits a float evaluation needs for the claim to hold (None:
    no stated need, e.g. a claim about exact arithmetic only, or nothing claimed).
    """

    @property
    def loops(self) -> int: ...

    @property
    def embedding_width(self) -> int: ...

    @property
    def ff_width(self) -> int: ...

    @property
    def heads(self) -> int: ...

    @property
    def head_size(self) -> int: ...

    @property
    def parameter_count(self) -> int: ...

    @property
    def precision_bits(self) -> int | None: ...


SIZE_FIELDS = ("loops", "embedding_width", "ff_width", "heads", "head_size", "parameter_count", "precision_bits")


def sizes(guarantee: Guarantee) -> dict[str, Any]:
    """The :class:`Guarantee` fields of ``guarantee`` as a plain dict (for reports and JSON)."""
    return {name: getattr(guarantee, name) for name in SIZE_FIELDS}
