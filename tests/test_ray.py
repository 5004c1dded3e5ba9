"""The Ray engine: same results as the local engine, row for row, on a local 2-CPU Ray."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ray = pytest.importorskip("ray")

from zeroclass.batch import classify_file  # noqa: E402
from zeroclass.distributed import classify_dataset  # noqa: E402
from zeroclass.tables import read_table  # noqa: E402

pytestmark = pytest.mark.slow

LABELS = ["sports", "finance", "weather"]


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, logging_level="WARNING")
    yield
    ray.shutdown()


def test_ray_engine_equals_local_engine_row_for_row(tmp_path: Path, tiny_nli_dir: Path, local_ray) -> None:
    rows = [{"id": i, "text": f"the team won match number {i} in the rain"} for i in range(300)]
    rows[17]["text"] = ""  # a bad row goes through Ray the same way
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    options = {"model": str(tiny_nli_dir), "device": "cpu", "num_threads": 1, "progress": False, "chunk_rows": 40}
    local = classify_file(src, tmp_path / "local.parquet", LABELS, **options)
    remote = classify_file(src, tmp_path / "ray.parquet", LABELS, engine="ray", actors=2, **options)
    assert (remote.rows, remote.bad_rows) == (local.rows, local.bad_rows) == (300, 1)
    a, b = read_table(tmp_path / "local.parquet").to_pylist(), read_table(tmp_path / "ray.parquet").to_pylist()
    assert [r["id"] for r in b] == list(range(300))
    for x, y in zip(a, b):
        assert (x["predicted_label"], x["error"]) == (y["predicted_label"], y["error"])
        if x["predicted_scores"] is not None:
            assert [s["label"] for s in x["predicted_scores"]] == [s["label"] for s in y["predicted_scores"]]
            assert [s["score"] for s in x["predicted_scores"]] == pytest.approx(
                [s["score"] for s in y["predicted_scores"]], abs=1e-5
            )


def test_classify_dataset_on_any_ray_dataset(tiny_nli_dir: Path, tiny_classifier, local_ray) -> None:
    texts = ["rain and storm today", "the stock market fell", "they won the match"]
    dataset = ray.data.from_items([{"body": t, "n": i} for i, t in enumerate(texts)])
    out = classify_dataset(dataset, "sports, finance, weather", model=str(tiny_nli_dir), text_column="body",
                           top_k=1, device="cpu", num_threads=1).take_all()
    got = {row["n"]: row for row in out}
    for i, text in enumerate(texts):
        want = tiny_classifier(text, LABELS)
        assert got[i]["predicted_label"] == want["labels"][0]
        assert got[i]["predicted_score"] == pytest.approx(want["scores"][0], abs=1e-5)
        assert len(got[i]["predicted_scores"]) == 1 and got[i]["error"] is None


def test_classify_dataset_ships_a_loaded_classifier_to_the_actors(tiny_classifier, local_ray) -> None:
    """``model=`` a classifier already loaded: it is pickled to each actor (its shortlist source's lock once was not)."""
    texts = ["rain and storm today", "the stock market fell"]
    out = classify_dataset(ray.data.from_items([{"text": t} for t in texts]), LABELS, model=tiny_classifier).take_all()
    for row, text in zip(sorted(out, key=lambda r: texts.index(r["text"])), texts):
        want = tiny_classifier(text, LABELS)
        assert row["predicted_label"] == want["labels"][0] and row["error"] is None
        assert row["predicted_score"] == pytest.approx(want["scores"][0], abs=1e-5)


def test_ray_engine_reads_ahead_only_a_bounded_window(tiny_nli_dir: Path, local_ray) -> None:
    """A huge file must not be pulled into the driver or the object store up front."""
    import pyarrow as pa

    from zeroclass.batch.annotate import Task
    from zeroclass.batch.engines import classify_tables

    pulled: list[int] = []

    def tables():
        for i in range(12):
            pulled.append(i)
            yield pa.table({"text": [f"the team won match {i}", f"rain all day {i}"]})

    task = Task.make(LABELS)
    results = classify_tables(tables(), task, model=str(tiny_nli_dir), model_options={"device": "cpu", "num_threads": 1},
                              actors=2)
    first = next(results)
    assert first.column("text").to_pylist() == ["the team won match 0", "rain all day 0"]
    assert len(pulled) <= 2 * 2 + 1  # two per actor in flight, plus the one read to replace the first
    rest = list(results)
    assert len(pulled) == 12 and len(rest) == 11
    assert [t.column("text")[0].as_py() for t in rest] == [f"the team won match {i}" for i in range(1, 12)]
