"""Caps on what one request may ask for, checked before anything is queued."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from ..errors import InputError
from ..hypotheses import labels_per_text
from .metrics import ASGIApp, Message, Scope
from .settings import ServerSettings

__all__ = ["BodyLimitMiddleware", "HostCheckMiddleware", "LimitError", "check_request"]


class LimitError(InputError):
    """A request is well formed but over one of the server's caps."""


def check_request(texts: Any, labels: Any, settings: ServerSettings) -> None:
    """Refuse a request over a cap, naming the cap and the offender, from the request as received.

    Runs before anything proportional to texts x labels is built (pairs,
    hypotheses, per-text language detection): counts first, then sizes, then
    the labels, parsed as the call parses them (linear in the body, which
    ``max_body_bytes`` bounds). Malformed input passes through here untouched
    and gets the call's own error.
    """
    items = [texts] if isinstance(texts, str) else texts
    if not isinstance(items, list):
        return
    if len(items) > settings.max_texts:
        raise LimitError(f"{len(items)} texts in one request; this server takes at most max_texts={settings.max_texts}")
    for i, text in enumerate(items):
        if isinstance(text, str) and len(text) > settings.max_text_chars:
            raise LimitError(
                f"text {i} has {len(text)} characters; this server takes at most max_text_chars={settings.max_text_chars}"
            )
    try:
        label_sets = labels_per_text(labels, len(items))
    except InputError:
        return
    for i, chosen in enumerate(label_sets):
        if len(chosen) > settings.max_labels:
            raise LimitError(
                f"{len(chosen)} candidate labels for text {i}; this server takes at most max_labels={settings.max_labels}"
            )


class BodyLimitMiddleware:
    """Reads each request's body whole, bounded in size (413) and in time (408), before the app sees it.

    Starlette reads whole bodies into memory, so the cap sits in front of it,
    never reading past ``max_bytes``; a client that sends part of a body and
    then stalls would otherwise hold its connection, and the shutdown, for as
    long as it likes. Both answers are in the service's own error shape,
    naming the cap; the body read here is handed on unchanged.
    """

    def __init__(self, app: ASGIApp, max_bytes: int, timeout_s: float = 30.0) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.timeout_s = timeout_s

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(send, 413, f"request body is {int(declared)} bytes; {self._cap}")
            return
        try:
            body = await asyncio.wait_for(self._read(receive), self.timeout_s)
        except asyncio.TimeoutError:
            await self._refuse(
                send, 408, f"request body not received within {self.timeout_s:g} s (this server's body_timeout_s)"
            )
            return
        except _TooLarge:
            await self._refuse(send, 413, f"request body is over {self.max_bytes} bytes; {self._cap}")
            return
        if body is None:  # the client went away
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    @property
    def _cap(self) -> str:
        return f"this server takes at most max_body_bytes={self.max_bytes}"

    async def _read(self, receive: Any) -> bytes | None:
        """The whole body, or ``None`` if the client disconnected; ``_TooLarge`` past the cap."""
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return None
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            more = message.get("more_body", False)
            if size > self.max_bytes:
                raise _TooLarge
        return b"".join(chunks)

    @staticmethod
    async def _refuse(send: Any, status: int, message: str) -> None:
        payload = json.dumps({"error": message}).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
        if status == 408:  # the rest of the body may still come: this connection cannot carry another request
            headers.append((b"connection", b"close"))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})


class HostCheckMiddleware:
    """Answers 403 to a request whose ``Host`` header names a host not in ``allowed``.

    A page on another site can make a browser send requests to a local
    server by pointing its own name at 127.0.0.1 (DNS rebinding); the
    browser then sends that name as ``Host``. Accepting only the names the
    server is bound to, as Jupyter does, closes that door; ``"*"`` accepts any.
    """

    def __init__(self, app: ASGIApp, allowed: tuple[str, ...]) -> None:
        self.app = app
        self.allowed = frozenset(allowed)

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or "*" in self.allowed:
            await self.app(scope, receive, send)
            return
        raw = dict(scope["headers"]).get(b"host", b"").decode("latin-1")
        if host_name(raw) in self.allowed:
            await self.app(scope, receive, send)
            return
        shown = raw[:100].encode("ascii", "backslashreplace").decode("ascii")
        payload = json.dumps({"error": f"Host {shown!r} is not a name this server answers to "
                                       f"({', '.join(sorted(self.allowed))}); start it with --allowed-host NAME to add one"}).encode()
        await send({"type": "http.response.start", "status": 403,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]})
        await send({"type": "http.response.body", "body": payload})


def host_name(host: str) -> str:
    """``host`` without its port, lower-cased: ``[::1]:8000`` -> ``::1``, ``Example.com:80`` -> ``example.com``."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


class _TooLarge(Exception):
    """A streamed body went past ``max_bytes``."""
