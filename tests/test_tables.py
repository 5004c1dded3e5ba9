"""zeroclass.tables: whole-file reads, streaming chunks with bad rows kept, writers."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from zeroclass.errors import InputError
from zeroclass.tables import TableWriter, count_rows, read_table, rechunk, stream_table

ROWS = [{"text": "hello", "label": "a"}, {"text": "world, again", "label": "b"}]


def write_rows(path: Path, rows: list[dict]) -> Path:
    if path.suffix == ".parquet":
        pq.write_table(pa.Table.from_pylist(rows), path)
    elif path.suffix in (".jsonl", ".ndjson", ".json"):
        path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    else:
        sep = "\t" if path.suffix == ".tsv" else ","
        lines = [sep.join(rows[0])] + [sep.join(f'"{v}"' for v in r.values()) for r in rows]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".jsonl", ".ndjson", ".json", ".parquet"])
def test_read_table_every_format(tmp_path: Path, suffix: str) -> None:
    path = write_rows(tmp_path / f"data{suffix}", ROWS)
    assert read_table(path).to_pylist() == ROWS
    assert read_table(path, columns=["text"]).to_pylist() == [{"text": r["text"]} for r in ROWS]


def test_read_table_errors_name_the_file_or_column(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="nope.csv: no such file"):
        read_table(tmp_path / "nope.csv")
    (tmp_path / "empty.jsonl").write_bytes(b"")
    with pytest.raises(InputError, match="empty.jsonl: the file is empty"):
        read_table(tmp_path / "empty.jsonl")
    (tmp_path / "header.csv").write_text("text,label\n")
    with pytest.raises(InputError, match="header.csv: the file has no rows"):
        read_table(tmp_path / "header.csv")
    (tmp_path / "broken.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(InputError, match="broken.parquet: cannot read as parquet"):
        read_table(tmp_path / "broken.parquet")
    (tmp_path / "data.xlsx").write_bytes(b"x")
    with pytest.raises(InputError, match="data.xlsx: unknown table format"):
        read_table(tmp_path / "data.xlsx")
    path = write_rows(tmp_path / "data.csv", ROWS)
    with pytest.raises(InputError, match="no column 'txt'; the file has 'text', 'label'"):
        read_table(path, columns=["txt"])


def test_stream_table_keeps_bad_rows_with_their_reason(tmp_path: Path) -> None:
    csv_path = tmp_path / "bad.csv"
    csv_path.write_bytes(b'id,text\n1,fine\n2,"two\nlines"\n3,caf\xe9\n4\n5,ok,extra\n')
    rows = [r for t in stream_table(csv_path, chunk_rows=2, problem_column="why") for r in t.to_pylist()]
    assert [r["id"] for r in rows] == ["1", "2", "3", "4", "5"]  # CSV cells stay text, as written
    assert rows[1]["text"] == "two\nlines" and rows[1]["why"] is None
    assert rows[2]["text"] == "caf\ufffd" and "undecodable bytes" in rows[2]["why"] and "'text'" in rows[2]["why"]
    assert rows[3]["why"] == "line 6: 1 fields, the header has 2"
    assert rows[4]["why"] == "line 7: 3 fields, the header has 2"
    assert count_rows(csv_path) == 5

    jsonl = tmp_path / "bad.jsonl"
    jsonl.write_bytes(b'{"text": "a", "n": 1}\n\n{"text": "b\xff"}\nnot json\n[1, 2]\n{"text": "c", "extra": {"k": 1}}\n')
    rows = [r for t in stream_table(jsonl, chunk_rows=10, problem_column="why") for r in t.to_pylist()]
    assert [r["why"] for r in rows] == [
        None,
        "line 3: undecodable bytes (not UTF-8)",
        "line 4: invalid JSON (Expecting value at column 1)",
        "line 5: a JSON list, not an object",
        None,
    ]
    assert rows[-1] == {"text": "c", "n": None, "extra": {"k": 1}, "why": None}
    assert count_rows(jsonl) == 5


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
def test_stream_table_chunks_are_exact_and_skippable(tmp_path: Path, suffix: str) -> None:
    rows = [{"text": f"text {i}", "label": "x"} for i in range(10_000)]
    path = write_rows(tmp_path / f"many{suffix}", rows)
    sizes = [t.num_rows for t in stream_table(path, chunk_rows=3000, problem_column="e")]
    assert sizes == [3000, 3000, 3000, 1000]
    resumed = list(stream_table(path, chunk_rows=3000, problem_column="e", skip_rows=6000))
    assert [t.num_rows for t in resumed] == [3000, 1000]
    assert resumed[0].column("text")[0].as_py() == "text 6000"
    assert count_rows(path) == 10_000


def test_rechunk_ignores_how_the_input_was_split() -> None:
    pieces = [pa.table({"x": list(range(a, b))}) for a, b in [(0, 3), (3, 4), (4, 11), (11, 11), (11, 12)]]
    out = list(rechunk(pieces, 5, skip_rows=2))
    assert [t.column("x").to_pylist() for t in out] == [[2, 3, 4, 5, 6], [7, 8, 9, 10, 11]]
    with pytest.raises(InputError, match="at least 1 row"):
        list(rechunk(pieces, 0))


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".jsonl", ".parquet"])
def test_writer_round_trips_and_fills_missing_columns(tmp_path: Path, suffix: str) -> None:
    scores = pa.list_(pa.struct([("label", pa.string()), ("score", pa.float64())]))
    schema = pa.schema([("text", pa.string()), ("n", pa.int64()), ("s", scores)])
    first = pa.table({"text": ["a,b \"q\""], "n": [1], "s": pa.array([[{"label": "x", "score": 0.25}]], scores)})
    second = pa.table({"text": ["c"]})  # lacks n and s: written as nulls
    path = tmp_path / f"out{suffix}"
    with TableWriter(path, schema) as writer:
        writer.write(first)
        writer.write(second)
    back = read_table(path).to_pylist()
    nested = [{"label": "x", "score": 0.25}]
    if suffix in (".csv", ".tsv"):  # nested columns become JSON text; a null text cell reads back empty
        assert back == [{"text": 'a,b "q"', "n": 1, "s": json.dumps(nested)}, {"text": "c", "n": None, "s": ""}]
    else:
        assert back == [{"text": 'a,b "q"', "n": 1, "s": nested}, {"text": "c", "n": None, "s": None}]
