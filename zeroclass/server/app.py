"""The FastAPI app: routes, error mapping, lifecycle.

Every failure a client can cause is a 4xx whose JSON body is
``{"error": "..."}`` naming what was wrong (the field, the text, the label or
the cap), the shape Hugging Face's Inference API uses, so its clients show
the message. A 5xx means a bug or an overloaded server, never bad input.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections.abc import Awaitable
from contextlib import asynccontextmanager
from importlib.resources import files
from typing import Any, AsyncIterator, TypeVar
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from fastapi_offline import FastAPIOffline
from starlette.exceptions import HTTPException

from .. import __version__
from ..classifier import ZeroShotClassifier
from ..errors import InputError
from ..hypotheses import Labels, preview
from ..result import ClassificationResult
from .batcher import MicroBatcher, QueueFullError, ShuttingDownError
from .limits import BodyLimitMiddleware, check_call
from .metrics import Metrics, MetricsMiddleware
from .schemas import ClassifyRequest, ClassifyResponse, ErrorResponse, HFLabelScore, HFRequest, Status
from .settings import ServerSettings

__all__ = ["create_app"]

logger = logging.getLogger("zeroclass.server")

#: Seconds a client is asked to wait after a 503.
RETRY_AFTER_S = 1
#: Fallback micro-batch budget for backends that do not report their own.
DEFAULT_BATCH_TOKENS = 8192
#: Most validation problems listed in one 422 body (a 1 MiB list of numbers has thousands).
MAX_DETAIL = 20
#: Status recorded for a request whose client went away before its answer (nginx's "client closed request").
CLIENT_CLOSED = 499
#: What a header value keeps as is: printable ASCII but ``%``; the rest is percent-encoded UTF-8.
_HEADER_SAFE = "".join(chr(c) for c in range(0x21, 0x7F) if chr(c) != "%")

T = TypeVar("T")


class ClientGone(Exception):
    """The client disconnected while its request waited for the model."""


class SafeJSONResponse(JSONResponse):
    """JSON with every non-ASCII character escaped: any Python string encodes, a lone surrogate included.

    Used for error bodies, which quote what the client sent; a 500 raised
    while rendering the 422 would hide the real problem.
    """

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, separators=(",", ":")).encode("ascii")

_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse, "description": text}
    for code, text in {
        401: "API key missing or wrong (only when the server requires one)",
        413: "Request body over max_body_bytes",
        422: "Malformed JSON, a wrong type, a bad text/label/template, or over a cap",
        503: "Queue full or shutting down; see Retry-After",
    }.items()
}


def create_app(classifier: ZeroShotClassifier, settings: ServerSettings | None = None) -> FastAPI:
    """A ready-to-serve ASGI app for ``classifier`` (run it with uvicorn)."""
    settings = settings or ServerSettings()
    # A folder name that is not valid UTF-8 reaches Python as lone surrogates, which no response can encode.
    model_name = classifier.model_name.encode("utf-8", "backslashreplace").decode("utf-8")
    metrics = Metrics()
    batcher = MicroBatcher(
        classifier,
        max_batch_tokens=settings.max_batch_tokens
        or classifier.max_batch_tokens
        or DEFAULT_BATCH_TOKENS,
        max_batch_requests=settings.max_batch_requests,
        max_wait_s=settings.max_wait_ms / 1000,
        max_queue=settings.max_queue,
        metrics=metrics,
    )
    state = {"ready": False, "status": "warming up"}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        batcher.start()
        warm_up = asyncio.create_task(_warm_up(classifier, batcher, state))
        try:
            yield
        finally:
            state.update(ready=False, status="shutting down")
            warm_up.cancel()
            await asyncio.to_thread(batcher.close)

    # /docs (Swagger UI) and /redoc as FastAPI makes them, but their scripts, styles and favicon come from
    # the fastapi-offline package under /docs-static instead of a CDN, so the docs work offline. Public, like
    # /openapi.json: the API key guards only the classify routes.
    app = FastAPIOffline(
        title="zeroclass",
        version=__version__,
        description="Zero-shot text classification by NLI. Playground at `/`.",
        lifespan=lifespan,
        static_url="/docs-static",
    )
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes, timeout_s=settings.body_timeout_s)
    app.add_middleware(MetricsMiddleware, metrics=metrics, routes=app.router.routes)
    _add_error_handlers(app)
    auth = [Depends(_api_key_check(settings.api_key))] if settings.api_key else []

    async def classify_texts(
        request: Request, texts: Any, labels: Labels, multi_label: bool, template: str | None, explain: bool,
        shortlist: int | None = None,
    ) -> list[ClassificationResult]:
        options = dict(multi_label=multi_label, hypothesis_template=template, explain=explain)
        call = classifier.prepare(texts, labels, **options)
        check_call(call, settings)
        if shortlist is not None:
            # Ranking labels runs the embedding model: only once the caps passed, and off the event loop.
            call = await asyncio.to_thread(classifier.prepare, texts, labels, shortlist=shortlist, **options)
        return await _unless_client_leaves(request, batcher.submit(call))

    page = files(__package__).joinpath("static/index.html").read_text(encoding="utf-8")

    @app.get("/", include_in_schema=False)
    async def playground() -> HTMLResponse:
        return HTMLResponse(page)

    @app.get("/healthz", response_model=Status, summary="Alive")
    async def healthz() -> JSONResponse:
        return JSONResponse({"status": "ok", "model": model_name})

    @app.get(
        "/readyz",
        response_model=Status,
        summary="Model loaded and warmed up",
        responses={503: {"model": Status, "description": "Warming up or shutting down"}},
    )
    async def readyz() -> JSONResponse:
        return JSONResponse(
            {"status": state["status"], "model": model_name}, status_code=200 if state["ready"] else 503
        )

    @app.get("/metrics", summary="Prometheus metrics", response_class=Response)
    async def prometheus() -> Response:
        body, content_type = metrics.render()
        return Response(body, media_type=content_type)

    @app.post(
        "/v1/classify", response_model=ClassifyResponse, responses=_ERRORS, dependencies=auth, summary="Classify texts"
    )
    async def classify(body: ClassifyRequest, request: Request) -> JSONResponse:
        results = await classify_texts(
            request,
            body.text if body.text is not None else body.texts,
            body.candidate_labels,
            body.multi_label,
            body.hypothesis_template,
            body.explain,
            body.shortlist,
        )
        return JSONResponse({"model": model_name, "results": results})

    @app.post(
        "/hf-inference/models/{model_id:path}",
        response_model=list[HFLabelScore] | list[list[HFLabelScore]],
        responses=_ERRORS,
        dependencies=auth,
        summary="Hugging Face Inference API compatible zero-shot classification",
        description=(
            "Same request and response as the Hugging Face Inference API's zero-shot-classification task: "
            "`[{label, score}, ...]` best first for one input, one such list per input for a list. "
            "The model id in the path is not used: the served model answers (see the X-Zeroclass-Model header)."
        ),
    )
    async def hf_inference(model_id: str, body: HFRequest, request: Request) -> JSONResponse:
        params = body.parameters
        results = await classify_texts(
            request,
            body.inputs, params.candidate_labels, bool(params.multi_label), params.hypothesis_template, False
        )
        outputs = [[{"label": l, "score": s} for l, s in zip(r["labels"], r["scores"])] for r in results]
        return JSONResponse(
            outputs[0] if isinstance(body.inputs, str) else outputs,
            # Header values are Latin-1 on the wire: a model folder named in Cyrillic or Chinese is sent
            # percent-encoded (UTF-8), as URLs are; an ASCII name is sent as it is.
            headers={"X-Zeroclass-Model": quote(model_name, safe=_HEADER_SAFE)},
        )

    return app


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
    if task.cancelled():
        raise ClientGone("the client disconnected before its answer")
    return task.result()


async def _disconnected(request: Request) -> None:
    """Return once the client has gone (the ASGI ``http.disconnect`` message), the body having been read."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


async def _warm_up(classifier: ZeroShotClassifier, batcher: MicroBatcher, state: dict[str, Any]) -> None:
    """Score one small call through the batcher, so the first client does not pay for lazy initialisation."""
    try:
        await batcher.submit(classifier.prepare(["warm up"], ["a", "b"]))
    except Exception:  # noqa: BLE001 - reported by /readyz and the log, the process stays up for /healthz
        logger.exception("zeroclass: warm-up failed; /readyz will answer 503")
        state["status"] = "warm-up failed"
        return
    state.update(ready=True, status="ready")


def _api_key_check(key: str) -> Any:
    """A dependency that accepts ``Authorization: Bearer KEY`` (what HF clients send) or ``X-API-Key: KEY``."""
    bearer = HTTPBearer(auto_error=False)
    header = APIKeyHeader(name="X-API-Key", auto_error=False)
    expected = key.encode("utf-8", "surrogateescape")

    async def require_api_key(
        credentials: HTTPAuthorizationCredentials | None = Depends(bearer),
        api_key: str | None = Depends(header),
    ) -> None:
        supplied = credentials.credentials if credentials else api_key
        if not supplied:
            raise HTTPException(
                401,
                "this server needs an API key: send 'Authorization: Bearer KEY' or 'X-API-Key: KEY'",
                headers={"WWW-Authenticate": "Bearer"},
            )
        # Starlette decodes header bytes as Latin-1; encoding back gives the bytes sent, so a UTF-8 key matches.
        if not hmac.compare_digest(supplied.encode("latin-1"), expected):
            raise HTTPException(401, "wrong API key", headers={"WWW-Authenticate": "Bearer"})

    return require_api_key


def _error(status: int, message: str, headers: dict[str, str] | None = None, **extra: Any) -> JSONResponse:
    return SafeJSONResponse({"error": message, **extra}, status_code=status, headers=headers)


def _add_error_handlers(app: FastAPI) -> None:
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
