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
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast, overload

import numpy as np

from . import hub as _hub
from .backends import Backend, backend_name, load_backend
from .backends.base import Pair, Refining, Routing
from .batching import dedupe
from .compat import check_call_keywords, multi_label_argument, texts_argument
from .errors import InputError
from .hypotheses import Labels, check_flag, check_language, describer, hypotheses_per_text, is_per_text
from .hypotheses import labels_argument, labels_per_text, normalize_texts, validate_templates
from .iterables import as_texts, checked_text, chunks
from .result import ClassificationResult, ResultList
from .scoring import split_per_text
from .shortlist import Shortlister, ShortlistSource, check_shortlist, expand

__all__ = ["ZeroShotClassifier", "PreparedCall"]

logger = logging.getLogger("zeroclass")


@dataclass(frozen=True)
class PreparedCall:
    """A validated call: its texts, label sets, hypotheses and flattened pairs.

    ``hypotheses[i]`` holds every hypothesis of text ``i``: with a template
    ensemble, ``template_count`` per label, label-major (see
    :func:`zeroclass.hypotheses.ensemble_hypotheses`).
    """

    texts: list[str]
    label_sets: list[list[str]]
    hypotheses: list[list[str]]
    pairs: list[tuple[str, str]]
    multi_label: bool
    explain: bool
    single: bool
    template_count: int = 1
    refine: bool = False
    #: With ``shortlist=K``: each text's every candidate label, best first by
    #: the shortlister; ``label_sets`` then holds only the ones to score.
    ranked: list[list[str]] | None = None

#: Texts classified together per step when the input is streamed (a generator, a torch Dataset).
STREAM_CHUNK_TEXTS = 32


class ZeroShotClassifier:
    """Zero-shot text classifier over any NLI or embedding backend.

    Build one with :meth:`from_pretrained` (or :func:`zeroclass.pipeline`),
    then call it like transformers' zero-shot pipeline.
    """

    #: The model an adapted classifier was adapted from (``None``: this one is not adapted).
    adapted_from: str | None = None

    def __init__(
        self,
        backend: Backend,
        *,
        hypothesis_template: str | Sequence[str] | None = None,
        shortlist_model: str | os.PathLike[str] | Shortlister | None = None,
    ) -> None:
        #: The scoring backend. Callers go through the classifier (``score``,
        #: ``max_batch_tokens``...); :meth:`adapt` hands it to ``zeroclass.adaptation``.
        self.backend = backend
        self.hypothesis_template = validate_templates(hypothesis_template) if hypothesis_template else None
        #: ``candidate_labels``/``multi_label`` every call uses unless it gives its own;
        #: ``pipeline(candidate_labels=...)`` sets them, as transformers' factory does.
        self.call_defaults: dict[str, Any] = {}
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
                "(embedding similarity; %s); name an NLI model for one (model=... in Python, --model in the CLI)",
                loaded.model_name,
                loaded.routing_note if isinstance(loaded, Routing) else "English only",
            )
        return cls(loaded, hypothesis_template=hypothesis_template, shortlist_model=shortlist_model)

    @property
    def task(self) -> str:
        """The transformers task this answers, as on transformers' pipelines."""
        return "zero-shot-classification"

    @property
    def model(self) -> Any:
        """The backend's model: a torch module, an ONNX Runtime session or a SentenceTransformer."""
        return self.backend.model

    @property
    def max_length(self) -> int | None:
        """Tokens a (text, hypothesis) pair is cut to; ``None`` for a model that does not score token pairs."""
        return self.backend.max_length

    @property
    def max_batch_tokens(self) -> int | None:
        """The model's own padded-token budget per batch; ``None`` when it has none (the caller picks one)."""
        return self.backend.max_batch_tokens

    @property
    def backend_class(self) -> str:
        """The backend's class name (``"TorchNLIBackend"``...), as evaluation reports record it."""
        return type(self.backend).__name__

    def check_shortlist(self, shortlist: Any) -> int | None:
        """``shortlist`` as a number of labels for this model, or ``None``; an error when it cannot apply."""
        return check_shortlist(shortlist, self.backend)

    @property
    def tokenizer(self) -> Any:
        """The model's tokenizer."""
        return self.backend.tokenizer

    @property
    def device(self) -> Any:
        """Where the model runs (a ``torch.device``; ``"cpu"``/``"cuda"`` for ONNX Runtime)."""
        return self.backend.device

    @property
    def dtype(self) -> Any:
        """The model's number type (a ``torch.dtype``; ``"float32"``/``"int8"`` for ONNX Runtime)."""
        return self.backend.dtype

    def __repr__(self) -> str:
        dtype = str(self.dtype).removeprefix("torch.")
        return (
            f"ZeroShotClassifier(model={self.model_name!r}, backend={backend_name(self.backend)!r}, "
            f"device={str(self.device)!r}, dtype={dtype!r})"
        )

    @overload
    def __call__(self, texts: str, candidate_labels: Labels | None = ..., **kwargs: Any) -> ClassificationResult: ...
    @overload
    def __call__(
        self, texts: Sequence[str], candidate_labels: Labels | None = ..., **kwargs: Any
    ) -> ResultList: ...
    @overload
    def __call__(
        self, texts: Iterable[str], candidate_labels: Labels | None = ..., **kwargs: Any
    ) -> ResultList | Iterator[ClassificationResult]: ...

    def __call__(
        self,
        texts: Any = None,
        candidate_labels: Labels | None = None,
        *,
        sequences: Any = None,
        multi_label: bool | None = None,
        hypothesis_template: str | Sequence[str] | None = None,
        explain: bool = False,
        label_descriptions: Mapping[str, str] | None = None,
        refine: bool | None = None,
        shortlist: int | None = None,
        multi_class: bool | None = None,
        **transformers_options: Any,
    ) -> ClassificationResult | ResultList | Iterator[ClassificationResult]:
        """Classify one text (gives one result), a list (gives a list) or a stream (gives a generator).

        ``texts`` (or ``sequences=``, transformers' name): a string; a list,
        tuple, pandas Series, NumPy array or ``datasets`` column (a list of
        results, in order); or a generator, iterator or ``torch`` Dataset
        such as ``KeyDataset`` (a generator of results, classified
        ``STREAM_CHUNK_TEXTS`` texts at a time as they are read).
        ``candidate_labels``: a list, a string split on ``,``/``，``, or one
        list per text. ``multi_label``: score each label on its own (0..1)
        instead of making the scores sum to 1 (``multi_class``, its
        deprecated transformers name, works too). ``hypothesis_template``: a
        sentence with one ``{}``, or a list of them whose logits are averaged
        (default: the model's own). ``explain``: add each label's hypothesis
        and NLI probabilities. ``label_descriptions``: ``{label: description}``;
        the description goes into the hypothesis instead of the bare label
        name. ``refine``: embedding backends only, single-label only: refine
        each label's vector with the texts of this call it wins (default: the
        backend's setting), so a text's scores depend on the other texts of
        the call (of its chunk, when streamed). ``shortlist``: NLI models only:
        score only each text's K labels an embedding model finds most similar
        (see :mod:`zeroclass.shortlist`); the rest come last with score 0.0.
        ``input=``, ModelScope's name for the texts, works too. transformers' other keywords
        (``batch_size``, ``num_workers``, ``truncation``...) are accepted and,
        having no meaning here, ignored with a one-time note saying why.
        """
        texts = texts_argument(texts, sequences, transformers_options.pop("input", None))
        check_call_keywords(transformers_options, _CALL_NAMES, "ZeroShotClassifier.__call__()")
        multi_label = multi_label_argument(multi_label, multi_class)
        options: dict[str, Any] = {
            # Checked as a real bool in prepare(): bool("no") would be True.
            "multi_label": self.call_defaults.get("multi_label", False) if multi_label is None else multi_label,
            "hypothesis_template": hypothesis_template,
            "explain": explain,
            "label_descriptions": label_descriptions,
            "refine": refine,
            "shortlist": shortlist,
        }
        if candidate_labels is None:
            candidate_labels = self.call_defaults.get("candidate_labels")
        candidate_labels = labels_argument(candidate_labels)
        kind, items = as_texts(texts)
        if kind == "stream":
            return self._stream(items, candidate_labels, options)
        return self._classify(texts if kind == "single" else items, candidate_labels, options)

    def _classify(self, texts: str | list[Any], candidate_labels: Labels | None, options: dict[str, Any]) -> Any:
        """One call's results: prepare, score the distinct pairs, finish."""
        call = self.prepare(texts, candidate_labels, **options)
        return self.finish(call, self.score(call.pairs))

    def score(
        self,
        pairs: Sequence[Pair],
        *,
        progress: Callable[[int, int], None] | None = None,
        chunk_pairs: int | None = None,
    ) -> np.ndarray:
        """Logits of each (text, hypothesis) pair, one row per pair; each distinct pair is scored once.

        This is the one place the backend scores: a call, a server batch of
        many requests and an evaluation all come through here.
        ``progress(scored, total)`` is told after each backend call how many
        distinct pairs are done. ``chunk_pairs`` scores the distinct pairs
        that many at a time (so progress moves); by default all go to the
        backend at once, which batches them best.
        """
        unique, inverse = dedupe(pairs)
        step = chunk_pairs or max(len(unique), 1)
        parts = []
        for start in range(0, max(len(unique), 1), step):
            parts.append(np.asarray(self.backend.score_pairs(unique[start : start + step])))
            if progress is not None:
                progress(min(start + step, len(unique)), len(unique))
        return (parts[0] if len(parts) == 1 else np.concatenate(parts))[inverse]

    def _stream(
        self, items: Iterator[Any], candidate_labels: Labels | None, options: dict[str, Any]
    ) -> Iterator[ClassificationResult]:
        """Results of a streamed input; labels, templates and shortlist are checked now, texts as they are read."""
        nested = is_per_text(candidate_labels)
        if not nested:
            labels_per_text(candidate_labels, 1)
        self.templates(options["hypothesis_template"])
        self.check_shortlist(options["shortlist"])
        return self._stream_results(items, candidate_labels, nested, options)

    def _stream_results(
        self, items: Iterator[Any], candidate_labels: Any, nested: bool, options: dict[str, Any]
    ) -> Iterator[ClassificationResult]:
        start = 0
        for chunk in chunks(items, STREAM_CHUNK_TEXTS):
            texts = [checked_text(start + i, text) for i, text in enumerate(chunk)]
            labels = candidate_labels[start : start + len(texts)] if nested else candidate_labels
            if nested and len(labels) != len(texts):
                raise InputError(
                    f"candidate_labels has {len(candidate_labels)} label lists but the input has more texts"
                )
            yield from self._classify(texts, labels, options)
            start += len(texts)
        if nested and start != len(candidate_labels):
            raise InputError(f"candidate_labels has {len(candidate_labels)} label lists but the input had {start} texts")

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

        Its keywords are ``__call__``'s, repeated so both show in ``help()``
        (a test keeps the two lists equal).

        With :meth:`finish` this splits a call in two, so a server can score
        the pairs of many concurrent requests in one batch; all input errors
        are raised here, before anything is queued.
        """
        items, single = normalize_texts(texts)
        multi_label, explain = check_flag(multi_label, "multi_label"), check_flag(explain, "explain")
        label_sets = labels_per_text(candidate_labels, len(items))
        per_text = self.text_templates(items, hypothesis_template, label_sets)
        check_language(items, self.backend.languages, self.model_name)
        describe = describer(label_descriptions, label_sets)
        ranked = None
        if (k := self.check_shortlist(shortlist)) is not None:
            label_sets, ranked = self.shortlister.narrow(items, label_sets, k, describe, multi_label)
        hypotheses = hypotheses_per_text(label_sets, per_text, describe)
        pairs = [(text, h) for text, hyps in zip(items, hypotheses) for h in hyps]
        refine = self._wants_refine(refine) and not multi_label
        return PreparedCall(
            items, label_sets, hypotheses, pairs, multi_label, explain, single, len(per_text[0]), refine, ranked
        )

    def finish(self, call: PreparedCall, logits: np.ndarray) -> ClassificationResult | ResultList:
        """Results of a prepared call from the logits of its pairs (same order as ``call.pairs``)."""
        if len(logits) != len(call.pairs):
            raise ValueError(f"got {len(logits)} rows of logits for {len(call.pairs)} pairs")
        k = call.template_count
        blocks = split_per_text(logits, [len(labels) for labels in call.label_sets], k)
        if call.refine:
            blocks = self._refined(call, blocks)
        results = [
            ClassificationResult.from_logits(
                text, labels, hyps[::k], block, self.backend.head,
                multi_label=call.multi_label, explain=call.explain,
                model=self._answering_model(text, hyps, call.explain),
                ensemble=[hyps[i : i + k] for i in range(0, len(hyps), k)] if k > 1 else None,
            )
            for text, labels, hyps, block in zip(call.texts, call.label_sets, call.hypotheses, blocks)
        ]
        if call.ranked is not None:
            results = [expand(result, ranked) for result, ranked in zip(results, call.ranked)]
        return results[0] if call.single else ResultList(results)

    def _answering_model(self, text: str, hypotheses: Sequence[str], explain: bool) -> str | None:
        """The model a result names: always for a routed model (one of several answers), else with ``explain``."""
        if isinstance(self.backend, Routing):
            return self.backend.model_for(text, hypotheses)
        return self.model_name if explain else None

    def templates(self, hypothesis_template: str | Sequence[str] | None = None) -> tuple[str, ...]:
        """The templates a call with this ``hypothesis_template`` uses: its own, the classifier's, or the model's."""
        if hypothesis_template is None or hypothesis_template == "":
            hypothesis_template = self.hypothesis_template or self.backend.default_template
        return validate_templates(hypothesis_template)

    def text_templates(
        self, texts: list[str], hypothesis_template: str | Sequence[str] | None, label_sets: Sequence[Sequence[str]] = (),
    ) -> list[tuple[str, ...]]:
        """Each text's templates: the given ones, else the model's, in the language of the model that
        answers the text and its labels (``label_sets``, one per text) for a routed model.

        A routed backend (the offline default) keeps as many templates for
        every language, so the pairs of a call stay ``template_count`` per label.
        """
        templates = self.templates(hypothesis_template)
        if not isinstance(self.backend, Routing) or hypothesis_template or self.hypothesis_template:
            return [templates] * len(texts)
        labels = label_sets or [()] * len(texts)
        return [validate_templates(self.backend.templates_for(text, chosen)) for text, chosen in zip(texts, labels)]

    def _wants_refine(self, refine: bool | None) -> bool:
        supported = isinstance(self.backend, Refining)
        if refine and not supported:
            raise InputError(
                f"refine=True needs an embedding backend; {self.model_name} is scored by NLI pairs, "
                "which have no label vectors to refine"
            )
        return bool(supported and (self.backend.refine if refine is None else refine))

    def _refined(self, call: PreparedCall, blocks: list[np.ndarray]) -> list[np.ndarray]:
        """Replace the logits of every label set shared by two or more texts with refined ones.

        A lone text would only pull its own best label towards itself, which
        changes its scores but never its answer, so it is left as it is.
        """
        backend = cast(Refining, self.backend)  # prepare() sets call.refine only for one
        groups: dict[tuple[str, ...], list[int]] = {}
        for i, hyps in enumerate(call.hypotheses):
            groups.setdefault(tuple(hyps), []).append(i)
        k = call.template_count
        for hyps, members in groups.items():
            if len(members) < 2:
                continue
            per_label = [list(hyps[j : j + k]) for j in range(0, len(hyps), k)]
            refined = backend.refined_logits([call.texts[i] for i in members], per_label)
            for i, block in zip(members, refined):
                blocks[i] = block
        return blocks

    def adapt(
        self,
        texts: Sequence[str],
        labels: Sequence[str | Sequence[str]],
        *,
        candidate_labels: Labels | None = None,
        seed: int = 0,
        method: str = "auto",
        gate_unseen_labels: bool | None = None,
        hypothesis_template: str | Sequence[str] | None = None,
        progress: bool = False,
        **training: Any,
    ) -> "ZeroShotClassifier":
        """A new classifier tuned on labelled examples; this one is left untouched.

        ``labels``: one label per text, or a list of labels per text
        (multi-label). ``candidate_labels``: the labels the examples are
        contrasted with (default: those of the examples). The result is still
        zero-shot: it takes any labels, and scores labels without examples as
        before. ``method``: ``"head"`` (embedding models, a linear head kept
        near zero-shot), ``"prototypes"`` (embedding models, no training),
        ``"contrastive"`` (embedding models, fine-tunes the encoder), ``"nli"``
        (NLI models), or ``"auto"``. ``gate_unseen_labels`` (embedding
        models, single-label; default on): the base model keeps deciding
        between labels with and without examples. ``hypothesis_template``:
        the template(s) the adapted classifier turns labels into hypotheses
        with (default: this classifier's). Save it with
        ``save_pretrained(folder)``. See :mod:`zeroclass.adaptation`.
        """
        from .adaptation import adapt  # the layer built on this one: imported only when asked for

        return adapt(
            self.backend, texts, labels, base_model=self.adapted_from,
            hypothesis_template=self.hypothesis_template if hypothesis_template is None else hypothesis_template,
            candidate_labels=candidate_labels, seed=seed, method=method, gate_unseen_labels=gate_unseen_labels,
            progress=progress, **training,
        )



#: The keywords ``__call__`` takes by name, offered by the did-you-mean of an unknown one.
_CALL_NAMES = ("texts", "sequences", "candidate_labels", "multi_label", "multi_class", "hypothesis_template",
               "explain", "label_descriptions", "refine", "shortlist")
