"""A user's bound as mathematics, never code: a whitelisted expression grammar built into sympy.

A claimed bound B(r, d, N, p, δ, ω, ω^tok, ω^cont) is read from text without evaluating any
Python. The text is parsed by :func:`ast.parse` (``mode="eval"``) and every node is checked
against a whitelist:

- numbers: int and float literals (no complex, strings, bytes, booleans or None);
- names: exactly the allowed symbols (:data:`USER_SYMBOLS` by default: r, d, N, p, delta, w,
  w_tok, w_cont, the shared symbols of :data:`loopbound.theory.bounds.approximation.SYMBOLS`, so ``w`` is
  always the one modulus the caller assigns) and the constants ``pi`` and ``E``;
- operators: ``+ - * /``, power as ``**`` or ``^``, unary ``+``/``-``;
- calls, by name and with positional arguments only, to :data:`FUNCTIONS`: exp, log (natural,
  or ``log(x, base)``), sqrt, min/Min and max/Max (two or more arguments), Abs/abs, floor, ceiling.

Everything else (attributes, subscripts, comprehensions, lambda, keyword arguments, strings,
comparisons, ``and``/``or``, ``Symbol(...)``, ``open(...)``) is refused with one line, before
anything is built. ``Piecewise`` is refused too: write a bound with pieces through min/max.

The sympy expression is then built node by node from the tree. Numbers are exact: an int literal
is a sympy Integer, a float literal the exact rational its float64 value is (``0.1`` is
3602879701896397/2^55), so constant arithmetic is rational and ``1e19 + 9 - 1e19`` is 9 (sympy
Floats of 60 bits made it 16). Every constant subexpression also carries a float64 value, checked
as it is built: a constant outside float64's range (``10**400``, ``9**9**9``, ``exp(1000)``, a
power's float64 value is checked *before* sympy computes it exactly), a nonzero one that rounds to
0 (``1e-400``, ``2^-1075``), an undefined one (``1/0``, ``log(0)``, ``sqrt(-1)``, ``log(w, 0)``,
``log(w, 1)``) or a non-real one is refused; the finished expression must be finite and real (no
zoo, oo, nan or I) with no constant exponent above
:data:`~loopbound.theory.bounds.grammar.MAX_EXPONENT` in magnitude. Input
length, tree depth and node count are limited, so parsing always ends quickly.

Each operation that can be undefined — a division, a negative or non-integer power, a logarithm —
is also recorded *as written* (:attr:`loopbound.theory.bounds.core.Bound.domain`) before sympy's
simplification could cancel it: ``w_cont/w_cont`` is the expression 1 but undefined where
ω^cont = 0, and a bound is refused at values where a recorded subexpression is undefined.

The whitelist (symbols, constants, functions, limits, the tree's shape) is
:mod:`loopbound.theory.bounds.grammar`; the exact building and its float64 guards are
:mod:`loopbound.theory.bounds.builder`; this module reads the text and returns the bound.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence

import sympy

from loopbound.theory.bounds.approximation import SYMBOLS
from loopbound.theory.bounds.builder import Builder, check_finite
from loopbound.theory.bounds.core import Bound, Provenance
from loopbound.theory.bounds.grammar import (
    CONSTANTS,
    FUNCTIONS,
    MAX_DEPTH,
    MAX_LENGTH,
    MAX_NODES,
    USER_SYMBOLS,
    Refused,
    check_size,
)
from loopbound.theory.errors import InputError

__all__ = [
    "USER_SYMBOLS",
    "FUNCTIONS",
    "CONSTANTS",
    "MAX_LENGTH",
    "MAX_DEPTH",
    "MAX_NODES",
    "parse_expression",
    "parse_bound",
]


def parse_expression(text: str, *, symbols: Sequence[str] = USER_SYMBOLS, what: str = "--bound") -> sympy.Expr:
    """The sympy expression of ``text`` in ``symbols`` (module docstring for the grammar). Anything
    outside the grammar, undefined, not finite or not real is :class:`InputError` with one line
    naming ``what``."""
    return _parse(text, symbols, what)[0]


def _parse(
    text: str, symbols: Sequence[str], what: str
) -> tuple[sympy.Expr, tuple[sympy.Expr, ...], tuple[sympy.Rational, ...]]:
    """The expression, its domain conditions (:class:`Builder`: the subexpressions, as written,
    that must be finite reals wherever the bound is evaluated) and its float literals' exact values."""
    if not isinstance(text, str):
        raise InputError(f"{what} must be a string, got {type(text).__name__}")
    shown = text if len(text) <= 80 else text[:77] + "..."
    if not text.strip():
        raise InputError(f"{what} is empty")
    if len(text) > MAX_LENGTH:
        raise InputError(f"{what} {shown!r} is longer than {MAX_LENGTH} characters")
    unknown = [name for name in symbols if name not in SYMBOLS]
    if unknown:
        raise ValueError(f"no shared symbol(s) {', '.join(unknown)}")
    source = text.strip().replace("^", "**")  # ^ is power, as in mathematics (Python's ^ binds looser than *)
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as error:
        reason = (error.msg or "invalid syntax") + (f" at column {error.offset}" if error.offset else "")
        raise InputError(f"{what} {shown!r} does not parse: {reason}") from None
    except (RecursionError, MemoryError, ValueError):
        raise InputError(f"{what} {shown!r} does not parse: too deeply nested or malformed") from None
    try:
        check_size(tree)
        builder = Builder({name: SYMBOLS[name] for name in symbols}, source)
        expression = builder.build(tree).expression
        if not isinstance(expression, sympy.Expr):
            raise Refused(f"it is a {type(expression).__name__}, not an expression")
        check_finite(expression)
    except Refused as refusal:
        raise InputError(f"{what} {shown!r} is not a mathematical expression: {refusal}") from None
    except RecursionError:
        raise InputError(f"{what} {shown!r} is not a mathematical expression: too deeply nested") from None
    return expression, tuple(builder.domain), tuple(builder.decimals)


def parse_bound(text: str, *, symbols: Sequence[str] = USER_SYMBOLS, what: str = "--bound") -> Bound:
    """A user's claimed bound B(r, d, N, p, δ, ω, ω^tok, ω^cont) from ``text`` (:func:`parse_expression`),
    evaluated in the order of ``symbols``; its provenance is "the user"."""
    expression, domain, decimals = _parse(text, symbols, what)
    provenance = Provenance(source="the user", statement=f"claimed bound {text.strip()}", status="claimed")
    return Bound(
        "claimed bound",
        expression,
        tuple(SYMBOLS[name] for name in symbols),
        provenance,
        "Given on the command line.",
        domain=domain,
        decimals=decimals,
    )
