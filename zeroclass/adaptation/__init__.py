"""Adapt a zero-shot classifier to a handful of labelled examples, keeping it zero-shot.

``ZeroShotClassifier.adapt(texts, labels, ...)`` (which calls :func:`adapt`) returns an :class:`AdaptedClassifier`
(a :class:`~zeroclass.ZeroShotClassifier` that can ``save_pretrained``);
the classifier passed in is never changed. Methods:

* ``"head"`` (embedding models): the zero-shot classifier as a linear head
  over the frozen embeddings, trained on the examples with a pull back to
  the zero-shot label vectors whose strength cross-validation on the
  examples picks (``head``; convex, a few seconds);
* ``"prototypes"`` (embedding models): label vectors moved towards their
  examples, no gradient, milliseconds (``prototypes``);
* ``"contrastive"`` (embedding models): the encoder fine-tuned on text–text
  and text–hypothesis pairs, then prototypes (``contrastive``);
* ``"nli"`` (NLI cross-encoders): fine-tuned on entailment pairs (``nli``).

``"auto"`` picks ``"head"`` for an embedding model (it contains zero-shot as
the case the examples do not beat, and measured best in
``benchmarks/fewshot``), ``"nli"`` otherwise.

The offline default adapted to English examples by ``head`` or
``prototypes`` reads each text with both of its models side by side
(:mod:`zeroclass.backends.joint`), and keeps all-MiniLM-L6-v2 alone for
the labels without examples (:mod:`zeroclass.backends.prototypes`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from ..backends.base import Embedding
from ..classifier import ZeroShotClassifier
from ..errors import InputError
from ..hypotheses import validate_templates
from .examples import Examples, check_examples
from ..backends.adapted import ADAPTER_FILE, apply_adapter
from .saved import save_adapted

__all__ = ["adapt", "AdaptedClassifier", "METHODS", "ADAPTER_FILE", "apply_adapter"]

METHODS = ("auto", "head", "prototypes", "contrastive", "nli")


class AdaptedClassifier(ZeroShotClassifier):
    """A classifier adapted to examples; it classifies like any other, and saves as a model folder."""

    def __init__(self, backend: Any, *, hypothesis_template: Any = None, info: dict[str, Any]) -> None:
        super().__init__(backend, hypothesis_template=hypothesis_template)
        self.info = info
        self.adapted_from = info["base_model"]

    def save_pretrained(self, folder: str | os.PathLike[str], *, evaluation: dict[str, Any] | None = None) -> None:
        """Write a model folder that ``pipeline(model=folder)``, the CLI, server, batch and eval load.

        ``evaluation`` (e.g. ``{"data": ..., "rows": ..., "before": {...}, "after": {...}}``) goes into
        the folder's card and ``zeroclass_adapter.json``.
        """
        info = {**self.info, **({"evaluation": evaluation} if evaluation else {})}
        save_adapted(folder, self.backend, info)


def _tuned_backend(backend: Any, texts: Sequence[str], method: str = "auto") -> Any:
    """The one model an adaptation tunes.

    The offline default routes each text to the model of its language; it
    says which model the examples can teach
    (:meth:`~zeroclass.backends.routed.RoutedBackend.adaptation_backend`):
    for English examples and a method that keeps the encoders frozen, both
    of its models side by side.
    """
    from ..backends.routed import RoutedBackend

    if not isinstance(backend, RoutedBackend):
        return backend
    return backend.adaptation_backend(texts, joint=method != "contrastive")


def _plain_model(tuned: Any) -> Any:
    """The model whose scores labels without examples keep: the first of a two-model encoder (the offline
    default's English model), else ``None`` (the tuned model itself)."""
    from ..backends.embedding import EmbeddingBackend
    from ..backends.joint import JointEncoder

    return tuned.model.first if isinstance(tuned, EmbeddingBackend) and isinstance(tuned.model, JointEncoder) else None


def _method(backend: Any, method: str) -> str:
    if method not in METHODS:
        raise InputError(f"unknown adapt method {method!r}: use one of {', '.join(METHODS)}")
    embedding = isinstance(backend, Embedding)
    if method == "auto":
        return "head" if embedding else "nli"
    if embedding != (method != "nli"):
        kind = "an embedding model" if embedding else "an NLI cross-encoder"
        fits = "'head', 'prototypes' or 'contrastive'" if embedding else "'nli'"
        raise InputError(f"method {method!r} does not apply to {backend.model_name}, {kind}: use {fits}")
    return method


def adapt(
    backend: Any,
    texts: Sequence[str],
    labels: Sequence[str | Sequence[str]],
    *,
    hypothesis_template: Any = None,
    base_model: str | None = None,
    candidate_labels: Any = None,
    seed: int = 0,
    method: str = "auto",
    gate_unseen_labels: bool | None = None,
    progress: bool = False,
    **training: Any,
) -> AdaptedClassifier:
    """A new classifier adapted to ``texts`` and their ``labels`` (see the module doc for the methods).

    ``backend`` and ``hypothesis_template`` are those of the classifier being
    adapted (:meth:`ZeroShotClassifier.adapt` passes them); ``base_model`` the
    model it was itself adapted from, if it was.

    ``gate_unseen_labels`` (embedding-model methods, single-label; on by
    default): in a call that mixes labels with and without examples, the
    base model keeps deciding between the two groups (see
    :mod:`zeroclass.backends.prototypes`); off, the adapted labels may also
    win texts from labels without examples.

    ``training`` options go to the training methods: ``epochs``,
    ``learning_rate``, ``batch_size``.
    """
    examples = check_examples(texts, labels, candidate_labels)
    base = _tuned_backend(backend, examples.texts, method)
    chosen = _method(base, method)
    if chosen in ("head", "prototypes") and training:
        raise InputError(f"option(s) {', '.join(sorted(training))} do not apply to the {chosen!r} method (it does not fine-tune the model)")
    templates = validate_templates(hypothesis_template or base.default_template)
    gate = _gate(chosen, examples, gate_unseen_labels)
    plain = _plain_model(base)
    adapted, details = _run(chosen, base, examples, templates, seed=seed, gate=gate, plain=plain, progress=progress,
                            **training)
    info = {
        "base_model": base_model or (plain or base).model_name,
        "method": chosen,
        "templates": list(templates),
        "labels": examples.labels,
        "examples": len(examples.texts),
        "examples_per_label": examples.counts(),
        "multi_label": examples.multi_label,
        "seed": seed,
        "languages": sorted(base.languages) if base.languages else None,
        "training": details,
    }
    return AdaptedClassifier(adapted, hypothesis_template=hypothesis_template, info=info)


def _gate(method: str, examples: Examples, asked: bool | None) -> bool:
    """Whether the adapted labels are gated against labels without examples (default: single-label embedding methods)."""
    if asked is None:
        return method != "nli" and not examples.multi_label
    if method == "nli":
        raise InputError("gate_unseen_labels applies to embedding models (methods head, prototypes, contrastive); "
                         "an NLI adaptation scores every label with the fine-tuned model, leave it unset")
    if asked and examples.multi_label:
        raise InputError("gate_unseen_labels=True applies to single-label examples: multi-label labels do not compete")
    return bool(asked)


def _run(method: str, backend: Any, examples: Examples, templates: tuple[str, ...], *, gate: bool, plain: Any,
         **options: Any) -> tuple[Any, dict]:
    if method in ("head", "prototypes"):
        from .head import build_head
        from .prototypes import PrototypeBackend, build_prototypes

        build = build_head if method == "head" else build_prototypes
        built, details = build(backend, examples, templates, seed=options["seed"])
        known = backend.prototypes if isinstance(backend, PrototypeBackend) else {}
        labels = examples.hypothesis_labels(templates)
        return PrototypeBackend.from_backend(backend, {**known, **built}, labels=labels, gate=gate, plain=plain), details
    if method == "contrastive":
        from .contrastive import finetune_contrastive

        return finetune_contrastive(backend, examples, templates, gate=gate, **options)
    from .nli import finetune_nli

    return finetune_nli(backend, examples, templates, **options)
