"""How well a candidate backend does on held-out examples: the early-stopping signal of every training method."""

from __future__ import annotations

from typing import Any

import numpy as np

from .examples import Examples

__all__ = ["heldout_score"]


def heldout_score(backend: Any, examples: Examples, templates: tuple[str, ...]) -> float:
    """Accuracy (single-label) or mean per-label decision accuracy at 0.5 (multi-label) on ``examples``.

    Scored exactly as the adapted classifier will score them, through
    :class:`~zeroclass.ZeroShotClassifier`, so the number that picks an
    epoch is the number users get.
    """
    from ..classifier import ZeroShotClassifier

    classifier = ZeroShotClassifier(backend, hypothesis_template=list(templates))
    results = classifier(examples.texts, examples.labels, multi_label=examples.multi_label)
    if not examples.multi_label:
        return float(np.mean([r["labels"][0] == gold[0] for r, gold in zip(results, examples.gold)]))
    correct = [
        (score > 0.5) == (label in gold)
        for r, gold in zip(results, examples.gold)
        for label, score in zip(r["labels"], r["scores"])
    ]
    return float(np.mean(correct))
