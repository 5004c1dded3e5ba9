"""``make demo``: the reference examples, classified by the offline default.

Run as ``python -m zeroclass.demo``. Needs no hub: both models of the offline
default ship in wheels (all-MiniLM-L6-v2 for English, USE-multilingual v3 for
Chinese and 13 other languages), and each text goes to the one that reads it.
"""

from __future__ import annotations

import sys

from rich.console import Console
from rich.table import Table

from . import pipeline
from .polarity import SENTIMENT_MODEL_HINT

EXAMPLES = [
    ("The world is so big, I want to see it", "home, travel, technology", False),
    ("Messi scored twice as Inter Miami won the final", "sports, finance, weather", False),
    ("Shares slid after the central bank raised interest rates", "sports, finance, weather", False),
    ("I loved the food but the hotel room was dirty", "food, accommodation, transport, price", True),
    ("世界那么大，我想去看看", "家居，旅游，科技", False),
    ("国足在世界杯预选赛中两球取胜", "体育，财经，娱乐，科技", False),
]

#: How to get the reference answer from ModelScope's Chinese NLI model, for comparison.
HUB_HINT = (
    "With a hub, the reference model for the Chinese rows (make demo installed the ModelScope client;\n"
    "elsewhere: pip install 'zeroclass[modelscope]'):\n"
    f'  zeroclass classify "世界那么大，我想去看看" --labels 家居,旅游,科技 --model {SENTIMENT_MODEL_HINT}'
)


def main() -> int:
    console = Console()
    classifier = pipeline("zero-shot-classification")
    table = Table(title="zeroclass demo — offline default, no hub")
    for column in ("text", "mode", "answered by", "labels (best first)"):
        table.add_column(column)
    for text, labels, multi in EXAMPLES:
        result = classifier(text, labels, multi_label=multi)
        ranked = ", ".join(f"{label} {score:.2f}" for label, score in zip(result.labels, result.scores))
        model = result.get("model", classifier.model_name).rsplit("/", 1)[-1]
        table.add_row(text, "multi-label" if multi else "single-label", model, ranked)
    console.print(table)
    console.print(HUB_HINT, highlight=False, markup=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
