"""An embedding backend whose label hypotheses can have stored vectors: what adaptation produces.

``zeroclass.adaptation`` builds the vectors (prototypes, a trained head,
a fine-tuned encoder's); this backend only scores with them, so a saved
adapted folder loads here, below the classifier, without the training code.

Labels with stored vectors ("seen": the examples had them) and labels
without ("unseen") can be asked in one call. Left alone, the seen labels
would win texts from the unseen ones: the examples made them closer to
their kind of text, and nothing did so for the others (measured on TREC with
a third of the labels held out of the examples: -3 points on average, -12 in
one run, for the unseen labels). So when a call mixes both (``gate``, on for
single-label adaptations), each text's seen labels are moved together, by
one offset, until the best of them scores what the best seen label scores
without adaptation; unseen labels keep their plain scores. Whether a text
goes to a seen or an unseen label is then the base model's decision; which
seen label it goes to is the adapted one's. A call of seen labels only is
unchanged (one offset per text does not change a softmax).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .base import Pair
from .embedding import EmbeddingBackend, refined_similarity

__all__ = ["PrototypeBackend", "gate_seen"]


def gate_seen(adapted: np.ndarray, plain: np.ndarray, seen: np.ndarray) -> np.ndarray:
    """``(texts, labels)`` similarities: seen labels' ``adapted`` ones offset so their best is ``plain``'s best seen; unseen labels' ``plain``.

    See the module doc; ``seen`` is a boolean mask over the labels.
    """
    offset = plain[:, seen].max(axis=1) - adapted[:, seen].max(axis=1)
    return np.where(seen[None, :], adapted + offset[:, None], plain)


class PrototypeBackend(EmbeddingBackend):
    """An embedding backend whose label hypotheses can have stored vectors (see the module doc).

    ``labels``: the label of each stored hypothesis (a label's hypotheses are
    its templates), which the gate needs to compare labels rather than
    hypotheses; a hypothesis without one counts as its own label.
    """

    def __init__(
        self, model: Any, *, prototypes: Mapping[str, np.ndarray], labels: Mapping[str, str] | None = None,
        gate: bool = True, **options: Any,
    ) -> None:
        super().__init__(model, **options)
        self.prototypes = {h: np.asarray(v, dtype=np.float32) for h, v in prototypes.items()}
        self.labels = {h: (labels or {}).get(h, h) for h in self.prototypes}
        self.gate = gate

    @classmethod
    def from_backend(
        cls, base: EmbeddingBackend, prototypes: Mapping[str, np.ndarray], *, labels: Mapping[str, str] | None = None,
        gate: bool | None = None, **changes: Any,
    ) -> "PrototypeBackend":
        """A backend with ``base``'s model and settings plus ``prototypes`` (``base`` is not changed).

        ``labels`` and ``gate`` default to ``base``'s when it is itself a
        :class:`PrototypeBackend` (``labels`` extends its map).
        """
        options = {
            "model_name": base.model_name,
            "temperature": base.temperature,
            "threshold": base.threshold,
            "default_template": base.default_template,
            "refine": base.refine,
            "languages": base.languages,
            "batch_size": base.batch_size,
        }
        known = base.labels if isinstance(base, PrototypeBackend) else {}
        if gate is None:
            gate = base.gate if isinstance(base, PrototypeBackend) else True
        return cls(base.model, prototypes=prototypes, labels={**known, **(labels or {})}, gate=gate,
                   **{**options, **changes})

    def hypothesis_vectors(self, hypotheses: list[str], pairs: Sequence[Pair] = ()) -> np.ndarray:
        vectors = super().hypothesis_vectors(hypotheses, pairs)
        for i, h in enumerate(hypotheses):
            if h in self.prototypes:
                vectors[i] = self.prototypes[h]
        return vectors

    def refined_logits(self, texts: Sequence[str], label_hypotheses: Sequence[Sequence[str]]) -> np.ndarray:
        """As the plain backend's, with the seen labels gated when the call mixes seen and unseen ones (module doc)."""
        x = self._embed_cached(list(texts))
        adapted = refined_similarity(x, np.stack([self.hypothesis_vectors(list(h)).mean(axis=0) for h in label_hypotheses]))
        seen = np.array([all(h in self.prototypes for h in hyps) for hyps in label_hypotheses])
        if self.gate and seen.any() and not seen.all():
            plain = refined_similarity(x, np.stack([self._embed_cached(list(h)).mean(axis=0) for h in label_hypotheses]))
            adapted = gate_seen(adapted, plain, seen)
        return self._as_logits(adapted)

    def score_pairs(self, pairs: Sequence[Pair]) -> np.ndarray:
        """As the plain backend's, with each text's seen labels gated when its labels mix seen and unseen ones (module doc)."""
        logits = super().score_pairs(pairs)
        if not self.gate or not pairs:
            return logits
        by_text: dict[str, list[int]] = {}
        for i, (text, _) in enumerate(pairs):
            by_text.setdefault(text, []).append(i)
        for text, rows in by_text.items():
            hypotheses = [pairs[i][1] for i in rows]
            seen = np.array([h in self.prototypes for h in hypotheses])
            if not seen.any() or seen.all():
                continue
            plain = self._embed_cached(hypotheses) @ self._embed_cached([text])[0]
            adapted = logits[rows, 0] * self.temperature
            offset = self._best_label(plain, hypotheses, seen) - self._best_label(adapted, hypotheses, seen)
            logits[np.asarray(rows)[seen], 0] += offset / self.temperature
        return logits

    def _best_label(self, similarity: np.ndarray, hypotheses: list[str], seen: np.ndarray) -> float:
        """The best template-averaged similarity among the seen labels of one text's hypotheses."""
        per_label: dict[str, list[float]] = {}
        for s, h, is_seen in zip(similarity, hypotheses, seen):
            if is_seen:
                per_label.setdefault(self.labels[h], []).append(float(s))
        return max(float(np.mean(v)) for v in per_label.values())
