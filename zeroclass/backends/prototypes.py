"""An embedding backend whose label hypotheses can have stored vectors: what adaptation produces.

``zeroclass.adaptation`` builds the vectors (prototypes, a trained head,
a fine-tuned encoder's); this backend only scores with them, so a saved
adapted folder loads here, below the classifier, without the training code.

Labels with stored vectors ("seen": the examples had them) and labels
without ("unseen") can be asked in one call. Left alone, the seen labels
would win texts from the unseen ones: the examples made them closer to
their kind of text, and nothing did so for the others (measured on TREC with
a third of the labels held out of the examples: -3 points on average, -12 in
one run, for the unseen labels). So (``gate``, on for single-label
adaptations) each text's seen labels are lowered together, by one offset,
where the best of them scores more than the best seen label scores without
adaptation, down to that; unseen labels keep their plain scores. Seen
labels can then lose texts to unseen ones (where the examples moved them
away from a text) but never win any: a text the base model gives an unseen
label keeps it; which seen label a text goes to is the adapted model's
choice. One offset per text does not change a
softmax, so single-label calls of seen labels only are unchanged; with
``multi_label=True`` it calibrates the seen labels' sigmoids to the base
model's level (a single-label head learns only differences between labels).
A refined call (many texts, one label set) takes the offset over its own
labels; a pair's score (:meth:`PrototypeBackend.score_pairs`) over all
labels with stored vectors.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .base import Pair
from .embedding import EmbeddingBackend, refined_similarity

__all__ = ["PrototypeBackend", "gate_seen"]


def gate_seen(adapted: np.ndarray, plain: np.ndarray, seen: np.ndarray) -> np.ndarray:
    """``(texts, labels)`` similarities: seen labels' ``adapted`` ones offset so their best is at most ``plain``'s best seen; unseen labels' ``plain``.

    See the module doc; ``seen`` is a boolean mask over the labels.
    """
    offset = np.minimum(plain[:, seen].max(axis=1) - adapted[:, seen].max(axis=1), 0.0)
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
        """As the plain backend's, with each text's seen labels gated (module doc).

        A pair's score must not depend on which other pairs share the batch
        (a server scores many requests at once, ``batch`` in chunks), so the
        offset is taken over all the labels with stored vectors rather than
        over the call's: exact when a call asks all of them, as a call
        adding new labels to the adapted set does.
        """
        logits = super().score_pairs(pairs)
        rows = [i for i, (_, h) in enumerate(pairs) if h in self.prototypes]
        if not self.gate or not rows:
            return logits
        texts = list(dict.fromkeys(pairs[i][0] for i in rows))
        offsets = dict(zip(texts, self._offsets(self._embed_cached(texts))))
        logits[rows, 0] += np.array([offsets[pairs[i][0]] for i in rows]) / self.temperature
        return logits

    def _offsets(self, x: np.ndarray) -> np.ndarray:
        """Per text: its best plain similarity to a seen label minus its best adapted one when negative, else 0
        (labels: template-averaged)."""
        hypotheses = list(self.prototypes)
        groups: dict[str, list[int]] = {}
        for j, h in enumerate(hypotheses):
            groups.setdefault(self.labels[h], []).append(j)
        plain = x @ self._embed_cached(hypotheses).T
        adapted = x @ np.stack([self.prototypes[h] for h in hypotheses]).T
        best = [np.stack([s[:, js].mean(axis=1) for js in groups.values()], axis=1).max(axis=1) for s in (plain, adapted)]
        return np.minimum(best[0] - best[1], 0.0)
