"""Zero-shot classification on Ray Data: many actors, one model load each.

:func:`classify_dataset` adds the same columns as ``zeroclass batch`` to any
Ray Dataset, with ``map_batches`` over a fixed pool of actors; each actor
loads the model once and classifies whole blocks with the same code as the
local engine (``zeroclass.batch.annotate``), so results agree row for row.
``zeroclass batch --engine ray`` uses the same actors through the ``ray``
batch engine (:mod:`zeroclass.batch.engines`), which is crash-safe too.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any


from .batch.annotate import Task
from .batch.engines import Annotator, connect, place_actors
from .classifier import ZeroShotClassifier

__all__ = ["classify_dataset", "connect"]


def classify_dataset(
    dataset: Any,
    candidate_labels: str | Sequence[str],
    *,
    model: str | os.PathLike[str] | ZeroShotClassifier | None = None,
    text_column: str = "text",
    multi_label: bool = False,
    hypothesis_template: str | None = None,
    top_k: int | None = None,
    actors: int | None = None,
    num_cpus: float = 1,
    num_gpus: float | None = None,
    batch_size: int | None = None,
    **model_options: Any,
) -> Any:
    """``dataset`` (a ``ray.data.Dataset``) with ``predicted_label``, ``predicted_score``,
    ``predicted_scores`` and ``error`` columns added; lazy, like every Ray Data step.

    ``model`` is a hub id or folder each actor loads (with ``model_options``),
    or a loaded classifier shipped to them. ``actors`` actors run with
    ``num_cpus`` / ``num_gpus`` each; without ``actors``, one actor per GPU
    of the cluster (one GPU each), or one actor where it has none; ``batch_size=None`` hands each actor
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


def _map(dataset: Any, task: Task, *, model: Any, model_options: dict[str, Any], actors: int | None,
         num_cpus: float, num_gpus: float | None, batch_size: int | None) -> Any:
    import ray
    import ray.data

    actors, num_gpus = place_actors(actors, num_gpus, ray.cluster_resources())
    return dataset.map_batches(
        Annotator,
        fn_constructor_kwargs={"model": model, "model_options": model_options, "task": task},
        batch_format="pyarrow",
        batch_size=batch_size,
        compute=ray.data.ActorPoolStrategy(size=actors),
        num_cpus=num_cpus,
        num_gpus=num_gpus,
    )

