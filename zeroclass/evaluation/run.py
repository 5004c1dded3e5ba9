"""``evaluate``: run a classifier over labelled data and measure it.

The whole data set is one classifier call (``prepare`` once, pairs scored in
chunks for the progress bar, ``finish`` once), so every text gets exactly the
scores a single ``classifier(texts, labels)`` call would give it, including
options such as refinement that look at all texts of a call.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .dataset import LabelledData, load_labelled
from .metrics import multi_label_metrics, reliability, single_label_metrics, threshold_sweep
from .report import EvaluationReport

if TYPE_CHECKING:
    from ..classifier import ZeroShotClassifier

__all__ = ["evaluate"]

#: Pairs scored per progress-bar step.
_CHUNK_PAIRS = 4096
#: The multi-label decision threshold the product uses ("above 0.5 fits").
_THRESHOLD = 0.5


def evaluate(
    data: str | os.PathLike[str] | LabelledData | Any,
    *,
    classifier: Any = None,
    model: str | os.PathLike[str] | None = None,
    text_column: str = "text",
    label_column: str = "label",
    labels: str | Sequence[str] | None = None,
    multi_label: bool = False,
    hypothesis_template: str | Sequence[str] | None = None,
    label_descriptions: Mapping[str, str] | None = None,
    refine: bool | None = None,
    limit: int | None = None,
    seed: int = 0,
    max_errors: int = 100,
    progress: bool = True,
    **model_options: Any,
) -> EvaluationReport:
    """Classify labelled data and report how well it went.

    ``data``: a CSV / TSV / JSON-lines / Parquet file, a pandas DataFrame, or
    a list of dicts, each with ``text_column`` and ``label_column``.

    ``classifier`` (a :class:`~zeroclass.ZeroShotClassifier`) or ``model``
    (loaded with ``model_options``; default: the offline model) answers.
    ``labels``: the candidate labels (default: every gold label in the
    data). A multi-label column holds a list or a ``;``- or ``,``-separated
    string. ``limit``: evaluate a fixed-seed random sample of that many rows.
    """
    from ..classifier import ZeroShotClassifier

    if not isinstance(data, LabelledData):
        data = load_labelled(
            data, text_column=text_column, label_column=label_column, labels=labels,
            multi_label=multi_label, limit=limit, seed=seed,
        )
    if classifier is None:
        classifier = ZeroShotClassifier.from_pretrained(model, **model_options)
    call = classifier.prepare(
        data.texts, data.labels, multi_label=data.multi_label, hypothesis_template=hypothesis_template,
        label_descriptions=label_descriptions, refine=refine,
    )
    results = classifier.finish(call, _score(classifier, call.pairs, progress))
    scores = _score_matrix(results, data.labels)
    config = {
        "model": classifier.model_name,
        "backend": classifier.backend_class,
        # What the texts were read with: a routed model's Chinese texts get its Chinese templates.
        "templates": list(dict.fromkeys(t for used in classifier.text_templates(data.texts, hypothesis_template, [data.labels] * len(data.texts)) for t in used)),
        "label_descriptions": dict(label_descriptions or {}),
        "refine": call.refine,
        "multi_label": data.multi_label,
        "data": data.source,
        "rows": len(data.texts),
        "limit": limit,
        "seed": seed,
        "labels": data.labels,
    }
    measure = _multi_label if data.multi_label else _single_label
    return measure(data, scores, config, max_errors)


def _score_matrix(results: Sequence[Mapping[str, Any]], labels: list[str]) -> np.ndarray:
    """Each result's scores as one row, in the data's label order (results list labels best first)."""
    column = {label: j for j, label in enumerate(labels)}
    scores = np.zeros((len(results), len(labels)))
    for i, result in enumerate(results):
        scores[i, [column[label] for label in result["labels"]]] = result["scores"]
    return scores


def _score(classifier: ZeroShotClassifier, pairs: list[tuple[str, str]], progress: bool) -> np.ndarray:
    """The logits of ``pairs``, scored ``_CHUNK_PAIRS`` distinct pairs at a time so a progress bar can move."""
    from tqdm.auto import tqdm

    # On a terminal the bar is wiped when done; elsewhere (a log, a pipe shared with the report) it must
    # end its line, or the report's first line is glued to it.
    with tqdm(unit="pair", desc="scoring", disable=not progress, leave=not sys.stderr.isatty()) as bar:

        def advance(scored: int, total: int) -> None:
            bar.total = total
            bar.update(scored - bar.n)

        return classifier.score(pairs, progress=advance, chunk_pairs=_CHUNK_PAIRS)


def _top(labels: list[str], row: np.ndarray, k: int = 5) -> dict[str, float]:
    return {labels[j]: round(float(row[j]), 4) for j in np.argsort(-row)[:k]}


def _single_label(data: LabelledData, scores: np.ndarray, config: dict, max_errors: int) -> EvaluationReport:
    column = {label: j for j, label in enumerate(data.labels)}
    gold = np.array([column[g[0]] for g in data.gold])
    predicted = scores.argmax(axis=1)
    metrics = single_label_metrics(data.labels, gold, predicted)
    confidence = scores[np.arange(len(gold)), predicted]
    calib = reliability(confidence, predicted == gold)
    wrong = np.flatnonzero(predicted != gold)
    worst = wrong[np.argsort(-confidence[wrong], kind="stable")][:max_errors]
    errors = [
        {
            "row": data.rows[i],
            "text": data.texts[i],
            "gold": data.labels[gold[i]],
            "predicted": data.labels[predicted[i]],
            "score": round(float(confidence[i]), 4),
            "gold_score": round(float(scores[i, gold[i]]), 4),
            "top": _top(data.labels, scores[i]),
        }
        for i in worst
    ]
    summary = {"accuracy": metrics["accuracy"], "macro_f1": metrics["macro_f1"], "ece": calib["ece"]}
    return EvaluationReport(config, summary, metrics["per_label"], calib["bins"], errors, confusion=metrics["confusion"])


def _multi_label(data: LabelledData, scores: np.ndarray, config: dict, max_errors: int) -> EvaluationReport:
    column = {label: j for j, label in enumerate(data.labels)}
    gold = np.zeros(scores.shape, dtype=bool)
    for i, row_gold in enumerate(data.gold):
        gold[i, [column[g] for g in row_gold]] = True
    at_default = multi_label_metrics(data.labels, gold, scores, _THRESHOLD)
    sweep = threshold_sweep(data.labels, gold, scores)
    best = max(sweep, key=lambda row: row["micro_f1"])
    calib = reliability(scores.ravel(), gold.ravel())
    predicted = scores > _THRESHOLD
    # How wrong a row is: its most confident false positive or its most confidently missed gold label.
    badness = np.maximum((scores * (predicted & ~gold)).max(axis=1), ((1 - scores) * (gold & ~predicted)).max(axis=1))
    wrong = np.flatnonzero((predicted != gold).any(axis=1))
    worst = wrong[np.argsort(-badness[wrong], kind="stable")][:max_errors]
    errors = [
        {
            "row": data.rows[i],
            "text": data.texts[i],
            "gold": data.gold[i],
            "predicted": [data.labels[j] for j in np.flatnonzero(predicted[i])],
            "false_positives": {data.labels[j]: round(float(scores[i, j]), 4) for j in np.flatnonzero(predicted[i] & ~gold[i])},
            "missed": {data.labels[j]: round(float(scores[i, j]), 4) for j in np.flatnonzero(gold[i] & ~predicted[i])},
            "top": _top(data.labels, scores[i]),
        }
        for i in worst
    ]
    summary = {
        "micro_f1": at_default["micro_f1"],
        "macro_f1": at_default["macro_f1"],
        "exact_match": at_default["exact_match"],
        "best_threshold": best["threshold"],
        "micro_f1_at_best": best["micro_f1"],
        "macro_f1_at_best": best["macro_f1"],
        "ece": calib["ece"],
    }
    return EvaluationReport(config, summary, at_default["per_label"], calib["bins"], errors, thresholds=sweep)
