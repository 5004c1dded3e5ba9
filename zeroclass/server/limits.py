"""Caps on what one request may ask for, checked before anything is queued."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from ..classifier import PreparedCall
from ..errors import InputError
from .metrics import ASGIApp, Message, Scope
from .settings import ServerSettings

__all__ = ["BodyLimitMiddleware", "LimitError", "check_call"]


class LimitError(InputError):
    """A request is well formed but over one of the server's caps."""


def check_call(call: PreparedCall, settings: ServerSettings) -> None:
    """Refuse a validated call that is over a cap, naming the cap and the offender."""
    if len(call.texts) > settings.max_texts:
        raise LimitError(f"{len(call.texts)} texts in one request; this server takes at most max_texts={settings.max_texts}")
    for i, text in enumerate(call.texts):
        if len(text) > settings.max_text_chars:
            raise LimitError(
                f"text {i} has {len(text)} characters; this server takes at most max_text_chars={settings.max_text_chars}"
            )
    for i, labels in enumerate(call.label_sets):
        if len(labels) > settings.max_labels:
            raise LimitError(
                f"{len(labels)} candidate labels for text {i}; this server takes at most max_labels={settings.max_labels}"
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


class _TooLarge(Exception):
    """A streamed body went past ``max_bytes``."""
