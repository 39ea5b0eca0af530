"""A checked bound's tree built into an exact sympy expression, with float64 guards on its constants.

:class:`Builder` walks the tree (its nodes are refused by :class:`~loopbound.theory.bounds.grammar.Refused`
where they are outside the whitelist) bottom-up into sympy: numbers exactly (a float literal is the
rational its float64 value is), every constant subexpression with its float64 value alongside,
checked as it is built (overflow, underflow of a nonzero, undefined or non-real values are refused),
and every operation that can be undefined recorded as written in ``domain``. :func:`check_finite`
refuses a finished expression that is not finite and real or has too large a constant exponent
(:mod:`loopbound.theory.bounds.parse` states the whole grammar).
"""

from __future__ import annotations

import ast
import math
from dataclasses import dataclass

import sympy

from loopbound.theory.bounds.grammar import (
    BINARY_OPERATORS,
    CONSTANTS,
    FUNCTIONS,
    MAX_EXPONENT,
    MAX_INTEGER_DIGITS,
    Refused,
    describe,
)

__all__ = ["Built", "Builder", "check_finite"]


@dataclass(frozen=True)
class Built:
    """A built subexpression and, where it is constant, its float64 value."""

    expression: sympy.Expr
    value: float | None


def _float(value: float) -> float:
    if not math.isfinite(value):
        raise Refused("a constant in it overflows float64")
    return value


class Builder:
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

    def build(self, node: ast.AST) -> Built:
        if isinstance(node, ast.Expression):
            return self.build(node.body)
        if isinstance(node, ast.Constant):
            return self._constant(node.value, ast.get_source_segment(self.source, node) or repr(node.value))
        if isinstance(node, ast.Name):
            return self._name(node.id)
        if isinstance(node, ast.UnaryOp):
            if not isinstance(node.op, (ast.UAdd, ast.USub)):
                raise Refused(f"the operator {type(node.op).__name__} is not allowed (only + - * / ** ^)")
            operand = self.build(node.operand)
            if isinstance(node.op, ast.UAdd):
                return operand
            return Built(-operand.expression, None if operand.value is None else -operand.value)
        if isinstance(node, ast.BinOp):
            if type(node.op) not in BINARY_OPERATORS:
                raise Refused(f"the operator {type(node.op).__name__} is not allowed (only + - * / ** ^)")
            return self._binary(node.op, self.build(node.left), self.build(node.right))
        if isinstance(node, ast.Call):
            return self._call(node)
        if isinstance(node, ast.Compare):
            raise Refused("a comparison is not an expression (give the bound's right-hand side only)")
        if isinstance(node, ast.BoolOp):
            raise Refused("'and'/'or' are not an expression of a bound")
        raise Refused(f"{describe(node)} is not allowed in a bound")

    def _constant(self, value: object, literal: str) -> Built:
        if isinstance(value, bool) or value is None or value is Ellipsis:
            raise Refused(f"the constant {value!r} is not a number")
        if isinstance(value, int):
            if len(str(abs(value))) > MAX_INTEGER_DIGITS:
                raise Refused(f"an integer of more than {MAX_INTEGER_DIGITS} digits is outside float64's range")
            try:
                numeric = float(value)
            except OverflowError:
                raise Refused(f"the constant {value} overflows float64") from None
            return Built(sympy.Integer(value), _float(numeric))
        if isinstance(value, float):
            # the literal's float64 value exactly: constant arithmetic on it is then exact (a sympy
            # Float of 60 bits turned 1e19 + 9 - 1e19 into 16)
            if value == 0.0 and _nonzero_literal(literal):
                raise Refused(f"the constant {literal} underflows float64 (it is not 0, but rounds to 0)")
            exact = sympy.Rational(_float(value))
            if not exact.is_Integer and exact not in self.decimals:
                self.decimals.append(exact)
            return Built(exact, value)
        if isinstance(value, complex):
            raise Refused("complex numbers are not allowed (a bound is real)")
        if isinstance(value, (str, bytes)):
            raise Refused("strings are not allowed in a bound")
        raise Refused(f"the constant {value!r} is not a number")

    def _name(self, name: str) -> Built:
        if name in self.symbols:
            return Built(self.symbols[name], None)
        if name in CONSTANTS:
            constant = CONSTANTS[name]
            return Built(constant, float(constant))
        if name in FUNCTIONS:
            raise Refused(f"{name} is a function: call it, as in {name}(w)")
        allowed = ", ".join((*self.symbols, *CONSTANTS))
        raise Refused(f"unknown symbol {name!r} (allowed: {allowed})")

    def _binary(self, op: ast.operator, left: Built, right: Built) -> Built:
        a, b = left.expression, right.expression
        constant = left.value is not None and right.value is not None
        if (
            isinstance(op, ast.Div)
            and right.value is not None
            and (b.is_zero is True or (right.value == 0.0 and b.is_zero is not False))
        ):
            raise Refused("it divides by zero")
        if isinstance(op, (ast.Pow, ast.BitXor)):  # ** or ^: a power
            if left.value is None and right.value is not None and abs(right.value) > MAX_EXPONENT:
                raise Refused(f"a constant exponent above {MAX_EXPONENT:g} in magnitude is not allowed")
            # the float64 value first: it refuses 9**9**9 before sympy would compute it exactly
            value = None if left.value is None or right.value is None else _numeric_binary(op, left.value, right.value)
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
            if left.value is not None and right.value is not None and not expression.is_Rational:
                value = _numeric_binary(op, left.value, right.value)
        if constant and expression.is_Rational:  # exact: 1e19 + 9 - 1e19 is 9
            value = _exact_value(expression)
        return Built(expression, value)

    def _call(self, node: ast.Call) -> Built:
        if not isinstance(node.func, ast.Name):
            raise Refused(f"only calls of named functions are allowed, not {describe(node.func)}")
        name = node.func.id
        if name == "Piecewise":
            raise Refused("Piecewise is not supported (write the pieces with min/max)")
        if name not in FUNCTIONS:
            raise Refused(f"unknown function {name!r} (allowed: {', '.join(sorted(set(FUNCTIONS)))})")
        if node.keywords:
            raise Refused(f"keyword arguments are not allowed ({name})")
        if any(isinstance(argument, ast.Starred) for argument in node.args):
            raise Refused(f"starred arguments are not allowed ({name})")
        function = FUNCTIONS[name]
        count = len(node.args)
        if count < function.least or (function.most is not None and count > function.most):
            wanted = (
                f"{function.least}"
                if function.most == function.least
                else (f"{function.least} or more" if function.most is None else f"{function.least} to {function.most}")
            )
            raise Refused(f"{name} takes {wanted} argument(s), got {count}")
        arguments = [self.build(argument) for argument in node.args]
        value = None
        if all(argument.value is not None for argument in arguments):
            try:
                value = _float(float(function.numeric(*(argument.value for argument in arguments))))
            except OverflowError:
                raise Refused(f"{name}(...) of a constant overflows float64") from None
            except (ValueError, ZeroDivisionError) as error:
                raise Refused(f"{name}(...) of a constant is undefined: {error}") from None
        expressions = [argument.expression for argument in arguments]
        if name == "log":
            self._log_domain(arguments)
        elif name == "sqrt":
            self._require_defined(sympy.Pow(expressions[0], sympy.S.Half, evaluate=False))
        expression = function.build(*expressions)
        if value is not None and expression.is_Rational:
            value = _exact_value(expression)
        return Built(expression, value)

    def _log_domain(self, arguments: list[Built]) -> None:
        """log(x) needs x > 0; log(x, b) = log(x)/log(b) needs b > 0 and b ≠ 1 too (sympy reads
        log(w, 0) as log(w)/zoo = 0: a constant base is checked here, exactly)."""
        self._require_defined(sympy.log(arguments[0].expression, evaluate=False))
        if len(arguments) < 2:
            return
        base = arguments[1]
        if base.value is not None:
            if base.expression.is_positive is not True or (base.expression - 1).is_zero is not False:
                raise Refused(
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
        raise Refused("a constant in it overflows float64") from None
    if value == 0.0 and numerator != 0:
        raise Refused("a constant in it underflows float64 (nonzero, but it rounds to 0)")
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
                raise Refused("a negative number to a non-integer power is not real")
            result = math.pow(x, y)
            if result == 0.0 and x != 0.0:
                raise Refused("a constant power in it underflows float64")
    except ZeroDivisionError:
        raise Refused("it divides by zero") from None
    except OverflowError:
        raise Refused("a constant in it overflows float64") from None
    except ValueError as error:  # math.pow(0, -1)
        raise Refused(f"a constant power is undefined ({error})") from None
    return _float(result)


def check_finite(expression: sympy.Expr) -> None:
    """Refuse a built expression that is not finite and real: zoo, oo, nan, I anywhere in it."""
    bad = [
        atom
        for atom in expression.atoms(sympy.Number, sympy.NumberSymbol)
        if atom.is_finite is False or atom is sympy.nan or atom.is_extended_real is False
    ]
    if expression.has(sympy.zoo, sympy.oo, -sympy.oo, sympy.nan, sympy.I) or bad:
        raise Refused("it is not a finite real number (it contains zoo, oo, nan or I)")
    for atom in expression.atoms(sympy.Rational):
        _exact_value(atom)  # within float64's range, and not a nonzero that rounds to 0
    for power in expression.atoms(sympy.Pow):
        if power.exp.is_Number and abs(power.exp) > MAX_EXPONENT:  # (w^1000)^1000 = w^1000000
            raise Refused(f"a constant exponent above {MAX_EXPONENT:g} in magnitude is not allowed")
