"""Backends: what turns (premise, hypothesis) pairs into NLI logits.

Each backend implements :class:`Backend` (``score_pairs(pairs) -> logits`` plus
the NLI head it reports). They are looked up by name here, so adding one is a
new module and one line in ``_BACKENDS``, not another ``if`` elsewhere.
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any

from ..errors import InputError
from ..hub import ModelSource
from .adapted import apply_adapter
from .base import Backend, Embedding, NLIHead, Pair, Refining, Routing, resolve_nli_head

__all__ = ["Backend", "Refining", "Embedding", "Routing", "NLIHead", "Pair", "resolve_nli_head", "load_backend", "backend_name", "backend_options", "BACKENDS"]

# name -> "module:class"; imported only when used, so `import zeroclass` stays light.
_BACKENDS = {
    "torch": "zeroclass.backends.nli_torch:TorchNLIBackend",
    "onnx": "zeroclass.backends.nli_onnx:OnnxNLIBackend",
    "embedding": "zeroclass.backends.embedding:EmbeddingBackend",
    "use": "zeroclass.backends.use:UseBackend",
    "routed": "zeroclass.backends.routed:RoutedBackend",
}
BACKENDS = tuple(_BACKENDS)
#: The pyproject extra that installs a backend's optional dependency; the others need only zeroclass's own.
_EXTRAS = {"onnx": "onnx"}


def _backend_class(name: str) -> Any:
    try:
        module_name, class_name = _BACKENDS[name].split(":")
    except KeyError:
        raise InputError(f"unknown backend {name!r}: use one of {', '.join(BACKENDS)}") from None
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        extra = _EXTRAS.get(name)
        fix = f"pip install 'zeroclass[{extra}]'" if extra else "reinstall zeroclass, which depends on it"
        raise InputError(f"backend {name!r} needs {exc.name}, which is not installed: {fix}") from exc
    return getattr(module, class_name)


def load_backend(source: ModelSource, backend: str | None = None, **options: Any) -> Backend:
    """Load ``source`` with the named backend (default: by the model's kind).

    Options a backend does not take are an error naming them, rather than
    silently ignored: ``dtype="bfloat16"`` that did nothing would be a lie.
    """
    name = backend or _default_backend(source)
    cls = _backend_class(name)
    if source.kind == "embedding" and not cls.loads_embedding_models:
        raise InputError(
            f"{source.model_id} is a sentence-embedding model, not an NLI cross-encoder: use backend='embedding'"
        )
    options = {k: v for k, v in options.items() if v is not None}
    if source.languages is not None and cls.takes_model_languages:
        options.setdefault("languages", source.languages)
    accepted = _accepted_options(cls)
    unknown = sorted(set(options) - accepted)
    if unknown:
        raise InputError(f"option(s) {', '.join(unknown)} do not apply to the {name!r} backend")
    loaded = cls.from_path(source.path, model_name=source.model_id, **options)
    return apply_adapter(source.path, loaded)  # a folder saved by ZeroShotClassifier.adapt(...).save_pretrained


def _default_backend(source: ModelSource) -> str:
    """The bundled default routes by language; other models go by their kind."""
    if source.hub == "bundled":
        return "routed"
    return "embedding" if source.kind == "embedding" else "torch"


def _accepted_options(cls: Any) -> set[str]:
    names: set[str] = set()
    for fn in (cls.from_path, cls.__init__):
        params = inspect.signature(fn).parameters
        names |= {n for n, p in params.items() if p.kind is p.KEYWORD_ONLY}
    return names - {"model_name"}


def backend_name(backend: Backend) -> str:
    """The name ``backend=`` takes for this backend's class (``"torch"``...), else the class name."""
    by_class = {target.split(":")[1]: name for name, target in _BACKENDS.items()}
    return by_class.get(type(backend).__name__, type(backend).__name__)


def backend_options() -> set[str]:
    """Every option some installed backend takes: what ``pipeline()`` may pass on rather than refuse."""
    names: set[str] = set()
    for name in BACKENDS:
        try:
            names |= _accepted_options(_backend_class(name))
        except InputError:  # an optional backend that is not installed
            continue
    return names
