"""The distribution installs exactly one top-level import name, ``loopbound``.

The folders theory/ and constructions/ keep their place in the repository but install as
``loopbound.theory`` and ``loopbound.constructions`` (pyproject's package-dir mapping), so a user's
own modules named ``theory`` or ``constructions`` neither shadow nor are shadowed by loopbound's.
The tests build the wheel, read its file list, and import from an installed copy in another folder.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = {"loopbound": "loopbound", "theory": "loopbound.theory", "constructions": "loopbound.constructions"}


def _package_folders() -> set[str]:
    """Every folder with an ``__init__.py`` under the three source folders, as its installed name."""
    names = set()
    for folder, installed in FOLDERS.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            relative = init.parent.relative_to(ROOT / folder).parts
            names.add(".".join((installed, *relative)))
    return names


def test_every_package_folder_is_listed_in_pyproject() -> None:
    import tomllib

    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    assert listed == _package_folders()


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel built from a copy of the source (setuptools stages files in ./build, where files of
    an earlier build would otherwise leak into this one; the checkout stays untouched)."""
    source = tmp_path_factory.mktemp("source") / "loopbound"
    ignore = shutil.ignore_patterns(
        ".venv", ".git", "build", "runs", ".typecheck", "*.egg-info", "__pycache__", ".hypothesis"
    )
    shutil.copytree(ROOT, source, ignore=ignore)
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(source)],
        check=True,
        capture_output=True,
        text=True,
    )
    (path,) = out.glob("loopbound-*.whl")
    return path


def test_the_wheel_has_one_top_level_name(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        tops = {name.split("/")[0] for name in archive.namelist() if not name.split("/")[0].endswith(".dist-info")}
    assert tops == {"loopbound"}


def test_installed_copy_imports_as_loopbound_only(wheel: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(site), str(wheel)],
        check=True,
        capture_output=True,
        text=True,
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    probe = (
        "import importlib.util, loopbound.theory.errors, loopbound.constructions.spec;"
        "print(loopbound.theory.errors.__file__);"
        "print(importlib.util.find_spec('theory'), importlib.util.find_spec('constructions'))"
    )
    done = subprocess.run(
        [sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(site)!r}); {probe}"],
        cwd=elsewhere,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    first, second = done.stdout.splitlines()
    assert first.startswith(str(site))
    assert second == "None None"


def test_no_module_imports_the_bare_folder_names() -> None:
    """Inside the project every import goes through ``loopbound.``: a bare ``import theory`` would
    load a second copy of a module (two classes of the same name that never compare equal)."""
    offenders = []
    for path in ROOT.glob("**/*.py"):
        if any(part in {".venv", ".git", "runs", "build", ".typecheck"} for part in path.relative_to(ROOT).parts):
            continue
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            offenders += [
                f"{path.relative_to(ROOT)}: {name}"
                for name in names
                if name.split(".")[0] in ("theory", "constructions")
            ]
    assert offenders == []
