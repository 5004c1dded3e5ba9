"""``zeroclass batch``: a CSV, TSV, JSON-lines or Parquet file in, the same with predictions out."""

from __future__ import annotations

import argparse
from typing import Any

from .common import add_model_options, add_task_options


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
    parser.add_argument("input", metavar="INPUT", help="the file to classify")
    parser.add_argument("--output", "-o", required=True, help="the file to write (refused if it exists, unless --overwrite)")
    add_task_options(parser)
    parser.add_argument("--text-column", default="text", help="column holding the text (default: text)")
    parser.add_argument("--id-column", help="column naming each row in the report of bad rows")
    parser.add_argument("--top-k", type=int, help="keep only the K best labels in predicted_scores")
    parser.add_argument("--overwrite", action="store_true", help="replace OUTPUT, and drop any unfinished job for it")
    parser.add_argument("--chunk-rows", type=int, default=1000, help="rows per committed chunk (default: 1000)")
    parser.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar or progress lines")
    ray = parser.add_argument_group("ray")
    ray.add_argument("--engine", choices=("local", "ray"), default="local", help="where to classify (default: local)")
    ray.add_argument("--ray-address", help="Ray cluster to join (default: $RAY_ADDRESS, else a local Ray)")
    ray.add_argument("--actors", type=int, default=1, help="Ray actors, each with its own copy of the model (default: 1)")
    ray.add_argument("--num-cpus", type=float, default=1, help="CPUs per actor (default: 1)")
    ray.add_argument("--num-gpus", type=float, default=0, help="GPUs per actor (default: 0)")
    add_model_options(parser)
    parser.set_defaults(run=run)


def model_options(args: argparse.Namespace) -> dict[str, Any]:
    """The model options given on the command line, as ``from_pretrained`` keywords.

    Read from ``add_model_options`` itself, so an option added there reaches
    Ray actors too, which load the model from these, not from a pickled copy.
    """
    probe = argparse.ArgumentParser(add_help=False)
    add_model_options(probe)
    names = vars(probe.parse_args([]))
    return {name: getattr(args, name) for name in names if name != "model" and getattr(args, name) not in (None, False)}


def run(args: argparse.Namespace) -> int:
    from ..batch import classify_file

    summary = classify_file(
        args.input,
        args.output,
        args.labels,
        model=args.model,
        text_column=args.text_column,
        id_column=args.id_column,
        multi_label=args.multi_label,
        hypothesis_template=args.hypothesis_template,
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
        **model_options(args),
    )
    print(summary)
    return 0
