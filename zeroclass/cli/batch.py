"""``zeroclass batch``: a CSV, TSV, JSON-lines or Parquet file in, the same with predictions out."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ..errors import InputError
from .common import add_model_options, add_task_options, model_options
from .parser import non_negative_float, positive_float, positive_int


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "batch",
        help="classify every row of a CSV/TSV/JSONL/Parquet file, crash-safe and resumable",
        description=(
            "Classify every row of INPUT into OUTPUT (format by suffix: .csv .tsv .jsonl .parquet). "
            "Results are committed chunk by chunk beside OUTPUT; if the job dies, run the same command "
            "again and it continues."
        ),
    )
    parser.add_argument("input", metavar="INPUT", help="the file to classify (a file: standard input cannot be resumed)")
    parser.add_argument("--output", "-o", required=True, help="the file to write (refused if it exists, unless --overwrite)")
    add_task_options(parser)
    parser.add_argument("--text-column", default="text", help="column holding the text (default: text)")
    parser.add_argument("--id-column", help="column naming each row in the report of bad rows")
    parser.add_argument("--top-k", type=positive_int, help="keep only the K best labels in predicted_scores")
    parser.add_argument("--overwrite", action="store_true", help="replace OUTPUT, and drop any unfinished job for it")
    parser.add_argument("--chunk-rows", type=positive_int, default=1000, help="rows per committed chunk (default: 1000)")
    parser.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar or progress lines")
    ray = parser.add_argument_group("ray")
    ray.add_argument("--engine", choices=("local", "ray"), default="local", help="where to classify (default: local)")
    ray.add_argument("--ray-address", help="Ray cluster to join (default: $RAY_ADDRESS, else a local Ray)")
    ray.add_argument("--actors", type=positive_int,
                     help="Ray actors, each with its own copy of the model (default: one per GPU of the cluster, else 1)")
    ray.add_argument("--num-cpus", type=positive_float, default=1, help="CPUs per actor (default: 1)")
    ray.add_argument("--num-gpus", type=non_negative_float,
                     help="GPUs per actor (default: 1 when --actors is not given and the cluster has GPUs, else 0)")
    add_model_options(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..batch import classify_file

    if args.input == "-":
        raise InputError(
            "zeroclass batch needs a file, not standard input: a job is resumed after a crash by reading its input "
            "again, which a pipe cannot do. Save the rows first (e.g. ... > rows.jsonl), or use "
            "'zeroclass classify' for texts on standard input"
        )
    templates = args.hypothesis_template or []
    model: Any = args.model
    options = model_options(args)
    if len(templates) > 1:
        # A job takes one template; an ensemble becomes the default of a classifier loaded here (and shipped to Ray actors).
        from ..classifier import ZeroShotClassifier

        model, options = ZeroShotClassifier.from_pretrained(args.model, hypothesis_template=templates, **options), {}
    try:
        summary = classify_file(
            args.input,
            args.output,
            args.labels,
            model=model,
            text_column=args.text_column,
            id_column=args.id_column,
            multi_label=args.multi_label,
            hypothesis_template=templates[0] if len(templates) == 1 else None,
            top_k=args.top_k,
            shortlist=args.shortlist,
            engine=args.engine,
            overwrite=args.overwrite,
            chunk_rows=args.chunk_rows,
            progress=args.progress,
            ray_address=args.ray_address,
            actors=args.actors,
            num_cpus=args.num_cpus,
            num_gpus=args.num_gpus,
            **options,
        )
    except KeyboardInterrupt:
        print(f"\nzeroclass: interrupted. {_interrupted_note(Path(args.output))}", file=sys.stderr)
        return 130
    print(summary)
    return 0


def _interrupted_note(output: Path) -> str:
    """How much of an interrupted job is committed (its manifest says), and how to go on."""
    manifest = output.with_name(output.name + ".partial") / "manifest.json"
    try:
        rows = int(json.loads(manifest.read_text(encoding="utf-8"))["rows"])
    except (OSError, ValueError, KeyError, TypeError):
        return "No rows were committed yet; run the same command to start again."
    return (
        f"{rows:,} rows are committed in {manifest.parent}; run the same command again to resume "
        "from there (add --overwrite to start over)."
    )
