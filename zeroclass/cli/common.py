"""Options shared by every command that loads a model."""

from __future__ import annotations

import argparse
from typing import Any

from ..backends import BACKENDS
from .parser import device_name, non_negative_int, positive_int, thread_count

__all__ = ["add_model_options", "add_task_options", "model_options", "load_classifier"]


def add_model_options(parser: argparse.ArgumentParser, *, shortlist: bool = True) -> None:
    """The model options every command shares; ``shortlist=False`` for the commands that take no
    ``--shortlist`` (eval, adapt), whose help must not offer a ``--shortlist-model``."""
    group = parser.add_argument_group("model")
    group.add_argument("--model", "-m", help="hub id or local folder (default: the bundled offline model)")
    group.add_argument("--backend", choices=BACKENDS, help="default: by the model's kind")
    group.add_argument("--hub", choices=("huggingface", "modelscope"), help="default: guessed from the id")
    group.add_argument("--revision", help="hub revision (branch, tag or commit)")
    group.add_argument("--device", type=device_name, help="cpu, cuda, cuda:N or mps (default: the fastest present)")
    group.add_argument("--dtype", choices=("float32", "bfloat16", "float16"), help="default: float32")
    group.add_argument("--quantize", choices=("int8",), help="with --backend onnx: dynamic int8 quantisation")
    group.add_argument("--compile", action="store_true", default=None,
                       help="torch backend: run the model through torch.compile (slow first call, faster after)")
    group.add_argument("--max-length", type=positive_int, help="longest pair in tokens; only the text is truncated")
    group.add_argument("--max-batch-tokens", type=positive_int, help="token budget of one batch")
    group.add_argument("--threads", type=thread_count, dest="num_threads", help="CPU threads (default: all cores)")
    group.add_argument("--entailment-id", type=non_negative_int, help="override the model config's entailment index")
    group.add_argument("--contradiction-id", type=non_negative_int, help="override the model config's contradiction index")
    group.add_argument("--trust-remote-code", action="store_true", help="run code shipped with the model (off by default)")
    if shortlist:
        group.add_argument("--shortlist-model", help="sentence-embedding model that picks the labels of --shortlist "
                           "(and of requests' shortlist when serving); default: the bundled all-MiniLM-L6-v2")


def add_task_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--labels", "-l", required=True, help="candidate labels, comma-separated (',' or '，')")
    parser.add_argument("--multi-label", action="store_true", help="score each label on its own (0..1)")
    parser.add_argument(
        "--template", dest="hypothesis_template", action="append",
        help='hypothesis template with one {}, e.g. "This text is about {}."; repeat for an ensemble (scores averaged)',
    )
    parser.add_argument("--shortlist", type=positive_int, metavar="K",
                        help="NLI models: score only each text's K likeliest labels, chosen by an embedding model; "
                             "the others are listed with score 0")


def model_options(args: argparse.Namespace) -> dict[str, Any]:
    """The model options given on the command line, as :meth:`ZeroShotClassifier.from_pretrained` keywords.

    Read off :func:`add_model_options` itself (every option it declares, but
    ``--model``), so an option added there reaches every command, and the
    Ray actors of ``zeroclass batch``, which load their model from these.
    """
    probe = argparse.ArgumentParser(add_help=False)
    add_model_options(probe)
    names = vars(probe.parse_args([]))
    return {name: getattr(args, name, None) for name in names
            if name != "model" and getattr(args, name, None) not in (None, False)}


def load_classifier(args: argparse.Namespace) -> Any:
    """A ZeroShotClassifier from the parsed model options, with the command's ``--template`` (if any) as default."""
    from ..classifier import ZeroShotClassifier

    return ZeroShotClassifier.from_pretrained(
        args.model, hypothesis_template=getattr(args, "hypothesis_template", None), **model_options(args)
    )
