"""The knobs of one server: input caps, micro-batching, access."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ServerSettings"]


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

    def __post_init__(self) -> None:
        for name in ("max_body_bytes", "max_texts", "max_labels", "max_text_chars", "max_queue"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        for name in ("max_batch_tokens", "max_batch_requests"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{name} must be at least 1, got {value}")
        if self.max_wait_ms < 0:
            raise ValueError(f"max_wait_ms must be 0 or more, got {self.max_wait_ms}")
        if self.api_key is not None and not self.api_key:
            raise ValueError("api_key is empty: leave it unset to turn authentication off")
