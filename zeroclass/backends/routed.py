"""One backend in front of several: each text goes to the model that reads its language and its labels'.

The offline default is two embedding models: all-MiniLM-L6-v2 for English
(unchanged, so English answers are exactly what they were) and
USE-multilingual v3 for Chinese and the other languages it reads. A call
whose texts mix languages is split per text: every pair goes to its text's
model, refinement runs per model over that model's texts, and the result
says which model answered (``model_for``).

A text is routed by its own language, and an English (or undetected) text
whose labels are in another language goes to that language's model too:
MiniLM reads no Chinese, while USE-multilingual embeds its languages in one
aligned space, which is what an English text with Chinese labels needs. The
labels are read from a text's hypotheses where only those are at hand (the
parts in which its hypotheses differ: the template's frame is shared).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..language import detect_language
from .base import Backend, NLIHead, Pair

__all__ = ["RoutedBackend"]


class RoutedBackend:
    """Routes each text to ``routes[language]``, or to ``fallback`` for any other language.

    Every backend must share one NLI head and use as many default templates,
    so logits from different models line up in one call.
    """

    #: Embedding models behind it: no pair token budget (see :class:`~zeroclass.backends.base.Backend`).
    max_length: int | None = None
    max_batch_tokens: int | None = None
    loads_embedding_models = True
    #: Each routed model knows its own languages.
    takes_model_languages = False

    def __init__(self, fallback: Backend, routes: Mapping[str, Backend], templates: Mapping[str, tuple[str, ...]],
                 fallback_language: str = "en", refine: bool = True) -> None:
        backends = [fallback, *routes.values()]
        if any(b.head != fallback.head for b in backends):
            raise ValueError("routed backends must share one NLI head")
        counts = {len(t) for t in templates.values()} | {len(_as_tuple(fallback.default_template))}
        if len(counts) != 1:
            raise ValueError(f"every language needs as many default templates; got counts {sorted(counts)}")
        self.fallback = fallback
        self.routes = dict(routes)
        self.language_templates = dict(templates)
        self.fallback_language = fallback_language
        self.refine = refine
        self.head: NLIHead = fallback.head
        self.default_template = fallback.default_template
        self.languages = frozenset({fallback_language}).union(*(b.languages or () for b in self.routes.values()))
        names = [fallback.model_name, *dict.fromkeys(b.model_name for b in self.routes.values())]
        self.model_name = " + ".join(names)
        others = sorted(self.languages - {fallback_language})
        #: Which model answers which texts, for the offline-default notice.
        self.routing_note = (
            f"{fallback_language} and undetected languages by {fallback.model_name}, "
            f"{', '.join(others)} by {' / '.join(names[1:])}"
        )
        self._joint: Backend | None = None

    @classmethod
    def from_path(cls, path: str | Path, *, model_name: str | None = None, device: str | int | None = None,
                  num_threads: int | None = None, refine: bool = True) -> "RoutedBackend":
        """The offline default: the English sentence-transformers model at ``path``, USE-multilingual for the rest."""
        from .embedding import EmbeddingBackend
        from .use import USE_LANGUAGES, USE_TEMPLATES, UseBackend

        english = EmbeddingBackend.from_path(path, model_name=model_name, device=device, num_threads=num_threads,
                                             languages=frozenset({"en"}), refine=refine)
        multilingual = UseBackend.from_path(num_threads=num_threads, refine=refine)
        routes = {language: multilingual for language in USE_LANGUAGES - {"en"}}
        return cls(english, routes, USE_TEMPLATES, refine=refine)

    # pipeline.model / .tokenizer / .device / .dtype: the fallback's, the model
    # that answers English and every undetected language.
    @property
    def model(self) -> Any:
        return self.fallback.model

    @property
    def tokenizer(self) -> Any:
        return self.fallback.tokenizer

    @property
    def device(self) -> Any:
        return self.fallback.device

    @property
    def dtype(self) -> Any:
        return self.fallback.dtype

    def language_of(self, text: str) -> str:
        """The detected language of ``text`` among those routed, else the fallback's."""
        return detect_language(text, set(self.routes) | {self.fallback_language}, self.fallback_language)

    def route(self, text: str, labels: Sequence[str] = ()) -> str:
        """The language whose model answers ``text`` with these labels: the text's own when it is
        routed, else the labels' when theirs is, else the fallback's."""
        language = self.language_of(text)
        if language in self.routes or not labels:
            return language
        return detect_language(", ".join(labels), set(self.routes) | {self.fallback_language}, self.fallback_language)

    def backend_for(self, text: str, labels: Sequence[str] = ()) -> Backend:
        return self.routes.get(self.route(text, labels), self.fallback)

    def model_for(self, text: str, hypotheses: Sequence[str] = ()) -> str:
        """The model that answers ``text`` against ``hypotheses``."""
        return self.backend_for(text, label_parts(hypotheses)).model_name

    def templates_for(self, text: str, labels: Sequence[str] = ()) -> tuple[str, ...]:
        """Default templates in the language that answers (the fallback's own for the fallback language)."""
        language = self.route(text, labels)
        if language == self.fallback_language or language not in self.language_templates:
            return _as_tuple(self.fallback.default_template)
        return self.language_templates[language]

    def adaptation_backend(self, texts: Sequence[str], *, joint: bool = True) -> Backend:
        """The one model that adapting to ``texts`` tunes (an adapted classifier no longer routes).

        The model that answers most of the texts is the one they can teach.
        When that is the fallback, ``joint`` (for methods that leave the
        encoders frozen) makes it the fallback and the first routed model
        reading every text side by side (:mod:`zeroclass.backends.joint`),
        built once and kept, so its embeddings are too.
        """
        chosen = [self.backend_for(text) for text in texts]
        backend = max(dict.fromkeys(chosen), key=chosen.count) if chosen else self.fallback
        if backend is not self.fallback or not joint or not self.routes:
            return backend
        if self._joint is None:
            from .joint import joint_backend

            self._joint = joint_backend(self.fallback, next(iter(self.routes.values())))
        return self._joint or self.fallback

    def _split(self, texts: Sequence[str], labels: Sequence[Sequence[str]]) -> dict[int, tuple[Backend, list[int]]]:
        """``{id(backend): (backend, indices of its texts)}``, in first-seen order; ``labels[i]`` are text ``i``'s."""
        groups: dict[int, tuple[Backend, list[int]]] = {}
        for i, text in enumerate(texts):
            backend = self.backend_for(text, labels[i])
            groups.setdefault(id(backend), (backend, []))[1].append(i)
        return groups

    def score_pairs(self, pairs: Sequence[Pair]) -> np.ndarray:
        out = np.empty((len(pairs), len(self.head.id2label)), dtype=np.float32)
        # A batch may hold several calls: a text's hypotheses are those of its pairs (the same text twice
        # in one batch has the same labels or the same language, or both hypothesis sets together tell).
        by_text: dict[str, list[int]] = {}
        for i, (text, _) in enumerate(pairs):
            by_text.setdefault(text, []).append(i)
        texts = list(by_text)
        labels = [label_parts([pairs[i][1] for i in by_text[text]]) for text in texts]
        for backend, members in self._split(texts, labels).values():
            rows = [i for m in members for i in by_text[texts[m]]]
            out[rows] = backend.score_pairs([pairs[i] for i in rows])
        return out

    def refined_logits(self, texts: Sequence[str], label_hypotheses: Sequence[Sequence[str]]) -> np.ndarray:
        """Refinement per model, over that model's texts; a text alone with its model keeps its plain logits."""
        out = np.empty((len(texts), len(label_hypotheses), len(self.head.id2label)), dtype=np.float32)
        labels = label_parts([h for per_label in label_hypotheses for h in per_label])  # one label set for all texts
        for backend, rows in self._split(texts, [labels] * len(texts)).values():
            mine = [texts[i] for i in rows]
            score = backend.refined_logits if len(mine) > 1 else backend.plain_logits  # type: ignore[attr-defined]
            out[rows] = score(mine, label_hypotheses)
        return out


def label_parts(hypotheses: Sequence[str]) -> list[str]:
    """The labels inside ``hypotheses``: each with the prefix and suffix they all share cut off
    (the template's frame), so that the frame's language does not hide the labels'."""
    distinct = list(dict.fromkeys(hypotheses))
    if len(distinct) < 2:
        return distinct
    prefix = os.path.commonprefix(distinct)
    suffix = os.path.commonprefix([h[len(prefix):][::-1] for h in distinct])
    return [h[len(prefix) : len(h) - len(suffix)] for h in distinct]


def _as_tuple(templates: str | Sequence[str]) -> tuple[str, ...]:
    return (templates,) if isinstance(templates, str) else tuple(templates)
