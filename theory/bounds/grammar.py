"""The whitelist a user's bound is read by (:mod:`loopbound.theory.bounds.parse` states the grammar).

The symbols, constants and functions a bound may name, the operators it may use, the limits on its
size, and the checks of a parsed tree's shape: :class:`Refused` is a node or a value outside the
grammar (its message says what, in words a user recognises: :func:`describe`), :func:`check_size`
refuses a tree too deep or too large before anything is built.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable
from dataclasses import dataclass

import sympy

__all__ = [
    "USER_SYMBOLS",
    "CONSTANTS",
    "MAX_LENGTH",
    "MAX_DEPTH",
    "MAX_NODES",
    "MAX_INTEGER_DIGITS",
    "MAX_EXPONENT",
    "AllowedFunction",
    "FUNCTIONS",
    "BINARY_OPERATORS",
    "Refused",
    "describe",
    "check_size",
]

USER_SYMBOLS: tuple[str, ...] = ("r", "d", "N", "p", "delta", "w", "w_tok", "w_cont")
"""Symbols a user's bound may use: loop count, dimensions, p, the grid scale and the three moduli."""

CONSTANTS: dict[str, sympy.Expr] = {"pi": sympy.pi, "E": sympy.E}
"""Named constants a bound may use."""

MAX_LENGTH = 2000
"""Characters a bound may have."""
MAX_DEPTH = 60
"""Nesting depth of the expression tree a bound may have."""
MAX_NODES = 400
"""Nodes of the expression tree a bound may have."""
MAX_INTEGER_DIGITS = 400
"""Digits an integer literal may have (larger ones overflow float64 anyway)."""
MAX_EXPONENT = 1000
"""Largest constant exponent of a non-constant base (sympy distributes integer powers over
products, ``(3*w)**(10**9)`` = 3^(10^9)·w^(10^9), exactly)."""


@dataclass(frozen=True)
class AllowedFunction:
    """A whitelisted function: its sympy builder, its float64 counterpart for constant arguments,
    and how many arguments it takes (``most`` None: any number from ``least``)."""

    build: Callable[..., sympy.Expr]
    numeric: Callable[..., float]
    least: int
    most: int | None


def _log(x: float, base: float | None = None) -> float:
    if x <= 0 or (base is not None and (base <= 0 or base == 1)):
        raise ValueError("log of a nonpositive number (or to base <= 0 or 1)")
    return math.log(x) if base is None else math.log(x) / math.log(base)


def _sqrt(x: float) -> float:
    if x < 0:
        raise ValueError("sqrt of a negative number is not real")
    return math.sqrt(x)


_MIN = AllowedFunction(sympy.Min, min, 2, None)
_MAX = AllowedFunction(sympy.Max, max, 2, None)
_ABS = AllowedFunction(sympy.Abs, abs, 1, 1)
FUNCTIONS: dict[str, AllowedFunction] = {
    "exp": AllowedFunction(sympy.exp, math.exp, 1, 1),
    "log": AllowedFunction(lambda x, base=None: sympy.log(x) if base is None else sympy.log(x, base), _log, 1, 2),
    "sqrt": AllowedFunction(sympy.sqrt, _sqrt, 1, 1),
    "min": _MIN,
    "Min": _MIN,
    "max": _MAX,
    "Max": _MAX,
    "abs": _ABS,
    "Abs": _ABS,
    "floor": AllowedFunction(sympy.floor, lambda x: float(math.floor(x)), 1, 1),
    "ceiling": AllowedFunction(sympy.ceiling, lambda x: float(math.ceil(x)), 1, 1),
}
"""Functions a bound may call, by name (positional arguments only)."""

BINARY_OPERATORS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**", ast.BitXor: "^"}


class Refused(Exception):
    """A node outside the grammar; the message says what is not allowed."""


def describe(node: ast.AST) -> str:
    """What a refused node is, in words a user recognises."""
    names = {
        ast.Attribute: "attribute access ('.')",
        ast.Subscript: "a subscript ('[...]')",
        ast.Lambda: "lambda",
        ast.Compare: "a comparison",
        ast.BoolOp: "'and'/'or'",
        ast.IfExp: "'if ... else'",
        ast.List: "a list",
        ast.Tuple: "a tuple",
        ast.Dict: "a dict",
        ast.Set: "a set",
        ast.ListComp: "a comprehension",
        ast.SetComp: "a comprehension",
        ast.DictComp: "a comprehension",
        ast.GeneratorExp: "a comprehension",
        ast.Starred: "a starred argument",
        ast.JoinedStr: "a string",
        ast.NamedExpr: "':='",
        ast.Await: "await",
        ast.Yield: "yield",
        ast.YieldFrom: "yield",
        ast.Slice: "a slice",
        ast.FormattedValue: "a string",
    }
    return names.get(type(node), type(node).__name__)


def check_size(tree: ast.AST) -> None:
    """Refuse trees deeper than :data:`MAX_DEPTH` or larger than :data:`MAX_NODES` (iteratively)."""
    count = 0
    stack: list[tuple[ast.AST, int]] = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        count += 1
        if depth > MAX_DEPTH:
            raise Refused(f"it is nested more than {MAX_DEPTH} deep")
        if count > MAX_NODES:
            raise Refused(f"it has more than {MAX_NODES} parts")
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
