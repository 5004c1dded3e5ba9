"""The FastAPI app: routes, error mapping, lifecycle.

Every failure a client can cause is a 4xx whose JSON body is
``{"error": "..."}`` naming what was wrong (the field, the text, the label or
the cap), the shape Hugging Face's Inference API uses, so its clients show
the message. A 5xx means a bug or an overloaded server, never bad input.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from contextlib import asynccontextmanager
from importlib.resources import files
from typing import Any, AsyncIterator

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from fastapi_offline import FastAPIOffline
from starlette.exceptions import HTTPException

from .. import __version__
from ..classifier import ZeroShotClassifier
from ..errors import InputError
from ..hypotheses import Labels
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
    metrics = Metrics()
    batcher = MicroBatcher(
        classifier,
        max_batch_tokens=settings.max_batch_tokens
        or getattr(classifier.backend, "max_batch_tokens", None)
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
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(MetricsMiddleware, metrics=metrics, routes=app.router.routes)
    _add_error_handlers(app)
    auth = [Depends(_api_key_check(settings.api_key))] if settings.api_key else []

    async def classify_texts(
        texts: Any, labels: Labels, multi_label: bool, template: str | None, explain: bool, shortlist: int | None = None
    ) -> list[ClassificationResult]:
        options = dict(multi_label=multi_label, hypothesis_template=template, explain=explain)
        call = classifier.prepare(texts, labels, **options)
        check_call(call, settings)
        if shortlist is not None:
            # Ranking labels runs the embedding model: only once the caps passed, and off the event loop.
            call = await asyncio.to_thread(classifier.prepare, texts, labels, shortlist=shortlist, **options)
        return await batcher.submit(call)

    page = files(__package__).joinpath("static/index.html").read_text(encoding="utf-8")

    @app.get("/", include_in_schema=False)
    async def playground() -> HTMLResponse:
        return HTMLResponse(page)

    @app.get("/healthz", response_model=Status, summary="Alive")
    async def healthz() -> JSONResponse:
        return JSONResponse({"status": "ok", "model": classifier.model_name})

    @app.get(
        "/readyz",
        response_model=Status,
        summary="Model loaded and warmed up",
        responses={503: {"model": Status, "description": "Warming up or shutting down"}},
    )
    async def readyz() -> JSONResponse:
        return JSONResponse(
            {"status": state["status"], "model": classifier.model_name}, status_code=200 if state["ready"] else 503
        )

    @app.get("/metrics", summary="Prometheus metrics", response_class=Response)
    async def prometheus() -> Response:
        body, content_type = metrics.render()
        return Response(body, media_type=content_type)

    @app.post(
        "/v1/classify", response_model=ClassifyResponse, responses=_ERRORS, dependencies=auth, summary="Classify texts"
    )
    async def classify(body: ClassifyRequest) -> JSONResponse:
        results = await classify_texts(
            body.text if body.text is not None else body.texts,
            body.candidate_labels,
            body.multi_label,
            body.hypothesis_template,
            body.explain,
            body.shortlist,
        )
        return JSONResponse({"model": classifier.model_name, "results": results})

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
    async def hf_inference(model_id: str, body: HFRequest) -> JSONResponse:
        params = body.parameters
        results = await classify_texts(
            body.inputs, params.candidate_labels, bool(params.multi_label), params.hypothesis_template, False
        )
        outputs = [[{"label": l, "score": s} for l, s in zip(r["labels"], r["scores"])] for r in results]
        return JSONResponse(
            outputs[0] if isinstance(body.inputs, str) else outputs,
            headers={"X-Zeroclass-Model": classifier.model_name},
        )

    return app


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
    expected = key.encode()

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
        if not hmac.compare_digest(supplied.encode(), expected):
            raise HTTPException(401, "wrong API key", headers={"WWW-Authenticate": "Bearer"})

    return require_api_key


def _error(status: int, message: str, headers: dict[str, str] | None = None, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": message, **extra}, status_code=status, headers=headers)


def _add_error_handlers(app: FastAPI) -> None:
    retry = {"Retry-After": str(RETRY_AFTER_S)}

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        detail = [_describe(error) for error in exc.errors()]
        if "json" not in request.headers.get("content-type", ""):
            detail.insert(0, {"field": "body", "message": "send JSON with the header Content-Type: application/json"})
        headline = "; ".join(f"{d['field']}: {d['message']}" for d in detail[:3])
        if len(detail) > 3:
            headline += f" (and {len(detail) - 3} more)"
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

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        return _error(exc.status_code, str(exc.detail), headers=exc.headers)

    @app.exception_handler(Exception)
    async def server_error(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("zeroclass: internal error answering %s %s", request.method, request.url.path)
        return _error(500, f"internal error: {type(exc).__name__}: {exc}")


def _describe(error: dict[str, Any]) -> dict[str, str]:
    """One pydantic error as ``{"field": "texts.2", "message": ...}``; JSON syntax errors say where."""
    loc = [str(part) for part in error.get("loc", ()) if part != "body"]
    if error.get("type") == "json_invalid":
        reason = (error.get("ctx") or {}).get("error", "not valid JSON")
        return {"field": "body", "message": f"malformed JSON at character {loc[0] if loc else '?'}: {reason}"}
    return {"field": ".".join(loc) or "body", "message": error.get("msg", "invalid")}
