"""Turn a TARGET argument into a :class:`loopbound.theory.targets.Target` (docs/architecture.md, Conventions).

Three spellings:
- a built-in name with parameters: ``holder``, ``holder:alpha=0.5,scale=2``;
- a file and a function in it: ``path/to/file.py:function``;
- a module and a function in it: ``package.module:function``.
A function is wrapped in :class:`loopbound.theory.targets.CallableTarget` (output checks on every call); an
object that already is a ``Target`` is used as it is. A ``.npz`` file with arrays ``X`` [n, N, d]
and ``Y`` [n, N, d_out] is a data-defined target, see :func:`load_samples`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from loopbound.theory.errors import InputError, TargetError
from loopbound.theory.targets import BUILTIN_TARGETS, CallableTarget, Target, builtin_target
from loopbound.user_code import import_file, import_module


def parse_params(text: str, target: str) -> dict[str, str]:
    """``alpha=0.5,scale=2`` → {"alpha": "0.5", "scale": "2"}; values are converted by the target."""
    params: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, equals, value = item.partition("=")
        if not equals or not key.strip() or not value.strip():
            raise InputError(f"target {target}: parameters read name=value, got {item!r}")
        params[key.strip()] = value.strip()
    return params


def _wrap(obj: Any, label: str, d: int, N: int) -> Target:
    if isinstance(obj, Target):
        if (obj.d, obj.N) != (d, N):
            raise InputError(f"target {label} is defined for d={obj.d}, N={obj.N}, not d={d}, N={N}")
        return obj
    if not callable(obj):
        raise TargetError(f"{label} is a {type(obj).__name__}, not a function")
    target = CallableTarget(d=d, N=N, function=obj, label=label)
    _ = target.d_out  # one probe call now: a wrong shape or NaN is reported before any long work
    return target


def load_target(spec: str, *, d: int, N: int) -> Target:
    """Resolve a TARGET argument (module docstring) for inputs [B, N, d]."""
    if not isinstance(d, int) or d < 1 or not isinstance(N, int) or N < 1:
        raise InputError(f"d and N must be integers >= 1, got d={d!r}, N={N!r}")
    head, _, tail = spec.partition(":")
    if head in BUILTIN_TARGETS:
        return builtin_target(head, d=d, N=N, **parse_params(tail, head))
    if head.endswith(".npz"):  # samples define no function to build or verify
        raise InputError(
            f"TARGET {spec!r} is a file of samples: only `loopbound modulus` reads one (the all-pairs sequence "
            "modulus); this command needs a function: a built-in, file.py:function or module:function"
        )
    if head.endswith(".py") or "/" in head:
        if not tail:
            raise InputError(f"TARGET {spec!r}: name the function, as in {head}:function")
        module = import_file(head, prefix="loopbound_user_target", error=TargetError)
        if not hasattr(module, tail):
            raise TargetError(f"{head} has no function {tail!r}")
        return _wrap(getattr(module, tail), spec, d, N)
    if tail and head.replace(".", "").replace("_", "").isalnum():
        module = import_module(head, context=f"TARGET {head}:function", error=TargetError)
        if not hasattr(module, tail):
            raise TargetError(f"module {head} has no function {tail!r}")
        return _wrap(getattr(module, tail), spec, d, N)
    builtins = ", ".join(sorted(BUILTIN_TARGETS))
    raise InputError(f"unknown target {spec!r}: use a built-in ({builtins}), file.py:function or module:function")


@dataclass(frozen=True)
class Samples:
    """A data-defined target: inputs X [n, N, d] and outputs Y [n, N, d_out] from a .npz file."""

    X: np.ndarray
    Y: np.ndarray
    path: str

    @property
    def N(self) -> int:
        return int(self.X.shape[1])

    @property
    def d(self) -> int:
        return int(self.X.shape[2])


def load_samples(path: str) -> Samples:
    """Read ``X`` [n, N, d] and ``Y`` [n, N, d_out] from a .npz file, checking shapes and values."""
    file = Path(path)
    if not file.is_file():
        raise TargetError(f"no such file: {path}")
    _refuse_oversized(file)
    try:
        with np.load(file) as data:
            arrays = {key: np.asarray(data[key], dtype=np.float64) for key in data.files}
    except Exception as error:
        raise TargetError(f"cannot read {path} as .npz: {type(error).__name__}: {error}") from None
    if "X" not in arrays or "Y" not in arrays:
        raise TargetError(f"{path} must hold arrays X [n, N, d] and Y [n, N, d_out], found {sorted(arrays)}")
    X, Y = arrays["X"], arrays["Y"]
    if X.ndim != 3 or Y.ndim != 3 or X.shape[:2] != Y.shape[:2]:
        raise TargetError(f"{path}: X must be [n, N, d] and Y [n, N, d_out], got {list(X.shape)} and {list(Y.shape)}")
    if X.shape[0] == 0 or 0 in X.shape[1:] or Y.shape[2] == 0:
        raise TargetError(
            f"{path} holds no samples: X is {list(X.shape)} and Y {list(Y.shape)} (need n, N, d, d_out >= 1)"
        )
    for name, array in (("X", X), ("Y", Y)):
        if not np.isfinite(array).all():
            raise TargetError(f"{path}: {name} contains NaN or inf")
    return Samples(X=X, Y=Y, path=path)


def _refuse_oversized(file: Path) -> None:
    """Refuse (one line) a .npz whose arrays, read as float64, would not fit in the memory budget of
    :mod:`loopbound.work_estimate`; the shapes come from the arrays' headers, nothing is loaded."""
    import zipfile

    from loopbound.work_estimate import Budget, size

    try:
        with zipfile.ZipFile(file) as archive:
            total = 0
            for member in archive.namelist():
                with archive.open(member) as stream:
                    version = np.lib.format.read_magic(stream)
                    read_header = (
                        np.lib.format.read_array_header_1_0
                        if version == (1, 0)
                        else np.lib.format.read_array_header_2_0
                    )
                    shape, _, _ = read_header(stream)
                    total += 8 * int(np.prod(shape, dtype=object))
    except Exception:
        return  # not a readable .npz: load_samples words the refusal
    budget = Budget.here().memory_bytes
    if total > budget:
        raise TargetError(
            f"{file} holds arrays of {size(total)} as float64; this machine allows {size(budget)} (half its memory)"
        )
