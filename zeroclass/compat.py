"""transformers' keywords: what each means here, so code written for its pipeline runs unchanged.

transformers' ``pipeline("zero-shot-classification", ...)`` and the pipeline
it returns accept keywords that belong to its own machinery (a ``DataLoader``
with ``batch_size`` and ``num_workers``, image processors, ``device_map``...).
Code written for it passes them, so refusing them would break that code, and
silently dropping them would hide that they do nothing here. Each one is
therefore honoured where it has a meaning, and otherwise ignored with a note,
logged once per keyword per process, that says why. A keyword that neither
zeroclass nor transformers knows is still an error, with a did-you-mean.
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Iterable, Mapping
from typing import Any

from .errors import InputTypeError

__all__ = [
    "CALL_IGNORED",
    "FACTORY_IGNORED",
    "TRUNCATION_HONOURED",
    "note_ignored",
    "note_once",
    "unknown_keyword",
    "texts_argument",
    "check_call_keywords",
    "multi_label_argument",
]

logger = logging.getLogger("zeroclass")

_BATCHING = (
    "zeroclass batches (text, hypothesis) pairs by a token budget, sorted by length, not a fixed count "
    "(set max_batch_tokens= or max_batch_size= when loading)"
)

#: Keywords of transformers' ``ZeroShotClassificationPipeline.__call__`` (and its
#: base ``Pipeline.__call__``, and tokenizer options people pass) that have no
#: meaning here, each with why.
CALL_IGNORED: dict[str, str] = {
    "batch_size": _BATCHING,
    "num_workers": (
        "zeroclass tokenises in this process and overlaps it with the model itself; there is no DataLoader "
        "to give workers"
    ),
    "truncation": (
        "zeroclass always truncates the text, never the hypothesis, to the model's max_length, as transformers' "
        "zero-shot pipeline does whatever truncation= says (set max_length= when loading)"
    ),
    "padding": "each batch is padded to its own longest pair (dynamic padding)",
    "max_length": "the longest pair is set when loading: pipeline(..., max_length=N) (CLI --max-length)",
    "add_special_tokens": "the model's special tokens are always added, as transformers' pipeline does",
}

#: ``truncation=`` values that say what zeroclass does anyway: no note for these.
TRUNCATION_HONOURED = (True, "only_first")

#: Keywords of ``transformers.pipeline(...)`` with no meaning here, each with why.
FACTORY_IGNORED: dict[str, str] = {
    "config": "the config is read from the model's folder",
    "feature_extractor": "zero-shot text classification reads text only",
    "image_processor": "zero-shot text classification reads text only",
    "video_processor": "zero-shot text classification reads text only",
    "processor": "zero-shot text classification reads text only; the model's own tokenizer is used",
    "pipeline_class": "zeroclass is its own pipeline class",
    "binary_output": "results are plain dicts (ClassificationResult)",
    "use_fast": "zeroclass always uses the model's fast (Rust) tokenizer",
    "tokenizer": (
        "with no model named the offline default's own tokenizers are used, and a tokenizer hub id other than "
        "the model's is not fetched (pass a loaded tokenizer or a local folder to use another)"
    ),
    "device_map": (
        "the whole model goes to one device; device_map='auto' picks the fastest present, "
        "a device name is used as device=, a per-layer map is ignored"
    ),
    "model_kwargs": "only dtype/torch_dtype, revision, token, cache_dir and trust_remote_code are used from it",
    "framework": "zeroclass runs the PyTorch weights (or their ONNX export)",
    "auto_collate": "ModelScope's keyword: zeroclass collates its own batches",
    **{k: v for k, v in CALL_IGNORED.items() if k in ("batch_size", "num_workers")},
}

_noted: set[str] = set()


def note_once(keyword: str, message: str) -> None:
    """Log ``message`` the first time ``keyword`` comes up in this process only."""
    if keyword in _noted:
        return
    _noted.add(keyword)
    logger.warning("zeroclass: %s (Noted once.)", message)


def note_ignored(keyword: str, why: str, value: Any = None) -> None:
    """Log, once per keyword per process, that ``keyword`` is ignored and why."""
    note_once(keyword, f"{keyword}={value!r} is ignored: {why}.")


def unknown_keyword(name: str, known: Iterable[str], where: str) -> InputTypeError:
    """The error for a keyword nobody knows: named, with the closest known ones."""
    close = difflib.get_close_matches(name, sorted(set(known)), n=3, cutoff=0.6)
    hint = f"; did you mean {' or '.join(map(repr, close))}?" if close else ""
    return InputTypeError(f"{where} got an unexpected keyword argument {name!r}{hint}")


def texts_argument(texts: Any, sequences: Any, input: Any = None) -> Any:
    """The texts, given positionally, as ``sequences=`` (transformers' name) or ``input=`` (ModelScope's): once."""
    given = [(name, value) for name, value in (("positionally", texts), ("as sequences=", sequences), ("as input=", input))
             if value is not None]
    if len(given) > 1:
        times = "twice" if len(given) == 2 else "three times"
        raise InputTypeError(f"texts were given {times}: {' and '.join(n for n, _ in given)}; pass one")
    if not given:
        raise InputTypeError("no texts given: pass a string or an iterable of strings (or sequences=...)")
    return given[0][1]


def multi_label_argument(multi_label: Any, multi_class: Any) -> Any:
    """``multi_label``, or transformers 4's deprecated ``multi_class`` (noted once) when only it is given."""
    if multi_class is None:
        return multi_label
    note_once(
        "multi_class",
        f"multi_class={multi_class!r} is read as multi_label, its meaning in transformers 4 "
        "(transformers 5 ignores it silently); say multi_label=...",
    )
    return multi_class if multi_label is None else multi_label


def check_call_keywords(options: Mapping[str, Any], known: Iterable[str], where: str) -> None:
    """Note each transformers call keyword that means nothing here; refuse one nobody knows.

    ``known``: the call's own keywords, offered with :data:`CALL_IGNORED`'s
    by the did-you-mean of an unknown one.
    """
    for name, value in options.items():
        if name == "truncation" and isinstance(value, (bool, str)) and value in TRUNCATION_HONOURED:
            continue  # what zeroclass does anyway
        if name not in CALL_IGNORED:
            raise unknown_keyword(name, [*known, *CALL_IGNORED], where)
        note_ignored(name, CALL_IGNORED[name], value)
