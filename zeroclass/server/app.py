"""The FastAPI app: assembled from the routers, the error mapping, the middleware and the lifecycle.

See :mod:`~zeroclass.server.routes` for the routes and
:mod:`~zeroclass.server.errors` for how failures become 4xx answers.
"""

from __future__ import annotations

import asyncio
import hmac
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator

from fastapi import Depends, FastAPI
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from fastapi_offline import FastAPIOffline
from starlette.exceptions import HTTPException

from .. import __version__
from ..classifier import ZeroShotClassifier
from .errors import add_error_handlers
from .limits import BodyLimitMiddleware, HostCheckMiddleware
from .metrics import MetricsMiddleware
from .routes import classify_router, status_router
from .service import Service
from .settings import ServerSettings

__all__ = ["create_app"]


def create_app(classifier: ZeroShotClassifier, settings: ServerSettings | None = None) -> FastAPI:
    """A ready-to-serve ASGI app for ``classifier`` (run it with uvicorn)."""
    settings = settings or ServerSettings()
    # /docs (Swagger UI) and /redoc as FastAPI makes them, but their scripts, styles and favicon come from
    # the fastapi-offline package under /docs-static instead of a CDN, so the docs work offline. Public, like
    # /openapi.json: the API key guards only the classify routes.
    app = FastAPIOffline(
        title="zeroclass",
        version=__version__,
        description="Zero-shot text classification by NLI. Playground at `/`.",
        lifespan=_lifespan,
        static_url="/docs-static",
    )
    app.state.service = Service.build(classifier, settings)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes, timeout_s=settings.body_timeout_s)
    app.add_middleware(MetricsMiddleware, metrics=app.state.service.metrics, routes=app.router.routes)
    if settings.allowed_hosts is not None:  # outermost: a foreign Host is refused before anything else
        app.add_middleware(HostCheckMiddleware, allowed=settings.allowed_hosts)
    add_error_handlers(app)
    app.include_router(status_router())
    app.include_router(classify_router([Depends(_api_key_check(settings.api_key))] if settings.api_key else []))
    return app


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Start the batcher and warm the model up; on shutdown, stop taking work and finish what is queued."""
    service: Service = app.state.service
    service.batcher.start()
    warm_up = asyncio.create_task(service.warm_up())
    try:
        yield
    finally:
        service.ready, service.status = False, "shutting down"
        warm_up.cancel()
        # By now the server has waited for its requests (shutdown_timeout_s); whatever is left gets a 503.
        await asyncio.to_thread(service.batcher.close)


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
