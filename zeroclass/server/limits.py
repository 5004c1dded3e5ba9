"""Caps on what one request may ask for, checked before anything is queued."""

from __future__ import annotations

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
    """Answers 413 to a body over ``max_bytes``, declared or streamed, without reading past the cap.

    Starlette reads whole bodies into memory, so the cap sits in front of it,
    and answers in the service's own error shape, naming the cap; the body
    read here is handed on unchanged.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(send, f"{int(declared)} bytes")
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            more = message.get("more_body", False)
            if size > self.max_bytes:
                await self._refuse(send, f"over {self.max_bytes} bytes")
                return
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, send: Any, size: str) -> None:
        payload = json.dumps(
            {"error": f"request body is {size}; this server takes at most max_body_bytes={self.max_bytes}"}
        ).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": payload})
