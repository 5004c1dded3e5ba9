"""``zeroclass classify``: texts from arguments or standard input, ranked labels out."""

from __future__ import annotations

import argparse
import json
import sys

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
    texts = list(args.texts)
    if not texts:
        if sys.stdin.isatty():
            print("zeroclass: error: give a TEXT or pipe texts on standard input", file=sys.stderr)
            return 2
        texts = [line.rstrip("\r\n") for line in sys.stdin if line.strip()]
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


def _print_tables(results: list, model_name: str, multi_label: bool) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    for result in results:
        table = Table(title=result["sequence"], title_justify="left", caption=f"model: {model_name}", caption_justify="left")
        table.add_column("label")
        table.add_column("score", justify="right")
        table.add_column("", min_width=20)
        if result.get("explanation"):
            for name in ("entailment", "neutral", "contradiction"):
                table.add_column(name, justify="right")
        explanation = result.get("explanation") or [None] * len(result["labels"])
        for label, score, info in zip(result["labels"], result["scores"], explanation):
            bar = "█" * round(score * 20)
            fits = " ✓" if multi_label and score > 0.5 else ""
            row = [label + fits, f"{score:.4f}", bar]
            if info:
                row += ["-" if info[k] is None else f"{info[k]:.3f}" for k in ("entailment", "neutral", "contradiction")]
            table.add_row(*row)
        console.print(table)
