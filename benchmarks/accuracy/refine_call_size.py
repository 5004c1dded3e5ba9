"""Refinement against the size of a call: the offline default's accuracy when texts come n at a time.

Refinement moves each label's vector towards the texts of the call that pick
it, so a text's answer depends on the other texts of its call. A user who
classifies 2 or 8 texts at a time must not get worse answers than with
refinement off. This classifies the same fixed-seed sample of each
single-label set in calls of n texts, for several n, with refinement off and on.

    .venv/bin/python benchmarks/accuracy/refine_call_size.py [--limit 1000] [--sizes 2,4,8,32,1000] [--sets ...]
"""

from __future__ import annotations

import argparse
import json
import random
import shlex
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import classification_sets, data_root  # noqa: E402


def sample(folder: Path, limit: int, seed: int) -> tuple[list[str], list[str]]:
    rows = [json.loads(line) for line in (folder / "test.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    random.Random(seed).shuffle(rows)
    rows = rows[:limit]
    return [r["text"] for r in rows], [r["labels"][0] for r in rows]


def accuracy(clf, texts: list[str], gold: list[str], labels: list[str], size: int | None, refine: bool) -> float:
    predicted: list[str] = []
    step = size or len(texts)
    for start in range(0, len(texts), step):
        results = clf(texts[start : start + step], labels, refine=refine)
        predicted += [r["labels"][0] for r in results]
    return sum(p == g for p, g in zip(predicted, gold)) / len(gold)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sizes", default="2,4,8,32,1000", help="texts per call, comma-separated")
    parser.add_argument("--sets", help="comma-separated set names (default: every single-label set)")
    args = parser.parse_args(argv)
    import zeroclass

    clf = zeroclass.pipeline()
    sizes = [int(s) for s in args.sizes.split(",")]
    wanted = set(args.sets.split(",")) if args.sets else None
    print(f"command: python benchmarks/accuracy/refine_call_size.py {shlex.join(argv or sys.argv[1:])}")
    print("| set | refine off | " + " | ".join(f"on, {n}/call" for n in sizes) + " |")
    print("|---|---:|" + "---:|" * len(sizes))
    means = [[] for _ in range(len(sizes) + 1)]
    for name, meta in classification_sets(data_root()):
        if meta.get("multi_label") or (wanted and name not in wanted):
            continue
        texts, gold = sample(data_root() / name, args.limit, args.seed)
        started = time.monotonic()
        row = [accuracy(clf, texts, gold, meta["labels"], None, False)]
        row += [accuracy(clf, texts, gold, meta["labels"], n, True) for n in sizes]
        for column, value in zip(means, row):
            column.append(value)
        print(f"| {name} | " + " | ".join(f"{v:.3f}" for v in row) + f" |  <!-- {time.monotonic() - started:.0f}s -->", flush=True)
    print("| **mean** | " + " | ".join(f"**{sum(c) / len(c):.3f}**" for c in means) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
