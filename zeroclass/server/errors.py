"""Error mapping: every failure a client can cause becomes a 4xx with a JSON body that names it.

The body is ``{"error": "..."}`` (plus ``detail`` for validation errors),
the shape Hugging Face's Inference API uses, so its clients show the
message. A 5xx means a bug or an overloaded server, never bad input.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from ..errors import InputError
from ..hypotheses import preview
from .batcher import QueueFullError, ShuttingDownError
from .metrics import CLIENT_CLOSED
from .service import ClientGone

__all__ = ["add_error_handlers", "RETRY_AFTER_S"]

logger = logging.getLogger("zeroclass.server")

#: Seconds a client is asked to wait after a 503.
RETRY_AFTER_S = 1
#: Most validation problems listed in one 422 body (a 1 MiB list of numbers has thousands).
MAX_DETAIL = 20


class SafeJSONResponse(JSONResponse):
    """JSON with every non-ASCII character escaped: any Python string encodes, a lone surrogate included.

    Used for error bodies, which quote what the client sent; a 500 raised
    while rendering the 422 would hide the real problem.
    """

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, separators=(",", ":")).encode("ascii")


def _error(status: int, message: str, headers: dict[str, str] | None = None, **extra: Any) -> JSONResponse:
    return SafeJSONResponse({"error": message, **extra}, status_code=status, headers=headers)


def add_error_handlers(app: FastAPI) -> None:
    """Map every exception a request can raise to its status and JSON body."""
    retry = {"Retry-After": str(RETRY_AFTER_S)}

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        detail = [_describe(error) for error in errors[:MAX_DETAIL]]
        if "json" not in request.headers.get("content-type", ""):
            detail.insert(0, {"field": "body", "message": "send JSON with the header Content-Type: application/json"})
        total = len(errors) + len(detail) - min(len(errors), MAX_DETAIL)
        headline = "; ".join(f"{d['field']}: {d['message']}" for d in detail[:3])
        if total > 3:
            headline += f" (and {total - 3} more)"
        return _error(422, headline, detail=detail)

    @app.exception_handler(InputError)
    async def bad_input(request: Request, exc: InputError) -> JSONResponse:
        return _error(422, str(exc))

    @app.exception_handler(QueueFullError)
    async def queue_full(request: Request, exc: QueueFullError) -> JSONResponse:
        return _error(503, f"server busy: {exc}; retry in {RETRY_AFTER_S}s", headers=retry)

    @app.exception_handler(ShuttingDownError)
    async def shutting_down(request: Request, exc: ShuttingDownError) -> JSONResponse:
        return _error(503, str(exc), headers=retry)

    @app.exception_handler(ClientGone)
    async def client_gone(request: Request, exc: ClientGone) -> JSONResponse:
        return _error(CLIENT_CLOSED, str(exc))  # nobody reads it; /metrics counts it

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        unparsable = _unparsable_body(exc)
        if unparsable:
            return _error(422, unparsable, detail=[{"field": "body", "message": unparsable}])
        return _error(exc.status_code, str(exc.detail), headers=exc.headers)

    @app.exception_handler(Exception)
    async def server_error(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("zeroclass: internal error answering %s %s", request.method, request.url.path)
        return _error(500, f"internal error ({type(exc).__name__}); the server log has the details")


def _unparsable_body(exc: HTTPException) -> str | None:
    """Why FastAPI could not parse a body it answered 400 for, as a message for the documented 422; else ``None``.

    FastAPI turns only JSON syntax errors into validation errors; a body that
    is not UTF-8, nests deeper than Python's recursion limit, or holds an
    integer past Python's digit limit gets a bare 400, raised from the cause.
    """
    cause = exc.__cause__
    if exc.status_code != 400 or cause is None:
        return None
    if isinstance(cause, UnicodeDecodeError):
        return f"body is not valid UTF-8 (byte {cause.start}: {cause.reason}); send JSON encoded as UTF-8"
    if isinstance(cause, RecursionError):
        return "body nests arrays or objects too deeply to parse"
    return f"body could not be parsed as JSON: {preview(str(cause))}"


def _describe(error: dict[str, Any]) -> dict[str, str]:
    """One pydantic error as ``{"field": "texts.2", "message": ...}``; JSON syntax errors say where."""
    # A location part can be a key the client made up (an unknown field): bounded, and printable.
    loc = [str(part) if isinstance(part, int) else _bounded(str(part)) for part in error.get("loc", ()) if part != "body"]
    if error.get("type") == "json_invalid":
        reason = (error.get("ctx") or {}).get("error", "not valid JSON")
        return {"field": "body", "message": f"malformed JSON at character {loc[0] if loc else '?'}: {reason}"}
    return {"field": ".".join(loc) or "body", "message": _bounded(error.get("msg", "invalid"), 300)}


def _bounded(text: str, limit: int = 80) -> str:
    """``text`` itself when short and printable, else its cut ``repr``."""
    return text if len(text) <= limit and text.isprintable() else preview(text)
