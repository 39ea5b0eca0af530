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
zoo, oo, nan or I) with no constant exponent above :data:`MAX_EXPONENT` in magnitude. Input
length, tree depth and node count are limited, so parsing always ends quickly.

Each operation that can be undefined — a division, a negative or non-integer power, a logarithm —
is also recorded *as written* (:attr:`loopbound.theory.bounds.core.Bound.domain`) before sympy's
simplification could cancel it: ``w_cont/w_cont`` is the expression 1 but undefined where
ω^cont = 0, and a bound is refused at values where a recorded subexpression is undefined.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import sympy
from loopbound.theory.bounds.approximation import SYMBOLS
from loopbound.theory.bounds.core import Bound, Provenance
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
class _Function:
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


_MIN = _Function(sympy.Min, min, 2, None)
_MAX = _Function(sympy.Max, max, 2, None)
_ABS = _Function(sympy.Abs, abs, 1, 1)
FUNCTIONS: dict[str, _Function] = {
    "exp": _Function(sympy.exp, math.exp, 1, 1),
    "log": _Function(lambda x, base=None: sympy.log(x) if base is None else sympy.log(x, base), _log, 1, 2),
    "sqrt": _Function(sympy.sqrt, _sqrt, 1, 1),
    "min": _MIN,
    "Min": _MIN,
    "max": _MAX,
    "Max": _MAX,
    "abs": _ABS,
    "Abs": _ABS,
    "floor": _Function(sympy.floor, lambda x: float(math.floor(x)), 1, 1),
    "ceiling": _Function(sympy.ceiling, lambda x: float(math.ceil(x)), 1, 1),
}
"""Functions a bound may call, by name (positional arguments only)."""

_BINARY = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**", ast.BitXor: "^"}


class _Refused(Exception):
    """A node outside the grammar; the message says what is not allowed."""


@dataclass(frozen=True)
class _Built:
    """A built subexpression and, where it is constant, its float64 value."""

    expression: sympy.Expr
    value: float | None


def _describe(node: ast.AST) -> str:
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


def _float(value: float) -> float:
    if not math.isfinite(value):
        raise _Refused("a constant in it overflows float64")
    return value


class _Builder:
    """Walks the checked tree bottom-up into sympy: constant subtrees exactly (rationals stay
    rationals) with a float64 value alongside for the range checks, and every operation that can
    be undefined (a division, a negative or non-integer power, a logarithm) recorded in ``domain``
    as written, before sympy's simplification could cancel it (``w/w`` → 1)."""

    def __init__(self, symbols: dict[str, sympy.Symbol], source: str) -> None:
        self.symbols = symbols
        self.source = source
        self.domain: list[sympy.Expr] = []
        self.decimals: list[sympy.Rational] = []  # float literals' exact values, shown as decimals

    def _require_defined(self, expression: sympy.Expr) -> None:
        """Record an unevaluated subexpression that must be a finite real wherever the bound is used."""
        if expression.free_symbols and expression not in self.domain:
            self.domain.append(expression)

    def build(self, node: ast.AST) -> _Built:
        if isinstance(node, ast.Expression):
            return self.build(node.body)
        if isinstance(node, ast.Constant):
            return self._constant(node.value, ast.get_source_segment(self.source, node) or repr(node.value))
        if isinstance(node, ast.Name):
            return self._name(node.id)
        if isinstance(node, ast.UnaryOp):
            if not isinstance(node.op, (ast.UAdd, ast.USub)):
                raise _Refused(f"the operator {type(node.op).__name__} is not allowed (only + - * / ** ^)")
            operand = self.build(node.operand)
            if isinstance(node.op, ast.UAdd):
                return operand
            return _Built(-operand.expression, None if operand.value is None else -operand.value)
        if isinstance(node, ast.BinOp):
            if type(node.op) not in _BINARY:
                raise _Refused(f"the operator {type(node.op).__name__} is not allowed (only + - * / ** ^)")
            return self._binary(node.op, self.build(node.left), self.build(node.right))
        if isinstance(node, ast.Call):
            return self._call(node)
        if isinstance(node, ast.Compare):
            raise _Refused("a comparison is not an expression (give the bound's right-hand side only)")
        if isinstance(node, ast.BoolOp):
            raise _Refused("'and'/'or' are not an expression of a bound")
        raise _Refused(f"{_describe(node)} is not allowed in a bound")

    def _constant(self, value: object, literal: str) -> _Built:
        if isinstance(value, bool) or value is None or value is Ellipsis:
            raise _Refused(f"the constant {value!r} is not a number")
        if isinstance(value, int):
            if len(str(abs(value))) > MAX_INTEGER_DIGITS:
                raise _Refused(f"an integer of more than {MAX_INTEGER_DIGITS} digits is outside float64's range")
            try:
                numeric = float(value)
            except OverflowError:
                raise _Refused(f"the constant {value} overflows float64") from None
            return _Built(sympy.Integer(value), _float(numeric))
        if isinstance(value, float):
            # the literal's float64 value exactly: constant arithmetic on it is then exact (a sympy
            # Float of 60 bits turned 1e19 + 9 - 1e19 into 16)
            if value == 0.0 and _nonzero_literal(literal):
                raise _Refused(f"the constant {literal} underflows float64 (it is not 0, but rounds to 0)")
            exact = sympy.Rational(_float(value))
            if not exact.is_Integer and exact not in self.decimals:
                self.decimals.append(exact)
            return _Built(exact, value)
        if isinstance(value, complex):
            raise _Refused("complex numbers are not allowed (a bound is real)")
        if isinstance(value, (str, bytes)):
            raise _Refused("strings are not allowed in a bound")
        raise _Refused(f"the constant {value!r} is not a number")

    def _name(self, name: str) -> _Built:
        if name in self.symbols:
            return _Built(self.symbols[name], None)
        if name in CONSTANTS:
            constant = CONSTANTS[name]
            return _Built(constant, float(constant))
        if name in FUNCTIONS:
            raise _Refused(f"{name} is a function: call it, as in {name}(w)")
        allowed = ", ".join((*self.symbols, *CONSTANTS))
        raise _Refused(f"unknown symbol {name!r} (allowed: {allowed})")

    def _binary(self, op: ast.operator, left: _Built, right: _Built) -> _Built:
        a, b = left.expression, right.expression
        constant = left.value is not None and right.value is not None
        if (
            isinstance(op, ast.Div)
            and right.value is not None
            and (b.is_zero is True or (right.value == 0.0 and b.is_zero is not False))
        ):
            raise _Refused("it divides by zero")
        if isinstance(op, (ast.Pow, ast.BitXor)):  # ** or ^: a power
            if left.value is None and right.value is not None and abs(right.value) > MAX_EXPONENT:
                raise _Refused(f"a constant exponent above {MAX_EXPONENT:g} in magnitude is not allowed")
            # the float64 value first: it refuses 9**9**9 before sympy would compute it exactly
            value = _numeric_binary(op, left.value, right.value) if constant else None
            expression = sympy.Pow(a, b)
            if not (b.is_Integer and b.is_nonnegative):
                self._require_defined(sympy.Pow(a, b, evaluate=False))
        else:
            if isinstance(op, ast.Add):
                expression = a + b
            elif isinstance(op, ast.Sub):
                expression = a - b
            elif isinstance(op, ast.Mult):
                expression = a * b
            else:
                expression = a / b
                self._require_defined(sympy.Pow(b, -1, evaluate=False))
            value = None
            if constant and not expression.is_Rational:
                value = _numeric_binary(op, left.value, right.value)
        if constant and expression.is_Rational:  # exact: 1e19 + 9 - 1e19 is 9
            value = _exact_value(expression)
        return _Built(expression, value)

    def _call(self, node: ast.Call) -> _Built:
        if not isinstance(node.func, ast.Name):
            raise _Refused(f"only calls of named functions are allowed, not {_describe(node.func)}")
        name = node.func.id
        if name == "Piecewise":
            raise _Refused("Piecewise is not supported (write the pieces with min/max)")
        if name not in FUNCTIONS:
            raise _Refused(f"unknown function {name!r} (allowed: {', '.join(sorted(set(FUNCTIONS)))})")
        if node.keywords:
            raise _Refused(f"keyword arguments are not allowed ({name})")
        if any(isinstance(argument, ast.Starred) for argument in node.args):
            raise _Refused(f"starred arguments are not allowed ({name})")
        function = FUNCTIONS[name]
        count = len(node.args)
        if count < function.least or (function.most is not None and count > function.most):
            wanted = (
                f"{function.least}"
                if function.most == function.least
                else (f"{function.least} or more" if function.most is None else f"{function.least} to {function.most}")
            )
            raise _Refused(f"{name} takes {wanted} argument(s), got {count}")
        arguments = [self.build(argument) for argument in node.args]
        value = None
        if all(argument.value is not None for argument in arguments):
            try:
                value = _float(float(function.numeric(*(argument.value for argument in arguments))))
            except OverflowError:
                raise _Refused(f"{name}(...) of a constant overflows float64") from None
            except (ValueError, ZeroDivisionError) as error:
                raise _Refused(f"{name}(...) of a constant is undefined: {error}") from None
        expressions = [argument.expression for argument in arguments]
        if name == "log":
            self._log_domain(arguments)
        elif name == "sqrt":
            self._require_defined(sympy.Pow(expressions[0], sympy.S.Half, evaluate=False))
        expression = function.build(*expressions)
        if value is not None and expression.is_Rational:
            value = _exact_value(expression)
        return _Built(expression, value)

    def _log_domain(self, arguments: list[_Built]) -> None:
        """log(x) needs x > 0; log(x, b) = log(x)/log(b) needs b > 0 and b ≠ 1 too (sympy reads
        log(w, 0) as log(w)/zoo = 0: a constant base is checked here, exactly)."""
        self._require_defined(sympy.log(arguments[0].expression, evaluate=False))
        if len(arguments) < 2:
            return
        base = arguments[1]
        if base.value is not None:
            if base.expression.is_positive is not True or (base.expression - 1).is_zero is not False:
                raise _Refused(
                    f"log to base {base.expression} is not a finite real number (a base must be > 0 and not 1)"
                )
            return
        log_base = sympy.log(base.expression, evaluate=False)
        self._require_defined(log_base)
        self._require_defined(sympy.Pow(log_base, -1, evaluate=False))


def _nonzero_literal(literal: str) -> bool:
    """Whether a float literal's digits (before any exponent) are not all zero: ``1e-400`` is a
    nonzero number that Python rounds to 0.0, ``0e5`` is 0."""
    mantissa = literal.lower().replace("_", "").split("e")[0]
    return any(digit in mantissa for digit in "123456789")


def _exact_value(number: sympy.Rational) -> float:
    """The float64 nearest an exact rational constant (Python's int division rounds correctly),
    refusing one beyond float64's range and a nonzero one that rounds to 0 (below 2^-1074)."""
    numerator, denominator = int(number.p), int(number.q)
    try:
        value = numerator / denominator
    except OverflowError:
        raise _Refused("a constant in it overflows float64") from None
    if value == 0.0 and numerator != 0:
        raise _Refused("a constant in it underflows float64 (nonzero, but it rounds to 0)")
    return _float(value)


def _numeric_binary(op: ast.operator, x: float, y: float) -> float:
    """x op y in float64, refusing overflow, division by zero and non-real powers."""
    try:
        if isinstance(op, ast.Add):
            result = x + y
        elif isinstance(op, ast.Sub):
            result = x - y
        elif isinstance(op, ast.Mult):
            result = x * y
        elif isinstance(op, ast.Div):
            result = x / y
        else:
            if x < 0 and not float(y).is_integer():
                raise _Refused("a negative number to a non-integer power is not real")
            result = math.pow(x, y)
            if result == 0.0 and x != 0.0:
                raise _Refused("a constant power in it underflows float64")
    except ZeroDivisionError:
        raise _Refused("it divides by zero") from None
    except OverflowError:
        raise _Refused("a constant in it overflows float64") from None
    except ValueError as error:  # math.pow(0, -1)
        raise _Refused(f"a constant power is undefined ({error})") from None
    return _float(result)


def _check_size(tree: ast.AST) -> None:
    """Refuse trees deeper than :data:`MAX_DEPTH` or larger than :data:`MAX_NODES` (iteratively)."""
    count = 0
    stack: list[tuple[ast.AST, int]] = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        count += 1
        if depth > MAX_DEPTH:
            raise _Refused(f"it is nested more than {MAX_DEPTH} deep")
        if count > MAX_NODES:
            raise _Refused(f"it has more than {MAX_NODES} parts")
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))


def _check_finite(expression: sympy.Expr) -> None:
    """Refuse a built expression that is not finite and real: zoo, oo, nan, I anywhere in it."""
    bad = [
        atom
        for atom in expression.atoms(sympy.Number, sympy.NumberSymbol)
        if atom.is_finite is False or atom is sympy.nan or atom.is_extended_real is False
    ]
    if expression.has(sympy.zoo, sympy.oo, -sympy.oo, sympy.nan, sympy.I) or bad:
        raise _Refused("it is not a finite real number (it contains zoo, oo, nan or I)")
    for atom in expression.atoms(sympy.Rational):
        _exact_value(atom)  # within float64's range, and not a nonzero that rounds to 0
    for power in expression.atoms(sympy.Pow):
        if power.exp.is_Number and abs(power.exp) > MAX_EXPONENT:  # (w^1000)^1000 = w^1000000
            raise _Refused(f"a constant exponent above {MAX_EXPONENT:g} in magnitude is not allowed")


def parse_expression(text: str, *, symbols: Sequence[str] = USER_SYMBOLS, what: str = "--bound") -> sympy.Expr:
    """The sympy expression of ``text`` in ``symbols`` (module docstring for the grammar). Anything
    outside the grammar, undefined, not finite or not real is :class:`InputError` with one line
    naming ``what``."""
    return _parse(text, symbols, what)[0]


def _parse(
    text: str, symbols: Sequence[str], what: str
) -> tuple[sympy.Expr, tuple[sympy.Expr, ...], tuple[sympy.Rational, ...]]:
    """The expression, its domain conditions (:class:`_Builder`: the subexpressions, as written,
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
        _check_size(tree)
        builder = _Builder({name: SYMBOLS[name] for name in symbols}, source)
        expression = builder.build(tree).expression
        if not isinstance(expression, sympy.Expr):
            raise _Refused(f"it is a {type(expression).__name__}, not an expression")
        _check_finite(expression)
    except _Refused as refusal:
        raise InputError(f"{what} {shown!r} is not a mathematical expression: {refusal}") from None
    except RecursionError:
        raise InputError(f"{what} {shown!r} is not a mathematical expression: too deeply nested") from None
    return expression, tuple(builder.domain), tuple(builder.decimals)


def parse_bound(text: str, *, symbols: Sequence[str] = USER_SYMBOLS, what: str = "--bound") -> Bound:
    """A user's claimed bound B(r, d, N, p, δ, ω, ω^tok, ω^cont) from ``text`` (:func:`parse_expression`),
    evaluated in the order of ``symbols``; its provenance is "the user"."""
    expression, domain, decimals = _parse(text, symbols, what)
    provenance = Provenance(source="the user", statement=f"claimed bound {text.strip()}", status="paper")
    return Bound(
        "claimed bound",
        expression,
        tuple(SYMBOLS[name] for name in symbols),
        provenance,
        "Given on the command line.",
        domain=domain,
        decimals=decimals,
    )
