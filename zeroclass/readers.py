"""Row-by-row readers behind :func:`zeroclass.tables.stream_table`: every row comes out.

A batch job over millions of rows must not die on one hostile or careless
row, nor quietly swallow hundreds of rows into one cell. So rows are parsed
one at a time and each failure stays with its row, as a reason in the
problem column:

- CSV and TSV are parsed with a strict dialect. A record the strict parser
  rejects (a stray quote that ran on to a later line, a cell over
  :data:`MAX_CELL_CHARS`) costs only its first line: that line becomes a bad
  row and parsing starts again on the next line, so one stray ``"`` cannot
  merge the rest of the file into one cell. Reading again is linear overall:
  a bad record ends at the next quote, so each line is re-read at most once
  per stray quote before it, and memory stays bounded by the cell limit.
- JSON lines are decoded line by line with :mod:`json`, so deep nesting,
  lone surrogates or huge integers fail their line only; and each column's
  Arrow type is chosen from the whole file first (:func:`survey`), so a
  column that changes type at row 4,097 cannot fail a chunk: a column whose
  values do not share one type becomes text (each value as its JSON text).
- Lines longer than :data:`MAX_LINE_CHARS` are never held in memory whole.
"""

from __future__ import annotations

import codecs
import csv
import json
import re
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, AnyStr

import pyarrow as pa

from .errors import InputError

__all__ = ["MAX_CELL_CHARS", "MAX_LINE_CHARS", "Survey", "survey", "pieces"]

#: Longest cell read; a longer one (or a quote that runs on this far) is a bad row.
MAX_CELL_CHARS = 1 << 20
#: Longest line read; the rest of a longer one is skipped and its row is bad.
MAX_LINE_CHARS = 4 * MAX_CELL_CHARS
#: Rows parsed in Python before they become one Arrow table.
PIECE_ROWS = 4096
#: Field separator of each delimited format.
DELIMITERS = {"csv": ",", "tsv": "\t"}

_INT64 = range(-(2**63), 2**63)
_SURROGATES = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True)
class Survey:
    """What a whole pass over a file found: its columns, its row count, and (JSON lines) each column's type."""

    columns: list[str]
    rows: int
    types: dict[str, pa.DataType] | None = None


def survey(path: Path, fmt: str, problem_column: str | None) -> Survey:
    """Read the whole file once, without keeping it, before any work is done on it.

    A whole-file problem (no header, a column the output needs for itself)
    is an :class:`InputError` here, not a failure a million rows in.
    """
    if fmt == "parquet":
        source = _parquet(path)
        columns = source.schema_arrow.names
        result = Survey(columns, source.metadata.num_rows)
    elif fmt == "jsonl":
        result = _survey_jsonl(path)
    else:
        with _text(path) as f:
            records = _delimited_records(f, DELIMITERS[fmt])
            columns = _header(path, records)
            result = Survey(columns, sum(1 for _ in records))
    if problem_column is not None and problem_column in result.columns:
        raise InputError(f"{path}: has a column {problem_column!r}, which the output needs for its own use; rename it")
    return result


def pieces(path: Path, fmt: str, problem_column: str, found: Survey) -> Iterator[pa.Table]:
    """The file's rows in tables of up to :data:`PIECE_ROWS`, each with ``problem_column`` appended."""
    if fmt == "parquet":
        return _parquet_pieces(path, problem_column)
    if fmt == "jsonl":
        return _jsonl_pieces(path, problem_column, found)
    return _delimited_pieces(path, DELIMITERS[fmt], problem_column)


def _lines(f: IO[AnyStr], ends: tuple[AnyStr, ...]) -> Iterator[tuple[int, AnyStr, bool]]:
    """``(number from 1, line, whether it was cut)``; a line over :data:`MAX_LINE_CHARS` is cut and its rest skipped."""
    number = 0
    while line := f.readline(MAX_LINE_CHARS):
        number += 1
        cut = len(line) == MAX_LINE_CHARS and not line.endswith(ends)
        if cut:
            while (rest := f.readline(MAX_LINE_CHARS)) and not rest.endswith(ends):
                pass
            line = line + ends[0]
        yield number, line, cut


# ---------------------------------------------------------------- CSV / TSV


def _text(path: Path) -> IO[str]:
    """Open a delimited file as text; undecodable bytes survive as surrogates to be found per cell."""
    return open(path, encoding="utf-8-sig", errors="surrogateescape", newline="")


def _delimited_records(f: IO[str], delimiter: str) -> Iterator[tuple[int, list[str], str | None]]:
    """``(first line number, fields, problem)`` per record.

    A record the strict parser rejects yields its first line alone (read
    leniently, so its id can still be reported) with the reason, and
    parsing resumes on its second line: the lines it swallowed are read again.
    """
    csv.field_size_limit(MAX_CELL_CHARS)
    lines = _lines(f, ("\n", "\r"))
    pending: deque[tuple[int, str, bool]] = deque()
    taken: list[tuple[int, str, bool]] = []

    def feed() -> Iterator[str]:
        while (item := pending.popleft() if pending else next(lines, None)) is not None:
            taken.append(item)
            yield item[1]

    reader = csv.reader(feed(), delimiter=delimiter, strict=True)
    while True:
        taken.clear()
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            if not taken:
                return
            number, line, _ = taken[0]
            pending.extendleft(reversed(taken[1:]))
            reader = csv.reader(feed(), delimiter=delimiter, strict=True)
            yield number, _lenient(line, delimiter), _csv_problem(exc, number, len(taken))
            continue
        number = taken[0][0] if taken else 0
        if any(cut for _, _, cut in taken):
            yield number, fields, f"line {number}: a line longer than {MAX_LINE_CHARS:,} characters"
        else:
            yield number, fields, None


def _lenient(line: str, delimiter: str) -> list[str]:
    """The cells of one line read as leniently as Python's csv can, so a bad row keeps its id and text."""
    csv.field_size_limit(MAX_LINE_CHARS)
    try:
        return next(csv.reader([line], delimiter=delimiter), [])
    except csv.Error:
        return []
    finally:
        csv.field_size_limit(MAX_CELL_CHARS)


def _csv_problem(exc: csv.Error, number: int, lines: int) -> str:
    runs_on = f", running on over {lines} lines (an unbalanced quote?)" if lines > 1 else ""
    if "field larger than field limit" in str(exc):
        return f"line {number}: a cell longer than {MAX_CELL_CHARS:,} characters{runs_on}; the row is not read"
    return f"line {number}: malformed ({exc}){runs_on}; the row is not read"


def _header(path: Path, records: Iterator[tuple[int, list[str], str | None]]) -> list[str]:
    first = next(records, None)
    if first is None or not first[1]:
        raise InputError(f"{path}: no header line")
    if first[2] is not None:
        raise InputError(f"{path}: the header cannot be read: {first[2]}")
    names = [_clean_escaped(name)[0] for name in first[1]]
    for name in names:
        if names.count(name) > 1:
            raise InputError(f"{path}: column {name!r} appears twice in the header")
    return names


def _clean_escaped(cell: str) -> tuple[str, bool]:
    """``(cell with undecodable bytes replaced by U+FFFD, whether there were any)``."""
    try:
        cell.encode("utf-8")
        return cell, False
    except UnicodeEncodeError:
        return cell.encode("utf-8", "surrogateescape").decode("utf-8", "replace"), True


def _delimited_pieces(path: Path, delimiter: str, problem_column: str) -> Iterator[pa.Table]:
    with _text(path) as f:
        records = _delimited_records(f, delimiter)
        names = _header(path, records)
        rows: list[list[Any]] = []
        problems: list[str | None] = []
        for number, fields, problem in records:
            cells, bad = [], []
            for name, cell in zip(names, fields):
                cell, undecodable = _clean_escaped(cell)
                if undecodable:
                    bad.append(name)
                cells.append(cell)
            if problem is None and len(fields) != len(names):
                problem = f"line {number}: {len(fields)} fields, the header has {len(names)}"
            elif problem is None and bad:
                problem = f"undecodable bytes (not UTF-8) in column {', '.join(map(repr, bad))}"
            rows.append(cells + [None] * (len(names) - len(cells)))
            problems.append(problem)
            if len(rows) == PIECE_ROWS:
                yield _piece(names, rows, problems, problem_column, [pa.string()] * len(names))
                rows, problems = [], []
        if rows:
            yield _piece(names, rows, problems, problem_column, [pa.string()] * len(names))


def _piece(
    names: list[str], rows: list[list[Any]], problems: list[str | None], problem_column: str, types: list[pa.DataType]
) -> pa.Table:
    columns = {name: pa.array([row[i] for row in rows], types[i]) for i, name in enumerate(names)}
    columns[problem_column] = pa.array(problems, pa.string())
    return pa.table(columns)


# ---------------------------------------------------------------- JSON lines


def _json_rows(path: Path) -> Iterator[tuple[int, dict[str, Any], str | None]]:
    """``(line number, object, problem)`` for each non-blank line; a bad line gives ``{}`` or what could be read."""
    with open(path, "rb") as f:
        for number, raw, cut in _lines(f, (b"\n",)):
            if number == 1:
                raw = raw.removeprefix(codecs.BOM_UTF8)  # written by many Windows tools; CSV already skips it
            if cut:
                yield number, {}, f"line {number}: a line longer than {MAX_LINE_CHARS:,} characters"
            elif raw.strip():
                yield (number, *_json_object(raw, number))


def _json_object(raw: bytes, number: int) -> tuple[dict[str, Any], str | None]:
    problem = None
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError:
        line, problem = raw.decode("utf-8", "replace"), f"line {number}: undecodable bytes (not UTF-8)"
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        return {}, f"line {number}: invalid JSON ({exc.msg} at column {exc.colno})"
    except RecursionError:
        return {}, f"line {number}: JSON nested too deeply"
    except ValueError as exc:  # an integer of more than 4,300 digits, say
        return {}, f"line {number}: invalid JSON ({exc})"
    if not isinstance(record, dict):
        return {}, f"line {number}: a JSON {_json_name(record)}, not an object"
    if any(_SURROGATES.search(key) for key in record):
        record = {_SURROGATES.sub("\ufffd", key): value for key, value in record.items()}
        problem = problem or f"line {number}: a key holds a lone surrogate (invalid Unicode)"
    return record, problem


def _json_name(value: Any) -> str:
    return {list: "list", str: "string", bool: "boolean", type(None): "null"}.get(type(value), type(value).__name__)


def _survey_jsonl(path: Path) -> Survey:
    """Every key in first-seen order, and the one Arrow type each column gets for the whole file."""
    kinds: dict[str, set[str]] = {}
    nested: dict[str, pa.DataType | None] = {}
    rows = 0
    for _, record, _ in _json_rows(path):
        rows += 1
        for key, value in record.items():
            kind = _kind(value)
            kinds.setdefault(key, set()).add(kind)
            if kind == "nested" and nested.get(key, pa.null()) is not None:
                nested[key] = _merge_nested(nested.get(key), value)
    return Survey(list(kinds), rows, {key: _json_type(k, nested.get(key)) for key, k in kinds.items()})


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int" if value in _INT64 else "text"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "str"
    return "nested"


def _merge_nested(known: pa.DataType | None, value: Any) -> pa.DataType | None:
    """One Arrow type for every nested value of a column so far, or ``None`` when they share none."""
    try:
        found = pa.array([value]).type
        if known is None or known == found:
            return found
        merged = pa.unify_schemas([pa.schema([("v", known)]), pa.schema([("v", found)])], promote_options="permissive")
        return merged.field("v").type
    except (pa.ArrowException, OverflowError, ValueError, TypeError, RecursionError):
        return None


def _json_type(kinds: set[str], nested: pa.DataType | None) -> pa.DataType:
    kinds = kinds - {"null"}
    if kinds == {"bool"}:
        return pa.bool_()
    if kinds == {"int"}:
        return pa.int64()
    if kinds and kinds <= {"int", "float"}:
        return pa.float64()
    if kinds == {"nested"} and nested is not None:
        return nested
    return pa.string()


def _jsonl_pieces(path: Path, problem_column: str, found: Survey) -> Iterator[pa.Table]:
    assert found.types is not None
    names, types = found.columns, [found.types[name] for name in found.columns]
    rows: list[list[Any]] = []
    problems: list[str | None] = []
    for number, record, problem in _json_rows(path):
        row = [record.get(name) for name in names]
        for i, name in enumerate(names):
            row[i], trouble = _json_cell(row[i], types[i])
            if trouble and problem is None:
                problem = f"line {number}: key {name!r}: {trouble}"
        rows.append(row)
        problems.append(problem)
        if len(rows) == PIECE_ROWS:
            yield _json_piece(names, rows, problems, problem_column, types)
            rows, problems = [], []
    if rows:
        yield _json_piece(names, rows, problems, problem_column, types)


def _json_cell(value: Any, type_: pa.DataType) -> tuple[Any, str | None]:
    """``value`` ready for a column of ``type_``, and what was wrong with it, if anything."""
    if value is None:
        return None, None
    if pa.types.is_string(type_) and not isinstance(value, str):
        try:
            value = json.dumps(value, ensure_ascii=False)
        except (ValueError, RecursionError) as exc:
            return None, f"cannot be written as text ({exc})"
    if isinstance(value, str) and _SURROGATES.search(value):
        return _SURROGATES.sub("\ufffd", value), "a lone surrogate (invalid Unicode), replaced by U+FFFD"
    if pa.types.is_nested(type_) and _has_surrogate(value):
        return None, "a lone surrogate (invalid Unicode) inside; the value is dropped"
    return value, None


def _has_surrogate(value: Any) -> bool:
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
        return False
    except (UnicodeEncodeError, ValueError, RecursionError):
        return True


def _json_piece(
    names: list[str], rows: list[list[Any]], problems: list[str | None], problem_column: str, types: list[pa.DataType]
) -> pa.Table:
    """One table; a nested value that does not fit its column's type is dropped with a problem, never the chunk."""
    for i, type_ in enumerate(types):
        if pa.types.is_nested(type_) and not _fits([row[i] for row in rows], type_):
            for k, row in enumerate(rows):
                if row[i] is not None and not _fits([row[i]], type_):
                    row[i] = None
                    problems[k] = problems[k] or f"key {names[i]!r}: a value that does not fit the column's type {type_}"
    return _piece(names, rows, problems, problem_column, types)


def _fits(values: list[Any], type_: pa.DataType) -> bool:
    try:
        pa.array(values, type_)
        return True
    except (pa.ArrowException, OverflowError, ValueError, TypeError, RecursionError):
        return False


# ---------------------------------------------------------------- Parquet


def _parquet(path: Path) -> Any:
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as exc:
        raise InputError(f"{path}: cannot read as parquet: {exc}") from exc


def _parquet_pieces(path: Path, problem_column: str) -> Iterator[pa.Table]:
    try:
        for batch in _parquet(path).iter_batches(batch_size=65536):
            table = pa.Table.from_batches([batch])
            yield table.append_column(problem_column, pa.nulls(table.num_rows, pa.string()))
    except (pa.ArrowException, OSError) as exc:
        raise InputError(f"{path}: cannot read as parquet: {exc}") from exc

