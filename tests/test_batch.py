"""zeroclass batch / classify_file: output content, bad rows, refusals, and surviving kill -9."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from conftest import SCORE_TOL
from zeroclass.batch import classify_file
from zeroclass.cli import main
from zeroclass.errors import InputError
from zeroclass.tables import read_table

LABELS = ["sports", "finance", "weather"]
WORDS = "the team won match stock market rain storm flight hotel phone app movie book happy sad".split()


def make_rows(n: int, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    return [{"id": i, "text": " ".join(rng.choices(WORDS, k=rng.randint(3, 12)))} for i in range(n)]


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture()
def run(tiny_nli_dir: Path):
    """classify_file with the tiny model, one thread (deterministic and fair to the shared CPU)."""

    def run(src: Path, dst: Path, **kwargs):
        options = {"model": str(tiny_nli_dir), "device": "cpu", "num_threads": 1, "progress": False, "chunk_rows": 50}
        return classify_file(src, dst, kwargs.pop("labels", LABELS), **{**options, **kwargs})

    return run


def test_output_keeps_columns_and_order_and_matches_the_classifier(tmp_path, run, tiny_classifier) -> None:
    rows = make_rows(120)
    summary = run(write_jsonl(tmp_path / "in.jsonl", rows), tmp_path / "out.parquet", top_k=2)
    assert (summary.rows, summary.bad_rows, summary.resumed_rows) == (120, 0, 0)
    out = pq.read_table(tmp_path / "out.parquet")
    assert out.column_names == ["id", "text", "predicted_label", "predicted_score", "predicted_scores", "error"]
    expected = tiny_classifier([r["text"] for r in rows], LABELS)
    for row, want, got in zip(rows, expected, out.to_pylist()):
        assert (got["id"], got["text"]) == (row["id"], row["text"])
        assert got["predicted_label"] == want["labels"][0]
        assert [s["label"] for s in got["predicted_scores"]] == want["labels"][:2]
        assert [s["score"] for s in got["predicted_scores"]] == pytest.approx(want["scores"][:2], abs=1e-5)
        assert got["error"] is None
    assert not (tmp_path / "out.parquet.partial").exists()


def test_multi_label_and_template_reach_the_classifier(tmp_path, run, tiny_classifier) -> None:
    rows = make_rows(30, seed=3)
    run(write_jsonl(tmp_path / "in.jsonl", rows), tmp_path / "out.jsonl", multi_label=True,
        hypothesis_template="It is about {}.")
    got = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    want = tiny_classifier([r["text"] for r in rows], LABELS, multi_label=True, hypothesis_template="It is about {}.")
    for g, w in zip(got, want):
        assert [s["label"] for s in g["predicted_scores"]] == w["labels"]
        assert [s["score"] for s in g["predicted_scores"]] == pytest.approx(w["scores"], abs=1e-5)


def test_bad_rows_are_reported_not_fatal(tmp_path, run) -> None:
    src = tmp_path / "in.csv"
    src.write_bytes(b'id,text\na,the team won\nb,\nc,caf\xe9 storm\nd,"  "\ne,rain today\n')
    summary = run(src, tmp_path / "out.csv", id_column="id")
    assert summary.rows == 5 and summary.bad_rows == 3
    assert summary.bad_examples[0] == "row 2 (id 'b'): empty text"
    assert "row 3 (id 'c'): undecodable bytes" in summary.bad_examples[1]
    out = read_table(tmp_path / "out.csv").to_pylist()
    assert [r["id"] for r in out] == ["a", "b", "c", "d", "e"]
    assert [bool(r["error"]) for r in out] == [False, True, True, True, False]
    assert out[1]["predicted_label"] == "" and out[0]["predicted_label"] in LABELS
    assert json.loads(out[4]["predicted_scores"])[0]["label"] == out[4]["predicted_label"]


def test_a_refused_row_leaves_its_neighbours_scored_together(offline_classifier) -> None:
    """A Chinese row for an English-only model (the offline default's English half) fails alone; the
    chunk's other rows are still classified in one call (refined together), as if the refused row were absent."""
    import pyarrow as pa

    from zeroclass import ZeroShotClassifier
    from zeroclass.batch.annotate import Task, annotate

    offline_classifier = ZeroShotClassifier(offline_classifier.backend.fallback)

    english = ["the team won the final match", "stock prices fell at the bank", "heavy rain and storms tomorrow"]
    table = pa.table({"text": [english[0], "世界那么大，我想去看看", *english[1:]]})
    out = annotate(offline_classifier, table, Task.make(LABELS)).to_pylist()
    assert "Chinese" in out[1]["error"] and out[1]["predicted_label"] is None
    expected = offline_classifier(english, LABELS)  # refined over exactly these texts
    alone = offline_classifier(english[0], LABELS)  # what row-by-row scoring would have given
    for row, want in zip([out[0], out[2], out[3]], expected):
        assert row["error"] is None
        got = {s["label"]: s["score"] for s in row["predicted_scores"]}
        assert got == pytest.approx(dict(zip(want["labels"], want["scores"])), abs=SCORE_TOL)
    assert out[0]["predicted_scores"][0]["score"] != pytest.approx(alone["scores"][0], abs=SCORE_TOL)


def test_finished_output_is_never_overwritten_without_overwrite(tmp_path, run) -> None:
    src = write_jsonl(tmp_path / "in.jsonl", make_rows(20))
    run(src, tmp_path / "out.csv")
    before = (tmp_path / "out.csv").read_bytes()
    with pytest.raises(InputError, match=r"out.csv already exists; pass --overwrite"):
        run(src, tmp_path / "out.csv")
    assert (tmp_path / "out.csv").read_bytes() == before
    run(src, tmp_path / "out.csv", labels=["a", "b"], overwrite=True)
    assert (tmp_path / "out.csv").read_bytes() != before


def _interrupted(tmp_path: Path, run, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An unfinished job: the loop dies after two committed chunks (an exception, like a crash)."""
    from zeroclass.batch.manifest import Manifest

    src = write_jsonl(tmp_path / "in.jsonl", make_rows(200))
    commit = Manifest.commit

    def commit_twice(self, table, bad):
        if self.chunks == 2:
            raise RuntimeError("simulated crash")
        commit(self, table, bad)

    with monkeypatch.context() as patch:
        patch.setattr(Manifest, "commit", commit_twice)
        with pytest.raises(RuntimeError, match="simulated crash"):
            run(src, tmp_path / "out.jsonl")
    return src


def test_resume_continues_and_equals_an_uninterrupted_run(tmp_path, run, monkeypatch) -> None:
    src = _interrupted(tmp_path, run, monkeypatch)
    summary = run(src, tmp_path / "out.jsonl")
    assert summary.resumed_rows == 100 and summary.rows == 200
    run(src, tmp_path / "ref.jsonl")
    assert (tmp_path / "out.jsonl").read_bytes() == (tmp_path / "ref.jsonl").read_bytes()


@pytest.mark.parametrize(
    "change, message",
    [
        ({"labels": ["sports", "finance"]}, "labels was"),
        ({"multi_label": True}, "multi_label was False, now True"),
        ({"model": "other"}, "model was"),
        ({"input": True}, "the input file changed"),
    ],
)
def test_a_different_job_is_refused_against_an_existing_manifest(
    tmp_path, run, tiny_nli_dir, monkeypatch, change, message
) -> None:
    src = _interrupted(tmp_path, run, monkeypatch)
    if change.pop("input", False):
        src.write_text(src.read_text() + json.dumps({"id": 999, "text": "one more"}) + "\n")
    if change.get("model"):
        import shutil

        change["model"] = str(shutil.copytree(tiny_nli_dir, tmp_path / "other-model"))
    with pytest.raises(InputError, match=message) as err:
        run(src, tmp_path / "out.jsonl", **change)
    assert "--overwrite" in str(err.value) and "manifest.json" in str(err.value)


def test_a_resume_must_run_the_model_the_same_way(tmp_path, run, tiny_nli_dir, tiny_classifier, monkeypatch) -> None:
    """Backend, dtype and the classifier's own templates (the CLI's --template ensemble) are pinned too:
    a resume on int8, or with other templates, would mix two configurations' rows in one output."""
    from zeroclass import ZeroShotClassifier

    monkeypatch.setenv("ZEROCLASS_CACHE", str(tmp_path / "cache"))
    src = _interrupted(tmp_path, run, monkeypatch)
    with pytest.raises(InputError, match="backend was None, now 'OnnxNLIBackend'"):
        run(src, tmp_path / "out.jsonl", backend="onnx", quantize="int8")
    ensemble = ZeroShotClassifier(tiny_classifier.backend, hypothesis_template=["It is {}.", "About {}."])
    with pytest.raises(InputError, match=r"default_template was None, now \['It is \{\}.', 'About \{\}.'\]"):
        run(src, tmp_path / "out.jsonl", model=ensemble)
    assert run(src, tmp_path / "out.jsonl").resumed_rows == 100


def test_cli_batch_and_its_errors(tmp_path, tiny_nli_dir, capsys) -> None:
    src = write_jsonl(tmp_path / "in.jsonl", make_rows(10))
    common = ["--labels", "sports,finance", "--model", str(tiny_nli_dir), "--threads", "1", "--no-progress"]
    assert main(["batch", str(src), "-o", str(tmp_path / "out.tsv"), *common]) == 0
    assert "10 rows ->" in capsys.readouterr().out
    assert len(read_table(tmp_path / "out.tsv")) == 10
    assert main(["batch", str(src), "-o", str(tmp_path / "o2.csv"), "--text-column", "body", *common]) == 2
    assert "no text column 'body'; the input has 'id', 'text'" in capsys.readouterr().err
    assert main(["batch", str(src), "-o", str(src), *common]) == 2
    assert "would overwrite the input" in capsys.readouterr().err


@pytest.mark.slow
def test_kill_9_at_random_moments_then_rerun_gives_the_uninterrupted_output(tmp_path, run, tiny_nli_dir) -> None:
    src = write_jsonl(tmp_path / "in.jsonl", make_rows(4000, seed=7))
    run(src, tmp_path / "ref.csv")
    command = [sys.executable, "-m", "zeroclass", "batch", str(src), "-o", str(tmp_path / "out.csv"),
               "--labels", ",".join(LABELS), "--model", str(tiny_nli_dir), "--device", "cpu",
               "--threads", "1", "--chunk-rows", "50", "--no-progress"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    manifest = tmp_path / "out.csv.partial" / "manifest.json"

    def rows_done() -> int:  # the manifest is replaced atomically: a read sees an old or a new one, whole
        return json.loads(manifest.read_text())["rows"] if manifest.exists() else 0

    rng = random.Random(1)
    at_kill: list[int] = []
    for attempt in range(30):
        process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if len(at_kill) < 4:
            # Let this run commit something of its own, then kill it at a random moment.
            start, deadline = rows_done(), time.monotonic() + 120
            while rows_done() == start and process.poll() is None and time.monotonic() < deadline:
                time.sleep(0.02)
            time.sleep(rng.uniform(0.0, 0.1))
            if process.poll() is None:
                process.send_signal(signal.SIGKILL)
                process.wait()
                if (tmp_path / "out.csv").exists() and not manifest.parent.exists():
                    break  # killed after it had published the finished output: nothing left to resume
                at_kill.append(rows_done())
        _, err = process.communicate(timeout=300)
        if process.returncode == 0:
            break
        assert process.returncode == -signal.SIGKILL, err.decode()
    print("rows committed at each kill:", at_kill)
    assert len(at_kill) >= 3, "the job finished before it could be killed enough times"
    # Every run after a kill resumed and moved on; none finished before it was killed.
    assert all(a < b for a, b in zip(at_kill, at_kill[1:])) and at_kill[-1] < 4000
    assert (tmp_path / "out.csv").read_bytes() == (tmp_path / "ref.csv").read_bytes()
    assert not (tmp_path / "out.csv.partial").exists()


def test_progress_prints_plain_lines_when_not_a_terminal() -> None:
    import io

    from zeroclass.batch.progress import Progress

    stream = io.StringIO()  # not a TTY: no bar, no carriage returns
    progress = Progress(1000, done=200, stream=stream, every_s=0)
    progress.update(300)
    progress.close()
    line = stream.getvalue()
    assert line.startswith("zeroclass batch: 500/1,000 rows (50.0%), ") and "rows/s, ETA " in line
    assert "\r" not in line and line.count("\n") == 1


def test_a_slow_or_tiny_job_never_reports_zero_rows_per_second(tmp_path: Path) -> None:
    from zeroclass.batch.job import BatchSummary
    from zeroclass.batch.progress import format_rate

    assert [format_rate(r) for r in (0.0, 0.0123, 0.35, 3.0, 9.94, 10.2, 12345.6)] == [
        "0", "0.012", "0.35", "3", "9.9", "10", "12,346"
    ]
    summary = BatchSummary(tmp_path / "out.csv", rows=3, bad_rows=0, resumed_rows=0, seconds=8.0, rows_per_s=0.375,
                           bad_examples=[])
    assert str(summary) == f"3 rows -> {tmp_path / 'out.csv'} (0 bad), 0.38 rows/s in 8.0 s"
