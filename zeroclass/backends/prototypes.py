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

An adaptation may read texts with another encoder than the model it adapts
(English examples of the offline default: its two models side by side,
:mod:`zeroclass.backends.joint`). Then ``plain`` is the model adapted: it
scores the unseen labels, a call of unseen labels only is exactly its
answer, and the gate compares with its scores, so labels without examples
keep what the user had before adapting. The two encoders' similarities
are on different scales, so a lowering-only gate would also lower seen
labels wherever the adapted encoder's cosines run lower (measured: SST-2
texts of the seen label fell from 0.68 to 0.50). There the gate sets the
seen labels' best to exactly the plain model's best seen score: the plain
model decides between seen and unseen labels, the adapted one among the
seen.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .base import Pair
from .embedding import EmbeddingBackend, refined_similarity

__all__ = ["PrototypeBackend", "gate_seen"]


def gate_seen(adapted: np.ndarray, plain: np.ndarray, seen: np.ndarray, *, lower_only: bool = True) -> np.ndarray:
    """``(texts, labels)`` similarities: seen labels' ``adapted`` ones offset so their best is at most ``plain``'s best seen
    (exactly it, without ``lower_only``); unseen labels' ``plain``.

    See the module doc; ``seen`` is a boolean mask over the labels.
    """
    offset = _offset(plain[:, seen].max(axis=1), adapted[:, seen].max(axis=1), lower_only)
    return np.where(seen[None, :], adapted + offset[:, None], plain)


def _offset(plain_best: np.ndarray, adapted_best: np.ndarray, lower_only: bool) -> np.ndarray:
    difference = plain_best - adapted_best
    return np.minimum(difference, 0.0) if lower_only else difference


class PrototypeBackend(EmbeddingBackend):
    """An embedding backend whose label hypotheses can have stored vectors (see the module doc).

    ``labels``: the label of each stored hypothesis (a label's hypotheses are
    its templates), which the gate needs to compare labels rather than
    hypotheses; a hypothesis without one counts as its own label.
    """

    def __init__(
        self, model: Any, *, prototypes: Mapping[str, np.ndarray], labels: Mapping[str, str] | None = None,
        gate: bool = True, plain: EmbeddingBackend | None = None, **options: Any,
    ) -> None:
        super().__init__(model, **options)
        self.prototypes = {h: np.asarray(v, dtype=np.float32) for h, v in prototypes.items()}
        self.labels = {h: (labels or {}).get(h, h) for h in self.prototypes}
        self.gate = gate
        #: The model that scores labels without stored vectors and that the gate compares with, when it is
        #: not this backend's own encoder (an adapted joint encoder keeps its first model's plain scores).
        self.plain = plain

    @classmethod
    def from_backend(
        cls, base: EmbeddingBackend, prototypes: Mapping[str, np.ndarray], *, labels: Mapping[str, str] | None = None,
        gate: bool | None = None, plain: EmbeddingBackend | None = None, **changes: Any,
    ) -> "PrototypeBackend":
        """A backend with ``base``'s model and settings plus ``prototypes`` (``base`` is not changed).

        ``labels``, ``gate`` and ``plain`` default to ``base``'s when it is
        itself a :class:`PrototypeBackend` (``labels`` extends its map).
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
        if plain is None and isinstance(base, PrototypeBackend):
            plain = base.plain
        return cls(base.model, prototypes=prototypes, labels={**known, **(labels or {})}, gate=gate, plain=plain,
                   **{**options, **changes})

    def hypothesis_vectors(self, hypotheses: list[str], pairs: Sequence[Pair] = ()) -> np.ndarray:
        vectors = super().hypothesis_vectors(hypotheses, pairs)
        for i, h in enumerate(hypotheses):
            if h in self.prototypes:
                vectors[i] = self.prototypes[h]
        return vectors

    def refined_logits(self, texts: Sequence[str], label_hypotheses: Sequence[Sequence[str]]) -> np.ndarray:
        """As the plain backend's, with the seen labels gated when the call mixes seen and unseen ones (module doc)."""
        seen = np.array([all(h in self.prototypes for h in hyps) for hyps in label_hypotheses])
        if self.plain is not None and not seen.any():
            return self.plain.refined_logits(texts, label_hypotheses)
        x = self._embed_cached(list(texts))
        adapted = refined_similarity(x, np.stack([self.hypothesis_vectors(list(h)).mean(axis=0) for h in label_hypotheses]))
        if seen.any() and not seen.all() and (self.gate or self.plain is not None):
            scorer = self.plain or self
            plain = refined_similarity(scorer._embed_cached(list(texts)),
                                       np.stack([scorer._embed_cached(list(h)).mean(axis=0) for h in label_hypotheses]))
            adapted = (gate_seen(adapted, plain, seen, lower_only=self.plain is None) if self.gate
                       else np.where(seen[None, :], adapted, plain))
        return self._as_logits(adapted)

    def score_pairs(self, pairs: Sequence[Pair]) -> np.ndarray:
        """As the plain backend's, with each text's seen labels gated (module doc).

        A pair's score must not depend on which other pairs share the batch
        (a server scores many requests at once, ``batch`` in chunks), so the
        offset is taken over all the labels with stored vectors rather than
        over the call's: exact when a call asks all of them, as a call
        adding new labels to the adapted set does.
        """
        rows = [i for i, (_, h) in enumerate(pairs) if h in self.prototypes]
        if self.plain is None:
            logits = super().score_pairs(pairs)
        else:  # seen labels by this encoder, the others by the plain model
            logits = self._as_logits(np.zeros(len(pairs), dtype=np.float32))
            others = [i for i, (_, h) in enumerate(pairs) if h not in self.prototypes]
            for scorer, chosen in ((super(), rows), (self.plain, others)):
                if chosen:
                    logits[chosen] = scorer.score_pairs([pairs[i] for i in chosen])
        if not self.gate or not rows:
            return logits
        texts = list(dict.fromkeys(pairs[i][0] for i in rows))
        offsets = dict(zip(texts, self._offsets(texts)))
        logits[rows, 0] += np.array([offsets[pairs[i][0]] for i in rows]) / self.temperature
        return logits

    def _offsets(self, texts: list[str]) -> np.ndarray:
        """Per text: its best plain similarity to a seen label minus its best adapted one, when negative (else 0),
        or whatever its sign with a plain model of its own (labels: template-averaged; module doc)."""
        hypotheses = list(self.prototypes)
        groups: dict[str, list[int]] = {}
        for j, h in enumerate(hypotheses):
            groups.setdefault(self.labels[h], []).append(j)
        scorer = self.plain or self
        plain = scorer._embed_cached(texts) @ scorer._embed_cached(hypotheses).T
        adapted = self._embed_cached(texts) @ np.stack([self.prototypes[h] for h in hypotheses]).T
        best = [np.stack([s[:, js].mean(axis=1) for js in groups.values()], axis=1).max(axis=1) for s in (plain, adapted)]
        return _offset(best[0], best[1], lower_only=self.plain is None)
