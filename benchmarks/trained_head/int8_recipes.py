"""Which parts of the graph int8 must leave in fp32 for top-1 agreement with fp32 on the trained head.

Each candidate :class:`zeroclass.backends.nli_onnx.Int8Recipe` is exported
(into a private cache) and run on the same texts × labels as
``agreement.py``, in one process, against the torch fp32 reference: top-1
agreement, max |Δ score|, and the time of each recipe relative to the first
(interleaved repeats, best kept; the machine is shared, so ratios only).

    PYTHONPATH=$PWD python -m benchmarks.trained_head.int8_recipes --model /work/trained-head
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.throughput.workloads import data_root
from benchmarks.trained_head.agreement import (
    OUT, Scores, Task, classify, compare, compare_nli, held_out_pairs, load_task, nli_probabilities,
)

#: name -> Int8Recipe keyword arguments (each spelt out against the default, so the names stay true when
#: the default changes); the first is the recipe before issue 15 (everything quantised).
RECIPES: dict[str, dict[str, Any]] = {
    "all-int8": {"head": False, "embeddings": False, "ffn_out": False, "ffn_in": False, "per_channel": False, "qkv": False},
    "keep-head+emb": {"ffn_out": False, "ffn_in": False, "per_channel": False, "qkv": False},
    "keep-head+emb+ffn-out": {"ffn_in": False, "per_channel": False, "qkv": False},
    "keep-head+emb+ffn-out+first": {"ffn_in": False, "layers": ("first",), "per_channel": False, "qkv": False},
    "keep-head+emb+ffn-in+ffn-out": {"head": True, "embeddings": True, "ffn_out": True, "ffn_in": True, "per_channel": False, "qkv": False},
    "keep-head+emb+first+last": {"ffn_out": False, "ffn_in": False, "layers": ("first", "last"), "per_channel": False, "qkv": False},
    "keep-head+emb+ffn-in+ffn-out+per-channel": {"head": True, "embeddings": True, "ffn_out": True, "ffn_in": True,
                                                  "per_channel": True, "qkv": False},
    "ffn-in+ffn-out+per-channel+first": {"head": True, "embeddings": True, "ffn_out": True, "ffn_in": True,
                                         "per_channel": True, "layers": ("first",), "qkv": False},
    "ffn-in+ffn-out+per-channel+last": {"head": True, "embeddings": True, "ffn_out": True, "ffn_in": True,
                                        "per_channel": True, "layers": ("last",), "qkv": False},
    "ffn-in+ffn-out+per-channel+qkv": {"head": True, "embeddings": True, "ffn_out": True, "ffn_in": True,
                                       "per_channel": True, "qkv": True},
}


def int8_classifier(model: str, recipe: dict[str, Any], threads: int | None):
    """A zeroclass ONNX int8 classifier exported with ``recipe``."""
    import zeroclass
    from zeroclass.backends import nli_onnx

    nli_onnx.INT8_RECIPE = nli_onnx.Int8Recipe(**recipe)  # read by the export and its cache key
    return zeroclass.pipeline("zero-shot-classification", model=model, backend="onnx", quantize="int8", num_threads=threads)


def timed(classifier: Any, tasks: list[Task], repeats: int) -> float:
    """Best-of-``repeats`` seconds to classify every task."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for task in tasks:
            classifier(task.texts, candidate_labels=task.labels)
        best = min(best, time.perf_counter() - start)
    return best


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--sets", default="ag_news:500,trec:500")
    parser.add_argument("--recipes", default=",".join(RECIPES))
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=1, help="timing runs per recipe (0: no timing)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--nli", action="store_true", help="also the SNLI/SICK pairs train.py held out (3-way decisions)")
    parser.add_argument("--out", type=Path, default=OUT / "trained_head_int8_recipes.json")
    args = parser.parse_args(argv)
    os.environ["ZEROCLASS_CACHE"] = tempfile.mkdtemp(prefix="zeroclass-recipes-")
    import zeroclass

    root = data_root()
    tasks = [load_task(root, name, int(n), args.seed) for name, n in (s.split(":") for s in args.sets.split(","))]
    reference_clf = zeroclass.pipeline("zero-shot-classification", model=args.model, backend="torch", num_threads=args.threads)
    reference: dict[str, Scores] = {t.name: classify(reference_clf, t) for t in tasks}
    nli = held_out_pairs(root) if args.nli else None
    nli_reference = nli_probabilities(reference_clf, nli[0])[0] if nli else None
    del reference_clf
    names = args.recipes.split(",")
    classifiers = {name: int8_classifier(args.model, RECIPES[name], args.threads) for name in names}
    rows = []
    for name, clf in classifiers.items():
        if nli is not None:
            probs, seconds = nli_probabilities(clf, nli[0])
            rows.append({"recipe": name, "set": "snli+sick held-out",
                         **compare_nli(nli_reference, probs, nli[1], seconds, clf.backend.head.entailment_id)})
            print(json.dumps(rows[-1]), flush=True)
        for task in tasks:
            rows.append({"recipe": name, "set": task.name, **compare(reference[task.name], classify(clf, task), task)})
            print(json.dumps(rows[-1]), flush=True)
    seconds = {name: float("inf") for name in names}
    for _ in range(args.repeats):  # interleaved, so a burst of load on the shared machine hits every recipe alike
        for name, clf in classifiers.items():
            seconds[name] = min(seconds[name], timed(clf, tasks, 1))
    for row in rows:
        row["time_vs_first"] = seconds[row["recipe"]] / seconds[names[0]] if args.repeats else None
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"model": args.model, "sets": args.sets, "recipes": {n: RECIPES[n] for n in names},
                                    "rows": rows}, indent=1, default=list), encoding="utf-8")
    print(table(rows))


def table(rows: list[dict[str, Any]]) -> str:
    """The rows as a Markdown table."""
    lines = ["| int8 recipe (fp32 parts) | set | top-1 agreement with fp32 | max abs Δ score | accuracy | time vs all-int8 |",
             "|---|---|---:|---:|---:|---:|"]
    for r in rows:
        ratio = "" if r["time_vs_first"] is None else f"{r['time_vs_first']:.2f}x"
        lines.append(f"| {r['recipe']} | {r['set']} | {r['top1_agreement']:.4f} ({r['disagreements']} differ) | "
                     f"{r['max_abs_delta_score']:.4f} | {r['accuracy']:.3f} | {ratio} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
