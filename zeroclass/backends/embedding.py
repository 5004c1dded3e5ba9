"""Zero-shot by embedding similarity (any sentence-transformers model).

A bi-encoder embeds each distinct text and each distinct hypothesis once, so a
call costs ``texts + labels`` forward passes instead of ``texts x labels``.
The cosine similarity of a (text, hypothesis) pair is turned into NLI-shaped
logits so the same scoring math applies:

* entailment logit    = cos / temperature
* contradiction logit = threshold / temperature
* neutral             = -inf (this backend has no neutral notion)

so single-label scores are a softmax of ``cos / temperature`` across labels,
and a multi-label score is ``sigmoid((cos - threshold) / temperature)``: above
0.5 exactly when the similarity beats ``threshold``.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .base import NLIHead, Pair

__all__ = ["EmbeddingBackend"]

_HEAD = NLIHead({0: "entailment", 1: "neutral", 2: "contradiction"}, entailment_id=0, contradiction_id=2)


class EmbeddingBackend:
    """Cosine similarity between text and hypothesis embeddings, as NLI logits."""

    head = _HEAD

    def __init__(
        self,
        model: Any,
        *,
        model_name: str,
        temperature: float = 0.05,
        threshold: float = 0.3,
        default_template: str = "This text is about {}.",
        languages: frozenset[str] | None = None,
        batch_size: int = 64,
        cache_size: int = 4096,
    ) -> None:
        if temperature <= 0:
            raise ValueError(f"temperature must be positive, got {temperature}")
        self.model = model
        self.model_name = model_name
        self.temperature = temperature
        self.threshold = threshold
        self.default_template = default_template
        self.languages = languages
        self.batch_size = batch_size
        # Hypotheses repeat across calls (the same labels for every text of
        # a job or a server), so their embeddings are kept.
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = cache_size

    @classmethod
    def from_path(
        cls,
        path: str | Path,
        *,
        model_name: str | None = None,
        device: str | None = None,
        trust_remote_code: bool = False,
        num_threads: int | None = None,
        **options: Any,
    ) -> "EmbeddingBackend":
        from sentence_transformers import SentenceTransformer

        if num_threads is not None:
            import torch

            torch.set_num_threads(num_threads)
        model = SentenceTransformer(str(path), device=device, trust_remote_code=trust_remote_code)
        return cls(model, model_name=model_name or str(path), **options)

    def embed(self, sentences: Sequence[str]) -> np.ndarray:
        """Unit-length embeddings, one row per sentence."""
        if not sentences:
            return np.zeros((0, 0), dtype=np.float32)
        return np.asarray(
            self.model.encode(
                list(sentences),
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            ),
            dtype=np.float32,
        )

    def _embed_hypotheses(self, hypotheses: list[str]) -> np.ndarray:
        missing = [h for h in hypotheses if h not in self._cache]
        for h, vector in zip(missing, self.embed(missing)):
            self._cache[h] = vector
        rows = []
        for h in hypotheses:
            self._cache.move_to_end(h)
            rows.append(self._cache[h])
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return np.stack(rows)

    def score_pairs(self, pairs: Sequence[Pair]) -> np.ndarray:
        logits = np.full((len(pairs), 3), -np.inf, dtype=np.float32)
        if not pairs:
            return logits
        premises = list(dict.fromkeys(p for p, _ in pairs))
        hypotheses = list(dict.fromkeys(h for _, h in pairs))
        p_index = {p: i for i, p in enumerate(premises)}
        h_index = {h: i for i, h in enumerate(hypotheses)}
        p_emb = self.embed(premises)
        h_emb = self._embed_hypotheses(hypotheses)
        rows = np.fromiter((p_index[p] for p, _ in pairs), dtype=np.int64, count=len(pairs))
        cols = np.fromiter((h_index[h] for _, h in pairs), dtype=np.int64, count=len(pairs))
        cosine = np.einsum("ij,ij->i", p_emb[rows], h_emb[cols])
        logits[:, 0] = cosine / self.temperature
        logits[:, 2] = self.threshold / self.temperature
        return logits
