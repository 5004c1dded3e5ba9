"""The knobs of one server: input caps, micro-batching, access, connection timeouts."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ServerSettings", "LOOPBACK_HOSTS"]

#: The names a server bound to a loopback address answers to by default.
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")


@dataclass(frozen=True)
class ServerSettings:
    """Everything ``create_app`` needs besides the classifier.

    The caps exist so one request cannot occupy the model for minutes or the
    process's memory: a request over one is refused with a message that names
    the cap, before anything is queued. The defaults fit interactive use and
    ordinary batch clients; raise them for bulk jobs (or use ``zeroclass batch``).
    """

    #: Largest request body accepted, in bytes (413 above it).
    max_body_bytes: int = 1 << 20
    #: Most texts in one request (422 above it).
    max_texts: int = 64
    #: Most candidate labels per text (422 above it).
    max_labels: int = 64
    #: Longest text, in characters (422 above it); the model truncates far sooner anyway.
    max_text_chars: int = 20_000
    #: Token budget of one micro-batch; ``None``: the backend's own per-batch budget,
    #: so a full micro-batch is about one forward pass.
    max_batch_tokens: int | None = None
    #: Most requests in one micro-batch; ``None``: bounded by tokens only, ``1``: batching off.
    max_batch_requests: int | None = None
    #: How long the oldest waiting request may wait for others to join its batch.
    max_wait_ms: float = 5.0
    #: Requests waiting for the model before new ones get 503 + Retry-After.
    max_queue: int = 256
    #: When set, the classify routes need ``Authorization: Bearer KEY`` or ``X-API-Key: KEY``.
    api_key: str | None = None
    #: Seconds a connection may take to send a request's headers, from when it opens or its previous
    #: response ends (a slowloris client trickling header bytes is cut off here).
    header_timeout_s: float = 10.0
    #: Seconds a request may take to send its whole body once its headers are in (408 after).
    body_timeout_s: float = 30.0
    #: Seconds an idle keep-alive connection stays open after a response.
    keep_alive_timeout_s: float = 5.0
    #: Seconds SIGTERM waits for requests in flight before cancelling them and exiting.
    shutdown_timeout_s: float = 30.0
    #: Host header names the server answers to (port ignored); others get 403, so a web page cannot
    #: reach a local server through DNS rebinding. ``None``: any (``zeroclass serve`` bound to a
    #: loopback address sets :data:`LOOPBACK_HOSTS` plus its ``--allowed-host`` names).
    allowed_hosts: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        for name in ("max_body_bytes", "max_texts", "max_labels", "max_text_chars", "max_queue"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        for name in ("max_batch_tokens", "max_batch_requests"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{name} must be at least 1, got {value}")
        for name in ("header_timeout_s", "body_timeout_s", "keep_alive_timeout_s", "shutdown_timeout_s"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be more than 0 seconds, got {getattr(self, name)}")
        if self.max_wait_ms < 0:
            raise ValueError(f"max_wait_ms must be 0 or more, got {self.max_wait_ms}")
        if self.allowed_hosts is not None:
            object.__setattr__(self, "allowed_hosts", tuple(h.lower() for h in self.allowed_hosts))
        if self.api_key is not None and not self.api_key:
            raise ValueError("api_key is empty: leave it unset to turn authentication off")
