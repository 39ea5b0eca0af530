"""A user's bound is mathematics, never code (loopbound.theory.bounds.parse): the whitelisted grammar builds
the expression it reads, everything else is one InputError line, nothing is ever evaluated as
Python, and hostile or huge inputs end quickly. A hypothesis fuzz (random token strings and random
expression trees) asserts: a sympy expression in the allowed symbols, or InputError; never a side
effect."""

from __future__ import annotations

import ast
import builtins
import contextlib
import math
import os
import subprocess
import time
from pathlib import Path
from unittest import mock

import pytest
import sympy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loopbound.theory.bounds.approximation import SYMBOLS
from loopbound.theory.bounds.parse import MAX_LENGTH, USER_SYMBOLS, parse_bound, parse_expression
from loopbound.theory.errors import InputError

ALLOWED = {SYMBOLS[name] for name in USER_SYMBOLS}
POINT = {"r": 12.0, "d": 2.0, "N": 3.0, "p": 2.0, "delta": 0.25, "w": 0.3, "w_tok": 0.2, "w_cont": 0.1}


# --------------------------------------------------------------------------- the grammar
@pytest.mark.parametrize(
    "text, expected",
    [
        ("2^3", 8.0),
        ("-w^2", -0.09),  # ^ binds as power, tighter than unary minus, as in mathematics
        ("0.02*delta^2/w", 0.02 * 0.25**2 / 0.3),  # not (0.02*delta)^(2/w), Python's precedence of ^
        ("(N*d)^(1/p)*(w_tok + w_cont) + w + r^-0.1", 6**0.5 * 0.3 + 0.3 + 12**-0.1),
        ("log(w, 2) + log(r) + exp(-w) + sqrt(d)", math.log2(0.3) + math.log(12) + math.exp(-0.3) + math.sqrt(2)),
        ("min(w, 1, r) + max(w_tok, w_cont) + Min(1, 2) + Max(d, N)", 0.3 + 0.2 + 1 + 3),
        ("abs(w - 1) + Abs(-d) + floor(r/5) + ceiling(delta)", 0.7 + 2 + 2 + 1),
        ("pi*E + +w - -w", math.pi * math.e + 0.6),
        ("1e-300", 1e-300),
    ],
)
def test_the_grammar_builds_the_expression_it_reads(text: str, expected: float) -> None:
    bound = parse_bound(text)
    assert bound.evaluate(**POINT) == pytest.approx(expected, rel=1e-14)
    assert bound.expression.free_symbols <= ALLOWED
    assert bound.provenance.source == "the user"


def test_a_float_literal_keeps_its_float64_value_through_evaluation() -> None:
    value = 0.6840139322936072
    bound = parse_bound(f"w - {value!r}")
    assert bound.evaluate(**{**POINT, "w": value}) == 0.0  # lambdify prints the literal back exactly


def test_names_are_the_shared_symbols_never_new_ones() -> None:
    """``w`` is the one modulus the caller assigns (a second, unassigned w once became 0, the bound
    inf and "held"); Symbol/Dummy cannot be called."""
    assert parse_expression("w") is SYMBOLS["w"]
    for text in ("Symbol('w')", "Dummy('w')", "sympy.Symbol('w')", "w + Symbol('w')"):
        with pytest.raises(InputError):
            parse_bound(text)


def test_the_old_entry_point_is_the_safe_parser() -> None:
    import loopbound.verify as verify_module

    assert verify_module.parse_bound("w").expression is SYMBOLS["w"]
    assert verify_module.USER_SYMBOLS == USER_SYMBOLS
    with pytest.raises(InputError, match="unknown function 'open'"):
        verify_module.parse_bound("open('x', 'w')")


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("open('pwned.txt','w')", "unknown function 'open'"),
        ("1000*(exec(chr(95)*2+'import'+chr(95)*2+'(\"os\")') or 1)", "not a mathematical expression"),
        ("exec('1')", "unknown function 'exec'"),
        ("__import__('os')", "not a mathematical"),
        ("chr(95)*2", "unknown function 'chr'"),
        ("w.__class__", "attribute access"),
        ("w[0]", "subscript"),
        ("[w]", "a list"),
        ("(w, r)", "a tuple"),
        ("lambda: 1", "lambda"),
        ("[x for x in ()]", "comprehension"),
        ("w if r else d", "'if ... else'"),
        ("w and r", "'and'/'or'"),
        ("r < 3", "not an expression"),
        ("exp(x=1)", "keyword arguments"),
        ("exp(*w)", "starred"),
        ("'w'", "strings"),
        ("1j", "complex"),
        ("True", "not a number"),
        ("w % 2", "Mod"),
        ("w // 2", "FloorDiv"),
        ("~w", "Invert"),
        ("r*z", "unknown symbol 'z'"),
        ("foo(r)", "unknown function 'foo'"),
        ("exp", "is a function"),
        ("max(w)", "takes 2 or more"),
        ("exp(w, r)", "takes 1"),
        ("Piecewise((1, w < 1), (2, True))", "Piecewise is not supported"),
        ("r +* 2", "does not parse"),
        ("  ", "empty"),
        ("zoo", "unknown symbol 'zoo'"),
        ("I", "unknown symbol 'I'"),
        ("1+I", "unknown symbol 'I'"),
        ("oo", "unknown symbol 'oo'"),
        ("1/0", "divides by zero"),
        ("w/0", "divides by zero"),
        ("w/(w - w)", "not a finite real number"),
        ("log(0)", "undefined"),
        ("log(w, 1)", "not a finite real number"),
        ("sqrt(-1)", "not real"),
        ("(-1)**0.5", "not real"),
        ("10**400", "overflows float64"),
        ("1e308*10", "overflows float64"),
        ("exp(1000)", "overflows float64"),
        ("w*exp(exp(exp(1000)))", "overflows float64"),
        ("9**9**9", "overflows float64"),
        ("factorial(10**6)", "unknown function 'factorial'"),
        ("(1/3)**(10**9)", "underflows float64"),
        ("(3*w)**(10**9)", "exponent above"),
        ("(" * 200 + "w" + ")" * 200, ""),
        ("+".join(["w"] * 100), "nested more than"),
        ("1" * 500, "digits"),
    ],
)
def test_what_is_not_mathematics_is_one_line_and_quick(text: str, fragment: str) -> None:
    started = time.perf_counter()
    try:
        parse_bound(text)
    except InputError as error:
        message = str(error)
    else:
        assert text.startswith("(((") and fragment == ""  # redundant parentheses are fine
        return
    assert time.perf_counter() - started < 1.0
    assert "\n" not in message and fragment in message
    assert message.startswith("--bound")


def test_the_length_is_limited_and_what_names_the_field() -> None:
    with pytest.raises(InputError, match=f"longer than {MAX_LENGTH}"):
        parse_bound("w+" * MAX_LENGTH + "w")
    with pytest.raises(InputError, match='^bound "open'):
        parse_bound("open('x')", what="bound")


def test_the_symbols_can_be_narrowed() -> None:
    assert parse_bound("r*w", symbols=("r", "w")).evaluate(r=2.0, w=3.0) == 6.0
    with pytest.raises(InputError, match="unknown symbol 'delta'"):
        parse_bound("delta", symbols=("r", "w"))


# --------------------------------------------------------------------------- the fuzz
VOCABULARY = (
    "open",
    "exec",
    "eval",
    "compile",
    "chr",
    "ord",
    "__import__",
    "__class__",
    "__subclasses__",
    "lambda",
    "Symbol",
    "Dummy",
    "sympify",
    "os",
    "system",
    "getattr",
    "globals",
    "factorial",
    "Piecewise",
    "zoo",
    "oo",
    "nan",
    "I",
    "E",
    "pi",
    "w",
    "w_tok",
    "w_cont",
    "r",
    "d",
    "N",
    "p",
    "delta",
    "x",
    "exp",
    "log",
    "sqrt",
    "min",
    "max",
    "Min",
    "Max",
    "abs",
    "Abs",
    "floor",
    "ceiling",
    "0",
    "1",
    "2",
    "9",
    "0.5",
    "1e308",
    "1e-320",
    "10**400",
    "'",
    '"',
    ".",
    ",",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ":",
    ";",
    "=",
    "==",
    "<",
    "+",
    "-",
    "*",
    "/",
    "**",
    "^",
    "%",
    "//",
    "@",
    "~",
    "&",
    "|",
    " ",
    "\n",
    "\\",
    "#",
    "and",
    "or",
    "not",
    "if",
    "else",
    "for",
    "in",
    "True",
    "None",
    "j",
    "_",
    "pwned.txt",
)

DANGEROUS_CALLS = ("open", "exec", "eval", "__import__", "getattr", "Symbol", "Dummy", "chr", "print", "compile")
ALLOWED_CALLS = ("exp", "log", "sqrt", "min", "max", "Abs", "abs", "floor", "ceiling")
LEAVES = st.one_of(
    st.sampled_from(USER_SYMBOLS + ("pi", "E", "x", "zoo", "I", "__builtins__", "'pwned.txt'", "os")),
    st.integers(-(10**6), 10**6).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
)


def _trees(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    arguments = st.lists(children, min_size=0, max_size=3).map(", ".join)
    return st.one_of(
        st.tuples(
            children, st.sampled_from(["+", "-", "*", "/", "**", "^", "%", "//", "<", " and ", "|"]), children
        ).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        children.map(lambda c: f"-({c})"),
        st.tuples(st.sampled_from(ALLOWED_CALLS + DANGEROUS_CALLS), arguments).map(lambda t: f"{t[0]}({t[1]})"),
        st.tuples(st.sampled_from(ALLOWED_CALLS), children).map(lambda t: f"{t[0]}(x={t[1]})"),
        children.map(lambda c: f"({c}).__class__"),
        children.map(lambda c: f"({c})[0]"),
        children.map(lambda c: f"[{c} for _ in ()]"),
    )


EXPRESSIONS = st.recursive(LEAVES, _trees, max_leaves=12)


@contextlib.contextmanager
def _no_side_effects():
    """Anything that reaches files, processes or Python evaluation raises while parsing."""
    real_compile = builtins.compile

    def forbidden(*args, **kwargs):
        raise AssertionError("the parser reached a forbidden call")

    def ast_only(source, filename, mode, flags=0, *args, **kwargs):
        if not flags & ast.PyCF_ONLY_AST:
            raise AssertionError("the parser compiled code")
        return real_compile(source, filename, mode, flags, *args, **kwargs)

    with contextlib.ExitStack() as stack:
        for target in (
            "builtins.open",
            "builtins.exec",
            "builtins.eval",
            "os.system",
            "os.popen",
            "os.remove",
            "os.unlink",
            "os.mkdir",
            "subprocess.Popen",
            "io.open",
        ):
            stack.enter_context(mock.patch(target, forbidden))
        stack.enter_context(mock.patch("builtins.compile", ast_only))
        yield


def _check(text: str, folder: Path) -> None:
    with _no_side_effects():
        try:
            bound = parse_bound(text)
        except InputError as error:
            assert "\n" not in str(error)
            bound = None
    assert list(folder.iterdir()) == [], "parsing created a file"
    if bound is not None:
        expression = bound.expression
        assert isinstance(expression, sympy.Expr)
        assert expression.free_symbols <= ALLOWED
        assert not expression.has(sympy.zoo, sympy.oo, sympy.nan, sympy.I)


@settings(max_examples=400, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tokens=st.lists(st.sampled_from(VOCABULARY), max_size=25))
def test_fuzz_random_token_strings_parse_or_are_refused_without_side_effects(tokens, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    _check("".join(tokens), tmp_path)


@settings(max_examples=400, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=EXPRESSIONS)
def test_fuzz_random_expression_trees_parse_or_are_refused_without_side_effects(text, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    _check(text, tmp_path)


def test_the_watch_itself_catches_a_side_effect(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The fuzz's guard is not vacuous: code that opens a file or runs a command is stopped."""
    monkeypatch.chdir(tmp_path)
    with _no_side_effects():
        with pytest.raises(AssertionError, match="forbidden"):
            open("pwned.txt", "w")
        with pytest.raises(AssertionError, match="forbidden"):
            os.system("true")
        with pytest.raises(AssertionError, match="forbidden"):
            subprocess.Popen(["true"])
        with pytest.raises(AssertionError, match="compiled"):
            compile("1", "<x>", "eval")
    assert list(tmp_path.iterdir()) == []
