"""Turn NLI logits into zero-shot label scores.

This module is pure NumPy on purpose: it is the part of the product whose
numbers users compare with transformers' and ModelScope's pipelines, so it must
be trivially testable without a model, a tokenizer or torch.

The math (identical in both reference pipelines):

* single-label: the entailment logit of each (text, label) pair, softmaxed
  across the labels of one text, so the scores sum to 1;
* multi-label, or a single candidate label: for each label on its own, a
  softmax over its [contradiction, entailment] logits, keeping entailment, so
  each score is an independent probability in [0, 1].
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["softmax", "label_scores", "nli_probabilities", "rank", "split_per_text"]


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Numerically stable softmax (the max is subtracted before ``exp``).

    Computed in float64: logits in bfloat16/float16 come out of some backends,
    and the extra width costs nothing at these sizes.
    """
    x = np.asarray(x, dtype=np.float64)
    shifted = x - np.max(x, axis=axis, keepdims=True)
    exp = np.exp(shifted)
    return exp / np.sum(exp, axis=axis, keepdims=True)


def label_scores(
    logits: np.ndarray,
    *,
    entailment_id: int,
    contradiction_id: int,
    multi_label: bool,
) -> np.ndarray:
    """Scores of one text's candidate labels from their NLI logits.

    ``logits`` has shape ``(n_labels, n_classes)``: one row per hypothesis.
    With one label the single-label softmax would always give 1.0, so, like
    both reference pipelines, a lone label is scored as multi-label.
    """
    logits = np.asarray(logits, dtype=np.float64)
    if logits.ndim != 2:
        raise ValueError(f"expected logits of shape (n_labels, n_classes), got {logits.shape}")
    if multi_label or logits.shape[0] == 1:
        pair = logits[:, [contradiction_id, entailment_id]]
        return softmax(pair, axis=-1)[:, 1]
    return softmax(logits[:, entailment_id], axis=-1)


def nli_probabilities(logits: np.ndarray) -> np.ndarray:
    """Softmax over all NLI classes of each pair: the ``explain`` view."""
    return softmax(logits, axis=-1)


def rank(scores: np.ndarray) -> np.ndarray:
    """Indices of ``scores`` best first.

    Written as reversed ``argsort`` because that is exactly what transformers'
    and ModelScope's pipelines do, so even exact ties come out in their order.
    """
    return np.asarray(scores).argsort()[::-1]


def split_per_text(logits: np.ndarray, label_counts: Sequence[int], template_count: int = 1) -> list[np.ndarray]:
    """One ``(n_labels, n_classes)`` block per text from a call's logits, in pair order.

    With a template ensemble each label has ``template_count`` consecutive
    rows (label-major), whose logits are averaged, as the ensemble's
    definition; one template is passed through untouched.
    """
    blocks = []
    start = 0
    for n in label_counts:
        block = logits[start : start + n * template_count]
        start += n * template_count
        blocks.append(block if template_count == 1 else block.reshape(n, template_count, -1).mean(axis=1))
    return blocks
