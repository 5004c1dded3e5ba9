"""Few-shot benchmark: zeroclass adapt against SetFit and a logistic regression, side by side in one process.

k examples per label (nested samples, fixed seed; see ``data.py``), 1,000
other texts of the same set to evaluate, the offline default's backbone
(all-MiniLM-L6-v2; ``head`` and ``prototypes`` read texts with it and
USE-multilingual side by side, as ``adapt`` does for English examples) for every method:

* ``zeroshot``: the untouched offline default (its defaults: template ensemble, refinement);
* ``joint-zeroshot``: zero-shot with the encoder the adapt methods tune, no examples
  (for English, the offline default's two models side by side), which splits
  an adapted classifier's gain into the encoder's and the examples';
* ``head``: ``classifier.adapt(texts, labels)`` (the default, ``method="head"``);
* ``prototypes``: ``classifier.adapt(..., method="prototypes")`` (no gradient);
* ``contrastive``: ``classifier.adapt(..., method="contrastive")``;
* ``logreg``: scikit-learn's LogisticRegression on the frozen embeddings;
* ``setfit``: the ``setfit`` library, its defaults but ``num_iterations=20`` (as in the issue's run).

Training seconds include embedding the examples; prediction texts/s is
each method's own predict path on a cold start: for zero-shot and SetFit
the whole evaluation set, for the methods over the frozen encoder the first
``SPEED_TEXTS`` evaluation texts with an empty embedding cache (their
accuracy is then computed with the encoder's embeddings shared with
zero-shot's call: the same frozen model gives the same vectors, and
re-encoding 1,000 texts per method and k would triple the run). One line of JSON per
(set, seed, k, method) goes to ``--out`` as soon as it is measured, so a cut
run keeps what it did. ``--heldout-labels``: also adapt on two thirds of the
labels and score the texts of the other third against all labels (and the
other texts, what the gate for unseen labels may cost, gated and ungated).

    PYTHONPATH=. .venv/bin/python benchmarks/fewshot/run.py --k 8 --seeds 0 --sets sst2,trec \\
        --methods zeroshot,head,prototypes,logreg,setfit --heldout-labels head,prototypes \\
        --out benchmarks/fewshot/results.jsonl
    .venv/bin/python benchmarks/fewshot/report.py benchmarks/fewshot/results.jsonl
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from data import ENGLISH_SETS, Split, load_split  # noqa: E402

METHODS = ("zeroshot", "joint-zeroshot", "head", "prototypes", "contrastive", "logreg", "setfit")
#: Evaluation texts timed on a cold embedding cache for the frozen-encoder methods.
SPEED_TEXTS = 100


def _accuracy(predicted: list[str], gold: list[str]) -> float:
    return float(np.mean([p == g for p, g in zip(predicted, gold)]))


def _classify(classifier, split: Split, texts: list[str] | None = None, labels: list[str] | None = None) -> tuple[list[str], float]:
    texts = texts if texts is not None else split.eval_texts
    started = time.perf_counter()
    results = classifier(texts, labels or split.labels)
    return [r["labels"][0] for r in results], len(texts) / (time.perf_counter() - started)


def _encoder(classifier):
    """The encoder that adapting to English texts tunes: the offline default's two models side by side (so logreg and
    joint-zeroshot read the same vectors as head and prototypes)."""
    from zeroclass.adaptation import _tuned_backend

    return _tuned_backend(classifier.backend, ["An English sentence."])


def run_zeroclass(base, split: Split, k: int, seed: int, method: str) -> dict:
    from zeroclass.adaptation.prototypes import PrototypeBackend
    from zeroclass.classifier import ZeroShotClassifier

    texts, gold = split.train(k)
    if method in ("zeroshot", "joint-zeroshot"):  # the first call on this split: a cold cache, and it fills it for the others
        classifier = base if method == "zeroshot" else ZeroShotClassifier(_encoder(base))
        predicted, speed = _classify(classifier, split)
        return {"accuracy": _accuracy(predicted, split.eval_gold), "train_s": 0.0, "predict_texts_per_s": speed}
    started = time.perf_counter()
    adapted = base.adapt(texts, gold, candidate_labels=split.labels, seed=seed, method=method)
    train_s = time.perf_counter() - started
    backend = adapted.backend
    cold = ZeroShotClassifier(PrototypeBackend.from_backend(backend, backend.prototypes), hypothesis_template=adapted.hypothesis_template)
    _, speed = _classify(cold, split, split.eval_texts[:SPEED_TEXTS])
    if method != "contrastive":  # same frozen encoder as zero-shot: share its embeddings of the evaluation texts
        backend._cache = _encoder(base)._cache
    predicted, _ = _classify(adapted, split)
    return {"accuracy": _accuracy(predicted, split.eval_gold), "train_s": train_s, "predict_texts_per_s": speed,
            "training": adapted.info["training"]}


def run_logreg(base, split: Split, k: int, seed: int) -> dict:
    from sklearn.linear_model import LogisticRegression

    encoder = _encoder(base)
    texts, gold = split.train(k)
    started = time.perf_counter()
    model = LogisticRegression(max_iter=2000, random_state=seed).fit(encoder.embed(texts), gold)
    train_s = time.perf_counter() - started
    started = time.perf_counter()
    model.predict(encoder.embed(split.eval_texts[:SPEED_TEXTS]))
    speed = SPEED_TEXTS / (time.perf_counter() - started)
    predicted = list(model.predict(encoder._embed_cached(split.eval_texts)))
    return {"accuracy": _accuracy(predicted, split.eval_gold), "train_s": train_s, "predict_texts_per_s": speed}


def run_setfit(model_path: str, split: Split, k: int, seed: int) -> dict:
    from datasets import Dataset
    from setfit import SetFitModel, Trainer, TrainingArguments

    texts, gold = split.train(k)
    started = time.perf_counter()
    model = SetFitModel.from_pretrained(model_path)
    with tempfile.TemporaryDirectory(prefix="setfit-") as out:
        trainer = Trainer(model=model, args=TrainingArguments(output_dir=out, num_iterations=20, seed=seed),
                          train_dataset=Dataset.from_dict({"text": texts, "label": gold}))
        trainer.train()
    train_s = time.perf_counter() - started
    started = time.perf_counter()
    predicted = [str(p) for p in model.predict(split.eval_texts)]
    speed = len(split.eval_texts) / (time.perf_counter() - started)
    return {"accuracy": _accuracy(predicted, split.eval_gold), "train_s": train_s, "predict_texts_per_s": speed}


def run_heldout_labels(base, split: Split, k: int, seed: int, method: str) -> dict:
    """Zero-shot vs adapted accuracy when a third of the labels (seeded) get no examples; all labels are candidates.

    Measured on the texts whose gold label is held out (what the gate
    protects) and on the other texts (what it may cost: a seen label's text
    that zero-shot gives to an unseen label stays there), each in one call,
    with the adapted classifier gated (the default) and ungated.
    """
    from zeroclass.classifier import ZeroShotClassifier

    order = np.random.default_rng(seed).permutation(len(split.labels))
    held = {split.labels[i] for i in order[: max(1, len(split.labels) // 3)]}
    texts, gold = split.train(k, [label for label in split.labels if label not in held])
    adapted = base.adapt(texts, gold, candidate_labels=split.labels, seed=seed, method=method)
    adapted.backend._cache = _encoder(base)._cache
    ungated = ZeroShotClassifier(type(adapted.backend).from_backend(adapted.backend, adapted.backend.prototypes, gate=False),
                                 hypothesis_template=adapted.hypothesis_template)
    ungated.backend._cache = adapted.backend._cache
    record: dict = {"adapt_method": method, "held_labels": sorted(held)}
    for name, rows in (("", [i for i, g in enumerate(split.eval_gold) if g in held]),
                       ("seen_", [i for i, g in enumerate(split.eval_gold) if g not in held])):
        eval_texts, eval_gold = [split.eval_texts[i] for i in rows], [split.eval_gold[i] for i in rows]
        record[f"{name}texts"] = len(rows)
        for column, classifier in (("zeroshot", base), ("adapted", adapted), ("ungated", ungated)):
            predicted, _ = _classify(classifier, split, eval_texts)
            record[f"{name}{column}_accuracy"] = _accuracy(predicted, eval_gold)
    return record


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--k", default="2,4,8,16", help="examples per label, comma-separated")
    parser.add_argument("--seeds", default="0,1")
    parser.add_argument("--sets", default=",".join(ENGLISH_SETS))
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--heldout-labels", default="", metavar="METHODS",
                        help="adapt methods (comma-separated) to also measure on labels left out of the examples")
    parser.add_argument("--eval-size", type=int, default=1000)
    parser.add_argument("--out", type=Path, required=True, help="JSON lines, appended")
    args = parser.parse_args(argv)

    import torch
    import zeroclass
    from zeroclass.hub import offline_default

    base = zeroclass.pipeline(device="cpu")
    model_path = str(offline_default().path)
    run = {"command": "benchmarks/fewshot/run.py " + " ".join(argv if argv is not None else sys.argv[1:]),
           "torch_threads": torch.get_num_threads()}
    with open(args.out, "a", encoding="utf-8") as out:
        for name in args.sets.split(","):
            for seed in (int(s) for s in args.seeds.split(",")):
                split = load_split(name, seed, args.eval_size)
                for k in (int(x) for x in args.k.split(",")):
                    for method in args.methods.split(","):
                        if method.endswith("zeroshot") and k != int(args.k.split(",")[0]):
                            continue  # does not depend on k
                        if method == "logreg":
                            row = run_logreg(base, split, k, seed)
                        elif method == "setfit":
                            row = run_setfit(model_path, split, k, seed)
                        else:
                            row = run_zeroclass(base, split, k, seed, method)
                        record = {"set": name, "seed": seed, "k": k, "method": method, "eval_texts": len(split.eval_texts), **row, **run}
                        out.write(json.dumps(record) + "\n")
                        out.flush()
                        print(json.dumps({key: record[key] for key in ("set", "seed", "k", "method", "accuracy", "train_s")}), flush=True)
                    for method in args.heldout_labels.split(",") if args.heldout_labels else ():
                        record = {"set": name, "seed": seed, "k": k, "method": "heldout-labels",
                                  **run_heldout_labels(base, split, k, seed, method), **run}
                        out.write(json.dumps(record) + "\n")
                        out.flush()
                        print(json.dumps(record), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
