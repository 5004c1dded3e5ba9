"""``zeroclass serve``: the classifier behind HTTP, with dynamic micro-batching.

Needs the ``server`` extra (``pip install 'zeroclass[server]'``). The pieces,
one module each: ``settings`` (limits and batching knobs), ``batcher`` (pairs
of concurrent requests scored together on a worker thread), ``schemas``
(request and response bodies, hence the OpenAPI document), ``limits`` and
``metrics`` (ASGI middleware), ``service`` (what the routes share), ``routes``
(router factories), ``errors`` (failures as 4xx answers) and ``app`` (the
assembly).
"""

from __future__ import annotations

from .app import create_app
from .settings import ServerSettings

__all__ = ["create_app", "ServerSettings"]
