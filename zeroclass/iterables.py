"""Texts in whatever container the caller holds them: what a call returns for each.

transformers' pipeline is fed lists, generators, ``torch`` datasets
(``KeyDataset`` over a ``datasets`` table), and in practice also pandas
Series, NumPy arrays and ``datasets`` columns. The rule here follows it:

* a string gives one result;
* a container of known length (list, tuple, Series, 1-D array, a
  ``datasets`` column...) gives a list of results, in order;
* a generator, an iterator or a ``torch`` ``Dataset`` gives a generator of
  results, read lazily and classified chunk by chunk, so an endless or
  huge source streams as it does in transformers.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Iterable, Iterator, Mapping
from itertools import islice
from typing import Any

from .errors import InputError, InputTypeError

__all__ = ["as_texts", "chunks", "checked_text", "Texts"]

#: What :func:`as_texts` makes of a call's input: ``(kind, texts)`` with kind
#: ``"single"`` (a list of one), ``"list"`` or ``"stream"`` (an iterator).
Texts = tuple[str, Any]


def _is_torch_dataset(value: Any) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(value, torch.utils.data.Dataset)


def _dataset_items(dataset: Any) -> Iterator[Any]:
    """A map-style dataset's items by index (its legacy iteration may not stop), else its own iterator."""
    if hasattr(dataset, "__len__") and hasattr(dataset, "__getitem__"):
        return (dataset[i] for i in range(len(dataset)))
    return iter(dataset)


def as_texts(inputs: Any) -> Texts:
    """Sort the call's input into one text, a list of texts, or a stream of texts (items unchecked)."""
    if isinstance(inputs, str):
        return "single", [inputs]
    if isinstance(inputs, (bytes, bytearray)):
        raise InputTypeError("texts must be a string or an iterable of strings, not bytes: decode them first (data.decode())")
    if isinstance(inputs, Mapping) or hasattr(inputs, "columns"):
        raise InputTypeError(
            f"texts must be a string or an iterable of strings, got {type(inputs).__name__}: "
            "pass the column that holds the texts (e.g. df['text'])"
        )
    if isinstance(inputs, (types.GeneratorType, Iterator)):
        return "stream", inputs
    if _is_torch_dataset(inputs):
        return "stream", _dataset_items(inputs)
    if getattr(inputs, "ndim", 1) != 1:
        raise InputTypeError(f"texts must be one-dimensional, got an array of shape {getattr(inputs, 'shape', '?')}")
    if hasattr(inputs, "tolist") and not isinstance(inputs, list):
        return "list", inputs.tolist()  # NumPy arrays, pandas Series: plain Python str items
    if isinstance(inputs, Iterable):
        return "list", list(inputs)
    raise InputTypeError(f"texts must be a string or an iterable of strings, got {type(inputs).__name__}")


def checked_text(index: int, text: Any) -> str:
    """A streamed item, checked as a listed one is, and named by its place in the stream."""
    if not isinstance(text, str):
        raise InputTypeError(f"text {index} is {type(text).__name__}, expected str: {text!r:.80}")
    if not text.strip():
        raise InputError(f"text {index} is empty")
    return text


def chunks(items: Iterator[Any], size: int) -> Iterator[list[Any]]:
    """Consecutive lists of ``size`` items (the last may be shorter), pulled only when asked for."""
    while chunk := list(islice(items, size)):
        yield chunk
