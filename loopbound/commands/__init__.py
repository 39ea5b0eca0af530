"""Subcommands of ``loopbound``: each module has ``add_parser(subcommands)``, which registers the
command and sets ``handler`` to a function of the parsed arguments returning the exit status."""

from loopbound.commands import build, figures, modulus, run, sweep, train, verify

COMMANDS = (modulus, build, run, sweep, verify, figures, train)
