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

Two defaults make a small bi-encoder markedly more accurate on any label set
(measured in ``benchmarks/accuracy``; see the README's evaluation section):

* a template ensemble, the bare label and "This text is about {}.": the bare
  word carries the label's meaning, the sentence frame puts it in the register
  of a text;
* refinement (single-label calls of two or more texts): a short label name is
  a poor stand-in for the texts it should attract, so each label's vector is
  moved towards what sets the call's texts that pick it apart from the
  call's other texts, a few rounds, as in nearest-centroid self-training,
  by as much as there are such texts to say it. It needs no labelled data,
  but a text's scores then depend on the other texts of the call.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .base import NLIHead, Pair, device_string
from .quiet import quiet_load

__all__ = ["EmbeddingBackend"]

_HEAD = NLIHead({0: "entailment", 1: "neutral", 2: "contradiction"}, entailment_id=0, contradiction_id=2)

#: Default hypotheses: the bare label, and the label in a sentence frame.
DEFAULT_TEMPLATES = ("{}", "This text is about {}.")
#: Rounds of label-vector refinement; the assignments settle within a few.
REFINE_ROUNDS = 3
#: Texts a label's centroid needs to weigh half as much as the label's own vector in refinement;
#: a call of a few texts then scores (almost) as unrefined, a call of hundreds is refined fully.
REFINE_EVIDENCE = 8


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def _refined_cosine(x: np.ndarray, start: np.ndarray, picks: np.ndarray) -> np.ndarray:
    """Cosine of each text with each label's vector moved by what sets that label's texts apart.

    Label ``L`` seen from text ``i`` is ``start[L] + w * (c_L - c_all)``:
    ``c_L`` the unit centroid of the *other* texts that picked ``L`` and
    ``c_all`` that of all the other texts, weighted by ``w = n / (n +
    REFINE_EVIDENCE)`` for ``n`` such texts. Subtracting ``c_all`` keeps only
    what distinguishes a label's texts from the call's: texts of one call are
    alike (one domain, one style), and without it a label picked by most of
    them would pull every text towards itself. ``w`` keeps a centroid of one
    or two texts, which is mostly noise, from outweighing the label's name.
    Leave-one-out: a text never sees itself in a centroid, so it cannot vote
    for its own pick.
    """
    n, n_labels = len(x), len(start)
    sums = np.zeros_like(start)
    np.add.at(sums, picks, x)
    counts = np.bincount(picks, minlength=n_labels)
    rest = _unit(x.sum(axis=0)[None, :] - x) if n > 1 else np.zeros_like(x)  # c_all, per text
    weight = counts / (counts + REFINE_EVIDENCE)
    # Labels the text did not pick: c_L holds none of it, so only c_all depends on the text.
    moved = start + weight[:, None] * _unit(sums)
    numerator = x @ moved.T - weight[None, :] * np.einsum("ij,ij->i", x, rest)[:, None]
    norm2 = (moved * moved).sum(1)[None, :] + weight[None, :] ** 2 * (rest * rest).sum(1)[:, None]
    norm2 = norm2 - 2 * weight[None, :] * (rest @ moved.T)
    cosine = numerator / np.sqrt(np.maximum(norm2, 1e-12))
    # The label the text picked: its centroid without the text itself.
    rows = np.arange(n)
    others = counts[picks] - 1
    own = start[picks] + (others / (others + REFINE_EVIDENCE))[:, None] * (_unit(sums[picks] - x) - rest)
    cosine[rows, picks] = np.einsum("ij,ij->i", x, _unit(own))
    return cosine


def refined_similarity(x: np.ndarray, means: np.ndarray) -> np.ndarray:
    """``(texts, labels)`` similarities of unit texts ``x`` to label vectors ``means`` refined on these texts.

    See :meth:`EmbeddingBackend.refined_logits`; apart so that adapted
    backends can refine their own and the plain label vectors alike.
    """
    start = _unit(means)
    picks = (x @ start.T).argmax(axis=1)
    for _ in range(REFINE_ROUNDS):
        cosine = _refined_cosine(x, start, picks)
        picks = cosine.argmax(axis=1)
    return cosine * np.linalg.norm(means, axis=1)[None, :]


def text_key(text: str) -> bytes:
    """What caches of embeddings key a text by: a 16-byte digest, not the text.

    A cache bounded by entries is bounded in memory only if its keys are
    small: keyed by the texts themselves, a server's 16,384 texts of up to
    its maximum length each would hold gigabytes.
    """
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


class EmbeddingBackend:
    """Cosine similarity between text and hypothesis embeddings, as NLI logits."""

    head = _HEAD
    loads_embedding_models = True
    takes_model_languages = True
    #: Texts are encoded one by one, not as token-budgeted pairs: the server picks its own batch budget.
    max_length: int | None = None
    max_batch_tokens: int | None = None

    def __init__(
        self,
        model: Any,
        *,
        model_name: str,
        temperature: float = 0.05,
        threshold: float = 0.2,
        default_template: str | tuple[str, ...] = DEFAULT_TEMPLATES,
        refine: bool = True,
        languages: frozenset[str] | None = None,
        batch_size: int = 64,
        cache_size: int = 16384,
    ) -> None:
        if temperature <= 0:
            raise ValueError(f"temperature must be positive, got {temperature}")
        self.model = model
        self.model_name = model_name
        self.temperature = temperature
        self.threshold = threshold
        self.default_template = default_template
        self.refine = refine
        self.languages = languages
        self.batch_size = batch_size
        # Hypotheses repeat across calls (the same labels for every text of
        # a job or a server), and refinement re-reads a call's texts, so
        # embeddings are kept.
        self._cache: OrderedDict[bytes, np.ndarray] = OrderedDict()
        self._cache_size = cache_size

    @property
    def tokenizer(self) -> Any:
        """The SentenceTransformer's tokenizer (``pipeline.tokenizer``)."""
        return self.model.tokenizer

    @property
    def device(self) -> Any:
        """The ``torch.device`` the SentenceTransformer runs on."""
        return self.model.device

    @property
    def dtype(self) -> Any:
        """The SentenceTransformer's parameter ``torch.dtype``."""
        return next(self.model.parameters()).dtype

    @classmethod
    def from_path(
        cls,
        path: str | Path,
        *,
        model_name: str | None = None,
        device: str | int | None = None,
        trust_remote_code: bool = False,
        num_threads: int | None = None,
        **options: Any,
    ) -> "EmbeddingBackend":
        from sentence_transformers import SentenceTransformer

        if num_threads is not None:
            import torch

            torch.set_num_threads(num_threads)
        with quiet_load():
            model = SentenceTransformer(str(path), device=device_string(device), trust_remote_code=trust_remote_code)
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

    def _embed_cached(self, sentences: list[str]) -> np.ndarray:
        keys = [text_key(s) for s in sentences]
        missing = {k: s for k, s in zip(keys, sentences) if k not in self._cache}
        fresh = dict(zip(missing, self.embed(list(missing.values()))))
        rows = []
        for key in keys:
            vector = fresh[key] if key in fresh else self._cache[key]
            self._cache[key] = vector
            self._cache.move_to_end(key)
            rows.append(vector)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return np.stack(rows)

    def _as_logits(self, cosine: np.ndarray) -> np.ndarray:
        logits = np.full((*cosine.shape, 3), -np.inf, dtype=np.float32)
        logits[..., 0] = cosine / self.temperature
        logits[..., 2] = self.threshold / self.temperature
        return logits

    def refined_logits(self, texts: Sequence[str], label_hypotheses: Sequence[Sequence[str]]) -> np.ndarray:
        """Logits ``(texts, labels, 3)`` against label vectors refined on these texts.

        A label's vector starts as the mean of its hypotheses' embeddings.
        Each round, every text picks its closest label, and each label's
        vector moves towards what sets the texts that picked it apart from
        the call's other texts (:func:`_refined_cosine`). Where nothing moves
        (two texts, or all texts picking one label) the logits are exactly
        the unrefined ones: the cosines are scaled back by each start's length.
        """
        x = self._embed_cached(list(texts))
        means = np.stack([self.hypothesis_vectors(list(h)).mean(axis=0) for h in label_hypotheses])
        return self._as_logits(refined_similarity(x, means))

    def hypothesis_vectors(self, hypotheses: list[str], pairs: Sequence[Pair] = ()) -> np.ndarray:
        """The vectors texts are compared with, one per hypothesis: here, their embeddings
        (adapted backends override it with label prototypes).

        ``pairs`` (the call's pairs, when scoring) lets a subclass see which
        hypotheses are asked of the same text, i.e. a text's whole label set.
        """
        return self._embed_cached(hypotheses)

    def plain_logits(self, texts: Sequence[str], label_hypotheses: Sequence[Sequence[str]]) -> np.ndarray:
        """Logits ``(texts, labels, 3)`` without refinement: each label's template logits averaged.

        The same numbers the classifier computes from :meth:`score_pairs`,
        for callers of :meth:`refined_logits` that decide not to refine.
        """
        pairs = [(t, h) for t in texts for hyps in label_hypotheses for h in hyps]
        logits = self.score_pairs(pairs)
        k = len(label_hypotheses[0])
        return logits.reshape(len(texts), len(label_hypotheses), k, -1).mean(axis=2)

    def score_pairs(self, pairs: Sequence[Pair]) -> np.ndarray:
        if not pairs:
            return self._as_logits(np.zeros(0, dtype=np.float32))
        premises = list(dict.fromkeys(p for p, _ in pairs))
        hypotheses = list(dict.fromkeys(h for _, h in pairs))
        p_index = {p: i for i, p in enumerate(premises)}
        h_index = {h: i for i, h in enumerate(hypotheses)}
        p_emb = self._embed_cached(premises)
        h_emb = self.hypothesis_vectors(hypotheses, pairs)
        rows = np.fromiter((p_index[p] for p, _ in pairs), dtype=np.int64, count=len(pairs))
        cols = np.fromiter((h_index[h] for _, h in pairs), dtype=np.int64, count=len(pairs))
        return self._as_logits(np.einsum("ij,ij->i", p_emb[rows], h_emb[cols]))
