"""The routes, as router factories: the playground, health and metrics, and the classify API.

Handlers take the app's :class:`~zeroclass.server.service.Service` as a
dependency, so a router holds no state and an app is assembled from them.
"""

from __future__ import annotations

from importlib.resources import files
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from .schemas import ClassifyRequest, ClassifyResponse, ErrorResponse, HFLabelScore, HFRequest, Status
from .service import Service, service

__all__ = ["status_router", "classify_router"]

#: What a header value keeps as is: printable ASCII and inner spaces, but ``%``; the rest is percent-encoded UTF-8.
_HEADER_SAFE = "".join(chr(c) for c in range(0x20, 0x7F) if chr(c) != "%")

_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse, "description": text}
    for code, text in {
        401: "API key missing or wrong (only when the server requires one)",
        413: "Request body over max_body_bytes",
        422: "Malformed JSON, a wrong type, a bad text/label/template, or over a cap",
        503: "Queue full or shutting down; see Retry-After",
    }.items()
}


#: The playground's own script and styles only, talking to this server only, inside no other site's frame.
_PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
}


def _header_value(name: str) -> str:
    """``name`` as a header value: kept as is where it is printable ASCII (inner spaces too), else
    percent-encoded UTF-8; spaces at either end are encoded, since HTTP strips them."""
    quoted = quote(name, safe=_HEADER_SAFE)
    core = quoted.strip(" ")
    start = quoted.index(core) if core else len(quoted)
    return "%20" * start + core + "%20" * (len(quoted) - start - len(core))


def status_router() -> APIRouter:
    """``/`` (the playground), ``/healthz``, ``/readyz`` and ``/metrics``: public, even with an API key."""
    router = APIRouter()
    page = files(__package__).joinpath("static/index.html").read_text(encoding="utf-8")

    @router.get("/", include_in_schema=False)
    async def playground() -> HTMLResponse:
        return HTMLResponse(page, headers=_PAGE_HEADERS)

    @router.get("/healthz", response_model=Status, summary="Alive")
    async def healthz(svc: Service = Depends(service)) -> JSONResponse:
        return JSONResponse({"status": "ok", "model": svc.model_name})

    @router.get(
        "/readyz",
        response_model=Status,
        summary="Model loaded and warmed up",
        responses={503: {"model": Status, "description": "Warming up or shutting down"}},
    )
    async def readyz(svc: Service = Depends(service)) -> JSONResponse:
        return JSONResponse({"status": svc.status, "model": svc.model_name}, status_code=200 if svc.ready else 503)

    @router.get("/metrics", summary="Prometheus metrics", response_class=Response)
    async def prometheus(svc: Service = Depends(service)) -> Response:
        body, content_type = svc.metrics.render()
        return Response(body, media_type=content_type)

    return router


def classify_router(dependencies: list[Any]) -> APIRouter:
    """``/v1/classify`` and the Hugging Face Inference API route, behind ``dependencies`` (the API key check)."""
    router = APIRouter(dependencies=dependencies, responses=_ERRORS)

    @router.post("/v1/classify", response_model=ClassifyResponse, summary="Classify texts")
    async def classify(body: ClassifyRequest, request: Request, svc: Service = Depends(service)) -> JSONResponse:
        texts = body.text if body.text is not None else body.texts
        results = await svc.classify(
            request, texts, body.candidate_labels, body.multi_label, body.hypothesis_template, body.explain, body.shortlist
        )
        return JSONResponse({"model": svc.model_name, "results": results})

    @router.post(
        "/hf-inference/models/{model_id:path}",
        response_model=list[HFLabelScore] | list[list[HFLabelScore]],
        summary="Hugging Face Inference API compatible zero-shot classification",
        description=(
            "Same request and response as the Hugging Face Inference API's zero-shot-classification task: "
            "`[{label, score}, ...]` best first for one input, one such list per input for a list. "
            "The model id in the path is not used: the served model answers (see the X-Zeroclass-Model header)."
        ),
    )
    async def hf_inference(model_id: str, body: HFRequest, request: Request, svc: Service = Depends(service)) -> JSONResponse:
        params = body.parameters
        results = await svc.classify(
            request, body.inputs, params.candidate_labels, bool(params.multi_label), params.hypothesis_template, False
        )
        outputs = [[{"label": l, "score": s} for l, s in zip(r["labels"], r["scores"])] for r in results]
        return JSONResponse(
            outputs[0] if isinstance(body.inputs, str) else outputs,
            # Header values are Latin-1 on the wire: a model folder named in Cyrillic or Chinese is sent
            # percent-encoded (UTF-8), as URLs are; an ASCII name is sent as it is.
            headers={"X-Zeroclass-Model": _header_value(svc.model_name)},
        )

    return router
