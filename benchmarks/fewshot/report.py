"""Tables and a plot of accuracy against k from ``run.py``'s JSON lines.

    .venv/bin/python benchmarks/fewshot/report.py benchmarks/fewshot/results.jsonl [--plot benchmarks/fewshot/fewshot.png]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

ORDER = ("zeroshot", "prototypes", "contrastive", "logreg", "setfit")


def load(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def accuracy_table(rows: list[dict]) -> str:
    """Mean accuracy over seeds per (set, k) and method, training seconds and texts/s alongside."""
    cells: dict[tuple[str, int], dict[str, list[dict]]] = defaultdict(lambda: defaultdict(list))
    zeroshot: dict[str, list[float]] = defaultdict(list)
    for r in rows:
        if r["method"] == "zeroshot":
            zeroshot[r["set"]].append(r["accuracy"])
        elif "accuracy" in r:
            cells[(r["set"], r["k"])][r["method"]].append(r)
    methods = [m for m in ORDER[1:] if any(m in c for c in cells.values())]
    head = "| set | k | zero-shot | " + " | ".join(f"{m} acc (train s, texts/s)" for m in methods) + " |"
    lines = [head, "|---|---:|---:|" + "---:|" * len(methods)]
    for (name, k), by_method in sorted(cells.items()):
        zs = f"{np.mean(zeroshot[name]):.3f}" if zeroshot[name] else "-"
        parts = []
        for m in methods:
            got = by_method.get(m)
            parts.append("-" if not got else
                         f"{np.mean([g['accuracy'] for g in got]):.3f} ({np.mean([g['train_s'] for g in got]):.1f} s, "
                         f"{np.mean([g['predict_texts_per_s'] for g in got]):.0f}/s)")
        lines.append(f"| {name} | {k} | {zs} | " + " | ".join(parts) + " |")
    return "\n".join(lines)


def mean_table(rows: list[dict]) -> str:
    """Mean over the sets every method finished, per k: accuracy and total training seconds."""
    by: dict[tuple[int, str], dict[str, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for r in rows:
        if "accuracy" in r and r["method"] != "zeroshot":
            by[(r["k"], r["method"])][r["set"]].append(r)
    zeroshot = {r["set"]: r["accuracy"] for r in rows if r["method"] == "zeroshot"}
    lines = ["| k | method | sets | mean accuracy | zero-shot mean, same sets | total training s |", "|---:|---|---|---:|---:|---:|"]
    common = None
    for (_, _), sets in by.items():
        common = set(sets) if common is None else common & set(sets)
    for (k, method), sets in sorted(by.items()):
        names = sorted(common or [])
        if not names:
            continue
        acc = np.mean([np.mean([g["accuracy"] for g in sets[n]]) for n in names])
        zs = np.mean([zeroshot[n] for n in names if n in zeroshot]) if all(n in zeroshot for n in names) else float("nan")
        train = sum(np.mean([g["train_s"] for g in sets[n]]) for n in names)
        lines.append(f"| {k} | {method} | {', '.join(names)} | {acc:.3f} | {zs:.3f} | {train:.0f} |")
    return "\n".join(lines)


def heldout_table(rows: list[dict]) -> str:
    lines = ["| set | k | held-out labels | texts | zero-shot | adapted on the other labels |", "|---|---:|---|---:|---:|---:|"]
    for r in rows:
        if r["method"] == "heldout-labels":
            lines.append(f"| {r['set']} | {r['k']} | {', '.join(r['held_labels'])[:60]} | {r['texts']} | "
                         f"{r['zeroshot_accuracy']:.3f} | {r['adapted_accuracy']:.3f} |")
    return "\n".join(lines)


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sets = sorted({r["set"] for r in rows})
    fig, axes = plt.subplots(1, len(sets), figsize=(3.2 * len(sets), 3), squeeze=False)
    for ax, name in zip(axes[0], sets):
        for method in ORDER:
            got = [r for r in rows if r["set"] == name and r["method"] == method and "accuracy" in r]
            if not got:
                continue
            if method == "zeroshot":
                ax.axhline(np.mean([g["accuracy"] for g in got]), color="grey", linestyle="--", label="zero-shot")
                continue
            ks = sorted({g["k"] for g in got})
            ax.plot(ks, [np.mean([g["accuracy"] for g in got if g["k"] == k]) for k in ks], marker="o", label=method)
        ax.set_title(name)
        ax.set_xlabel("examples per label (k)")
        ax.set_xscale("log", base=2)
    axes[0][0].set_ylabel("accuracy")
    axes[0][-1].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results", type=Path)
    parser.add_argument("--plot", type=Path)
    args = parser.parse_args(argv)
    rows = load(args.results)
    print(accuracy_table(rows), "", mean_table(rows), "", heldout_table(rows), sep="\n")
    if args.plot:
        plot(rows, args.plot)
    return 0


if __name__ == "__main__":
    sys.exit(main())
