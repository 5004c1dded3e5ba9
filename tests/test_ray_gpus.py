"""One Ray actor per GPU by default, checked on a CPU machine.

Ray lets a node declare GPUs it does not have (``ray.init(num_gpus=2)``):
logical resources that stand in for real ones here. A pool whose size is
not given must take every one of them, one actor each; a pool whose size
is given keeps today's meaning (that many actors, no GPU unless asked).
"""

from __future__ import annotations

from pathlib import Path

import pytest

ray = pytest.importorskip("ray")
pa = pytest.importorskip("pyarrow")

from zeroclass.batch.annotate import Task  # noqa: E402
from zeroclass.batch.engines import classify_tables, place_actors  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(
    ("actors", "num_gpus", "cluster", "placed"),
    [
        (None, None, {"CPU": 16.0, "GPU": 4.0}, (4, 1.0)),  # one actor per GPU
        (None, 0.5, {"CPU": 16.0, "GPU": 2.0}, (4, 0.5)),  # two actors a GPU, when asked
        (None, 0, {"CPU": 16.0, "GPU": 2.0}, (1, 0.0)),  # GPUs refused: one CPU actor
        (None, None, {"CPU": 16.0}, (1, 0.0)),  # no GPU: one actor, as before
        (3, None, {"CPU": 16.0, "GPU": 8.0}, (3, 0.0)),  # a pool size given keeps its meaning
        (3, 1.0, {"CPU": 16.0, "GPU": 8.0}, (3, 1.0)),
    ],
)
def test_place_actors(actors, num_gpus, cluster, placed) -> None:
    assert place_actors(actors, num_gpus, cluster) == placed


@pytest.fixture()
def ray_with_two_gpus():
    ray.init(num_cpus=2, num_gpus=2, include_dashboard=False, logging_level="WARNING")
    yield
    ray.shutdown()


def test_the_ray_engine_takes_every_gpu_by_default(tiny_nli_dir: Path, tiny_classifier, ray_with_two_gpus) -> None:
    texts = ["the team won the match", "stocks fell sharply", "rain all day"]
    tables = iter([pa.table({"text": texts})] * 4)
    task = Task.make(["sports", "finance", "weather"])
    results = classify_tables(tables, task, model=str(tiny_nli_dir), model_options={"device": "cpu", "num_threads": 1},
                              num_cpus=0.5)
    first = next(results)
    assert ray.available_resources().get("GPU", 0) == 0  # both GPUs held, one actor each
    for table in [first, *results]:
        got = table.to_pylist()
        for row, text in zip(got, texts):
            assert row["predicted_label"] == tiny_classifier(text, ["sports", "finance", "weather"])["labels"][0]
