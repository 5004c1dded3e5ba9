"""The ``zeroclass`` command.

Each sub-command lives in its own module of this package and registers itself
with ``register(subparsers)``; heavy imports happen inside the command, so
``zeroclass --help`` is instant.
"""

from __future__ import annotations

import importlib
import logging
import sys
from collections.abc import Sequence

from ..errors import ZeroclassError
from .parser import ArgumentParser, check_device

__all__ = ["main"]

# Modules under zeroclass.cli, in the order --help lists them.
_COMMANDS = ("classify", "models", "eval", "batch", "serve", "adapt")


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(
        prog="zeroclass",
        description="Zero-shot text classification by natural language inference.",
    )
    from .. import __version__

    parser.add_argument("--version", action="version", version=f"zeroclass {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in _COMMANDS:
        try:
            module = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"{__name__}.{name}":
                continue  # a command not built into this version
            raise
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``zeroclass`` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    problem = check_device(getattr(args, "device", None), getattr(args, "backend", None))
    if problem:
        parser.command_parser(args).error(f"argument --device: {problem}")
    logging.basicConfig(level=logging.WARNING, format="%(message)s", stream=sys.stderr)
    try:
        return int(args.run(args) or 0)
    except ZeroclassError as exc:
        print(f"zeroclass: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
