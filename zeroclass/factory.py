"""``pipeline(...)``: transformers' factory, for code written for it.

It takes everything ``transformers.pipeline("zero-shot-classification", ...)``
takes. What has a meaning here becomes a
:meth:`~zeroclass.ZeroShotClassifier.from_pretrained` option; what has none
is dropped with a one-time note (see :mod:`zeroclass.compat`); a loaded
transformers model object is wrapped as it is, on the torch backend.
"""

from __future__ import annotations

import inspect
import os
from typing import Any

from .backends import backend_options
from .classifier import ZeroShotClassifier
from .compat import FACTORY_IGNORED, note_ignored, unknown_keyword
from .errors import InputError, InputTypeError
from .hypotheses import Labels

__all__ = ["pipeline"]


#: ``model_kwargs`` entries that map onto :meth:`ZeroShotClassifier.from_pretrained` options.
_MODEL_KWARGS = ("dtype", "torch_dtype", "revision", "token", "cache_dir", "trust_remote_code")


def pipeline(
    task: str | None = "zero-shot-classification",
    model: str | os.PathLike[str] | None = None,
    *,
    device: str | int | None = None,
    dtype: str | None = None,
    candidate_labels: Labels | None = None,
    multi_label: bool | None = None,
    **kwargs: Any,
) -> ZeroShotClassifier:
    """Drop-in for ``transformers.pipeline("zero-shot-classification", ...)``.

    Takes the same ``model``, ``device``, ``dtype`` (``torch_dtype`` too;
    ``"auto"`` is float32 here), ``revision``, ``token`` and
    ``trust_remote_code``, plus every :meth:`ZeroShotClassifier.from_pretrained`
    option. ``candidate_labels`` and ``multi_label`` become defaults of every
    call, as in transformers. transformers' other factory keywords
    (``device_map``, ``model_kwargs``, ``tokenizer``, ``batch_size``...) are
    used where they mean something here and otherwise ignored with a one-time
    note (see the README's "Coming from transformers"); a keyword neither
    knows is an error with a did-you-mean.
    """
    if task not in (None, "zero-shot-classification"):
        raise InputError(f"zeroclass only does 'zero-shot-classification', not {task!r}")
    if "torch_dtype" in kwargs:
        dtype = dtype or kwargs.pop("torch_dtype")
    device, kwargs = _older_spellings(device, kwargs)
    device, kwargs = _device_from_map(device, kwargs)
    kwargs = _merge_model_kwargs(kwargs)
    dtype = dtype or kwargs.pop("dtype", None)
    dtype = None if dtype == "auto" else dtype
    defaults = {k: v for k, v in {"candidate_labels": candidate_labels, "multi_label": multi_label}.items() if v is not None}
    if model is not None and not isinstance(model, (str, os.PathLike)):
        classifier = _from_model_object(model, device, dtype, kwargs)
        classifier.call_defaults = defaults
        return classifier
    kwargs = _tokenizer_to_use(model, kwargs)
    _note_factory_keywords(model, kwargs)
    _check_factory_keywords(kwargs)
    if kwargs.get("trust_remote_code") is None:
        kwargs.pop("trust_remote_code", None)
    classifier = ZeroShotClassifier.from_pretrained(model, device=device, dtype=dtype, **kwargs)
    classifier.call_defaults = defaults
    return classifier


#: Loading options that mean nothing for a model already in memory: noted, as transformers ignores them too.
_LOADING_ONLY = ("revision", "token", "cache_dir", "trust_remote_code", "hub")


def _from_model_object(model: Any, device: Any, dtype: Any, kwargs: dict[str, Any]) -> ZeroShotClassifier:
    """``pipeline(model=<a loaded transformers model>, tokenizer=...)``: that very model, on the torch backend."""
    from .backends.loaded import backend_from_objects, is_model_object

    if not is_model_object(model):
        raise InputTypeError(
            f"model must be a hub id, a local folder or a loaded transformers model, got {type(model).__name__}"
        )
    tokenizer = kwargs.pop("tokenizer", None)
    template = kwargs.pop("hypothesis_template", None)
    for name in [k for k in kwargs if k in _LOADING_ONLY]:
        value = kwargs.pop(name)
        if value:
            note_ignored(name, "the model is already loaded", value)
    _note_factory_keywords(None, kwargs)
    accepted = set(inspect.signature(backend_from_objects).parameters) - {"model", "tokenizer", "device", "dtype"}
    for name in kwargs:
        if name not in accepted:
            _check_factory_keywords({name: None})  # a typo: did-you-mean
            raise InputError(f"{name}= applies to a model loaded by name, not to a model object (use the torch backend's options)")
    if dtype is not None:
        # Casting would convert the caller's own model in place; transformers leaves it as it is too.
        note_ignored("dtype", "a loaded model runs in its own dtype, as in transformers; cast it first (model.to(...))", dtype)
    backend = backend_from_objects(model, tokenizer, device=device, **kwargs)
    return ZeroShotClassifier(backend, hypothesis_template=template)


#: Older or ModelScope names of options, and the name they have here.
_ALIASES = {"use_auth_token": "token", "model_revision": "revision", "sequence_length": "max_length"}


def _older_spellings(device: Any, kwargs: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """transformers 4's ``use_auth_token`` and ModelScope's ``model_revision``, ``sequence_length`` and
    ``device="gpu"``, so code written for either runs unchanged; ``framework="pt"`` says what is done anyway."""
    kwargs = dict(kwargs)
    for old, new in _ALIASES.items():
        if old in kwargs:
            value = kwargs.pop(old)
            if value is not None and value is not False:
                kwargs.setdefault(new, None if value is True else value)  # use_auth_token=True: the saved token
    if kwargs.get("framework") in ("pt", None):
        kwargs.pop("framework", None)
    if isinstance(device, str) and device.lower().startswith("gpu"):
        device = "cuda" + device[3:]
    return device, kwargs


def _device_from_map(device: Any, kwargs: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """``device_map``: ``"auto"`` is the default device pick, a device name is ``device=``, a layer map is noted."""
    device_map = kwargs.pop("device_map", None)
    if device_map is None or device_map == "auto":
        return device, kwargs
    if isinstance(device_map, (str, int)) and (device is None or str(device) == str(device_map)):
        return device_map, kwargs
    note_ignored("device_map", FACTORY_IGNORED["device_map"], device_map)
    return device, kwargs


def _merge_model_kwargs(kwargs: dict[str, Any]) -> dict[str, Any]:
    """``model_kwargs`` entries zeroclass has an option for become that option; the rest are noted."""
    model_kwargs = dict(kwargs.pop("model_kwargs", None) or {})
    for name in _MODEL_KWARGS:
        if name in model_kwargs:
            value = model_kwargs.pop(name)
            kwargs.setdefault("dtype" if name == "torch_dtype" else name, value)
    if model_kwargs:
        note_ignored("model_kwargs", FACTORY_IGNORED["model_kwargs"], model_kwargs)
    return kwargs


def _tokenizer_to_use(model: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
    """A tokenizer object, or a local tokenizer folder other than the model's, is loaded and used, as in transformers.

    One given by the model's own name says the default and is dropped; a hub
    id other than the model's is left for :func:`_note_factory_keywords`.
    """
    tokenizer = kwargs.get("tokenizer")
    if model is None or tokenizer is None:
        return kwargs
    if not isinstance(tokenizer, (str, os.PathLike)):
        return kwargs  # used as it is
    if os.fspath(tokenizer) == os.fspath(model):
        return {k: v for k, v in kwargs.items() if k != "tokenizer"}
    if os.path.isdir(tokenizer):
        from transformers import AutoTokenizer

        return kwargs | {"tokenizer": AutoTokenizer.from_pretrained(tokenizer)}
    return kwargs


def _note_factory_keywords(model: Any, kwargs: dict[str, Any]) -> None:
    """Drop the transformers factory keywords that mean nothing here, noting each unless it says our default."""
    tokenizer = kwargs.pop("tokenizer", None)
    if tokenizer is not None and (model is None or isinstance(tokenizer, (str, os.PathLike))):
        note_ignored("tokenizer", FACTORY_IGNORED["tokenizer"], getattr(tokenizer, "name_or_path", tokenizer))
    elif tokenizer is not None:
        kwargs["tokenizer"] = tokenizer  # a loaded one, used (see _tokenizer_to_use)
    if kwargs.pop("use_fast", True) is False:
        note_ignored("use_fast", FACTORY_IGNORED["use_fast"], False)
    for name in [k for k in kwargs if k in FACTORY_IGNORED and k != "tokenizer"]:
        value = kwargs.pop(name)
        if value is not None and value is not False:
            note_ignored(name, FACTORY_IGNORED[name], value)


def _check_factory_keywords(kwargs: dict[str, Any]) -> None:
    """Refuse, with a did-you-mean, a keyword that is neither ours nor transformers'."""
    own = set(inspect.signature(ZeroShotClassifier.from_pretrained).parameters) - {"cls", "model", "backend_options"}
    unknown = [k for k in kwargs if k not in own]
    if not unknown:
        return
    known = own | backend_options() | set(FACTORY_IGNORED) | {"device", "dtype", "torch_dtype", "candidate_labels", "multi_label"}
    for name in unknown:
        if name not in known:
            raise unknown_keyword(name, known, "pipeline()")

