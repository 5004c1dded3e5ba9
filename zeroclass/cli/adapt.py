"""``zeroclass adapt``: tune a model on a few labelled examples and save it as a model folder."""

from __future__ import annotations

import argparse
from pathlib import Path

from .common import add_model_options, load_classifier


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "adapt",
        help="adapt a model to a few labelled examples (it stays zero-shot) and save it",
        description="Tune a model on labelled examples and save a model folder that every zeroclass command loads "
        "(--model FOLDER). With --eval, report accuracy before and after on held-out data.",
    )
    parser.add_argument("data", metavar="EXAMPLES", help="labelled examples: .csv, .tsv, .jsonl or .parquet")
    parser.add_argument("--output", "-o", type=Path, required=True, help="folder to write the adapted model to")
    parser.add_argument("--labels", "-l", help="candidate labels, comma-separated (default: every label of the examples)")
    parser.add_argument("--text-column", default="text", help="column with the texts (default: text)")
    parser.add_argument("--label-column", default="label", help="column with the gold label(s) (default: label)")
    parser.add_argument("--multi-label", action="store_true", help="texts may have several gold labels")
    parser.add_argument("--method", default="auto", choices=("auto", "head", "prototypes", "contrastive", "nli"),
                        help="auto: head for embedding models, nli for NLI models")
    parser.add_argument("--no-gate", action="store_true",
                        help="embedding models: let the adapted labels win texts from labels without examples "
                             "(default: the base model decides between the two groups)")
    parser.add_argument("--eval", type=Path, dest="eval_data", help="held-out labelled file: accuracy before and after")
    parser.add_argument("--epochs", type=int, help="training methods: epochs (default: the method's)")
    parser.add_argument("--learning-rate", type=float, help="training methods: learning rate (default: the method's)")
    parser.add_argument("--seed", type=int, default=0, help="seed of sampling and training (default: 0)")
    add_model_options(parser, shortlist=False)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..evaluation import evaluate, load_labelled

    # Read and check both files before loading a model: a typo in a column name should fail in a second.
    examples = load_labelled(args.data, text_column=args.text_column, label_column=args.label_column,
                             labels=args.labels, multi_label=args.multi_label)
    held = None
    if args.eval_data is not None:
        held = load_labelled(args.eval_data, text_column=args.text_column, label_column=args.label_column,
                             labels=examples.labels, multi_label=args.multi_label)
    classifier = load_classifier(args)
    training = {name: value for name, value in (("epochs", args.epochs), ("learning_rate", args.learning_rate)) if value is not None}
    gold = examples.gold if examples.multi_label else [g[0] for g in examples.gold]
    adapted = classifier.adapt(examples.texts, gold, candidate_labels=examples.labels, seed=args.seed,
                               method=args.method, gate_unseen_labels=False if args.no_gate else None, progress=True,
                               **training)
    evaluation = None
    if held is not None:
        before = evaluate(held, classifier=classifier)
        after = evaluate(held, classifier=adapted)
        after.print()
        evaluation = {"data": str(args.eval_data), "rows": len(held.texts), "before": before.summary, "after": after.summary}
        _print_comparison(before.summary, after.summary)
    adapted.save_pretrained(args.output, evaluation=evaluation)
    info = adapted.info
    reads = adapted.backend.model_name
    over = f" over {reads}" if reads != info["base_model"] else ""  # the offline default's two models, for English
    print(f"adapted {info['base_model']} by {info['method']}{over} on {info['examples']} examples; "
          f"saved to {args.output} (use it with --model {args.output})")
    return 0


def _print_comparison(before: dict[str, float], after: dict[str, float]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="before and after adapting", title_justify="left")
    for name in ("metric", "before", "after", "change"):
        table.add_column(name, justify="left" if name == "metric" else "right")
    for key in before:
        table.add_row(key, f"{before[key]:.4f}", f"{after[key]:.4f}", f"{after[key] - before[key]:+.4f}")
    Console().print(table)
