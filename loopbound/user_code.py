"""Importing the user's code: a ``.py`` file or a module named on the command line or in a sweep file.

Targets (``file.py:function``, ``package.module:function``), constructions (``--construction``) and
sweep ``imports`` all load code loopbound does not own (it is run as it is: a target is code by
design). Whatever that code raises while it is imported, ``sys.exit`` included, becomes an
:class:`~loopbound.theory.errors.InputError` (or the subclass the caller names) with one line saying what
failed — never a traceback, never a silently missing module.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from loopbound.theory.errors import InputError

__all__ = ["import_file", "import_module", "one_line"]


def one_line(error: BaseException) -> str:
    """``Type: message`` of an exception, its message folded onto one line."""
    message = " ".join(str(error).split())
    return f"{type(error).__name__}: {message}" if message else type(error).__name__


def import_file(path: str | Path, *, prefix: str, error: type[InputError] = InputError) -> ModuleType:
    """Import the Python file ``path`` as a module named ``<prefix>_<hash of its resolved path>``
    (registered in ``sys.modules``, so dataclasses and pickling inside it work)."""
    path = Path(path)
    if not path.is_file():
        raise error(f"no such file: {path}")
    module_name = f"{prefix}_{abs(hash(str(path.resolve())))}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise error(f"cannot import {path} as a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as problem:  # a user's file may raise anything while importing: one line
        sys.modules.pop(module_name, None)
        raise error(f"importing {path} raised {one_line(problem)}") from problem
    except SystemExit as stop:  # sys.exit() at import time stops the import, not loopbound
        sys.modules.pop(module_name, None)
        raise error(f"importing {path} called sys.exit({'' if stop.code is None else repr(stop.code)})") from None
    return module


def import_module(
    name: str, *, context: str, error: type[InputError] = InputError, missing: str | None = None
) -> ModuleType:
    """Import the module ``name``. A module that does not exist is ``no module named 'x' (context)``
    (or the message ``missing`` when given); one that raises while importing says what it raised."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as problem:
        raise error(missing or f"no module named {problem.name!r} ({context})") from None
    except Exception as problem:  # a user's module may raise anything while importing: one line
        raise error(f"importing {name} raised {one_line(problem)}") from problem
    except SystemExit as stop:  # sys.exit() at import time stops the import, not loopbound
        raise error(f"importing {name} called sys.exit({'' if stop.code is None else repr(stop.code)})") from None
