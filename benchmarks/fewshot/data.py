"""Few-shot splits of the single-label sets in ../shared/data: k examples per label, the rest to evaluate.

For a seed, the rows are shuffled once; each label's first ``MAX_K`` rows
in that order are its pool of examples (k = 2 takes the first two, k = 4
the first four, ...: the training sets are nested), and the first
``eval_size`` of the other rows are the evaluation texts, the same for
every k and method. Chinese sets are left out (the offline default is
English-only); so are multi-label and NLI sets.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
MAX_K = 16
ENGLISH_SETS = ("ag_news", "sst2", "banking77", "dair_emotion", "trec")


def data_root() -> Path:
    """``$ZEROCLASS_DATA``, else ``../shared/data`` next to the repository."""
    return Path(os.environ.get("ZEROCLASS_DATA") or REPO.parent / "shared" / "data")


@dataclass(frozen=True)
class Split:
    name: str
    labels: list[str]
    pool: dict[str, list[str]]  # label -> up to MAX_K example texts, in sampling order
    eval_texts: list[str]
    eval_gold: list[str]

    def train(self, k: int, labels: list[str] | None = None) -> tuple[list[str], list[str]]:
        """The first ``k`` examples of each label (of ``labels``, default all)."""
        texts, gold = [], []
        for label in labels or self.labels:
            for text in self.pool[label][:k]:
                texts.append(text)
                gold.append(label)
        return texts, gold


def load_split(name: str, seed: int, eval_size: int = 1000) -> Split:
    folder = data_root() / name
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    rows = [json.loads(line) for line in (folder / "test.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    order = np.random.default_rng(seed).permutation(len(rows))
    pool: dict[str, list[str]] = {label: [] for label in meta["labels"]}
    rest = []
    for i in order:
        text, label = rows[i]["text"], rows[i]["labels"][0]
        if len(pool[label]) < MAX_K:
            pool[label].append(text)
        else:
            rest.append((text, label))
    rest = rest[:eval_size]
    return Split(name, list(meta["labels"]), pool, [t for t, _ in rest], [g for _, g in rest])
