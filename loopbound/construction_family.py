"""Construction families: the constructions ``loopbound verify`` builds, indexed by grid m.

A family is any module with ``build_universal`` (or ``build``), ``loops_for_grid`` and
``grid_for_loops`` of the universal construction's signatures. The default,
:mod:`loopbound.constructions.universal`, is imported statically; a user's family comes from a
module name or a ``.py`` file (``--construction``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from loopbound.constructions import universal
from loopbound.theory.errors import InputError
from loopbound.user_code import import_file, import_module

__all__ = ["DEFAULT_CONSTRUCTION", "ConstructionFamily", "load_family", "smallest_budget"]

DEFAULT_CONSTRUCTION = "loopbound.constructions.universal"
"""The name of the default family, as results report it."""


@dataclass(frozen=True)
class ConstructionFamily:
    """A family of constructions indexed by grid m: ``build(target, delta, *, timestep, dtype,
    device)`` returns a module with ``.guarantee`` and ``.loops``; ``loops_for_grid(m, d, N, *,
    timestep)`` its loop count; ``grid_for_loops(r, d, N, *, timestep)`` the largest m that fits in
    r loops (None if none)."""

    name: str
    build: Callable[..., Any]
    loops_for_grid: Callable[..., int]
    grid_for_loops: Callable[..., int | None]


def _family_from(module: Any, name: str) -> ConstructionFamily:
    build = getattr(module, "build_universal", None) or getattr(module, "build", None)
    missing = [
        n
        for n, v in (
            ("build_universal or build", build),
            ("loops_for_grid", getattr(module, "loops_for_grid", None)),
            ("grid_for_loops", getattr(module, "grid_for_loops", None)),
        )
        if not callable(v)
    ]
    if missing or build is None:
        raise InputError(f"construction {name} lacks {', '.join(missing)}")
    return ConstructionFamily(name, build, module.loops_for_grid, module.grid_for_loops)


def load_family(spec: str = DEFAULT_CONSTRUCTION) -> ConstructionFamily:
    """A construction family from a module name (``loopbound.constructions.universal``) or a ``.py`` file."""
    if spec == DEFAULT_CONSTRUCTION:
        return _family_from(universal, spec)
    if spec.endswith(".py"):
        module = import_file(spec, prefix="loopbound_user_construction")
    else:
        module = import_module(spec, context=f"--construction {spec}")
    return _family_from(module, spec)


def smallest_budget(family: ConstructionFamily, d: int, N: int, timestep: bool) -> int | None:
    """The loop count of the family's smallest grid (m = 1, else m = 2) at d, N; None if neither builds."""
    for m in (1, 2):
        try:
            return int(family.loops_for_grid(m, d, N, timestep=timestep))
        except Exception:
            continue
    return None
