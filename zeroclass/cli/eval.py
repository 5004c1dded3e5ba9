"""``zeroclass eval``: measure a model, labels and templates on a labelled file."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..errors import InputError
from .common import add_model_options, load_classifier
from .parser import positive_int


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "eval",
        help="evaluate on a labelled CSV, TSV, JSON-lines or Parquet file",
        description="Classify every row of a labelled file and report accuracy, F1, calibration and the worst mistakes.",
    )
    parser.add_argument("data", metavar="DATA", help="labelled file: .csv, .tsv, .jsonl or .parquet")
    parser.add_argument("--text-column", default="text", help="column with the texts (default: text)")
    parser.add_argument("--label-column", default="label", help="column with the gold label(s) (default: label)")
    parser.add_argument("--labels", "-l", help="candidate labels, comma-separated (default: every gold label in the data)")
    parser.add_argument(
        "--multi-label", action="store_true",
        help="texts may have several gold labels (a list, or a ';'- or ','-separated string)",
    )
    parser.add_argument(
        "--template", dest="hypothesis_template", action="append",
        help="hypothesis template with one {}; repeat for an ensemble (scores averaged)",
    )
    parser.add_argument(
        "--descriptions", type=Path,
        help='JSON file {"label": "description", ...}: hypotheses use the description instead of the name',
    )
    parser.add_argument(
        "--refine", action=argparse.BooleanOptionalAction, default=None,
        help="embedding models: refine label vectors on the evaluated texts (default: the backend's setting)",
    )
    parser.add_argument("--limit", type=positive_int, help="evaluate a fixed-seed random sample of N rows")
    parser.add_argument("--seed", type=int, default=0, help="seed of the --limit sample (default: 0)")
    parser.add_argument("--out", type=Path, help="folder for report.json, report.md, PNG plots and errors.jsonl")
    parser.add_argument("--json", action="store_true", help="print report.json's content instead of tables")
    add_model_options(parser, shortlist=False)
    parser.set_defaults(run=run)


def _descriptions(path: Path | None) -> dict[str, str] | None:
    if path is None:
        return None
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"--descriptions {path}: no such file") from None
    except ValueError as exc:
        raise InputError(f"--descriptions {path}: not valid JSON ({exc})") from None
    if not isinstance(loaded, dict):
        raise InputError(f'--descriptions {path}: expected a JSON object {{"label": "description"}}, got {type(loaded).__name__}')
    return loaded


def run(args: argparse.Namespace) -> int:
    from ..evaluation import evaluate, load_labelled

    # Read and check the data before loading a model: a typo in a column name should fail in a second.
    data = load_labelled(
        args.data, text_column=args.text_column, label_column=args.label_column, labels=args.labels,
        multi_label=args.multi_label, limit=args.limit, seed=args.seed,
    )
    report = evaluate(
        data,
        classifier=load_classifier(args),
        hypothesis_template=args.hypothesis_template,
        label_descriptions=_descriptions(args.descriptions),
        refine=args.refine,
        limit=args.limit,
        seed=args.seed,
    )
    written = report.write(args.out) if args.out else []
    if args.json:
        print(json.dumps(report.to_dict(), ensure_ascii=False))
    else:
        report.print()
        if written:
            print(f"wrote {', '.join(p.name for p in written)} to {args.out}")
    return 0
