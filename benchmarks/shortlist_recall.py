"""Recall@K of the shortlist: how often the gold label is among the K labels the embedding model keeps.

``shortlist=K`` can only be right when the gold label survives the shortlist,
so recall@K is the ceiling it puts on accuracy. Measured on every
single-label set of the evaluation data, on a seeded sample, with the
offline default (all-MiniLM-L6-v2) ranking with and without refinement.

    python -m benchmarks.shortlist_recall [--limit 1000] [--ks 5,10,20]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks.throughput.workloads import data_root

OUT = Path(__file__).resolve().parent / "results"


def single_label_sets(root: Path) -> list[str]:
    """Every classification set whose texts have one gold label each."""
    names = []
    for meta_path in sorted(root.glob("*/meta.json")):
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if meta.get("task") != "nli" and not meta.get("multi_label"):
            names.append(meta_path.parent.name)
    return names


def load(root: Path, name: str, limit: int, seed: int) -> tuple[list[str], list[str], list[str], str]:
    """(texts, gold labels, candidate labels, language) of a seeded sample of at most ``limit`` rows."""
    meta = json.loads((root / name / "meta.json").read_text(encoding="utf-8"))
    with open(root / name / "test.jsonl", encoding="utf-8") as f:
        rows = [json.loads(line) for line in f]
    rows = random.Random(seed).sample(rows, min(limit, len(rows)))
    return [r["text"] for r in rows], [r["labels"][0] for r in rows], list(meta["labels"]), meta.get("language", "en")


class MemoEmbeddings:
    """The ranker's backend with text embeddings memoised, so the plain and refined runs embed each text once."""

    def __init__(self, backend) -> None:
        self.backend = backend

    def __getattr__(self, name: str):
        return getattr(self.backend, name)

    def embed(self, sentences: list[str]) -> np.ndarray:
        return self.backend._embed_cached(list(sentences))


def gold_ranks(shortlister, texts: list[str], gold: list[str], labels: list[str]) -> np.ndarray:
    """0-based rank of each text's gold label in the shortlister's order."""
    order = shortlister.rank(texts, [labels] * len(texts), lambda names: names)
    return np.array([[labels[j] for j in row].index(g) for row, g in zip(order, gold)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.shortlist_recall", description=__doc__)
    parser.add_argument("--limit", type=int, default=1000, help="texts per set, a seeded sample (default: 1000)")
    parser.add_argument("--ks", default="5,10,20")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    from zeroclass import pipeline
    from zeroclass.shortlist import Shortlister

    ks = [int(k) for k in args.ks.split(",")]
    routed = pipeline(device="cpu").backend
    backend = getattr(routed, "fallback", routed)  # the English all-MiniLM-L6-v2, the default shortlist's ranker
    root = data_root()
    rows = []
    for name in single_label_sets(root):
        texts, gold, labels, language = load(root, name, args.limit, args.seed)
        row = {"set": name, "language": language, "labels": len(labels), "texts": len(texts)}
        if language != "en":
            rows.append(row | {"note": "Chinese: the English-only default ranker refuses it"})
            continue
        if len(labels) <= min(ks):
            rows.append(row)  # every K keeps every label: recall 1 by construction, nothing to rank
            continue
        for refine in (False, True):
            started = time.perf_counter()
            ranks = gold_ranks(Shortlister(MemoEmbeddings(backend), refine=refine), texts, gold, labels)
            tag = "refine" if refine else "plain"
            row[f"{tag}_seconds"] = time.perf_counter() - started
            row[f"{tag}_recall@1"] = float(np.mean(ranks < 1))
            for k in ks:
                row[f"{tag}_recall@{k}"] = float(np.mean(ranks < k))
        rows.append(row)
        print(json.dumps(row), file=sys.stderr)
    command = "python -m benchmarks.shortlist_recall " + " ".join(argv if argv is not None else sys.argv[1:])
    OUT.mkdir(exist_ok=True)
    (OUT / "shortlist-recall.json").write_text(json.dumps({"command": command, "rows": rows}, indent=1) + "\n")
    print(markdown(rows, ks, command))
    return 0


def markdown(rows: list[dict], ks: list[int], command: str) -> str:
    """One line per set: recall@1 (the ranker alone) and recall@K, plain | refined."""
    head = "| set | labels | texts | " + " | ".join(f"recall@{k}" for k in [1, *ks]) + " |"
    lines = [f"`{command}`", "", "plain / refined ranking; `all` = K covers every label, so recall is 1 by construction (not ranked)", "",
             head, "|---" * (3 + 1 + len(ks)) + "|"]
    for row in rows:
        if "note" in row:
            lines.append(f"| {row['set']} | {row['labels']} | {row['texts']} | " + " | ".join(["n/a"] * (1 + len(ks)))
                         + f" |  <!-- {row['note']} -->")
            continue
        cells = []
        for k in [1, *ks]:
            if f"plain_recall@{k}" in row:
                cells.append(f"{row[f'plain_recall@{k}']:.3f} / {row[f'refine_recall@{k}']:.3f}")
            else:
                cells.append("all" if k >= row["labels"] else "–")
        lines.append(f"| {row['set']} | {row['labels']} | {row['texts']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
