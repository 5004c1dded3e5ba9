"""``classify_file``: one input file to one output file, chunk by chunk, resumable.

The loop is small because each concern lives elsewhere: reading and writing
tables (``zeroclass.tables``), the columns added to a chunk (``annotate``),
durable commits and the final assembly (``manifest``), progress
(``progress``), and where chunks are classified (``engines``: local or Ray).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pyarrow as pa

from ..classifier import ZeroShotClassifier
from ..errors import InputError
from ..tables import Survey, check_readable, stream_table, survey_table, table_format
from .annotate import ERROR_COLUMN, RESULT_COLUMNS, Task
from .engines import ENGINES, Engine, EngineSetup, check_engine, make_engine
from .lock import job_lock
from .manifest import Manifest, fingerprint, open_job
from .progress import Progress, format_rate

__all__ = ["classify_file", "BatchSummary", "ENGINES"]


@dataclass(frozen=True)
class BatchSummary:
    """What a finished job did; ``resumed_rows`` were done by earlier, interrupted runs."""

    output: Path
    rows: int
    bad_rows: int
    resumed_rows: int
    seconds: float
    rows_per_s: float
    bad_examples: list[str]

    def __str__(self) -> str:
        lines = [
            f"{self.rows:,} rows -> {self.output} ({self.bad_rows:,} bad), "
            f"{format_rate(self.rows_per_s)} rows/s in {self.seconds:.1f} s"
            + (f"; {self.resumed_rows:,} rows were done by an earlier run" if self.resumed_rows else "")
        ]
        lines += [f"  bad: {example}" for example in self.bad_examples]
        if self.bad_rows > len(self.bad_examples):
            lines.append(f"  ... see the {ERROR_COLUMN!r} column for all {self.bad_rows:,}")
        return "\n".join(lines)


def classify_file(
    input: str | os.PathLike[str],
    output: str | os.PathLike[str],
    candidate_labels: str | Sequence[str],
    *,
    model: str | os.PathLike[str] | ZeroShotClassifier | None = None,
    text_column: str = "text",
    id_column: str | None = None,
    multi_label: bool = False,
    hypothesis_template: str | None = None,
    top_k: int | None = None,
    shortlist: int | None = None,
    engine: str = "local",
    overwrite: bool = False,
    chunk_rows: int = 1000,
    progress: bool = True,
    ray_address: str | None = None,
    actors: int | None = None,
    num_cpus: float = 1,
    num_gpus: float | None = None,
    **model_options: Any,
) -> BatchSummary:
    """Classify every row of a CSV, TSV, JSON-lines or Parquet file into another such file.

    The output has every input column, in input order, plus
    ``predicted_label``, ``predicted_score``, ``predicted_scores`` (every
    label, or the ``top_k`` best, with its score) and ``error``. With
    ``shortlist=K`` only each row's K likeliest labels are scored by the NLI
    model; the others get score 0.0 (see :mod:`zeroclass.shortlist`). Results are
    committed every ``chunk_rows`` rows; after a crash, the same call
    continues where it stopped. ``model`` is a hub id, a local folder, a
    loaded classifier, or ``None`` for the offline default;
    ``model_options`` go to :meth:`ZeroShotClassifier.from_pretrained`.
    ``engine="ray"`` classifies on Ray Data with ``actors`` actors of
    ``num_cpus``/``num_gpus`` each, on the cluster at ``ray_address`` (or
    ``RAY_ADDRESS``), else on a local Ray.
    """
    started = time.monotonic()
    check_engine(engine)
    task = Task.make(candidate_labels, text_column=text_column, multi_label=multi_label,
                     hypothesis_template=hypothesis_template, top_k=top_k, shortlist=shortlist)
    source, target, found = _check_files(input, output, task, id_column)
    # Loaded here even for Ray: bad options fail before any work; the manifest records the model resolved.
    classifier = model if isinstance(model, ZeroShotClassifier) else ZeroShotClassifier.from_pretrained(model, **model_options)
    classifier.check_shortlist(task.shortlist)  # an embedding model must fail the job, not every row
    setup = EngineSetup(classifier, model, model_options, chunk_rows, actors, num_cpus, num_gpus, ray_address)
    job = _job_record(source, classifier, task)
    with _kept_on_os_error(target), job_lock(target):
        manifest = open_job(target, job, chunk_rows=chunk_rows, overwrite=overwrite)
        resumed = manifest.rows
        if not manifest.complete:
            run = make_engine(engine, replace(setup, chunk_rows=manifest.chunk_rows))
            _run(manifest, (source, found), run, task, Progress(found.rows, manifest.rows, enabled=progress), id_column)
        manifest.publish(target)
    seconds = time.monotonic() - started
    done_now = manifest.rows - resumed
    return BatchSummary(target, manifest.rows, manifest.bad_rows, resumed, seconds,
                        done_now / seconds if seconds > 0 else 0.0, manifest.bad_examples)


def _check_files(input: str | os.PathLike[str], output: str | os.PathLike[str], task: Task,
                 id_column: str | None) -> tuple[Path, Path, Survey]:
    """The input and output paths and the input's survey, or the error that stops the job before any work."""
    source, target = check_readable(input), Path(output)
    table_format(target)  # an unknown output suffix fails now, not after the last chunk
    if target.resolve() == source.resolve():
        raise InputError(f"{target}: the output would overwrite the input; choose another path")
    found = survey_table(source, problem_column=ERROR_COLUMN)  # a whole-file problem fails before any work
    _check_columns(source, found, task, id_column)
    return source, target, found


def _job_record(source: Path, classifier: ZeroShotClassifier, task: Task) -> dict[str, Any]:
    """What the manifest pins: a resumed run must be the same job (input, model and how it runs, labels, options).

    Keys that only newer jobs can differ in are recorded only when they are
    not the default, so jobs started before them still resume.
    """
    setup = {"backend": classifier.backend_class, "dtype": str(classifier.dtype)}
    return {
        **fingerprint(source),
        "model": classifier.model_name,
        "labels": list(task.labels),
        "text_column": task.text_column,
        "multi_label": task.multi_label,
        "hypothesis_template": task.hypothesis_template,
        "top_k": task.top_k,
        **({} if setup == {"backend": "TorchNLIBackend", "dtype": "torch.float32"} else setup),
        # The classifier's own templates (the CLI's --template ensemble), which the call's template overrides.
        **({"default_template": list(classifier.hypothesis_template)} if classifier.hypothesis_template else {}),
        # Loading the ranker now also fails a bad one before any row, not on every row.
        **({"shortlist": task.shortlist, "shortlist_model": classifier.shortlister.description} if task.shortlist else {}),
    }


@contextmanager
def _kept_on_os_error(target: Path) -> Iterator[None]:
    """Turn a disk error into an :class:`InputError` that says the committed chunks are kept."""
    try:
        yield
    except OSError as exc:
        where = exc.filename or target
        raise InputError(
            f"{where}: {exc.strerror or exc}. Chunks already committed are kept: "
            "once this is fixed, the same command continues from them"
        ) from exc


def _check_columns(source: Path, found: Survey, task: Task, id_column: str | None) -> None:
    """Refuse a job whose columns cannot work, naming the input's columns, before any row is classified."""
    columns = ", ".join(map(repr, found.columns))
    if found.rows == 0:
        raise InputError(f"{source}: the file has no rows")
    if task.text_column not in found.columns:
        raise InputError(f"{source}: no text column {task.text_column!r}; the input has {columns} (choose one with --text-column)")
    if id_column is not None and id_column not in found.columns:
        raise InputError(f"{source}: no id column {id_column!r}; the input has {columns}")
    for name in RESULT_COLUMNS:
        if name in found.columns:
            raise InputError(f"{source}: has a column {name!r}, which the output needs for its own use; rename it")


def _run(manifest: Manifest, input: tuple[Path, Survey], engine: Engine, task: Task, bar: Progress,
         id_column: str | None) -> None:
    """Classify the rows the manifest does not have yet, committing every result chunk in order, then mark the job complete."""
    source, found = input
    chunks = stream_table(source, chunk_rows=manifest.chunk_rows, problem_column=ERROR_COLUMN,
                          skip_rows=manifest.rows, surveyed=found)
    try:
        for table in engine(chunks, task):
            manifest.commit(table, list(_bad_rows(table, manifest.rows, id_column)))
            bar.update(table.num_rows)
    finally:
        bar.close()
    manifest.complete = True
    manifest.save()


def _bad_rows(table: pa.Table, offset: int, id_column: str | None) -> Iterator[str]:
    """``row N (id X): why`` for each row of a committed chunk that has no prediction."""
    errors = table.column(ERROR_COLUMN).to_pylist()
    ids = table.column(id_column).to_pylist() if id_column else None
    for i, error in enumerate(errors):
        if error is not None:
            where = f"row {offset + i + 1}" + (f" ({id_column} {ids[i]!r:.80})" if ids else "")
            yield f"{where}: {error}"
