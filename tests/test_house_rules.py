"""The house rules on size and references (CONTRIBUTING.md §12), checked over the tree.

- Every function (methods and nested functions included) in loopbound/, theory/ and constructions/
  is under :data:`MAX_FUNCTION_LINES` lines, counted ``end_lineno − lineno + 1`` from its ``def``
  line, docstring included (decorators not counted).
- Every module there is under :data:`MAX_MODULE_LINES` lines unless its module docstring says why
  it is one idea, by containing the phrase :data:`ONE_IDEA`.
- No file of the repository (code, docs, notebooks, Makefile, pyproject, CI) names a file outside
  it: the mathematics is cited as docs/theory.md §N, the habits as CONTRIBUTING.md §N, the layout
  as docs/architecture.md.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE_FOLDERS = ("loopbound", "theory", "constructions")
MAX_FUNCTION_LINES = 80
"""A function must be shorter than this (so at most 79 lines)."""
MAX_MODULE_LINES = 450
"""A module must be shorter than this unless its docstring contains :data:`ONE_IDEA`."""
ONE_IDEA = "is one idea"

# Spelled in pieces so that this file does not name them itself.
FORBIDDEN = ("theory" + "-notes", "STYLE" + ".md", "DESIGN" + ".md", "../" + "shared")
"""Names of files outside the repository that nothing in it may mention."""

SKIPPED_DIRECTORIES = {
    ".git",
    ".venv",
    "__pycache__",
    ".pytest_cache",
    ".hypothesis",
    ".mypy_cache",
    ".ruff_cache",
    ".typecheck",
    ".ipynb_checkpoints",
    "build",
    "dist",
    "runs",
}
"""Folders that are not part of the repository (the ignored ones of .gitignore, and caches)."""


def _package_modules() -> list[Path]:
    return sorted(path for folder in PACKAGE_FOLDERS for path in (ROOT / folder).rglob("*.py"))


def _function_lengths(source: str) -> Iterator[tuple[str, int, int]]:
    """(qualified name, first line, length in lines) of every function in ``source``, nested ones
    included."""

    def walk(node: ast.AST, prefix: str) -> Iterator[tuple[str, int, int]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                name = prefix + child.name
                assert child.end_lineno is not None
                yield name, child.lineno, child.end_lineno - child.lineno + 1
                yield from walk(child, name + ".")
            elif isinstance(child, ast.ClassDef):
                yield from walk(child, prefix + child.name + ".")
            else:
                yield from walk(child, prefix)

    return walk(ast.parse(source), "")


def _repository_files() -> Iterator[Path]:
    """Every file of the repository's tree outside :data:`SKIPPED_DIRECTORIES`, the build's
    ``*.egg-info`` and the top-level ``figures/`` output folder."""
    stack = [ROOT]
    while stack:
        folder = stack.pop()
        for path in sorted(folder.iterdir()):
            if path.is_dir():
                skipped = path.name in SKIPPED_DIRECTORIES or path.name.endswith(".egg-info")
                if not skipped and not (folder == ROOT and path.name == "figures"):
                    stack.append(path)
            elif path.is_file():
                yield path


def test_the_function_length_counts_the_def_line_to_the_last_line_docstring_included() -> None:
    source = (
        'class A:\n    def f(self):\n        """Doc."""\n\n        def g():\n            return 1\n\n        return g\n'
    )
    assert list(_function_lengths(source)) == [("A.f", 2, 7), ("A.f.g", 5, 2)]


def test_every_function_in_the_package_is_under_80_lines() -> None:
    modules = _package_modules()
    assert len(modules) > 50, f"found only {len(modules)} modules under {PACKAGE_FOLDERS}"
    long = [
        f"{path.relative_to(ROOT)}:{line} {name} ({length} lines)"
        for path in modules
        for name, line, length in _function_lengths(path.read_text(encoding="utf-8"))
        if length >= MAX_FUNCTION_LINES
    ]
    assert not long, f"functions of {MAX_FUNCTION_LINES} lines or more (split them into named steps): " + "; ".join(
        long
    )


def test_every_module_is_under_450_lines_or_says_why_it_is_one_idea() -> None:
    long = []
    for path in _package_modules():
        source = path.read_text(encoding="utf-8")
        lines = len(source.splitlines())
        if lines < MAX_MODULE_LINES:
            continue
        docstring = ast.get_docstring(ast.parse(source)) or ""
        if ONE_IDEA not in " ".join(docstring.split()):
            long.append(f"{path.relative_to(ROOT)} ({lines} lines)")
    assert not long, (
        f"modules of {MAX_MODULE_LINES} lines or more whose docstring does not say why it {ONE_IDEA!r}: "
        + "; ".join(long)
    )


def test_no_file_in_the_repository_names_a_file_outside_it() -> None:
    files = list(_repository_files())
    names = {path.relative_to(ROOT).as_posix() for path in files}
    assert {"Makefile", "pyproject.toml", "README.md", "CONTRIBUTING.md", "docs/theory.md"} <= names
    found = []
    for path in files:
        data = path.read_bytes()
        if b"\0" in data:  # a binary file
            continue
        text = data.decode("utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), start=1):
            found += [f"{path.relative_to(ROOT)}:{number}: {name}" for name in FORBIDDEN if name in line]
    assert not found, "mentions of files outside the repository: " + "; ".join(found)
