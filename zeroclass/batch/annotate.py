"""The columns a batch job adds to each row, computed one chunk at a time.

Shared by the local engine and the Ray actors, so both give the same output
row for row: the same chunk in, the same classifier call, the same columns out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from ..errors import InputError
from ..hypotheses import parse_labels, validate_template
from ..shortlist import check_shortlist

__all__ = ["Task", "annotate", "ERROR_COLUMN", "RESULT_COLUMNS", "SCORES_TYPE"]

#: Why a row has no prediction (unreadable, missing or empty text), else null.
ERROR_COLUMN = "error"
#: The best label, its score, and every kept label with its score, best first.
RESULT_COLUMNS = ("predicted_label", "predicted_score", "predicted_scores")
SCORES_TYPE = pa.list_(pa.struct([("label", pa.string()), ("score", pa.float64())]))


@dataclass(frozen=True)
class Task:
    """What to ask of every row: validated once, before the first chunk."""

    labels: tuple[str, ...]
    text_column: str = "text"
    multi_label: bool = False
    hypothesis_template: str | None = None
    top_k: int | None = None
    shortlist: int | None = None

    @classmethod
    def make(
        cls,
        candidate_labels: str | Sequence[str],
        *,
        text_column: str = "text",
        multi_label: bool = False,
        hypothesis_template: str | None = None,
        top_k: int | None = None,
        shortlist: int | None = None,
    ) -> "Task":
        labels = tuple(parse_labels(candidate_labels))
        if top_k is not None and top_k < 1:
            raise InputError(f"top_k must be at least 1, got {top_k}")
        template = validate_template(hypothesis_template) if hypothesis_template else None
        return cls(labels, text_column, multi_label, template, top_k, check_shortlist(shortlist, None))


def annotate(classifier: Any, table: pa.Table, task: Task) -> pa.Table:
    """``table`` with the result columns and the error column appended.

    A row whose ``error`` is already set (the reader could not read it) or
    whose text is missing, empty or not text gets no prediction and says why;
    every other row of the chunk is classified in one call. If that call
    refuses some text (a language the model cannot read, say), only the
    offending rows fail and the others are classified together as before.
    """
    for name in RESULT_COLUMNS:
        if name in table.column_names:
            raise InputError(f"the input has a column {name!r}, which the output needs for its own use; rename it")
    if task.text_column not in table.column_names:
        columns = ", ".join(repr(c) for c in table.column_names if c != ERROR_COLUMN)
        raise InputError(f"no text column {task.text_column!r}; the input has {columns} (choose one with --text-column)")
    errors: list[str | None] = (
        table.column(ERROR_COLUMN).to_pylist() if ERROR_COLUMN in table.column_names else [None] * table.num_rows
    )
    texts: list[Any] = table.column(task.text_column).to_pylist()
    for i, text in enumerate(texts):
        if errors[i] is None:
            errors[i] = _text_problem(text, task.text_column)
    good = [i for i, e in enumerate(errors) if e is None]
    results: list[Any] = [None] * table.num_rows
    for i, result in zip(good, _classify([texts[i] for i in good], classifier, task, errors, good)):
        results[i] = result
    if ERROR_COLUMN in table.column_names:
        table = table.drop_columns([ERROR_COLUMN])
    keep = task.top_k or len(task.labels)
    scored = [None if r is None else list(zip(r["labels"][:keep], r["scores"][:keep])) for r in results]
    return (
        table.append_column(RESULT_COLUMNS[0], pa.array([s and s[0][0] for s in scored], pa.string()))
        .append_column(RESULT_COLUMNS[1], pa.array([s and s[0][1] for s in scored], pa.float64()))
        .append_column(
            RESULT_COLUMNS[2],
            pa.array([s and [{"label": label, "score": score} for label, score in s] for s in scored], SCORES_TYPE),
        )
        .append_column(ERROR_COLUMN, pa.array(errors, pa.string()))
    )


def _text_problem(text: Any, column: str) -> str | None:
    if text is None:
        return f"missing text (column {column!r} is empty or absent)"
    if isinstance(text, bytes):
        return f"column {column!r} holds bytes, not text"
    if not isinstance(text, str):
        return f"column {column!r} holds {type(text).__name__}, not text"
    if not text.strip():
        return "empty text"
    return None


def _classify(texts: list[str], classifier: Any, task: Task, errors: list[str | None], rows: list[int]) -> list[Any]:
    """Results for ``texts``; a text the classifier refuses gets ``None`` and its reason in ``errors``.

    The texts are classified in one call, so a chunk is scored as a whole
    (the offline default refines its label vectors over the call). If that
    call refuses some text, each text is checked alone without scoring
    (``prepare``) and the accepted ones are classified together again, so a
    refused row does not change its neighbours' scores; only if the model
    itself then fails are they classified one by one.
    """
    if not texts:
        return []
    labels = list(task.labels)
    options = {"multi_label": task.multi_label, "hypothesis_template": task.hypothesis_template, "shortlist": task.shortlist}
    try:
        return classifier(texts, labels, **options)
    except InputError:
        pass  # find which texts it refuses
    accepted = [k for k, text in enumerate(texts) if _attempt(errors, rows[k], classifier.prepare, [text], labels, **options)]
    results: list[Any] = [None] * len(texts)
    try:
        scored = classifier([texts[k] for k in accepted], labels, **options) if accepted else []
    except InputError:
        scored = [_attempt(errors, rows[k], lambda t: classifier([t], labels, **options)[0], texts[k]) for k in accepted]
    for k, result in zip(accepted, scored):
        results[k] = result
    return results


def _attempt(errors: list[str | None], row: int, fn: Any, *args: Any, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)``, or ``None`` with the refusal written to ``errors[row]``."""
    try:
        return fn(*args, **kwargs)
    except InputError as exc:
        errors[row] = str(exc).replace("text 0", "the text", 1)
        return None
