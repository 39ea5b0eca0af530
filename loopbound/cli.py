"""The ``loopbound`` command line: subcommands, and one policy for errors.

Errors a user can cause (:class:`loopbound.theory.errors.InputError`, bad arguments, a missing file) print
one line on stderr, ``loopbound <command>: error: …``, and exit with status 2, never a traceback.
Anything else escaping is a bug and keeps its traceback. ``--debug`` (before or after the command)
prints, before that line, the traceback of the error and of what caused it: the frames inside a
user's target (``file.py:function``) or construction that raised, which the one line only names.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Sequence
from typing import NoReturn

from loopbound import __version__
from loopbound.commands import COMMANDS
from loopbound.theory.errors import InputError

EXIT_USER_ERROR = 2


class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line on stderr with exit status 2."""

    def error(self, message: str) -> NoReturn:
        message = " ".join(message.split())
        self.exit(EXIT_USER_ERROR, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> OneLineParser:
    parser = OneLineParser(
        prog="loopbound",
        description="Check approximation-rate theorems for looped transformers numerically.",
    )
    parser.add_argument("--version", action="version", version=f"loopbound {__version__}")
    parser.add_argument("--debug", action="store_true", help=DEBUG_HELP)
    subcommands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS:
        command.add_parser(subcommands)
    for subparser in subcommands.choices.values():  # `loopbound verify ... --debug` works too
        subparser.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=DEBUG_HELP)
    return parser


DEBUG_HELP = "on an error, print its traceback (with the frames of a user's target that raised) before the one line"


def _debug_traceback(args: argparse.Namespace, error: BaseException) -> None:
    """With ``--debug``: the error's traceback, and its causes', on stderr."""
    if getattr(args, "debug", False):
        traceback.print_exception(type(error), error, error.__traceback__, file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``loopbound`` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except InputError as error:
        _debug_traceback(args, error)
        message = " ".join(str(error).split())
        if error.__cause__ is not None and not getattr(args, "debug", False):
            message += " (run with --debug for its traceback)"
        print(f"loopbound {args.command}: error: {message}", file=sys.stderr)
        return EXIT_USER_ERROR
    except BrokenPipeError:  # the reader went away (`| head`): stop quietly, as Unix tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except OSError as error:  # a missing file or folder, a permission: the user's to fix
        _debug_traceback(args, error)
        print(f"loopbound {args.command}: error: {error}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print(f"loopbound {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
