"""zeroclass batch against hostile and careless input (issue 11): no bad row stops, swallows or loses rows.

Each test is one class of problem the red-team pass found; each failed
before its fix. The invariants are the same throughout: the job finishes,
the output has every input row in order, every readable row is classified,
and each bad row has its reason in ``error`` and in the summary's count.
"""

from __future__ import annotations

import fcntl
import json
import math
import os
import random
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from zeroclass.batch import classify_file
from zeroclass.errors import InputError
from zeroclass.tables import TableWriter, stream_table, survey_table

LABELS = ["sports", "finance", "weather"]


@pytest.fixture()
def run(tiny_classifier):
    """classify_file with the already loaded tiny model: these tests are about input, not models."""

    def run(src: Path, dst: Path, **kwargs):
        options = {"model": tiny_classifier, "progress": False, "chunk_rows": 64}
        return classify_file(src, dst, LABELS, **{**options, **kwargs})

    return run


def read_jsonl(path: Path) -> list[dict]:
    def refuse(constant: str) -> None:
        raise AssertionError(f"{constant} is not JSON")

    return [json.loads(line, parse_constant=refuse) for line in path.read_text(encoding="utf-8").splitlines()]


def check_complete(rows: list[dict], n: int, bad: set[int]) -> None:
    """Every input row is there; exactly the rows in ``bad`` (0-based) lack a prediction and say why."""
    assert len(rows) == n
    for i, row in enumerate(rows):
        if i in bad:
            assert row["predicted_label"] is None and row["error"], (i, row)
        else:
            assert row["predicted_label"] in LABELS and row["error"] is None, (i, row)


def test_csv_stray_quote_costs_one_row_not_hundreds(tmp_path, run) -> None:
    lines = ["id,text"] + [f"{i},row {i} about the match" for i in range(500)]
    lines[1 + 10] = '10,"a stray quote that never closes'
    lines[1 + 299] = '299,"a properly quoted, cell"'
    lines[1 + 400] = '400,"ends early" then more'
    src = tmp_path / "in.csv"
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    summary = run(src, tmp_path / "out.jsonl", id_column="id")
    rows = read_jsonl(tmp_path / "out.jsonl")
    check_complete(rows, 500, bad={10, 400})
    assert summary.bad_rows == 2
    assert [r["id"] for r in rows] == [str(i) for i in range(500)]
    assert rows[11]["text"] == "row 11 about the match" and rows[299]["text"] == "a properly quoted, cell"
    assert "line 12" in rows[10]["error"] and "unbalanced quote" in rows[10]["error"]
    assert summary.bad_examples[0].startswith("row 11 (id '10'): line 12")


def test_csv_cells_over_the_csv_module_limit(tmp_path, run) -> None:
    long, huge = "rain " * 40_000, "x" * 2_000_000  # 200,000 characters: read; 2,000,000: a bad row
    src = tmp_path / "in.tsv"
    src.write_text(f"id\ttext\n1\tthe match\n2\t{long}\n3\t{huge}\n4\tstock prices\n", encoding="utf-8")
    summary = run(src, tmp_path / "out.parquet")
    rows = pq.read_table(tmp_path / "out.parquet").to_pylist()
    check_complete(rows, 4, bad={2})
    assert rows[1]["text"] == long and rows[2]["id"] == "3"
    assert "longer than 1,048,576 characters" in rows[2]["error"] and summary.bad_rows == 1


def test_jsonl_lines_that_used_to_crash_the_job(tmp_path, run) -> None:
    lines = [
        '{"id": 0, "text": "the team won"}',
        '{"id": 1, "text": ' + "[" * 50_000 + "]" * 50_000 + "}",  # RecursionError
        '{"id": 2, "text": "stocks fell", "n": 18446744073709551617}',  # OverflowError in Arrow
        '{"id": 3, "text": "lone \\ud800 surrogate"}',  # UnicodeEncodeError in Arrow
        '{"id": "four", "text": "an id that is a string"}',  # id int, then str
        '{"id": 5, "text": 5}',  # a number where text belongs
        '{"id": 6, "text": "rain all day", "n": 1}',
        "{broken",
    ]
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    summary = run(src, tmp_path / "out.jsonl", id_column="id")
    rows = read_jsonl(tmp_path / "out.jsonl")
    check_complete(rows, 8, bad={1, 3, 7})
    assert [r["id"] for r in rows] == ["0", None, "2", "3", "four", "5", "6", None]  # one column, one type: text
    assert rows[2]["n"] == "18446744073709551617" and rows[6]["n"] == "1"
    assert rows[5]["text"] == "5"  # taken as its text, as in a CSV
    assert "nested too deeply" in rows[1]["error"] and "surrogate" in rows[3]["error"]
    assert rows[3]["text"] == "lone \ufffd surrogate"
    assert summary.bad_rows == 3


def test_jsonl_column_changing_type_after_the_first_block(tmp_path, run) -> None:
    src = tmp_path / "in.jsonl"
    with open(src, "w", encoding="utf-8") as f:
        for i in range(4200):
            f.write(json.dumps({"text": "go", "v": i if i < 4096 else f"s{i}", "w": [1, 2] if i < 4100 else {"k": 1}}) + "\n")
    summary = run(src, tmp_path / "out.parquet", chunk_rows=1000)
    out = pq.read_table(tmp_path / "out.parquet")
    assert (summary.rows, summary.bad_rows, out.num_rows) == (4200, 0, 4200)
    assert out.schema.field("v").type == pa.string() and out.column("v")[4199].as_py() == "s4199"
    assert out.column("v")[0].as_py() == "0" and out.column("w")[0].as_py() == "[1, 2]"


def test_parquet_binary_column_to_csv(tmp_path, run) -> None:
    src = tmp_path / "in.parquet"
    pq.write_table(pa.table({"text": ["the match", "stocks"], "blob": pa.array([b"\xff\xfe", b"ok"])}), src)
    run(src, tmp_path / "out.csv")
    lines = (tmp_path / "out.csv").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 3 and "\\xff\\xfe" in lines[1] and '"stocks","ok",' in lines[2]


def test_nan_and_infinity_are_written_to_jsonl_as_null(tmp_path, run) -> None:
    src = tmp_path / "in.parquet"
    values = [math.nan, math.inf, -math.inf, 0.5]
    pq.write_table(pa.table({"text": ["a match"] * 4, "x": values, "xs": [[v] for v in values]}), src)
    run(src, tmp_path / "out.jsonl")
    rows = read_jsonl(tmp_path / "out.jsonl")  # would fail on NaN / Infinity
    assert [r["x"] for r in rows] == [None, None, None, 0.5] and [r["xs"] for r in rows][3] == [0.5]


def test_full_disk_is_a_clean_error_and_the_rerun_finishes(tmp_path, tiny_nli_dir) -> None:
    """A file size limit (RLIMIT_FSIZE) fails writes as a full disk does, without needing one."""
    src = tmp_path / "in.csv"
    src.write_text("id,text\n" + "".join(f"{i},{'the match was won ' * 20}{i}\n" for i in range(300)), encoding="utf-8")
    out = tmp_path / "out.csv"
    script = (
        "import resource, signal, sys\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (60_000, 60_000))\n"
        "from zeroclass.cli import main\n"
        f"sys.exit(main(['batch', {str(src)!r}, '-o', {str(out)!r}, '--labels', 'sports,finance', '--model', "
        f"{str(tiny_nli_dir)!r}, '--device', 'cpu', '--chunk-rows', '100', '--no-progress']))\n"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    failed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300)
    assert failed.returncode == 2, failed.stderr
    assert "File too large" in failed.stderr and "Traceback" not in failed.stderr
    assert "the same command continues" in failed.stderr
    assert not out.exists() and not list(tmp_path.glob("*.tmp")) and not (tmp_path / "out.csv.lock").exists()
    summary = classify_file(src, out, "sports,finance", model=str(tiny_nli_dir), device="cpu", chunk_rows=100,
                            progress=False)
    assert (summary.rows, summary.bad_rows) == (300, 0)
    assert len(out.read_text(encoding="utf-8").splitlines()) == 301


def test_a_second_job_on_the_same_output_is_refused(tmp_path, run) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text('{"text": "the match"}\n', encoding="utf-8")
    out = tmp_path / "out.jsonl"
    with open(tmp_path / "out.jsonl.lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # as a running job holds it
        with pytest.raises(InputError, match="another zeroclass batch job is writing this output"):
            run(src, out)
    assert not out.exists() and not (tmp_path / "out.jsonl.partial").exists()
    assert run(src, out).rows == 1  # the lock is free again


def test_column_errors_name_the_inputs_columns_before_any_work(tmp_path, run) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text('{"id": 1, "text": "a"}\n' * 5000 + '{"id": 2, "text": "b", "error": "x"}\n', encoding="utf-8")
    with pytest.raises(InputError, match="has a column 'error'"):  # on the last line: still found up front
        run(src, tmp_path / "out.jsonl")
    assert not (tmp_path / "out.jsonl.partial").exists()
    src.write_text('{"id": 1, "text": "a"}\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"no id column 'ident'; the input has 'id', 'text'$"):
        run(src, tmp_path / "out.jsonl", id_column="ident")
    assert not (tmp_path / "out.jsonl.partial").exists()


HOSTILE = [b'"', b",", b"\t", b"\n", b"\r", b"\x00", b"\xff", b"\xe9", b"{", b"[" * 3000, b'"\\ud800"', b"NaN",
           b"1" * 25, b'"text": 5, ', b'"v": [1, "a"], ', b"\xef\xbb\xbf", b"x" * 150_000]


def mutate(data: bytes, rng: random.Random) -> bytes:
    for _ in range(rng.randint(1, 6)):
        at = rng.randrange(len(data) + 1)
        if rng.random() < 0.2:
            data = data[:at] + data[at + rng.randint(1, 40):]
        else:
            data = data[:at] + rng.choice(HOSTILE) + data[at:]
    return data


def test_mutated_files_never_crash_the_reader_or_the_writers(tmp_path) -> None:
    """Seeded random damage to CSV, TSV and JSON lines: every file is read to the end (or refused up front,
    for a broken header), row counts agree with the survey and with a resumed read, and every writer takes it."""
    rows = [{"id": i, "text": f"row {i}, about the \"match\"", "v": i * 0.5} for i in range(40)]
    bases = {
        ".csv": ("id,text,v\n" + "".join(f'{r["id"]},"{r["text"].replace(chr(34), 2 * chr(34))}",{r["v"]}\n' for r in rows)),
        ".tsv": ("id\ttext\tv\n" + "".join(f'{r["id"]}\t{r["text"]}\t{r["v"]}\n' for r in rows)),
        ".jsonl": "".join(json.dumps(r) + "\n" for r in rows),
    }
    rng = random.Random(11)
    tried = refused = 0
    for suffix, base in bases.items():
        for _ in range(120):
            path = tmp_path / f"in{suffix}"
            path.write_bytes(mutate(base.encode("utf-8"), rng))
            tried += 1
            try:
                found = survey_table(path, problem_column="error")
            except InputError:
                refused += 1
                continue
            tables = list(stream_table(path, chunk_rows=7, problem_column="error", surveyed=found))
            got = [r for t in tables for r in t.to_pylist()]
            assert len(got) == found.rows
            resumed = [r for t in stream_table(path, chunk_rows=7, problem_column="error", skip_rows=5) for r in t.to_pylist()]
            assert resumed == got[5:]
            for out in ("out.csv", "out.jsonl", "out.parquet"):
                if tables:
                    with TableWriter(tmp_path / out, tables[0].schema) as writer:
                        for table in tables:
                            writer.write(table)
    assert tried == 360 and refused < tried // 4


# -- issue 22, items 6 and 7 -----------------------------------------------------


@pytest.mark.parametrize("planted", ["out.jsonl.tmp", "out.jsonl.partial/manifest.json.tmp", "out.jsonl.partial/part-000000.arrow.tmp"])
def test_a_planted_symlink_never_redirects_a_write(tmp_path, run, planted) -> None:
    """A link at one of the job's temporary names used to make the job overwrite the file it points to."""
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"text": f"row {i} about the match"}) + "\n" for i in range(100)))
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    link = tmp_path / planted
    link.parent.mkdir(exist_ok=True)
    link.symlink_to(victim)
    summary = run(src, tmp_path / "out.jsonl")
    assert summary.rows == 100 and victim.read_text() == "precious"
    check_complete(read_jsonl(tmp_path / "out.jsonl"), 100, set())


def test_a_byte_order_mark_on_json_lines_costs_no_row(tmp_path, run) -> None:
    src = tmp_path / "in.jsonl"
    src.write_bytes(b"\xef\xbb\xbf" + "".join(json.dumps({"text": f"row {i} about the match"}) + "\n" for i in range(5)).encode())
    run(src, tmp_path / "out.jsonl")
    rows = read_jsonl(tmp_path / "out.jsonl")
    assert rows[0]["text"] == "row 0 about the match"
    check_complete(rows, 5, set())
