"""Tables in and out: CSV, TSV, JSON lines and Parquet, by file suffix.

One module so every command that takes a data file (``eval``, ``batch``)
accepts the same formats and fails the same way: an :class:`InputError` that
names the file (missing, empty, unreadable) or the column (absent), never a
bare pyarrow traceback.

:func:`read_table` loads a whole file. :func:`stream_table` reads one in
fixed-size chunks for jobs larger than memory, and never stops at a bad row:
a row it cannot read faithfully (undecodable bytes, invalid JSON, a CSV line
with the wrong number of fields) comes through with the reason in an extra
column, so a job over millions of rows reports it instead of dying on it.
CSV and TSV cells stay text exactly as written: guessing types per chunk
could turn ``007`` into ``7``, or fail a million rows in when a column that
looked numeric turns out not to be.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

import pyarrow as pa

from .errors import InputError

__all__ = [
    "FORMATS",
    "table_format",
    "check_readable",
    "read_table",
    "stream_table",
    "count_rows",
    "rechunk",
    "conform",
    "TableWriter",
]

#: File suffix -> format name.
FORMATS: dict[str, str] = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
}

#: Field separator of each delimited format.
DELIMITERS = {"csv": ",", "tsv": "\t"}


def table_format(path: str | os.PathLike[str]) -> str:
    """The format of ``path`` from its suffix; an unknown suffix is an error naming the file."""
    fmt = FORMATS.get(Path(path).suffix.lower())
    if fmt is None:
        known = ", ".join(sorted(FORMATS))
        raise InputError(f"{os.fspath(path)}: unknown table format {Path(path).suffix!r}; use one of {known}")
    return fmt


def check_readable(path: str | os.PathLike[str]) -> Path:
    """``path`` as a Path if it is a non-empty regular file, else an error saying which and why."""
    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: no such file")
    if not p.is_file():
        raise InputError(f"{p}: not a file")
    if p.stat().st_size == 0:
        raise InputError(f"{p}: the file is empty")
    return p


def check_columns(path: Path, available: list[str], wanted: list[str] | None) -> None:
    """Name the first wanted column the file lacks, and what it has instead."""
    for name in wanted or ():
        if name not in available:
            raise InputError(f"{path}: no column {name!r}; the file has {', '.join(map(repr, available))}")


def read_table(path: str | os.PathLike[str], *, columns: list[str] | None = None) -> pa.Table:
    """Read a whole CSV, TSV, JSON-lines or Parquet file (by suffix) into memory.

    ``columns`` keeps only those columns, in that order; one the file lacks is
    an error naming it. For files too large for memory, ``zeroclass batch``
    streams instead.
    """
    p = check_readable(path)
    fmt = table_format(p)
    try:
        table = _read_whole(p, fmt)
        names = table.column_names  # decoded lazily: a header with bad bytes fails here
    except (pa.ArrowInvalid, pa.ArrowTypeError, OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{p}: cannot read as {fmt}: {exc}") from exc
    check_columns(p, names, columns)
    if table.num_rows == 0:
        raise InputError(f"{p}: the file has no rows")
    return table.select(columns) if columns else table


def _read_whole(path: Path, fmt: str) -> pa.Table:
    if fmt == "parquet":
        import pyarrow.parquet as pq

        return pq.read_table(path)
    if fmt == "jsonl":
        import pyarrow.json as pj

        return pj.read_json(path)
    import pyarrow.csv as pc

    return pc.read_csv(path, parse_options=pc.ParseOptions(delimiter=DELIMITERS[fmt]))


#: Rows parsed in Python before they become one Arrow table.
_PIECE_ROWS = 4096


def stream_table(
    path: str | os.PathLike[str], *, chunk_rows: int, problem_column: str, skip_rows: int = 0
) -> Iterator[pa.Table]:
    """Read ``path`` in tables of exactly ``chunk_rows`` rows (the last one shorter).

    ``skip_rows`` rows are read past first (a resumed job). Each table has
    the file's columns plus ``problem_column``: why that row could not be read
    faithfully, or null. Memory stays bounded by the chunk size.
    """
    p = check_readable(path)
    fmt = table_format(p)
    if fmt == "parquet":
        pieces = _parquet_pieces(p, problem_column)
    elif fmt == "jsonl":
        pieces = _jsonl_pieces(p, problem_column)
    else:
        pieces = _delimited_pieces(p, DELIMITERS[fmt], problem_column)
    return rechunk(pieces, chunk_rows, skip_rows=skip_rows)


def count_rows(path: str | os.PathLike[str]) -> int:
    """How many rows :func:`stream_table` will give: exact, for progress and ETA."""
    p = check_readable(path)
    fmt = table_format(p)
    if fmt == "parquet":
        import pyarrow.parquet as pq

        return pq.ParquetFile(p).metadata.num_rows
    if fmt == "jsonl":
        with open(p, "rb") as f:
            return sum(1 for line in f if line.strip())
    with _text(p) as f:
        return max(sum(1 for _ in csv.reader(f, delimiter=DELIMITERS[fmt])) - 1, 0)


def rechunk(tables: Iterable[pa.Table], rows: int, *, skip_rows: int = 0) -> Iterator[pa.Table]:
    """Re-cut a stream of tables into tables of exactly ``rows`` rows, after skipping ``skip_rows``.

    Chunk boundaries then depend only on row numbers, never on how a reader
    or a cluster happened to split the data, so a resumed job cuts the same
    chunks as an uninterrupted one.
    """
    if rows < 1:
        raise InputError(f"chunk size must be at least 1 row, got {rows}")
    pending: list[pa.Table] = []
    buffered = 0
    for table in tables:
        if skip_rows:
            cut = min(skip_rows, table.num_rows)
            skip_rows -= cut
            table = table.slice(cut)
        if table.num_rows == 0:
            continue
        pending.append(table)
        buffered += table.num_rows
        if buffered < rows:
            continue
        combined = pa.concat_tables(pending, promote_options="permissive")
        start = 0
        while buffered - start >= rows:
            yield combined.slice(start, rows)
            start += rows
        pending = [combined.slice(start)] if start < buffered else []
        buffered -= start
    if buffered:
        yield pa.concat_tables(pending, promote_options="permissive")


def conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """``table`` with exactly ``schema``'s columns, in order: missing ones null, types cast.

    JSON-lines chunks may lack a key that appears later in the file; one
    output needs one schema.
    """
    columns = [
        table.column(field.name).cast(field.type) if field.name in table.column_names else pa.nulls(table.num_rows, field.type)
        for field in schema
    ]
    return pa.Table.from_arrays(columns, schema=schema)


class TableWriter:
    """Write tables one after another into one CSV, TSV, JSON-lines or Parquet file.

    Nested columns (lists, structs) become JSON text in CSV and TSV, which
    have no nested types; JSON lines and Parquet keep them as they are.
    """

    def __init__(self, path: str | os.PathLike[str], schema: pa.Schema, *, fmt: str | None = None) -> None:
        self.path = Path(path)
        self.fmt = fmt or table_format(path)
        self.schema = schema
        self._file: IO[bytes] = open(self.path, "wb")
        self._writer: Any = None
        if self.fmt == "parquet":
            import pyarrow.parquet as pq

            self._writer = pq.ParquetWriter(self._file, schema)
        elif self.fmt in DELIMITERS:
            import pyarrow.csv as pc

            options = pc.WriteOptions(delimiter=DELIMITERS[self.fmt], quoting_style="needed")
            self._writer = pc.CSVWriter(self._file, _flat_schema(schema), write_options=options)

    def write(self, table: pa.Table) -> None:
        table = conform(table, self.schema)
        if self.fmt == "parquet":
            self._writer.write_table(table)
        elif self.fmt in DELIMITERS:
            self._writer.write_table(_flatten_nested(table))
        else:
            lines = (json.dumps(row, ensure_ascii=False, default=str) + "\n" for row in table.to_pylist())
            self._file.write("".join(lines).encode("utf-8"))

    def close(self) -> None:
        """Finish the file and flush it to disk, so a rename after this is durable."""
        if self._writer is not None:
            self._writer.close()
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()

    def __enter__(self) -> "TableWriter":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _flat_schema(schema: pa.Schema) -> pa.Schema:
    return pa.schema([pa.field(f.name, pa.string()) if pa.types.is_nested(f.type) else f for f in schema])


def _flatten_nested(table: pa.Table) -> pa.Table:
    columns = [
        pa.array([None if v is None else json.dumps(v, ensure_ascii=False, default=str) for v in col.to_pylist()], pa.string())
        if pa.types.is_nested(col.type)
        else col
        for col in table.columns
    ]
    return pa.Table.from_arrays(columns, names=table.column_names)


def _text(path: Path) -> io.TextIOWrapper:
    """Open a delimited file as text; undecodable bytes survive as surrogates to be found per cell."""
    return open(path, encoding="utf-8-sig", errors="surrogateescape", newline="")


def _clean(cell: str) -> tuple[str, bool]:
    """``(cell with undecodable bytes replaced by U+FFFD, whether there were any)``."""
    try:
        cell.encode("utf-8")
        return cell, False
    except UnicodeEncodeError:
        return cell.encode("utf-8", "surrogateescape").decode("utf-8", "replace"), True


def _piece(names: list[str], rows: list[list[Any]], problems: list[str | None], problem_column: str, where: str) -> pa.Table:
    columns = {}
    for i, name in enumerate(names):
        try:
            columns[name] = pa.array([row[i] for row in rows])
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise InputError(f"{where}: column {name!r} mixes value types ({exc}); give it one type") from exc
    columns[problem_column] = pa.array(problems, pa.string())
    return pa.table(columns)


def _delimited_pieces(path: Path, delimiter: str, problem_column: str) -> Iterator[pa.Table]:
    with _text(path) as f:
        reader = csv.reader(f, delimiter=delimiter)
        header = next(reader, None)
        if not header:
            raise InputError(f"{path}: no header line")
        names = [_clean(name)[0] for name in header]
        for name in names:
            if names.count(name) > 1:
                raise InputError(f"{path}: column {name!r} appears twice in the header")
            if name == problem_column:
                raise InputError(f"{path}: has a column {name!r}, which the output needs for its own use; rename it")
        rows: list[list[Any]] = []
        problems: list[str | None] = []
        for fields in reader:
            cells: list[Any] = []
            bad: list[str] = []
            for name, cell in zip(names, fields):
                cell, undecodable = _clean(cell)
                if undecodable:
                    bad.append(name)
                cells.append(cell)
            problem = f"undecodable bytes (not UTF-8) in column {', '.join(map(repr, bad))}" if bad else None
            if len(fields) != len(names):
                problem = f"line {reader.line_num}: {len(fields)} fields, the header has {len(names)}"
                cells += [None] * (len(names) - len(cells))
            rows.append(cells)
            problems.append(problem)
            if len(rows) == _PIECE_ROWS:
                yield _piece(names, rows, problems, problem_column, str(path))
                rows, problems = [], []
        if rows:
            yield _piece(names, rows, problems, problem_column, str(path))


def _jsonl_pieces(path: Path, problem_column: str) -> Iterator[pa.Table]:
    names: dict[str, None] = {}  # every key seen so far, in first-seen order
    records: list[dict[str, Any]] = []
    problems: list[str | None] = []
    with open(path, "rb") as f:
        for number, raw in enumerate(f, start=1):
            if not raw.strip():
                continue
            record: Any = {}
            problem = None
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                line, problem = raw.decode("utf-8", "replace"), f"line {number}: undecodable bytes (not UTF-8)"
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                problem = f"line {number}: invalid JSON ({exc.msg} at column {exc.colno})"
            if not isinstance(record, dict):
                record, problem = {}, f"line {number}: a JSON {type(record).__name__}, not an object"
            if problem_column in record:
                raise InputError(f"{path}, line {number}: has a key {problem_column!r}, which the output needs for its own use; rename it")
            names.update(dict.fromkeys(record))
            records.append(record)
            problems.append(problem)
            if len(records) == _PIECE_ROWS:
                yield _records_piece(names, records, problems, problem_column, f"{path}, lines up to {number}")
                records, problems = [], []
    if records:
        yield _records_piece(names, records, problems, problem_column, f"{path}, last lines")


def _records_piece(
    names: dict[str, None], records: list[dict[str, Any]], problems: list[str | None], problem_column: str, where: str
) -> pa.Table:
    keys = list(names)
    return _piece(keys, [[r.get(k) for k in keys] for r in records], problems, problem_column, where)


def _parquet_pieces(path: Path, problem_column: str) -> Iterator[pa.Table]:
    import pyarrow.parquet as pq

    try:
        source = pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputError(f"{path}: cannot read as parquet: {exc}") from exc
    if problem_column in source.schema_arrow.names:
        raise InputError(f"{path}: has a column {problem_column!r}, which the output needs for its own use; rename it")
    for batch in source.iter_batches(batch_size=65536):
        table = pa.Table.from_batches([batch])
        yield table.append_column(problem_column, pa.nulls(table.num_rows, pa.string()))
