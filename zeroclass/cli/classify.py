"""``zeroclass classify``: texts from arguments or standard input, ranked labels out."""

from __future__ import annotations

import argparse
import json
import sys

from ..errors import InputError
from .common import add_model_options, add_task_options, load_classifier


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "classify",
        help="classify texts given as arguments or on standard input (one per line)",
        description="Classify texts against candidate labels. With no TEXT, reads one text per line from stdin.",
    )
    parser.add_argument("texts", nargs="*", metavar="TEXT", help="text(s) to classify")
    add_task_options(parser)
    parser.add_argument("--explain", action="store_true", help="show each label's hypothesis and NLI probabilities")
    parser.add_argument("--json", action="store_true", help="print JSON (one object per text, one per line)")
    add_model_options(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    texts = [_utf8_argument(i, text) for i, text in enumerate(args.texts, start=1)]
    if not texts:
        if sys.stdin.isatty():
            print("zeroclass: error: give a TEXT or pipe texts on standard input", file=sys.stderr)
            return 2
        texts = [line.rstrip("\r\n") for line in _stdin_lines() if line.strip()]
        if not texts:
            print("zeroclass: error: standard input held no text", file=sys.stderr)
            return 2
    classifier = load_classifier(args)
    results = classifier(
        texts,
        args.labels,
        multi_label=args.multi_label,
        hypothesis_template=args.hypothesis_template,
        explain=args.explain,
        shortlist=args.shortlist,
    )
    if args.json:
        for result in results:
            print(json.dumps(result, ensure_ascii=False))
    else:
        _print_tables(results, classifier.model_name, args.multi_label)
    return 0


def _stdin_lines() -> list[str]:
    """Standard input's lines, decoded as UTF-8 here so a bad byte is an error naming its line, not a traceback.

    The interpreter's own decoding may turn bad bytes into lone surrogates
    (under a C locale) that fail deep inside the tokenizer instead.
    """
    raw_stream = getattr(sys.stdin, "buffer", None)
    if raw_stream is None:  # replaced by a text stream (a notebook, a test)
        return list(sys.stdin)
    lines = []
    for number, raw in enumerate(raw_stream, start=1):
        try:
            lines.append(raw.decode("utf-8-sig" if number == 1 else "utf-8"))
        except UnicodeDecodeError as exc:
            raise InputError(
                f"standard input, line {number}: not valid UTF-8 (byte {raw[exc.start]:#04x} at byte {exc.start + 1}); "
                "convert it first (iconv -f LATIN1 -t UTF-8, say), or use zeroclass batch, which reports such rows"
            ) from None
    return lines


def _utf8_argument(number: int, text: str) -> str:
    """A TEXT argument; bytes that were not UTF-8 reach Python as lone surrogates, refused here by position."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InputError(f"TEXT argument {number} is not valid UTF-8") from None
    return text


def _print_tables(results: list, model_name: str, multi_label: bool) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    # Texts and labels are Text, never rich markup: "[red]" or "[/bold]" prints as written.
    console = Console()
    for result in results:
        # A routed model (the offline default) says per text which of its models answered.
        answered_by = result.get("model", model_name)
        table = Table(title=Text(result["sequence"]), title_justify="left", caption=Text(f"model: {answered_by}"),
                      caption_justify="left")
        explained = bool(result.get("explanation"))
        table.add_column("label", overflow="fold")
        table.add_column("score", justify="right", no_wrap=True)
        if explained:  # the hypothesis instead of the bar, so that 80 columns hold every column
            table.add_column("hypothesis", overflow="fold", ratio=1)
            for name in ("entail.", "neutral", "contra."):
                table.add_column(name, justify="right", no_wrap=True)
        else:
            table.add_column("", min_width=20)
        explanation = result.get("explanation") or [None] * len(result["labels"])
        for label, score, info in zip(result["labels"], result["scores"], explanation):
            fits = " ✓" if multi_label and score > 0.5 else ""
            row = [Text(label + fits), f"{score:.4f}"]
            if info:
                said = info["hypothesis"] or "-"
                if len(info.get("hypotheses") or ()) > 1:
                    more = len(info["hypotheses"]) - 1
                    said += f" (+{more} more template{'s' if more > 1 else ''}, averaged)"
                row += [Text(said)] + ["-" if info[k] is None else f"{info[k]:.3f}" for k in ("entailment", "neutral", "contradiction")]
            else:
                row.append("█" * round(score * 20))
            table.add_row(*row)
        console.print(table)
