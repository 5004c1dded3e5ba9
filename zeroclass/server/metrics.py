"""Prometheus metrics of one app, and the ASGI middleware that records requests.

Each app gets its own registry, so several apps in one process (tests, or an
app mounted inside another) never share or clash over counters.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

__all__ = ["Metrics", "MetricsMiddleware", "CLIENT_CLOSED"]

#: Status recorded for a request whose client went away before its answer (nginx's "client closed request").
CLIENT_CLOSED = 499

_SIZE_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192)
#: The HTTP methods that get their own series; any other (a client may send any token) counts as "other".
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT"})


class Metrics:
    """The counters, histograms and gauges ``/metrics`` exposes."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        labels = ("route", "method", "status")
        self.requests = Counter(
            "zeroclass_http_requests", "HTTP requests answered", labels, registry=self.registry
        )
        self.latency = Histogram(
            "zeroclass_http_request_duration_seconds", "Time to answer an HTTP request", labels, registry=self.registry
        )
        self.batch_requests = Histogram(
            "zeroclass_batch_requests", "Requests scored together in one micro-batch",
            buckets=_SIZE_BUCKETS, registry=self.registry,
        )
        self.batch_pairs = Histogram(
            "zeroclass_batch_pairs", "Distinct (text, hypothesis) pairs in one micro-batch",
            buckets=_SIZE_BUCKETS, registry=self.registry,
        )
        self.queue_depth = Gauge(
            "zeroclass_queue_depth", "Requests waiting for the model", registry=self.registry
        )
        self.pairs_scored = Counter(
            "zeroclass_pairs_scored", "Distinct (text, hypothesis) pairs the model scored", registry=self.registry
        )
        self.abandoned = Counter(
            "zeroclass_abandoned_requests", "Queued requests dropped unscored because their client went away",
            registry=self.registry,
        )

    def render(self) -> tuple[bytes, str]:
        """The exposition text and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class MetricsMiddleware:
    """Counts and times every HTTP request by route template, method and status.

    Every label takes its values from a fixed set, so no client can grow
    ``/metrics`` (each new label value is a new series, kept for the life of
    the process): the route *template* (``/hf-inference/models/{model_id}``),
    never the raw path, with unmatched paths sharing ``"unmatched"``; the
    standard methods, with any other sharing ``"other"``; and the status,
    which the app chooses.
    """

    def __init__(self, app: ASGIApp, metrics: Metrics, routes: Sequence[Any] = ()) -> None:
        self.app = app
        self.metrics = metrics
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status, started = 500, False  # 500: what the client sees if the app dies before answering

        async def record_status(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                status, started = message["status"], True
            await send(message)

        try:
            await self.app(scope, receive, record_status)
            if not started:  # the app returned without answering: the client left (mid-body, say)
                status = CLIENT_CLOSED
        finally:
            method = scope["method"] if scope["method"] in _METHODS else "other"
            labels = (self._route(scope), method, str(status))
            self.metrics.requests.labels(*labels).inc()
            self.metrics.latency.labels(*labels).observe(time.perf_counter() - start)

    def _route(self, scope: Scope) -> str:
        """The matched route's template; for a request refused before routing (413), the one it was for."""
        route = scope.get("route")
        if route is None:
            route = next((r for r in self.routes if r.matches(scope)[0] is not Match.NONE), None)
        return getattr(route, "path", "unmatched")
