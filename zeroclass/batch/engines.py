"""Batch engines: where a job's chunks are classified, picked by name.

An engine turns the stream of input chunks into the stream of result
chunks, in order. The job around it (manifest, commits, progress) does not
know which engine ran: ``local`` classifies in this process, ``ray`` on a
pool of Ray actors, each with its own copy of the model. Both add the
columns with :func:`~zeroclass.batch.annotate.annotate`, so their output
agrees row for row. A new engine is a function here and one line in
``ENGINES``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from ..classifier import ZeroShotClassifier
from ..errors import InputError
from ..tables import rechunk
from .annotate import Task, annotate

__all__ = ["Engine", "EngineSetup", "ENGINES", "check_engine", "make_engine", "Annotator", "classify_tables", "connect",
           "place_actors"]

#: Input chunks and the task in, result chunks out, in input order.
Engine = Callable[[Iterator[pa.Table], Task], Iterator[pa.Table]]


@dataclass(frozen=True)
class EngineSetup:
    """What an engine is built from.

    ``classifier`` is the model loaded in this process; ``model`` and
    ``model_options`` are what a Ray actor loads its own copy from (a hub
    id or folder, or the classifier itself, shipped to the actor).
    """

    classifier: ZeroShotClassifier
    model: Any = None
    model_options: dict[str, Any] = field(default_factory=dict)
    chunk_rows: int = 1000
    actors: int | None = None
    num_cpus: float = 1
    num_gpus: float | None = None
    address: str | None = None


def local_engine(setup: EngineSetup) -> Engine:
    """Each chunk classified here, by the loaded classifier."""

    def run(chunks: Iterator[pa.Table], task: Task) -> Iterator[pa.Table]:
        return (annotate(setup.classifier, chunk, task) for chunk in chunks)

    return run


def ray_engine(setup: EngineSetup) -> Engine:
    """Each chunk classified on a pool of Ray actors, the results re-cut to the job's chunk size."""

    def run(chunks: Iterator[pa.Table], task: Task) -> Iterator[pa.Table]:
        results = classify_tables(
            chunks, task, model=setup.model, model_options=setup.model_options, actors=setup.actors,
            num_cpus=setup.num_cpus, num_gpus=setup.num_gpus, address=setup.address,
        )
        return rechunk(results, setup.chunk_rows)

    return run


ENGINES: dict[str, Callable[[EngineSetup], Engine]] = {"local": local_engine, "ray": ray_engine}


def check_engine(name: str) -> None:
    """Refuse an unknown engine name before any work."""
    if name not in ENGINES:
        raise InputError(f"unknown engine {name!r}: use one of {', '.join(ENGINES)}")


def make_engine(name: str, setup: EngineSetup) -> Engine:
    """The engine called ``name``, built from ``setup``."""
    check_engine(name)
    return ENGINES[name](setup)


class Annotator:
    """One Ray actor: loads the classifier once, then classifies every table it is given."""

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


def place_actors(actors: int | None, num_gpus: float | None, cluster: dict[str, float]) -> tuple[int, float]:
    """(actors, GPUs per actor) for a pool on a cluster with these resources.

    ``actors`` not given: one actor per GPU when the cluster has GPUs (each
    with one GPU, or ``num_gpus`` if given, so ``num_gpus=0.5`` packs two a
    GPU), else one actor. ``actors`` given: that many, with ``num_gpus``
    each (default 0: the caller asked for a pool size, not for GPUs).
    Pure, so the choice is tested without a GPU.
    """
    if actors is not None:
        return actors, num_gpus or 0.0
    gpus = float(cluster.get("GPU", 0))
    if gpus >= 1 and num_gpus != 0:
        each = num_gpus or 1.0
        return max(1, int(gpus // each)), each
    return 1, num_gpus or 0.0


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


def classify_tables(
    tables: Iterable[pa.Table],
    task: Task,
    *,
    model: Any,
    model_options: dict[str, Any],
    actors: int | None = None,
    num_cpus: float = 1,
    num_gpus: float | None = None,
    address: str | None = None,
) -> Iterator[pa.Table]:
    """Classify a stream of tables on a pool of Ray actors, yielding the results in input order.

    The pool is sized by :func:`place_actors`: one actor per GPU of the
    cluster unless ``actors`` is given.

    At most two tables per actor are in flight (one running, one waiting), and
    the next table is read only when the oldest result is taken: the driver
    and the object store hold a few chunks however large the file, and every
    actor stays busy. Each table is classified whole, as the local engine
    classifies each chunk.
    """
    import ray
    from ray.util import ActorPool

    connect(address)
    actors, num_gpus = place_actors(actors, num_gpus, ray.cluster_resources())
    worker = ray.remote(num_cpus=num_cpus, num_gpus=num_gpus)(Annotator)
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
