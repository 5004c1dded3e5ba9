"""Label prototypes: an embedding model's label vectors moved towards the label's examples.

No gradient: each hypothesis of a label with examples gets a new vector,

    unit(e(h) + w * (m_label - m_all)),   w = n / (n + PRIOR_EXAMPLES)

where ``e(h)`` is the hypothesis' own embedding (the zero-shot prior),
``m_label`` the mean of the label's examples, ``m_all`` the mean over all
labels' means, and ``n`` the label's number of examples. Two reasons:

* the *difference* ``m_label - m_all`` is what tells this label's texts from
  the others'; adding the raw mean would instead make the label closer to
  every text (all texts share a common direction), so labels with examples
  would steal texts from labels without (which must keep their zero-shot
  accuracy);
* the prior's weight shrinks as examples accumulate, as in a Bayesian mean:
  two examples nudge the label, sixteen mostly define it.

Hypotheses of labels without examples are scored exactly as before.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ..backends.embedding import EmbeddingBackend, _unit
from .examples import Examples

__all__ = ["PrototypeBackend", "build_prototypes", "PRIOR_EXAMPLES"]

#: How many examples the label's own name is worth (``w = n / (n + PRIOR_EXAMPLES)``).
PRIOR_EXAMPLES = 4.0
#: Length of the example direction added to the unit hypothesis vector at full weight.
SHIFT_SCALE = 2.0


class PrototypeBackend(EmbeddingBackend):
    """An embedding backend whose label hypotheses can have stored vectors (see the module doc)."""

    def __init__(self, model: Any, *, prototypes: Mapping[str, np.ndarray], **options: Any) -> None:
        super().__init__(model, **options)
        self.prototypes = {h: np.asarray(v, dtype=np.float32) for h, v in prototypes.items()}

    @classmethod
    def from_backend(cls, base: EmbeddingBackend, prototypes: Mapping[str, np.ndarray], **changes: Any) -> "PrototypeBackend":
        """A backend with ``base``'s model and settings plus ``prototypes`` (``base`` is not changed)."""
        options = {
            "model_name": base.model_name,
            "temperature": base.temperature,
            "threshold": base.threshold,
            "default_template": base.default_template,
            "refine": base.refine,
            "languages": base.languages,
            "batch_size": base.batch_size,
        }
        return cls(base.model, prototypes=prototypes, **{**options, **changes})

    def hypothesis_vectors(self, hypotheses: list[str]) -> np.ndarray:
        vectors = super().hypothesis_vectors(hypotheses)
        for i, h in enumerate(hypotheses):
            if h in self.prototypes:
                vectors[i] = self.prototypes[h]
        return vectors


def label_means(backend: EmbeddingBackend, examples: Examples) -> dict[str, tuple[np.ndarray, int]]:
    """(unit mean embedding, number of examples) of each label that has examples."""
    x = backend.embed(examples.texts)
    rows: dict[str, list[int]] = {}
    for i, gold in enumerate(examples.gold):
        for label in gold:
            rows.setdefault(label, []).append(i)
    return {label: (_unit(x[idx].mean(axis=0)), len(idx)) for label, idx in rows.items()}


def build_prototypes(
    backend: EmbeddingBackend,
    examples: Examples,
    templates: tuple[str, ...],
    *,
    prior_examples: float = PRIOR_EXAMPLES,
) -> dict[str, np.ndarray]:
    """``{hypothesis: vector}`` for every template of every label with examples."""
    means = label_means(backend, examples)
    if not means:
        return {}
    centre = np.mean([m for m, _ in means.values()], axis=0)
    prototypes: dict[str, np.ndarray] = {}
    for label, (mean, n) in means.items():
        weight = SHIFT_SCALE * n / (n + prior_examples)
        hypotheses = [t.format(label) for t in templates]
        prior = backend.hypothesis_vectors(hypotheses)
        for h, vector in zip(hypotheses, prior):
            prototypes[h] = _unit(vector + weight * (mean - centre)).astype(np.float32)
    return prototypes
