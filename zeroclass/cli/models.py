"""``zeroclass download`` and ``zeroclass models``: fetch ahead, see what is cached."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    download = subparsers.add_parser(
        "download", help="fetch a model into the hub cache for offline use",
        description="Fetch a model from the Hugging Face Hub or ModelScope into its cache, so that later loads "
        "need no network (set HF_HUB_OFFLINE=1 there). Prints the model's id, hub, kind and folder.",
    )
    download.add_argument("model", help="Hugging Face or ModelScope id (damo/... and iic/... go to ModelScope)")
    download.add_argument(
        "--hub", choices=("huggingface", "modelscope"), help="which hub to fetch from (default: guessed from the id)"
    )
    download.add_argument("--revision", help="branch, tag or commit to fetch (default: the hub's main branch)")
    download.set_defaults(run=run_download)
    models = subparsers.add_parser(
        "models", help="list the models in the local caches",
        description="List the models zeroclass can load without a network: the bundled offline models and what "
        "the Hugging Face and ModelScope caches hold, with their kind, size and folder.",
    )
    models.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    models.set_defaults(run=run_models)


def run_download(args: argparse.Namespace) -> int:
    from ..hub import resolve

    from ..errors import InputError

    source = resolve(args.model, hub=args.hub, revision=args.revision)
    if source.hub == "local":
        raise InputError(f"{args.model!r} is a local folder ({source.path}), not a hub id: there is nothing to download")
    print(f"{source.model_id} ({source.hub}, {source.kind}): {source.path}")
    return 0


def run_models(args: argparse.Namespace) -> int:
    import json

    from ..hub import cached_models, hf_cache, modelscope_cache

    found = cached_models()
    if args.json:
        print(json.dumps([{**m.__dict__, "path": str(m.path)} for m in found], ensure_ascii=False))
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(caption=f"caches: {hf_cache()} (Hugging Face), {modelscope_cache()} (ModelScope)")
    for column in ("model", "hub", "kind", "size", "path"):
        table.add_column(column, overflow="fold", no_wrap=column in ("hub", "kind", "size"))
    for m in found:
        table.add_row(m.model_id, m.hub, m.kind, f"{m.size_bytes / 1e6:.0f} MB", str(m.path))
    Console().print(table)
    return 0
