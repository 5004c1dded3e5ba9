"""Two sentence encoders read as one: what adapting the offline default to English examples tunes.

The offline default answers English with all-MiniLM-L6-v2 and keeps
USE-multilingual v3 for other languages. Given a few labelled examples, a
head over both encoders' vectors side by side learns more than one over
either (benchmarks/RESULTS.md, "Few-shot": 8 examples per label, five
English sets, mean accuracy 0.717 with MiniLM alone, 0.748 with both): the
two were trained on different data and err on different texts.

A text's joint vector is its two unit vectors concatenated and scaled by
``1/sqrt(2)``: unit length again, and its cosine with another joint vector
is the mean of the two models' cosines, so an embedding backend's
temperature and threshold keep their meaning over it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["JointEncoder", "joint_backend"]


class JointEncoder:
    """``first`` and ``second`` (embedding backends) behind one ``encode``.

    Each half comes from its backend's own embedding cache, so a text that
    the first model has already read (for the labels without examples, or
    a zero-shot call before adapting) is not encoded again. Everything
    else an embedding backend reads of its model (tokenizer, device,
    parameters, ``save``) is ``first``'s: it is the model a saved folder
    holds; ``second_name`` says which partner to load beside it
    (:mod:`zeroclass.backends.adapted`).
    """

    def __init__(self, first: Any, second: Any) -> None:
        self.first = first
        self.second = second

    @property
    def second_name(self) -> str:
        return self.second.model_name

    def encode(self, sentences: Sequence[str], **_: Any) -> np.ndarray:
        """``(len(sentences), d1 + d2)`` unit vectors: both models' unit vectors side by side, over ``sqrt(2)``."""
        parts = [backend._embed_cached(list(sentences)) for backend in (self.first, self.second)]
        return np.hstack(parts) / np.float32(np.sqrt(2.0))

    @property
    def tokenizer(self) -> Any:
        return self.first.model.tokenizer

    @property
    def device(self) -> Any:
        return self.first.model.device

    def parameters(self) -> Any:
        return self.first.model.parameters()

    def save(self, folder: str | Path) -> None:
        """Save ``first``'s model (the partner ships in its own package; the adapter file names it)."""
        self.first.model.save(str(folder))


def joint_backend(first: Any, second: Any) -> Any:
    """An embedding backend with ``first``'s settings over both backends' encoders; ``None`` unless both are
    embedding backends."""
    from .embedding import EmbeddingBackend

    if not (isinstance(first, EmbeddingBackend) and isinstance(second, EmbeddingBackend)):
        return None
    return EmbeddingBackend(
        JointEncoder(first, second), model_name=f"{first.model_name} + {second.model_name}",
        temperature=first.temperature, threshold=first.threshold, default_template=first.default_template,
        refine=first.refine, languages=first.languages, batch_size=first.batch_size,
    )
