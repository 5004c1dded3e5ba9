"""Classification metrics from gold labels and scores: pure NumPy, no model.

Kept apart from running a model so every number in a report can be checked
by hand (``tests/test_metrics.py`` does), and written here rather than taken
from scikit-learn so the only dependency stays NumPy.

Conventions (the same as scikit-learn's with ``zero_division=0``): a label
that is never predicted has precision 0; macro averages run over the labels
that occur in the gold data or the predictions, so a candidate label that
neither the data nor the model ever uses does not drag the average to 0 (it
is still listed, with support 0 and F1 ``None``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "LabelStats",
    "per_label_stats",
    "confusion_matrix",
    "single_label_metrics",
    "multi_label_metrics",
    "threshold_sweep",
    "reliability",
    "THRESHOLDS",
]

#: Thresholds of the multi-label sweep: 0.05, 0.10, ..., 0.95.
THRESHOLDS = tuple(round(0.05 * i, 2) for i in range(1, 20))


@dataclass(frozen=True)
class LabelStats:
    """One label's precision, recall, F1 and support (``None`` when the label is unused)."""

    label: str
    precision: float | None
    recall: float | None
    f1: float | None
    support: int


def _ratio(num: float, den: float) -> float:
    return float(num / den) if den else 0.0


def per_label_stats(labels: list[str], tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> list[LabelStats]:
    """Per-label statistics from true-positive, false-positive and false-negative counts."""
    stats = []
    for name, t, p, n in zip(labels, tp, fp, fn):
        support = int(t + n)
        if support == 0 and p == 0:
            stats.append(LabelStats(name, None, None, None, 0))
            continue
        precision, recall = _ratio(t, t + p), _ratio(t, t + n)
        stats.append(LabelStats(name, precision, recall, _ratio(2 * t, 2 * t + p + n), support))
    return stats


def _macro_f1(stats: list[LabelStats]) -> float:
    used = [s.f1 for s in stats if s.f1 is not None]
    return float(np.mean(used)) if used else 0.0


def confusion_matrix(gold: np.ndarray, predicted: np.ndarray, n_labels: int) -> np.ndarray:
    """``matrix[g, p]``: how many texts of gold label ``g`` were predicted ``p``."""
    matrix = np.zeros((n_labels, n_labels), dtype=np.int64)
    np.add.at(matrix, (gold, predicted), 1)
    return matrix


def single_label_metrics(labels: list[str], gold: np.ndarray, predicted: np.ndarray) -> dict:
    """Accuracy, macro-F1, per-label statistics and the confusion matrix (label indices in)."""
    matrix = confusion_matrix(gold, predicted, len(labels))
    tp = np.diag(matrix)
    stats = per_label_stats(labels, tp, matrix.sum(axis=0) - tp, matrix.sum(axis=1) - tp)
    return {
        "accuracy": _ratio(tp.sum(), len(gold)),
        "macro_f1": _macro_f1(stats),
        "per_label": stats,
        "confusion": matrix,
    }


def _counts(gold: np.ndarray, predicted: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    tp = (gold & predicted).sum(axis=0)
    return tp, (~gold & predicted).sum(axis=0), (gold & ~predicted).sum(axis=0)


def multi_label_metrics(labels: list[str], gold: np.ndarray, scores: np.ndarray, threshold: float) -> dict:
    """Micro- and macro-F1, exact match and per-label statistics at one threshold.

    ``gold`` is a boolean ``(texts, labels)`` matrix (a row may be all
    false: a text with no gold label, right when nothing is predicted);
    a label is predicted when its score is above ``threshold``.
    """
    predicted = scores > threshold
    tp, fp, fn = _counts(gold, predicted)
    stats = per_label_stats(labels, tp, fp, fn)
    return {
        "threshold": threshold,
        "micro_f1": _ratio(2 * tp.sum(), 2 * tp.sum() + fp.sum() + fn.sum()),
        "macro_f1": _macro_f1(stats),
        "exact_match": float((predicted == gold).all(axis=1).mean()) if len(gold) else 0.0,
        "per_label": stats,
    }


def threshold_sweep(labels: list[str], gold: np.ndarray, scores: np.ndarray) -> list[dict]:
    """Micro-F1, macro-F1 and exact match at each of :data:`THRESHOLDS`."""
    rows = []
    for t in THRESHOLDS:
        m = multi_label_metrics(labels, gold, scores, t)
        rows.append({k: m[k] for k in ("threshold", "micro_f1", "macro_f1", "exact_match")})
    return rows


def reliability(confidence: np.ndarray, outcome: np.ndarray, bins: int = 10) -> dict:
    """Expected calibration error and the reliability-diagram bins.

    ``confidence`` are predicted probabilities, ``outcome`` whether the event
    happened (single-label: the top label was right; multi-label: each
    (text, label) pair's label is gold). ECE is the support-weighted mean gap
    between mean confidence and observed frequency over equal-width bins.
    """
    confidence = np.asarray(confidence, dtype=np.float64)
    outcome = np.asarray(outcome, dtype=np.float64)
    # Bin i holds (i/bins, (i+1)/bins]; a confidence of exactly 0 goes to the first bin.
    index = np.clip(np.ceil(confidence * bins).astype(int) - 1, 0, bins - 1)
    table = []
    ece = 0.0
    for i in range(bins):
        members = index == i
        count = int(members.sum())
        mean_conf = float(confidence[members].mean()) if count else None
        freq = float(outcome[members].mean()) if count else None
        if count:
            ece += count / len(confidence) * abs(freq - mean_conf)  # type: ignore[operator]
        table.append({"low": i / bins, "high": (i + 1) / bins, "count": count, "confidence": mean_conf, "accuracy": freq})
    return {"ece": ece, "bins": table}
