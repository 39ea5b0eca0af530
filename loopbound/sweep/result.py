"""Typed results of sweep cells: frozen dataclasses that are stored as JSON objects.

A shipped cell kind's ``run`` returns a :class:`CellResult` (a frozen dataclass, one per kind, in
the kind's module); the store writes its :meth:`~JsonRecord.to_record` and the in-process engine
(:func:`loopbound.sweep.compute`) reads a record back with the kind's ``from_record``, so in-process
callers see attributes while the file stays plain JSON. :class:`JsonRecord` is the one mapping
between the two: one JSON key per field (a nested :class:`JsonRecord` is a JSON object, a tuple a
JSON list, a ``Mapping`` field a JSON object kept whole), and a field marked :data:`REST` collects
the keys of no other field. ``from_record(to_record(x)) == x`` for every value.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from typing import Any, Protocol, TypeVar, runtime_checkable

__all__ = ["CellResult", "JsonRecord", "REST", "result_record"]

REST: Mapping[str, bool] = {"rest": True}
"""``dataclasses.field(metadata=REST)``: this Mapping field holds the record's other keys."""

T = TypeVar("T", bound="JsonRecord")


@runtime_checkable
class CellResult(Protocol):
    """A cell's result: its JSON record and back (``from_record`` is a classmethod)."""

    def to_record(self) -> dict[str, Any]: ...


class JsonRecord:
    """Mixin for a frozen dataclass stored as a JSON object with one key per field (module docstring)."""

    def to_record(self) -> dict[str, Any]:
        """The JSON object: every field under its name (a :data:`REST` field's keys spread in)."""
        record: dict[str, Any] = {}
        for field in dataclasses.fields(self):  # type: ignore[arg-type]
            value = getattr(self, field.name)
            if field.metadata.get("rest"):
                record.update({key: _encode(item) for key, item in value.items()})
            else:
                record[field.name] = _encode(value)
        return record

    @classmethod
    def from_record(cls: type[T], record: Mapping[str, Any]) -> T:
        """The value of a JSON object written by :meth:`to_record`; a missing key (of a field
        without a default) or an unknown one is a ValueError naming it."""
        if not isinstance(record, Mapping):
            raise ValueError(f"{cls.__name__}: expected a JSON object, got {type(record).__name__}")
        hints = typing.get_type_hints(cls)
        fields = dataclasses.fields(cls)  # type: ignore[arg-type]
        rest = [field.name for field in fields if field.metadata.get("rest")]
        named = {field.name for field in fields if not field.metadata.get("rest")}
        unknown = sorted(set(record) - named)
        if unknown and not rest:
            raise ValueError(f"{cls.__name__}: unknown keys {unknown}")
        values: dict[str, Any] = {name: _decode(hints[name], record[name]) for name in named if name in record}
        for field in fields:
            required = field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING
            if required and field.name in named and field.name not in record:
                raise ValueError(f"{cls.__name__}: missing key {field.name!r}")
        if rest:
            values[rest[0]] = {key: record[key] for key in unknown}
        return cls(**values)


def result_record(result: Any) -> dict[str, Any]:
    """The JSON record of a cell's result: a typed result's ``to_record()``, a mapping copied."""
    if isinstance(result, JsonRecord) or isinstance(result, CellResult):
        return result.to_record()
    return dict(result)


def _encode(value: Any) -> Any:
    if isinstance(value, JsonRecord):
        return value.to_record()
    if isinstance(value, (tuple, list)):
        return [_encode(item) for item in value]
    if isinstance(value, Mapping):
        return {key: _encode(item) for key, item in value.items()}
    return value


def _fits(hint: Any, value: Any) -> bool:
    """Whether a JSON value can be of the type ``hint`` (chooses the branch of a union)."""
    origin = typing.get_origin(hint) or hint
    if hint is Any:
        return True
    if isinstance(origin, type) and issubclass(origin, (JsonRecord, Mapping)):
        return isinstance(value, Mapping)
    if origin is tuple:
        return isinstance(value, list)
    return isinstance(origin, type) and isinstance(value, origin)


def _decode(hint: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(hint):
            if arg is not type(None) and _fits(arg, value):
                return _decode(arg, value)
        return value
    if isinstance(hint, type) and issubclass(hint, JsonRecord):
        return hint.from_record(value)
    if origin is tuple and isinstance(value, list):
        args = typing.get_args(hint)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_decode(args[0], item) for item in value)
        return tuple(_decode(arg, item) for arg, item in zip(args, value)) if args else tuple(value)
    if origin is not None and isinstance(origin, type) and issubclass(origin, Mapping) and isinstance(value, Mapping):
        return dict(value)
    return value
