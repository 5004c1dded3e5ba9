"""Slow and idle clients, and stopping: connection timeouts as uvicorn options, a protocol class, a server class.

uvicorn times out a keep-alive connection only after a response: a
connection that never sends anything, or sends half its headers a byte at a
time (slowloris), is held for as long as the client likes, and enough of
them exhaust the process's sockets. :class:`TimedH11Protocol` is uvicorn's
h11 protocol plus a deadline for each request's headers. A body that never
finishes is bounded in the app instead (``limits.BodyLimitMiddleware``), and
requests still running at shutdown by ``shutdown_timeout_s``.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from .settings import ServerSettings

__all__ = ["GracefulServer", "TimedH11Protocol", "uvicorn_options"]

_REQUEST_TIMEOUT = b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"


class TimedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol; closes a connection whose request headers are not all in after ``header_timeout_s``.

    The clock starts when the connection opens and again when the first byte
    of a following request arrives, and does not restart with each byte, so
    trickling bytes buys nothing. A client that sent part of a request gets
    a 408 before the close; one that sent nothing is just closed.
    """

    def __init__(self, *args: Any, header_timeout_s: float = 10.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.header_timeout_s = header_timeout_s
        self._header_timer: asyncio.TimerHandle | None = None
        self._got_bytes = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._start_clock()

    def data_received(self, data: bytes) -> None:
        if self.conn.their_state is h11.IDLE:
            self._got_bytes = True
            if self._header_timer is None:  # the first bytes of a following request on a kept-alive connection
                self._start_clock()
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:  # the headers are in: the app bounds the body
            self._stop_clock()
            self._got_bytes = False

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_clock()
        super().connection_lost(exc)

    def _start_clock(self) -> None:
        self._stop_clock()
        self._header_timer = self.loop.call_later(self.header_timeout_s, self._headers_too_slow)

    def _stop_clock(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        if self.conn.their_state is not h11.IDLE or self.transport.is_closing():
            return
        if self._got_bytes:
            self.transport.write(_REQUEST_TIMEOUT)
        self.transport.close()


def uvicorn_options(settings: ServerSettings) -> dict[str, Any]:
    """The keyword arguments of ``uvicorn.run`` that apply ``settings``' connection timeouts."""
    return {
        # A partial of a module-level class, so ``--workers N`` can pickle it to its processes.
        "http": functools.partial(TimedH11Protocol, header_timeout_s=settings.header_timeout_s),
        "timeout_keep_alive": settings.keep_alive_timeout_s,
        "timeout_graceful_shutdown": settings.shutdown_timeout_s,
    }


class GracefulServer(uvicorn.Server):
    """uvicorn's server, telling the service the moment a stop is asked for (SIGTERM, SIGINT).

    uvicorn then waits ``shutdown_timeout_s`` for the requests in flight and
    cancels the rest with a plain-text 500; told at once, the service answers
    every request still waiting for the model with its JSON 503 (and
    ``Retry-After``) just before that, and takes no new work meanwhile.
    """

    def handle_exit(self, sig: int, frame: Any) -> None:
        self.config.app.state.service.begin_shutdown()
        super().handle_exit(sig, frame)
