"""Top-1 agreement and score drift of reduced precision against fp32, on the trained NLI head.

Loads one trained NLI model (``benchmarks/trained_head/train.py``) with
zeroclass in fp32 (torch, the reference), bf16 (torch), ONNX Runtime fp32 and
ONNX Runtime int8, in one process, and classifies the same real texts with
each: a seeded sample of AG News with its 4 labels and TREC with its 6, and
the SNLI/SICK pairs ``train.py`` held out (3-way NLI decisions, where the head
has real margins). For each precision it reports top-1 agreement with fp32,
the largest |Δ| of a score (single-label score; NLI class probability), the
largest |Δ| of an entailment probability, fp32's median top-2 margin and the
largest margin a flip crossed, and accuracy against the gold labels.

    PYTHONPATH=$PWD python -m benchmarks.trained_head.agreement --model /work/trained-head
"""

from __future__ import annotations

import argparse
import json
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from benchmarks.throughput.workloads import data_root

OUT = Path(__file__).resolve().parents[1] / "results"
#: Precision name -> zeroclass.pipeline keyword arguments.
SYSTEMS: dict[str, dict[str, Any]] = {
    "fp32": {"backend": "torch"},
    "bf16": {"backend": "torch", "dtype": "bfloat16"},
    "onnx-fp32": {"backend": "onnx"},
    "onnx-int8": {"backend": "onnx", "quantize": "int8"},
}


@dataclass
class Task:
    """One set's texts, gold labels and candidate labels."""

    name: str
    texts: list[str]
    gold: list[str]
    labels: list[str]


@dataclass
class Scores:
    """One system's answers on one task: single-label scores and per-pair entailment probabilities, in label order."""

    scores: np.ndarray  # (texts, labels)
    entail: np.ndarray  # (texts, labels)
    seconds: float


def load_task(root: Path, name: str, limit: int, seed: int) -> Task:
    """A seeded sample of at most ``limit`` rows of a single-label set."""
    meta = json.loads((root / name / "meta.json").read_text(encoding="utf-8"))
    with open(root / name / "test.jsonl", encoding="utf-8") as f:
        rows = [json.loads(line) for line in f]
    rows = random.Random(seed).sample(rows, min(limit, len(rows)))
    return Task(name, [r["text"] for r in rows], [r["labels"][0] for r in rows], list(meta["labels"]))


def classify(classifier: Callable[..., Any], task: Task) -> Scores:
    """Scores of every text × label, in ``task.labels`` order."""
    start = time.perf_counter()
    results = classifier(task.texts, candidate_labels=task.labels, explain=True)
    seconds = time.perf_counter() - start
    index = {label: i for i, label in enumerate(task.labels)}
    scores = np.zeros((len(results), len(index)))
    entail = np.zeros_like(scores)
    for row, result in enumerate(results):
        for label, score, why in zip(result.labels, result.scores, result.explanation):
            scores[row, index[label]] = score
            entail[row, index[label]] = why["entailment"]
    return Scores(scores, entail, seconds)


def compare(reference: Scores, other: Scores, task: Task) -> dict[str, float]:
    """Agreement of ``other`` with ``reference`` on ``task``, and its own accuracy."""
    top_ref, top = reference.scores.argmax(1), other.scores.argmax(1)
    gold = np.array([task.labels.index(g) for g in task.gold])
    ordered = np.sort(reference.scores, axis=1)
    margin = ordered[:, -1] - ordered[:, -2]
    return {
        # How far apart fp32's best two labels are: small margins are what reduced precision flips.
        "reference_median_margin": float(np.median(margin)),
        "largest_flipped_margin": float(margin[top_ref != top].max(initial=0.0)),
        "top1_agreement": float((top_ref == top).mean()),
        "disagreements": int((top_ref != top).sum()),
        "max_abs_delta_score": float(np.abs(reference.scores - other.scores).max()),
        "max_abs_delta_entailment": float(np.abs(reference.entail - other.entail).max()),
        "accuracy": float((top == gold).mean()),
        "seconds": other.seconds,
    }


def nli_probabilities(classifier: Any, pairs: list[tuple[str, str]]) -> tuple[np.ndarray, float]:
    """Softmax over the NLI classes of each (premise, hypothesis) pair, and the seconds it took."""
    start = time.perf_counter()
    logits = np.asarray(classifier.backend.score_pairs(pairs), dtype=np.float64)
    seconds = time.perf_counter() - start
    exp = np.exp(logits - logits.max(axis=1, keepdims=True))
    return exp / exp.sum(axis=1, keepdims=True), seconds


def compare_nli(reference: np.ndarray, other: np.ndarray, gold: np.ndarray, seconds: float, entailment: int) -> dict[str, Any]:
    """Agreement of the 3-way NLI decision on held-out pairs, where the trained head has real margins.

    ``gold`` holds class ids in the model's own order (train.py saves its labels in that order)."""
    ordered = np.sort(reference, axis=1)
    margin = ordered[:, -1] - ordered[:, -2]
    flipped = reference.argmax(1) != other.argmax(1)
    return {
        "reference_median_margin": float(np.median(margin)),
        "largest_flipped_margin": float(margin[flipped].max(initial=0.0)),
        "top1_agreement": float(1 - flipped.mean()),
        "disagreements": int(flipped.sum()),
        "max_abs_delta_score": float(np.abs(reference - other).max()),
        "max_abs_delta_entailment": float(np.abs(reference - other)[:, entailment].max()),
        "accuracy": float((other.argmax(1) == gold).mean()),
        "seconds": seconds,
    }


def held_out_pairs(data: Path) -> tuple[list[tuple[str, str]], np.ndarray]:
    """The NLI pairs train.py held out (same split), and their gold class ids (entailment, neutral, contradiction)."""
    from benchmarks.trained_head.train import read_pairs, split

    _, rows = split(read_pairs(data, ["snli", "sick"]), 0.1)
    return [(p, h) for p, h, _ in rows], np.array([g for _, _, g in rows])


def run(model: str, tasks: list[Task], systems: dict[str, dict[str, Any]], threads: int | None,
        nli: tuple[list[tuple[str, str]], np.ndarray] | None = None) -> list[dict[str, Any]]:
    """Every system on every task (and on the held-out NLI pairs), compared with the first system (fp32)."""
    import zeroclass

    rows, reference = [], {}
    for system, options in systems.items():
        classifier = zeroclass.pipeline("zero-shot-classification", model=model, num_threads=threads, **options)
        if nli is not None:
            probs, seconds = nli_probabilities(classifier, nli[0])
            reference.setdefault("nli", probs)
            rows.append({"system": system, "set": "snli+sick held-out (3-way NLI)", "pairs": len(nli[0]),
                         **compare_nli(reference["nli"], probs, nli[1], seconds, classifier.backend.head.entailment_id)})
            print(json.dumps(rows[-1]), flush=True)
        for task in tasks:
            got = classify(classifier, task)
            reference.setdefault(task.name, got)
            rows.append({"system": system, "set": task.name, "pairs": len(task.texts) * len(task.labels),
                         **compare(reference[task.name], got, task)})
            print(json.dumps(rows[-1]), flush=True)
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    """The rows as a Markdown table."""
    lines = ["| system | set | pairs | top-1 agreement with fp32 | max abs Δ score | max abs Δ entailment prob | accuracy | seconds |"
             " fp32 median top-2 margin | largest fp32 margin flipped |", "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['system']} | {r['set']} | {r['pairs']} | {r['top1_agreement']:.4f} ({r['disagreements']} differ) | "
                     f"{r['max_abs_delta_score']:.4f} | {r['max_abs_delta_entailment']:.4f} | {r['accuracy']:.3f} | {r['seconds']:.1f} | "
                     f"{r['reference_median_margin']:.4f} | {r['largest_flipped_margin']:.4f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="the trained NLI folder (train.py --out)")
    parser.add_argument("--sets", default="ag_news:500,trec:500", help="name:rows, comma-separated")
    parser.add_argument("--systems", default=",".join(SYSTEMS), help=f"from {', '.join(SYSTEMS)}; the first is the reference")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--no-nli", action="store_true", help="skip the held-out SNLI/SICK pairs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=OUT / "trained_head_agreement.json")
    args = parser.parse_args(argv)
    root = data_root()
    tasks = [load_task(root, name, int(n), args.seed) for name, n in (s.split(":") for s in args.sets.split(","))]
    systems = {name: SYSTEMS[name] for name in args.systems.split(",")}
    rows = run(args.model, tasks, systems, args.threads, None if args.no_nli else held_out_pairs(root))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"model": args.model, "sets": args.sets, "rows": rows}, indent=1), encoding="utf-8")
    print(table(rows))


if __name__ == "__main__":
    main()
