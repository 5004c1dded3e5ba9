"""Accuracy suite: one model over every classification set in ../shared/data, one table.

Each set's ``meta.json`` gives its candidate label names, language and
multi-label flag; NLI sets (premise/hypothesis pairs) are skipped. Every set
is sampled the same way (a fixed-seed shuffle, then the first ``--limit``
rows), because several are sorted by label.

    .venv/bin/python benchmarks/accuracy/run.py [--model M] [--backend B] [--limit 1000] [--template T ...]
        [--no-refine] [--sets ag_news,sst2] [--out benchmarks/accuracy/results.md]

The data folder is ``../shared/data`` next to the repository, or ``$ZEROCLASS_DATA``.
Sets in a language the model cannot read are skipped. The offline default
routes each text by language (English: all-MiniLM-L6-v2; Chinese and other
languages: USE-multilingual), so the last column says which model answered
how many texts of each set.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
import shlex
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def data_root() -> Path:
    """``$ZEROCLASS_DATA``, else ``../shared/data`` next to the repository."""
    return Path(os.environ.get("ZEROCLASS_DATA") or REPO.parent / "shared" / "data")


def classification_sets(root: Path) -> list[tuple[str, dict]]:
    """(folder, meta) of every classification set, in name order."""
    sets = []
    for meta_path in sorted(root.glob("*/meta.json")):
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if meta.get("task") != "nli":
            sets.append((meta_path.parent.name, meta))
    return sets


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="hub id or folder (default: the offline default)")
    parser.add_argument("--backend", help="torch, onnx, embedding... (default: by the model)")
    parser.add_argument("--limit", type=int, default=1000, help="texts per set (fixed-seed sample)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--template", action="append", help="hypothesis template; repeat for an ensemble")
    parser.add_argument("--refine", action=argparse.BooleanOptionalAction, default=None)
    parser.add_argument("--sets", help="comma-separated set names (default: all classification sets)")
    parser.add_argument("--out", type=Path, help="also write the table (Markdown) here")
    args = parser.parse_args(argv)

    from zeroclass import ZeroShotClassifier, UnsupportedLanguageError
    from zeroclass.evaluation import evaluate
    from zeroclass.evaluation.dataset import load_labelled

    root = data_root()
    if not root.is_dir():
        print(f"no data at {root}: set ZEROCLASS_DATA", file=sys.stderr)
        return 2
    wanted = set(args.sets.split(",")) if args.sets else None
    classifier = ZeroShotClassifier.from_pretrained(args.model, backend=args.backend, device="cpu")
    rows = []
    for name, meta in classification_sets(root):
        if wanted and name not in wanted:
            continue
        started = time.perf_counter()
        data = load_labelled(root / name / "test.jsonl", label_column="labels", labels=meta["labels"],
                             multi_label=meta["multi_label"], limit=args.limit, seed=args.seed)
        try:
            report = evaluate(data, classifier=classifier, hypothesis_template=args.template, refine=args.refine,
                              progress=False)
        except UnsupportedLanguageError:
            rows.append(f"| {name} | {meta['language']} | - | - | - | - | - | skipped: model cannot read {meta['language']} | - |")
            continue
        s = report.summary
        if meta["multi_label"]:
            cells = ["-", f"{s['macro_f1']:.3f}", f"{s['micro_f1']:.3f} (best {s['micro_f1_at_best']:.3f} at {s['best_threshold']:.2f})"]
        else:
            cells = [f"{s['accuracy']:.3f}", f"{s['macro_f1']:.3f}", "-"]
        seconds = time.perf_counter() - started
        rows.append(f"| {name} | {meta['language']} | {report.config['rows']} | " + " | ".join(cells)
                    + f" | {s['ece']:.3f} | {seconds:.0f} s | {_answered_by(classifier, data.texts)} |")
        print(rows[-1], flush=True)
    config = {
        "model": classifier.model_name,
        "templates": list(classifier.templates(args.template)),
        "templates by language": "as given" if args.template else getattr(classifier.backend, "language_templates", None),
        "refine": "backend default" if args.refine is None else args.refine,
        "limit": args.limit,
        "seed": args.seed,
        "command": "benchmarks/accuracy/run.py " + shlex.join(argv if argv is not None else sys.argv[1:]),
    }
    table = "\n".join(
        [f"configuration: `{json.dumps(config, ensure_ascii=False)}`", "",
         "| set | lang | texts | accuracy | macro-F1 | micro-F1 at 0.5 (multi-label) | ECE | time | answered by |",
         "|---|---|---:|---:|---:|---|---:|---:|---|", *rows]
    )
    print(table)
    if args.out:
        args.out.write_text(table + "\n", encoding="utf-8")
    return 0


def _answered_by(classifier, texts: list[str]) -> str:
    """``model (texts)`` for each model that answered some of ``texts``: several only for a routed model."""
    model_for = getattr(classifier.backend, "model_for", None)
    if model_for is None:
        return classifier.model_name.rsplit("/", 1)[-1]
    counts = Counter(model_for(text).rsplit("/", 1)[-1] for text in texts)
    return ", ".join(f"{model} ({n})" for model, n in counts.most_common())


if __name__ == "__main__":
    sys.exit(main())
