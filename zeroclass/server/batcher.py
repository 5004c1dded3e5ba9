"""Dynamic micro-batching: the pairs of concurrent requests scored together.

A transformer scores 100 pairs in one forward pass far faster than in 30
passes of 3, so the server does not score each request on its own: requests
wait in a queue (each already validated by ``classifier.prepare``), and one
worker thread, off the event loop, takes as many as fit a token budget,
waiting at most ``max_wait`` for the oldest one's batch to fill. Their pairs
are concatenated, identical pairs across requests scored once
(``classifier.score``), and the logits split back so each request gets exactly
its own results through ``classifier.finish``.

If scoring a batch fails (a hypothesis too long for the model, say), each
request of it is scored again on its own, so the failure lands on the request
that caused it and never on its neighbours. A request whose ``submit`` is
cancelled (its client went away) leaves the queue unscored.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from ..classifier import PreparedCall, ZeroShotClassifier
from ..errors import ZeroclassError
from ..result import ClassificationResult
from .metrics import Metrics

__all__ = ["MicroBatcher", "QueueFullError", "ShuttingDownError", "estimate_tokens"]

#: [CLS]/[SEP]-style tokens a pair adds around its two parts.
_SPECIAL_TOKENS = 3


class QueueFullError(ZeroclassError):
    """Too many requests are already waiting for the model (the server answers 503)."""


class ShuttingDownError(ZeroclassError):
    """The batcher is draining and takes no new work."""


def estimate_tokens(call: PreparedCall, max_length: int | None) -> int:
    """Rough token count of a call's pairs, without running the tokenizer.

    About 4 bytes per token for ASCII text and one token per other character
    (a CJK ideograph is one token for BERT-style vocabularies); each pair is
    capped at the model's ``max_length``, as the tokenizer truncates there.
    It only decides how many requests share a batch, so rough is enough.
    """

    def rough(s: str) -> int:
        ascii_bytes = len(s.encode("ascii", "ignore"))
        return ascii_bytes // 4 + (len(s) - ascii_bytes)

    total = 0
    for text, hypotheses in zip(call.texts, call.hypotheses):
        text_tokens = rough(text)
        for hypothesis in hypotheses:
            pair = text_tokens + rough(hypothesis) + _SPECIAL_TOKENS
            total += pair if max_length is None else min(pair, max_length)
    return total


#: Pairs the scoring thread scores between two looks at whether the server is stopping. Above a
#: GPU's micro-batch (16,384 tokens is ~250 pairs), so a batch is cut only when it is huge.
SCORE_CHUNK_PAIRS = 512


class _Stopped(Exception):
    """The server is closing: the batch being scored is dropped between two chunks."""


@dataclass(eq=False)  # compared by identity: two requests with the same call are still two jobs
class _Job:
    call: PreparedCall
    tokens: int
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future
    enqueued: float = field(default_factory=time.monotonic)


class MicroBatcher:
    """Queue plus one scoring thread; ``await submit(call)`` gives the call's results."""

    def __init__(
        self,
        classifier: ZeroShotClassifier,
        *,
        max_batch_tokens: int,
        max_batch_requests: int | None,
        max_wait_s: float,
        max_queue: int,
        metrics: Metrics,
    ) -> None:
        self.classifier = classifier
        self.max_batch_tokens = max_batch_tokens
        self.max_batch_requests = max_batch_requests
        self.max_wait_s = max_wait_s
        self.max_queue = max_queue
        self.metrics = metrics
        self._max_length = classifier.max_length
        self._jobs: deque[_Job] = deque()
        self._queued_tokens = 0
        self._cond = threading.Condition()
        self._closing = False
        #: Set by close(): the batch being scored stops at its next chunk.
        self._stopping = False
        self._thread: threading.Thread | None = None
        #: The jobs of the batch being scored (so a shutdown can answer them too).
        self._scoring: list[_Job] = []

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="zeroclass-batcher", daemon=True)
        self._thread.start()

    def begin_shutdown(self, grace_s: float) -> None:
        """Take no new work (503); keep scoring what is queued for ``grace_s`` seconds, then answer
        every request still waiting with 503 as well, so each gets the service's JSON answer before
        the server's own shutdown timeout cancels it (which would be a plain-text 500)."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        timer = threading.Timer(grace_s, self._refuse_waiting)
        timer.daemon = True
        timer.start()

    def close(self, timeout_s: float | None = None) -> None:
        """Take no new work, answer what is still queued with 503, and stop the thread.

        The batch being scored stops at its next chunk of :data:`SCORE_CHUNK_PAIRS`
        pairs, so the wait is one chunk's, not the queue's. It is waited for (at
        most ``timeout_s`` when given): a process that exits while the thread is
        inside the model is aborted by the C++ runtime (exit 134), not stopped.
        """
        with self._cond:
            self._closing = self._stopping = True
            self._cond.notify_all()
        self._refuse_waiting()
        if self._thread is not None:
            self._thread.join(timeout_s)

    def _refuse_waiting(self) -> None:
        """Answer every request not yet answered, queued or in the batch being scored, with 503."""
        with self._cond:
            waiting, self._jobs = list(self._jobs) + self._scoring, deque()
            self._queued_tokens = 0
            self.metrics.queue_depth.set(0)
        for job in waiting:
            self._settle(job, ShuttingDownError("the server is shutting down; this request was not finished in time"))

    async def submit(self, call: PreparedCall) -> list[ClassificationResult]:
        """Queue a prepared call and wait for its results (a list: one per text)."""
        loop = asyncio.get_running_loop()
        job = _Job(call, estimate_tokens(call, self._max_length), loop, loop.create_future())
        with self._cond:
            if self._closing:
                raise ShuttingDownError("the server is shutting down")
            if len(self._jobs) >= self.max_queue:
                raise QueueFullError(f"{len(self._jobs)} requests are waiting for the model (max_queue={self.max_queue})")
            self._jobs.append(job)
            self._queued_tokens += job.tokens
            self.metrics.queue_depth.set(len(self._jobs))
            self._cond.notify()
        try:
            result = await job.future
        except asyncio.CancelledError:  # the client went away (or shutdown ran out of time)
            self._withdraw(job)
            raise
        return result if isinstance(result, list) else [result]

    def _withdraw(self, job: _Job) -> None:
        """Drop a job nobody waits for from the queue, so the model never scores it; a no-op once it is taken."""
        with self._cond:
            try:
                self._jobs.remove(job)
            except ValueError:  # already in a batch being scored
                return
            self._queued_tokens -= job.tokens
            self.metrics.queue_depth.set(len(self._jobs))
            self.metrics.abandoned.inc()

    # -- worker thread -------------------------------------------------------

    def _run(self) -> None:
        while True:
            batch = self._next_batch()
            if batch is None:
                return
            self._scoring = batch
            self._score(batch)
            self._scoring = []

    def _full(self) -> bool:
        return self._queued_tokens >= self.max_batch_tokens or (
            self.max_batch_requests is not None and len(self._jobs) >= self.max_batch_requests
        )

    def _next_batch(self) -> list[_Job] | None:
        with self._cond:
            while not self._jobs:
                if self._closing:
                    return None
                self._cond.wait()
            deadline = self._jobs[0].enqueued + self.max_wait_s
            while not self._full() and not self._closing:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
            # The first job always goes, even over budget; the rest while they fit.
            batch = [self._jobs.popleft()]
            tokens = batch[0].tokens
            while self._jobs and tokens + self._jobs[0].tokens <= self.max_batch_tokens:
                if self.max_batch_requests is not None and len(batch) >= self.max_batch_requests:
                    break
                tokens += self._jobs[0].tokens
                batch.append(self._jobs.popleft())
            self._queued_tokens -= tokens
            self.metrics.queue_depth.set(len(self._jobs))
            return batch

    def _score(self, batch: list[_Job]) -> None:
        pairs = [pair for job in batch for pair in job.call.pairs]
        distinct: list[int] = []

        def progress(scored: int, total: int) -> None:
            distinct.append(total)
            if self._stopping and scored < total:
                raise _Stopped

        try:
            logits = self.classifier.score(pairs, progress=progress, chunk_pairs=SCORE_CHUNK_PAIRS)
        except _Stopped:  # close(): its requests were answered 503 already
            return
        except Exception as exc:  # noqa: BLE001 - handed to the request(s) it belongs to
            if len(batch) == 1:
                self._settle(batch[0], exc)
            else:
                for job in batch:
                    self._score([job])
            return
        self.metrics.batch_requests.observe(len(batch))
        self.metrics.batch_pairs.observe(distinct[-1])
        self.metrics.pairs_scored.inc(distinct[-1])
        start = 0
        for job in batch:
            stop = start + len(job.call.pairs)
            try:
                outcome: Any = self.classifier.finish(job.call, logits[start:stop])
            except Exception as exc:  # noqa: BLE001
                outcome = exc
            self._settle(job, outcome)
            start = stop

    @staticmethod
    def _settle(job: _Job, outcome: Any) -> None:
        def deliver() -> None:
            if job.future.done():  # the client went away meanwhile
                return
            if isinstance(outcome, BaseException):
                job.future.set_exception(outcome)
            else:
                job.future.set_result(outcome)

        try:
            job.loop.call_soon_threadsafe(deliver)
        except RuntimeError:  # the event loop is closed: nobody is waiting
            pass
