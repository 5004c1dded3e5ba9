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

import json
import math
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

import pyarrow as pa

from .errors import InputError
from .readers import DELIMITERS, Survey, pieces, survey

__all__ = [
    "FORMATS",
    "table_format",
    "check_readable",
    "read_table",
    "stream_table",
    "survey_table",
    "Survey",
    "count_rows",
    "rechunk",
    "conform",
    "TableWriter",
    "open_new",
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


def stream_table(
    path: str | os.PathLike[str],
    *,
    chunk_rows: int,
    problem_column: str,
    skip_rows: int = 0,
    surveyed: Survey | None = None,
) -> Iterator[pa.Table]:
    """Read ``path`` in tables of exactly ``chunk_rows`` rows (the last one shorter).

    ``skip_rows`` rows are read past first (a resumed job). Each table has
    the file's columns plus ``problem_column``: why that row could not be read
    faithfully, or null. Memory stays bounded by the chunk size. The file is
    surveyed first (:func:`survey_table`) unless ``surveyed`` is given, so a
    whole-file problem fails before the first chunk.
    """
    p = check_readable(path)
    fmt = table_format(p)
    found = surveyed or survey(p, fmt, problem_column)
    return rechunk(pieces(p, fmt, problem_column, found), chunk_rows, skip_rows=skip_rows)


def survey_table(path: str | os.PathLike[str], *, problem_column: str | None = None) -> Survey:
    """One pass over ``path``: its columns (all of them, for JSON lines), its row count, its column types.

    Whole-file problems (no header, a column named ``problem_column``) are
    raised here, before any work is done on the rows.
    """
    p = check_readable(path)
    return survey(p, table_format(p), problem_column)


def count_rows(path: str | os.PathLike[str]) -> int:
    """How many rows :func:`stream_table` will give: exact, for progress and ETA."""
    return survey_table(path).rows


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


def open_new(path: Path) -> IO[bytes]:
    """``path`` opened for writing as a new file.

    Whatever is there is removed first (a stale file, or a symbolic link
    planted so that writing "our" temporary file overwrites its target), and
    the open refuses to follow a link or to reuse a file that appeared
    meanwhile (``O_EXCL | O_NOFOLLOW``).
    """
    try:
        path.unlink()
    except FileNotFoundError:
        pass
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o644)
    return os.fdopen(fd, "wb")


class TableWriter:
    """Write tables one after another into one CSV, TSV, JSON-lines or Parquet file.

    Nested columns (lists, structs) become JSON text in CSV and TSV, which
    have no nested types; JSON lines and Parquet keep them as they are.
    Binary cells become text in CSV, TSV and JSON lines (UTF-8, any
    undecodable byte written as ``\\xNN``), and a NaN or infinite float is
    written to JSON as null, since JSON has no such numbers: a value that
    the format cannot hold never fails a job at its last step.
    """

    def __init__(self, path: str | os.PathLike[str], schema: pa.Schema, *, fmt: str | None = None) -> None:
        self.path = Path(path)
        self.fmt = fmt or table_format(path)
        self.schema = schema
        self._file: IO[bytes] = open_new(self.path)
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
            self._writer.write_table(_flatten(table))
        else:
            self._file.write("".join(json_text(row) + "\n" for row in table.to_pylist()).encode("utf-8"))

    def close(self) -> None:
        """Finish the file and flush it to disk, so a rename after this is durable."""
        try:
            if self._writer is not None:
                self._writer.close()
            self._file.flush()
            os.fsync(self._file.fileno())
        finally:
            self._file.close()

    def __enter__(self) -> "TableWriter":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def json_text(value: Any) -> str:
    """``value`` as strict JSON: NaN and infinities become null, bytes become text, other objects their ``str``."""
    try:
        return json.dumps(value, ensure_ascii=False, allow_nan=False, default=_json_default)
    except ValueError:  # a NaN or an infinity somewhere inside
        return json.dumps(_finite(value), ensure_ascii=False, allow_nan=False, default=_json_default)


def _json_default(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8", "backslashreplace")
    return str(value)


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def _needs_text(type_: pa.DataType) -> bool:
    """Types a CSV writer cannot write as they are: nested ones, bytes (which need not be UTF-8), views."""
    return (
        pa.types.is_nested(type_)
        or pa.types.is_binary(type_)
        or pa.types.is_large_binary(type_)
        or pa.types.is_fixed_size_binary(type_)
        or pa.types.is_binary_view(type_)
        or pa.types.is_string_view(type_)
    )


def _flat_schema(schema: pa.Schema) -> pa.Schema:
    return pa.schema([pa.field(f.name, pa.string()) if _needs_text(f.type) else f for f in schema])


def _flatten(table: pa.Table) -> pa.Table:
    columns = [
        pa.array([_cell_text(v) for v in col.to_pylist()], pa.string()) if _needs_text(col.type) else col
        for col in table.columns
    ]
    return pa.Table.from_arrays(columns, names=table.column_names)


def _cell_text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", "backslashreplace")
    return json_text(value)
