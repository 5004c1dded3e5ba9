"""``zeroclass serve``: the HTTP service (playground at ``/``, API, metrics).

Binds to 127.0.0.1 unless ``--host`` says otherwise: a model server is not
something to expose by accident. On SIGTERM it stops accepting connections,
finishes the requests in flight (for at most ``--shutdown-timeout`` seconds)
and exits 0. Slow or idle clients are cut off by the other timeouts.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
from typing import Any

from ..errors import InputError
from .common import add_model_options, load_classifier
from .parser import non_negative_float, port, positive_float, positive_int

#: Carries the parsed options to the worker processes of ``--workers N``.
_ARGS_ENV = "ZEROCLASS_SERVE_ARGS"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="run the HTTP service: playground, classify API, HF-compatible route, metrics",
        description=(
            "Serve a model over HTTP with dynamic micro-batching. Playground at /, API docs at /docs. "
            "--max-batch-tokens is both the backend's per-forward-pass budget and the micro-batch budget."
        ),
    )
    server = parser.add_argument_group("server")
    server.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1, this machine only)")
    server.add_argument("--port", type=port, default=8000, help="default: 8000")
    server.add_argument("--workers", type=positive_int, default=1, help="server processes, each with its own model (default: 1)")
    server.add_argument(
        "--api-key-env", metavar="VAR",
        help="require the API key held in environment variable VAR (Authorization: Bearer KEY or X-API-Key: KEY)",
    )
    server.add_argument(
        "--allowed-host", action="append", default=[], metavar="NAME",
        help="also answer requests whose Host header is NAME (repeatable; '*' for any). Bound to a loopback "
        "address the server answers only to localhost, 127.0.0.1 and ::1, against DNS rebinding",
    )
    server.add_argument("--max-wait-ms", type=non_negative_float, default=5.0, help="longest wait for a micro-batch to fill (default: 5)")
    server.add_argument("--max-batch-requests", type=positive_int, help="most requests per micro-batch (default: no cap; 1 turns batching off)")
    server.add_argument("--max-queue", type=positive_int, default=256, help="waiting requests before 503 + Retry-After (default: 256)")
    limits = parser.add_argument_group("limits (over one: 413 or 422 naming it)")
    limits.add_argument("--max-body-bytes", type=positive_int, default=1 << 20, help="default: 1048576")
    limits.add_argument("--max-texts", type=positive_int, default=64, help="texts per request (default: 64)")
    limits.add_argument("--max-labels", type=positive_int, default=64, help="candidate labels per text (default: 64)")
    limits.add_argument("--max-text-chars", type=positive_int, default=20_000, help="characters per text (default: 20000)")
    server.add_argument(
        "--template", dest="hypothesis_template", action="append",
        help="default hypothesis template with one {} (a request's own wins); repeat for an ensemble (scores averaged)",
    )
    timeouts = parser.add_argument_group("timeouts (slow or idle clients, shutdown), in seconds")
    timeouts.add_argument("--header-timeout", type=positive_float, default=10.0, metavar="S",
                          help="to send a request's headers, from connect or the previous response (default: 10)")
    timeouts.add_argument("--body-timeout", type=positive_float, default=30.0, metavar="S",
                          help="to send a request's body once its headers are in; 408 after (default: 30)")
    timeouts.add_argument("--keep-alive-timeout", type=positive_float, default=5.0, metavar="S",
                          help="an idle keep-alive connection stays open (default: 5)")
    timeouts.add_argument("--shutdown-timeout", type=positive_float, default=30.0, metavar="S",
                          help="SIGTERM waits for requests in flight, then cancels them (default: 30)")
    add_model_options(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    try:
        import uvicorn
    except ImportError as exc:
        raise InputError(f"zeroclass serve needs {exc.name}: pip install 'zeroclass[server]'") from exc
    from ..server.connections import GracefulServer, uvicorn_options

    settings = _settings(args)  # fail on bad options before loading a model
    if args.workers > 1:
        os.environ[_ARGS_ENV] = json.dumps({k: v for k, v in vars(args).items() if k != "run"})
        uvicorn.run(
            f"{__name__}:app_from_env", factory=True, host=args.host, port=args.port, workers=args.workers,
            **uvicorn_options(settings),
        )
        return 0
    from ..server import create_app

    app = create_app(load_classifier(args), settings)
    # uvicorn shuts down gracefully on SIGTERM, then re-raises the signal
    # against the handler it found; with this one that ends in exit 0.
    signal.signal(signal.SIGTERM, lambda signum, frame: None)
    GracefulServer(uvicorn.Config(app, host=args.host, port=args.port, **uvicorn_options(settings))).run()
    return 0


def app_from_env() -> Any:
    """The app of one ``--workers`` process, built from the options its parent parsed."""
    from ..server import create_app

    args = argparse.Namespace(**json.loads(os.environ[_ARGS_ENV]))
    return create_app(load_classifier(args), _settings(args))


def _allowed_hosts(bound: str, extra: list[str]) -> tuple[str, ...] | None:
    """The Host names to answer to: the loopback names (and ``extra``) when bound to a loopback
    address; any when bound elsewhere (the server was exposed on purpose) unless ``extra`` names some."""
    import ipaddress

    from ..server.settings import LOOPBACK_HOSTS

    try:
        loopback = bound == "localhost" or ipaddress.ip_address(bound).is_loopback
    except ValueError:
        loopback = False
    if loopback:
        return (*LOOPBACK_HOSTS, *extra)
    return (bound, *extra) if extra else None


def _settings(args: argparse.Namespace) -> Any:
    from ..server import ServerSettings

    api_key = None
    if args.api_key_env:
        api_key = os.environ.get(args.api_key_env)
        if not api_key:
            raise InputError(f"--api-key-env {args.api_key_env}: that environment variable is unset or empty")
    try:
        return ServerSettings(
            max_body_bytes=args.max_body_bytes,
            max_texts=args.max_texts,
            max_labels=args.max_labels,
            max_text_chars=args.max_text_chars,
            max_batch_tokens=args.max_batch_tokens,
            max_batch_requests=args.max_batch_requests,
            max_wait_ms=args.max_wait_ms,
            max_queue=args.max_queue,
            api_key=api_key,
            header_timeout_s=args.header_timeout,
            body_timeout_s=args.body_timeout,
            keep_alive_timeout_s=args.keep_alive_timeout,
            shutdown_timeout_s=args.shutdown_timeout,
            allowed_hosts=_allowed_hosts(args.host, args.allowed_host),
        )
    except ValueError as exc:
        raise InputError(f"bad server option: {exc} (see zeroclass serve --help)") from None
