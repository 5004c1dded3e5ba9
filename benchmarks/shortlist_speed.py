"""Speed of NLI with and without ``shortlist=K`` as the label count grows, one process, same inputs.

Full NLI costs one forward pass per (text, label); with a shortlist it costs
K passes per text plus one embedding pass per text (label vectors are cached,
so after the first call a fixed label set costs nothing more). Models are the
throughput harness's seeded BERT-base and MiniLM-L6 shapes; texts are AG News
stories; label names come from the evaluation sets' label lists (150 needs
more names than they hold, so the rest are "<name> request" variants: only
their count matters for speed).

    python -m benchmarks.shortlist_speed [--model bert-base] [--labels 8,32,77,150] [--texts 6] [--k 10]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.throughput import models, workloads

OUT = Path(__file__).resolve().parent / "results"


def label_names(n: int) -> list[str]:
    """``n`` distinct English label names: banking77's own at 77, else the harness's pool, padded."""
    if n == 77:
        return workloads._labels("banking77")
    pool = list(dict.fromkeys(label for name in workloads._LABEL_POOLS for label in workloads._labels(name)))
    names = pool + [f"{label} request" for label in pool]
    return names[:n]


def interleaved(repeats: int, **runs) -> dict[str, tuple[float, object]]:
    """Best wall time and last result of each run, alternating them so a busy moment hits both alike."""
    best: dict[str, tuple[float, object]] = {}
    for _ in range(repeats):
        for name, fn in runs.items():
            started = time.perf_counter()
            result = fn()
            seconds = time.perf_counter() - started
            best[name] = (min(seconds, best.get(name, (seconds,))[0]), result)
    return best


def measure(classifier, texts: list[str], labels: list[str], k: int, repeats: int) -> dict:
    classifier(texts[:1], labels, shortlist=k)  # label vectors cached, as in any later call
    runs = interleaved(repeats, full=lambda: classifier(texts, labels), short=lambda: classifier(texts, labels, shortlist=k))
    (full_s, full), (short_s, short) = runs["full"], runs["short"]
    same_top = sum(s["labels"][0] == f["labels"][0] for s, f in zip(short, full)) / len(texts)
    return {
        "labels": len(labels),
        "texts": len(texts),
        "full_texts_per_s": len(texts) / full_s,
        "shortlist_texts_per_s": len(texts) / short_s,
        "speedup": full_s / short_s,
        "top1_same_as_full": same_top,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.shortlist_speed", description=__doc__)
    parser.add_argument("--model", default="bert-base", help=", ".join(models.SHAPES))
    parser.add_argument("--labels", default="8,32,77,150")
    parser.add_argument("--texts", type=int, default=6)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    import torch

    from zeroclass import ZeroShotClassifier

    torch.set_num_threads(args.threads)
    model = models.resolve(args.model, Path(tempfile.mkdtemp(prefix="zeroclass-shortlist-")), seed=args.seed)
    classifier = ZeroShotClassifier.from_pretrained(str(model.path), device="cpu", num_threads=args.threads)
    texts = workloads._sample(workloads._texts("ag_news"), args.texts, args.seed)
    classifier(texts[:2], ["warm", "up"])
    rows = []
    for n in (int(x) for x in args.labels.split(",")):
        row = {"model": args.model, "k": args.k} | measure(classifier, texts, label_names(n), args.k, args.repeats)
        print(json.dumps(row), file=sys.stderr)
        rows.append(row)
    command = "python -m benchmarks.shortlist_speed " + " ".join(argv if argv is not None else sys.argv[1:])
    OUT.mkdir(exist_ok=True)
    (OUT / f"shortlist-speed-{args.model}.json").write_text(json.dumps({"command": command, "rows": rows}, indent=1) + "\n")
    print(f"`{command}`\n\n| model | labels | texts | full NLI texts/s | shortlist={args.k} texts/s | speed-up | top-1 same as full |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['model']} | {r['labels']} | {r['texts']} | {r['full_texts_per_s']:.3f} | "
              f"{r['shortlist_texts_per_s']:.3f} | {r['speedup']:.1f}x | {r['top1_same_as_full']:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
