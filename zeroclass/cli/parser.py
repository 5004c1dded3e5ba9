"""The argument parser every ``zeroclass`` command uses, and the checks of option values.

A newcomer's typo or impossible value should cost one line, not a traceback
after a model has loaded for half a minute: unknown flags are named with the
closest real one (argparse only learns that in Python 3.14), numbers are
checked by their ``type=``, and the device is checked against this
machine's PyTorch (or ONNX Runtime) before anything loads.
"""

from __future__ import annotations

import argparse
import difflib
import re
from collections.abc import Sequence
from typing import Any, NoReturn

__all__ = [
    "ArgumentParser",
    "positive_int",
    "non_negative_int",
    "positive_float",
    "non_negative_float",
    "port",
    "device_name",
    "check_device",
]

_INVALID_CHOICE = re.compile(r"invalid choice: '([^']*)' \(choose from (.*)\)$")
_NUMBER = re.compile(r"^-\d")
_DEVICE = re.compile(r"^(cpu|mps|cuda(:\d+)?)$")


def _suggest(word: str, options: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f"; did you mean {close[0]}?" if close else ""


class ArgumentParser(argparse.ArgumentParser):
    """argparse with a did-you-mean for unknown flags and misspelt choices.

    Sub-command parsers are made by ``add_subparsers`` with this same class,
    so every command gets it; an unknown flag is reported by the command it
    was given to, against that command's own flags. Abbreviated flags are
    not expanded: ``serve --shortlist 3`` would otherwise be read silently as
    ``--shortlist-model 3``, and become an unknown flag with a did-you-mean instead.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def parse_known_args(self, args: Sequence[str] | None = None, namespace: Any = None) -> Any:  # type: ignore[override]
        # Kept so that error() can blame an unknown flag rather than the required option it hid.
        self._given = list(args) if args is not None else None
        return super().parse_known_args(args, namespace)

    def parse_args(self, args: Sequence[str] | None = None, namespace: Any = None) -> argparse.Namespace:  # type: ignore[override]
        parsed, extras = self.parse_known_args(args, namespace)
        if extras:
            parser = self.command_parser(parsed)
            parser.error(parser._unrecognized(extras))
        return parsed

    def command_parser(self, parsed: argparse.Namespace) -> "ArgumentParser":
        """The sub-command's parser that read the arguments (this one when there is none)."""
        for action in self._actions:
            if isinstance(action, argparse._SubParsersAction) and action.dest:
                chosen = action.choices.get(getattr(parsed, action.dest, None) or "")
                if isinstance(chosen, ArgumentParser):
                    return chosen.command_parser(parsed)
        return self

    def _unrecognized(self, extras: list[str]) -> str:
        flags = [s for action in self._actions for s in action.option_strings]
        unknown = [arg for arg in extras if arg.startswith("-") and arg != "-"]
        if not unknown:
            return f"unrecognized arguments: {' '.join(extras)}"
        first = unknown[0].split("=", 1)[0]
        more = f" (and {' '.join(unknown[1:])})" if len(unknown) > 1 else ""
        return f"unrecognized option {first}{_suggest(first, flags)}{more}"

    def _unknown_flags(self) -> list[str]:
        """Flags among this parser's arguments that it does not know (nor abbreviates)."""
        flags = [s for action in self._actions for s in action.option_strings]
        given = getattr(self, "_given", None) or []
        return [
            arg for arg in given
            if arg.startswith("-") and arg != "-" and arg != "--" and not _NUMBER.match(arg)
            and not any(flag.startswith(arg.split("=", 1)[0]) for flag in flags)
        ]

    def error(self, message: str) -> NoReturn:
        """One line naming the problem (no usage block: ``--help`` has it), exit status 2, as argparse's."""
        unknown = self._unknown_flags()
        if unknown and message.startswith("the following arguments are required"):
            message = self._unrecognized(unknown)
        found = _INVALID_CHOICE.search(message)
        if found:
            choices = [c.strip().strip("'") for c in found.group(2).split(",")]
            message += _suggest(found.group(1), choices)
        self.exit(2, f"{self.prog}: error: {message} (see: {self.prog} --help)\n")


def _number(kind: type, test: Any, what: str) -> Any:
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if not test(value):
            raise argparse.ArgumentTypeError(f"expected {what}, got {text}")
        return value

    parse.__name__ = what  # argparse names the type in some messages
    return parse


positive_int = _number(int, lambda v: v > 0, "a whole number of at least 1")
#: Threads beyond any machine's cores; torch overflows on a value past a C int.
MAX_THREADS = 4096
thread_count = _number(int, lambda v: 0 < v <= MAX_THREADS, f"a whole number from 1 to {MAX_THREADS}")
non_negative_int = _number(int, lambda v: v >= 0, "a whole number of at least 0")
positive_float = _number(float, lambda v: v > 0, "a number above 0")
non_negative_float = _number(float, lambda v: v >= 0, "a number of at least 0")
port = _number(int, lambda v: 0 < v < 65536, "a port number from 1 to 65535")


def device_name(text: str) -> str:
    """``--device``: cpu, cuda, cuda:N or mps (whether this machine has it is checked after parsing)."""
    if not _DEVICE.match(text):
        raise argparse.ArgumentTypeError(f"unknown device {text!r}: use cpu, cuda, cuda:N or mps")
    return text


def check_device(device: str | None, backend: str | None) -> str | None:
    """Why ``device`` cannot be used on this machine, or ``None`` when it can."""
    if device is None or device == "cpu":
        return None
    if backend == "onnx":
        import onnxruntime

        if device.startswith("cuda") and "CUDAExecutionProvider" in onnxruntime.get_available_providers():
            return None
        return f"{device} is not available to ONNX Runtime here (it has {', '.join(onnxruntime.get_available_providers())})"
    import torch

    from ..backends.nli_torch import device_problem

    return device_problem(torch.device(device))
