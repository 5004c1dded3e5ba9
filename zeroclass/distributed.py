"""Zero-shot classification on Ray Data: many actors, one model load each.

:func:`classify_dataset` adds the same columns as ``zeroclass batch`` to any
Ray Dataset, with ``map_batches`` over a fixed pool of actors; each actor
loads the model once and classifies whole blocks with the same code as the
local engine (``zeroclass.batch.annotate``), so results agree row for row.
``zeroclass batch --engine ray`` sends the chunks of a file to a pool of
such actors (:func:`classify_tables`) and commits what comes back exactly as
the local engine does, so it is crash-safe too.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import pyarrow as pa

from .batch.annotate import Task, annotate
from .classifier import ZeroShotClassifier

__all__ = ["classify_dataset", "classify_tables", "connect"]


class _Annotator:
    """One Ray actor: loads the classifier once, then classifies every block it is given."""

    def __init__(self, model: Any, model_options: dict[str, Any], task: Task) -> None:
        if isinstance(model, ZeroShotClassifier):
            self.classifier = model
        else:
            self.classifier = ZeroShotClassifier.from_pretrained(model, **model_options)
        self.task = task

    def classify(self, batch: pa.Table) -> pa.Table:
        return annotate(self.classifier, batch, self.task)

    def __call__(self, batch: pa.Table) -> pa.Table:  # what Ray Data's map_batches calls
        return self.classify(batch)


def connect(address: str | None = None) -> None:
    """Join the Ray cluster at ``address`` (or ``RAY_ADDRESS``), else start a local Ray."""
    import ray

    if ray.is_initialized():
        return
    address = address or os.environ.get("RAY_ADDRESS")
    if address:
        ray.init(address=address, logging_level="WARNING")
    else:
        ray.init(include_dashboard=False, logging_level="WARNING")


def classify_dataset(
    dataset: Any,
    candidate_labels: str | Sequence[str],
    *,
    model: str | os.PathLike[str] | ZeroShotClassifier | None = None,
    text_column: str = "text",
    multi_label: bool = False,
    hypothesis_template: str | None = None,
    top_k: int | None = None,
    actors: int = 1,
    num_cpus: float = 1,
    num_gpus: float = 0,
    batch_size: int | None = None,
    **model_options: Any,
) -> Any:
    """``dataset`` (a ``ray.data.Dataset``) with ``predicted_label``, ``predicted_score``,
    ``predicted_scores`` and ``error`` columns added; lazy, like every Ray Data step.

    ``model`` is a hub id or folder each actor loads (with ``model_options``),
    or a loaded classifier shipped to them. ``actors`` actors run with
    ``num_cpus`` / ``num_gpus`` each; ``batch_size=None`` hands each actor
    whole blocks. A row with ``error`` already set is passed through
    unclassified. Write the result with any Ray writer (``write_parquet``,
    ``write_csv``, ...) or iterate it.
    """
    task = Task.make(
        candidate_labels, text_column=text_column, multi_label=multi_label,
        hypothesis_template=hypothesis_template, top_k=top_k,
    )
    return _map(dataset, task, model=model, model_options=model_options, actors=actors,
                num_cpus=num_cpus, num_gpus=num_gpus, batch_size=batch_size)


def _map(dataset: Any, task: Task, *, model: Any, model_options: dict[str, Any], actors: int,
         num_cpus: float, num_gpus: float, batch_size: int | None) -> Any:
    import ray.data

    return dataset.map_batches(
        _Annotator,
        fn_constructor_kwargs={"model": model, "model_options": model_options, "task": task},
        batch_format="pyarrow",
        batch_size=batch_size,
        compute=ray.data.ActorPoolStrategy(size=actors),
        num_cpus=num_cpus,
        num_gpus=num_gpus,
    )


def classify_tables(
    tables: Iterable[pa.Table],
    task: Task,
    *,
    model: Any,
    model_options: dict[str, Any],
    actors: int = 1,
    num_cpus: float = 1,
    num_gpus: float = 0,
    address: str | None = None,
) -> Iterator[pa.Table]:
    """Classify a stream of tables on a pool of Ray actors, yielding the results in input order.

    At most two tables per actor are in flight (one running, one waiting), and
    the next table is read only when the oldest result is taken: the driver
    and the object store hold a few chunks however large the file, and every
    actor stays busy. Each table is classified whole, as the local engine
    classifies each chunk.
    """
    import ray
    from ray.util import ActorPool

    connect(address)
    worker = ray.remote(num_cpus=num_cpus, num_gpus=num_gpus)(_Annotator)
    pool = ActorPool([worker.remote(model, model_options, task) for _ in range(actors)])
    pending = iter(tables)

    def submit_next() -> None:
        table = next(pending, None)
        if table is not None:
            pool.submit(lambda actor, t: actor.classify.remote(t), table)

    for _ in range(2 * actors):
        submit_next()
    while pool.has_next():
        result = pool.get_next()
        submit_next()
        yield result
