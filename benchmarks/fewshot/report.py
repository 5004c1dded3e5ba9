"""Tables and a plot of accuracy against k from ``run.py``'s JSON lines (one file or several).

    .venv/bin/python benchmarks/fewshot/report.py benchmarks/fewshot/results.jsonl \\
        benchmarks/fewshot/results-setfit.jsonl --plot benchmarks/fewshot/fewshot.png
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

ORDER = ("zeroshot", "joint-zeroshot", "head", "prototypes", "contrastive", "logreg", "setfit")


def load(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


#: Methods without examples: measured once per (set, seed), they hold for every k.
K_FREE = ("zeroshot", "joint-zeroshot")


def unique_zeroshot(rows: list[dict]) -> list[dict]:
    """``rows`` with one row per (set, seed) of each zero-shot method: each run of ``run.py`` measures it again (it fills the embedding cache)."""
    seen: set[tuple[str, str, int]] = set()
    kept = []
    for r in rows:
        if r["method"] in K_FREE and "accuracy" in r:
            if (r["method"], r["set"], r["seed"]) in seen:
                continue
            seen.add((r["method"], r["set"], r["seed"]))
        kept.append(r)
    return kept


def accuracy_table(rows: list[dict]) -> str:
    """Mean accuracy over seeds per (set, k) and method, training seconds and texts/s alongside."""
    cells: dict[tuple[str, int], dict[str, list[dict]]] = defaultdict(lambda: defaultdict(list))
    zeroshot: dict[str, list[float]] = defaultdict(list)
    for r in rows:
        if r["method"] == "zeroshot":
            zeroshot[r["set"]].append(r["accuracy"])
        elif "accuracy" in r and r["method"] != "joint-zeroshot":  # k-free: in the other tables
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


def _cell_means(rows: list[dict]) -> dict[tuple[str, int, str], dict[str, float]]:
    """``(set, k, method) -> {accuracy, train_s}`` averaged over the seeds measured (zero-shot for every k)."""
    got: dict[tuple[str, int, str], list[dict]] = defaultdict(list)
    ks = sorted({r["k"] for r in rows if "accuracy" in r})
    for r in rows:
        if "accuracy" not in r:
            continue
        for k in (ks if r["method"] in K_FREE else [r["k"]]):
            got[(r["set"], k, r["method"])].append(r)
    return {key: {"accuracy": float(np.mean([g["accuracy"] for g in v])), "train_s": float(np.mean([g["train_s"] for g in v])),
                  "seeds": len(v)} for key, v in got.items()}


def mean_table(rows: list[dict], sets: list[str] | None = None) -> str:
    """Per k and method: mean accuracy over ``sets`` (default: every set measured), zero-shot's on the same sets, mean training s.

    A method missing a set at some k gets no row for that k (means over different sets do not compare).
    """
    cells = _cell_means(rows)
    sets = sets or sorted({key[0] for key in cells})
    lines = ["| k | method | mean accuracy | minus zero-shot | mean training s per set | seeds per set |", "|---:|---|---:|---:|---:|---|"]
    for k in sorted({key[1] for key in cells}):
        zs = [cells.get((name, k, "zeroshot")) for name in sets]
        for method in ORDER:
            got = [cells.get((name, k, method)) for name in sets]
            if any(g is None for g in got) or any(z is None for z in zs):
                continue
            acc = np.mean([g["accuracy"] for g in got])
            gain = acc - np.mean([z["accuracy"] for z in zs])
            lines.append(f"| {k} | {method} | {acc:.3f} | {gain * 100:+.1f} | {np.mean([g['train_s'] for g in got]):.1f} | "
                         f"{','.join(str(g['seeds']) for g in got)} |")
    return "\n".join(lines)


def setfit_cells_table(rows: list[dict]) -> str:
    """Every method on exactly the (set, seed, k) cells SetFit finished: accuracy and training s side by side."""
    cells = {(r["set"], r["seed"], r["k"]) for r in rows if r["method"] == "setfit" and "accuracy" in r}
    if not cells:
        return ""
    by: dict[tuple[str, int, int, str], dict] = {}
    for r in rows:
        if "accuracy" in r:
            for k in ([c[2] for c in cells] if r["method"] in K_FREE else [r["k"]]):
                by[(r["set"], r["seed"], k, r["method"])] = r
    methods = [m for m in ORDER if all((*c, m) in by for c in cells)]
    lines = ["| set | seed | k | " + " | ".join(f"{m} acc (train s)" for m in methods) + " |", "|---|---:|---:|" + "---:|" * len(methods)]
    for c in sorted(cells):
        lines.append(f"| {c[0]} | {c[1]} | {c[2]} | " + " | ".join(f"{by[(*c, m)]['accuracy']:.3f} ({by[(*c, m)]['train_s']:.1f})" for m in methods) + " |")
    for k in sorted({c[2] for c in cells}):
        mine = [c for c in cells if c[2] == k]
        lines.append(f"| **mean of {len(mine)}** | | {k} | " + " | ".join(
            f"**{np.mean([by[(*c, m)]['accuracy'] for c in mine]):.3f}** ({np.mean([by[(*c, m)]['train_s'] for c in mine]):.1f})" for m in methods) + " |")
    return "\n".join(lines)


def heldout_table(rows: list[dict]) -> str:
    """Labels left out of the examples, per set (mean over k and seeds): their texts, zero-shot vs adapted (gated, the
    default, and ungated), and the other labels' texts in the same setting (what the gate may cost)."""
    got: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for r in rows:
        if r["method"] == "heldout-labels":
            got[(r["set"], r.get("adapt_method", "prototypes"))].append(r)

    def mean(rs: list[dict], key: str) -> str:
        values = [r[key] for r in rs if key in r]
        return f"{np.mean(values):.3f}" if values else "-"

    def overall(rs: list[dict], column: str) -> str:
        """Accuracy over all the texts of a run (held-out labels' and the others'), averaged over runs."""
        values = [(r[f"{column}_accuracy"] * r["texts"] + r[f"seen_{column}_accuracy"] * r["seen_texts"]) / (r["texts"] + r["seen_texts"])
                  for r in rs if f"seen_{column}_accuracy" in r]
        return f"{np.mean(values):.3f}" if values else "-"

    lines = ["| set | adapt method | held-out labels (seed 0) | runs (k x seeds) | texts per run | zero-shot | adapted | "
             "worst run, adapted minus zero-shot | ungated | ungated worst | other labels' texts: zero-shot | adapted | ungated | "
             "all texts: zero-shot | adapted | ungated |",
             "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for (name, method), rs in sorted(got.items()):
        worst = min(r["adapted_accuracy"] - r["zeroshot_accuracy"] for r in rs)
        ungated = [r["ungated_accuracy"] - r["zeroshot_accuracy"] for r in rs if "ungated_accuracy" in r]
        lines.append(f"| {name} | {method} | {', '.join(rs[0]['held_labels'])[:70]} | {len(rs)} | {np.mean([r['texts'] for r in rs]):.0f} | "
                     f"{mean(rs, 'zeroshot_accuracy')} | {mean(rs, 'adapted_accuracy')} | {worst * 100:+.1f} | "
                     f"{mean(rs, 'ungated_accuracy')} | {f'{min(ungated) * 100:+.1f}' if ungated else '-'} | "
                     f"{mean(rs, 'seen_zeroshot_accuracy')} | {mean(rs, 'seen_adapted_accuracy')} | {mean(rs, 'seen_ungated_accuracy')} | "
                     f"{overall(rs, 'zeroshot')} | {overall(rs, 'adapted')} | {overall(rs, 'ungated')} |")
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
            if method in K_FREE:
                ax.axhline(np.mean([g["accuracy"] for g in got]), color="grey", linestyle="--" if method == "zeroshot" else ":",
                           label=method)
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
    parser.add_argument("results", type=Path, nargs="+")
    parser.add_argument("--plot", type=Path)
    args = parser.parse_args(argv)
    rows = unique_zeroshot([row for path in args.results for row in load(path)])
    print(accuracy_table(rows), "", mean_table(rows), "", setfit_cells_table(rows), "", heldout_table(rows), sep="\n")
    if args.plot:
        plot(rows, args.plot)
    return 0


if __name__ == "__main__":
    sys.exit(main())
