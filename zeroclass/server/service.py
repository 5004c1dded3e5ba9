"""What the routes share: the classifier, its micro-batcher, the metrics, and readiness.

One :class:`Service` per app, kept on ``app.state.service``; the routes get
it as a FastAPI dependency (:func:`service`), so routers are plain factories
with no state of their own.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from fastapi import Request

from ..classifier import ZeroShotClassifier
from ..hypotheses import Labels
from ..result import ClassificationResult
from .batcher import MicroBatcher
from .limits import check_request
from .metrics import Metrics
from .settings import ServerSettings

__all__ = ["Service", "ClientGone", "service", "DEFAULT_BATCH_TOKENS"]

logger = logging.getLogger("zeroclass.server")

#: Fallback micro-batch budget for backends that do not report their own.
DEFAULT_BATCH_TOKENS = 8192

T = TypeVar("T")


class ClientGone(Exception):
    """The client disconnected while its request waited for the model."""


@dataclass
class Service:
    """The classifier behind the routes, with its batcher, metrics and readiness."""

    classifier: ZeroShotClassifier
    settings: ServerSettings
    batcher: MicroBatcher
    metrics: Metrics
    ready: bool = False
    status: str = "warming up"
    #: The model's name as a response can carry it: a folder name that is not valid UTF-8
    #: reaches Python as lone surrogates, which no response can encode.
    model_name: str = field(init=False)

    def __post_init__(self) -> None:
        self.model_name = public_name(self.classifier.model_name).encode("utf-8", "backslashreplace").decode("utf-8")

    @classmethod
    def build(cls, classifier: ZeroShotClassifier, settings: ServerSettings) -> "Service":
        metrics = Metrics()
        batcher = MicroBatcher(
            classifier,
            max_batch_tokens=settings.max_batch_tokens or classifier.max_batch_tokens or DEFAULT_BATCH_TOKENS,
            max_batch_requests=settings.max_batch_requests,
            max_wait_s=settings.max_wait_ms / 1000,
            max_queue=settings.max_queue,
            metrics=metrics,
        )
        return cls(classifier, settings, batcher, metrics)

    async def classify(
        self, request: Request, texts: Any, labels: Labels, multi_label: bool, template: str | None, explain: bool,
        shortlist: int | None = None,
    ) -> list[ClassificationResult]:
        """One request's results, scored in a micro-batch with the requests that arrive with it.

        Every input error is raised before the request is queued; a
        request whose client leaves is taken out of the queue. The caps are
        checked on the request as received, before anything proportional to
        texts x labels exists; the call is then prepared (pairs, language
        detection, a shortlist's ranking) off the event loop, once.
        """
        check_request(texts, labels, self.settings)
        call = await asyncio.to_thread(
            self.classifier.prepare, texts, labels, multi_label=multi_label, hypothesis_template=template,
            explain=explain, shortlist=shortlist,
        )
        return await _unless_client_leaves(request, self.batcher.submit(call))

    def begin_shutdown(self) -> None:
        """The server was told to stop (SIGTERM): refuse new work, and answer what is still waiting
        with a JSON 503 shortly before ``shutdown_timeout_s`` runs out (see ``MicroBatcher.begin_shutdown``)."""
        self.ready, self.status = False, "shutting down"
        timeout = self.settings.shutdown_timeout_s
        self.batcher.begin_shutdown(max(0.0, timeout - min(1.0, timeout / 5)))

    async def warm_up(self) -> None:
        """Score one small call through the batcher, so the first client does not pay for lazy initialisation."""
        try:
            await self.batcher.submit(self.classifier.prepare(["warm up"], ["a", "b"]))
        except Exception:  # noqa: BLE001 - reported by /readyz and the log, the process stays up for /healthz
            logger.exception("zeroclass: warm-up failed; /readyz will answer 503")
            self.status = "warm-up failed"
            return
        self.ready, self.status = True, "ready"


def public_name(name: str) -> str:
    """What the server tells clients the model is: a hub id as it is, a local folder by its own
    name only (``/healthz`` is public: the server's directory layout is nobody's business)."""
    path = Path(name)
    if path.is_absolute() or name.startswith((".", "~")) or path.exists():
        return path.name or name
    return name


def service(request: Request) -> Service:
    """The app's :class:`Service`: the dependency every route takes."""
    return request.app.state.service


async def _unless_client_leaves(request: Request, work: Awaitable[T]) -> T:
    """Await ``work``, cancelling it if the client disconnects first.

    Starlette does not stop a handler whose client has gone; without this, a
    request queued behind slow ones would still be scored for nobody.
    Cancelling ``MicroBatcher.submit`` takes the request out of the queue.
    """
    task = asyncio.ensure_future(work)
    watcher = asyncio.ensure_future(_disconnected(request))
    try:
        await asyncio.wait({task, watcher}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        watcher.cancel()
        if not task.done():
            task.cancel()
            # cancel() only asks: wait for the task to take it, so its result is never read unset.
            await asyncio.wait({task})
    if task.cancelled():
        raise ClientGone("the client disconnected before its answer")
    return task.result()


async def _disconnected(request: Request) -> None:
    """Return once the client has gone (the ASGI ``http.disconnect`` message), the body having been read."""
    while (await request.receive())["type"] != "http.disconnect":
        pass
