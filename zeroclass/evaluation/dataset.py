"""A labelled table in, checked texts and gold labels out.

Files are read as ``zeroclass batch`` reads them (:func:`zeroclass.tables.stream_table`:
CSV, TSV, JSON lines, Parquet): CSV cells stay text exactly as written, so
gold labels ``007`` and ``010`` stay ``007`` and ``010`` rather than becoming
the numbers 7 and 10, and a label ``true`` or a text ``42`` is a text like
any other. Here each row is checked, and a bad one is named by its number
(counting from 1) and column, because an evaluation that silently skips rows
reports a number about other data. A pandas DataFrame or a list of dicts
already in memory is read as it is.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from ..hypotheses import parse_labels

__all__ = ["LabelledData", "load_labelled", "sample_indices"]

# One cell holding several gold labels: ';' wins when present, so labels
# with commas ("utilities, energy or sanitation") survive.
_SEMICOLON = re.compile(r"\s*;\s*")
_COMMA = re.compile(r"\s*,\s*")
# The reader's column for why a row could not be read; no real file has it.
_PROBLEM = "\x00zeroclass: unreadable row"


@dataclass(frozen=True)
class LabelledData:
    """Texts, their gold labels (a list per text), the candidate labels, and each text's row (from 1)."""

    texts: list[str]
    gold: list[list[str]]
    labels: list[str]
    multi_label: bool
    source: str
    rows: list[int]


def sample_indices(n: int, limit: int | None, seed: int) -> np.ndarray:
    """Row indices of a fixed-seed random sample of ``limit`` rows (all rows, in order, without one).

    Many data sets are sorted by label, so the first N rows would be one or
    two labels only; a seeded shuffle gives the same sample on every run.
    """
    if limit is None or limit >= n:
        return np.arange(n)
    if limit <= 0:
        raise InputError(f"limit must be a positive number of rows, got {limit}")
    return np.sort(np.random.default_rng(seed).permutation(n)[:limit])


def _as_text(value: object) -> object:
    """A scalar cell as the text it was written as: ``true``, ``42``, ``0.5``; other values unchanged.

    JSON lines and Parquet have typed cells where CSV has text; the same data
    must evaluate the same whatever its format.
    """
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (int, float, np.integer, np.floating)):
        return str(value)
    return value


def _gold_cell(value: object, row: int, column: str, multi_label: bool) -> list[str]:
    where = f"row {row}, column {column!r}"
    value = _as_text(value)
    if value is None:
        items: list[object] = []
    elif isinstance(value, str):
        splitter = _SEMICOLON if ";" in value else _COMMA
        items = [v for v in splitter.split(value.strip())] if multi_label else [value]
        items = [v for v in items if v != ""]
    elif isinstance(value, (list, tuple)):
        items = [_as_text(v) for v in value]
    else:
        raise InputError(f"{where}: a gold label must be text or a list of texts, got {type(value).__name__} {value!r:.80}")
    gold = []
    for item in items:
        if not isinstance(item, str) or not item.strip():
            raise InputError(f"{where}: gold label {item!r:.80} is not a non-empty text")
        gold.append(item.strip())
    if not multi_label and len(gold) != 1:
        raise InputError(
            f"{where}: single-label evaluation needs exactly one gold label, found {len(gold)} ({gold!r:.120}); "
            "pass --multi-label (multi_label=True) if a text may have several"
        )
    return gold


def _read_columns(path: str | os.PathLike[str], text_column: str, label_column: str) -> tuple[list[Any], ...]:
    """The text cells, the label cells, and each row's read problem (or ``None``), for the whole file."""
    from ..tables import check_columns, stream_table, survey_table

    found = survey_table(path, problem_column=_PROBLEM)
    check_columns(Path(path), found.columns, [text_column, label_column])
    if found.rows == 0:
        raise InputError(f"{os.fspath(path)}: the file has no rows")
    texts: list[Any] = []
    gold: list[Any] = []
    problems: list[Any] = []
    for chunk in stream_table(path, chunk_rows=65536, problem_column=_PROBLEM, surveyed=found):
        texts += chunk.column(text_column).to_pylist()
        gold += chunk.column(label_column).to_pylist()
        problems += chunk.column(_PROBLEM).to_pylist()
    return texts, gold, problems


def _columns(data: object, text_column: str, label_column: str) -> tuple[list, list, list, str]:
    """The text and gold columns of a file, a pandas DataFrame or a list of dicts, each row's read
    problem (or ``None``), and how to name the source."""
    if isinstance(data, (str, os.PathLike)):
        return (*_read_columns(data, text_column, label_column), os.fspath(data))
    if hasattr(data, "columns") and hasattr(data, "to_dict"):  # a pandas DataFrame
        for name in (text_column, label_column):
            if name not in data.columns:
                raise InputError(f"the DataFrame has no column {name!r}; it has {', '.join(map(repr, data.columns))}")
        source = f"DataFrame ({len(data)} rows)"
        return data[text_column].tolist(), data[label_column].tolist(), [None] * len(data), source
    if isinstance(data, Sequence) and not isinstance(data, (str, bytes)) and all(isinstance(r, Mapping) for r in data):
        for i, row in enumerate(data):
            for name in (text_column, label_column):
                if name not in row:
                    raise InputError(f"row {i + 1} has no key {name!r}; it has {', '.join(map(repr, row))}")
        source = f"list of {len(data)} dicts"
        return [r[text_column] for r in data], [r[label_column] for r in data], [None] * len(data), source
    raise InputError(
        f"labelled data must be a file path, a pandas DataFrame or a list of dicts, got {type(data).__name__}"
    )


def load_labelled(
    path: str | os.PathLike[str] | Any,
    *,
    text_column: str = "text",
    label_column: str = "label",
    labels: str | Sequence[str] | None = None,
    multi_label: bool = False,
    limit: int | None = None,
    seed: int = 0,
) -> LabelledData:
    """Read and check a labelled file (or a pandas DataFrame, or a list of dicts).

    Without ``labels`` the candidate labels are every gold label in the
    file, sorted. With them, a gold label that is not a candidate is an
    error naming its row: the model could never predict it.
    """
    texts_raw, gold_raw, problems, source = _columns(path, text_column, label_column)
    if not texts_raw:
        raise InputError(f"{source}: no rows to evaluate")
    keep = sample_indices(len(texts_raw), limit, seed)
    texts, gold = [], []
    for i in keep:
        row = int(i) + 1
        if problems[i] is not None:
            raise InputError(f"{source}, row {row}: cannot be read faithfully: {problems[i]}")
        text = _as_text(texts_raw[i])
        if not isinstance(text, str) or not text.strip():
            raise InputError(f"row {row}, column {text_column!r}: the text is empty or not text ({text!r:.80})")
        texts.append(text)
        gold.append(_gold_cell(gold_raw[i], row, label_column, multi_label))
    if labels is None:
        candidates = sorted({g for row_gold in gold for g in row_gold})
        if len(candidates) < (1 if multi_label else 2):
            raise InputError(
                f"{source}: the data has only the gold label(s) {candidates!r}; "
                "pass the candidate labels (--labels) so the model has a choice"
            )
    else:
        candidates = parse_labels(labels)
        known = set(candidates)
        for i, row_gold in zip(keep, gold):
            for g in row_gold:
                if g not in known:
                    raise InputError(
                        f"row {int(i) + 1}, column {label_column!r}: gold label {g!r} is not among the candidate "
                        f"labels {candidates!r:.200}"
                    )
    return LabelledData(texts, gold, candidates, multi_label, source, [int(i) + 1 for i in keep])
