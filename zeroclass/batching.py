"""Pairs to batches: deduplicate, sort by length, cut by a token budget.

Pure Python/NumPy. The cost of a transformer batch is roughly
``batch_size x longest_sequence``, so sorting by length and filling batches up
to a *token* budget (instead of a fixed count) removes nearly all padding
waste on mixed-length inputs, and scoring each distinct pair once removes the
cost of repeated texts. Neither changes a score: padding is masked out and
identical pairs have identical logits.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Hashable, Iterable, Iterator, Sequence
from typing import TypeVar

import numpy as np

__all__ = ["dedupe", "plan_batches", "pad", "prefetch"]

T = TypeVar("T", bound=Hashable)


def dedupe(items: Sequence[T]) -> tuple[list[T], np.ndarray]:
    """Distinct items in first-seen order, and the index of each input item among them.

    ``unique[inverse[i]] == items[i]`` for every ``i``.
    """
    index: dict[T, int] = {}
    inverse = np.empty(len(items), dtype=np.int64)
    for i, item in enumerate(items):
        inverse[i] = index.setdefault(item, len(index))
    return list(index), inverse


def plan_batches(
    lengths: Sequence[int], max_tokens: int, max_batch_size: int | None = None
) -> list[np.ndarray]:
    """Group sequence indices into batches whose padded size fits ``max_tokens``.

    Sequences are taken longest first, so the first batch is the most
    expensive one (an out-of-memory error shows up at once, not an hour in)
    and each batch holds sequences of similar length. A sequence longer than
    the budget still gets a batch of its own: the budget bounds padding, it
    never refuses input.
    """
    if max_tokens < 1:
        raise ValueError(f"max_tokens must be at least 1, got {max_tokens}")
    if max_batch_size is not None and max_batch_size < 1:
        raise ValueError(f"max_batch_size must be at least 1, got {max_batch_size}")
    lengths_arr = np.asarray(lengths, dtype=np.int64)
    order = np.argsort(-lengths_arr, kind="stable")
    batches: list[np.ndarray] = []
    start = 0
    n = len(order)
    while start < n:
        longest = int(lengths_arr[order[start]])
        size = max(1, max_tokens // max(longest, 1))
        if max_batch_size is not None:
            size = min(size, max_batch_size)
        batches.append(order[start : start + size])
        start += size
    return batches


def pad(sequences: Sequence[Sequence[int]], pad_value: int, side: str = "right") -> np.ndarray:
    """Stack integer sequences into one ``(n, longest)`` int64 array.

    Done in NumPy rather than with ``tokenizer.pad`` because it runs once per
    batch on the hot path and the tokenizer's generic version is several
    times slower; one flat scatter instead of a Python loop per row keeps it
    cheap enough to feed a GPU.
    """
    lengths = np.fromiter((len(s) for s in sequences), dtype=np.int64, count=len(sequences))
    longest = int(lengths.max())
    out = np.full((len(sequences), longest), pad_value, dtype=np.int64)
    rows = np.repeat(np.arange(len(sequences)), lengths)
    cols = np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    if side != "right":
        cols += np.repeat(longest - lengths, lengths)
    out[rows, cols] = np.fromiter((t for s in sequences for t in s), dtype=np.int64, count=int(lengths.sum()))
    return out


_DONE = object()


def prefetch(items: Iterable[T], depth: int) -> Iterator[T]:
    """Yield ``items``, computed up to ``depth`` ahead in a worker thread.

    The host work of a batch (tokenising, padding, pinning memory) then
    overlaps the model running the previous one, so a fast device is not left
    waiting on Python. Tokenizers and torch release the GIL, so the overlap is
    real. An exception in the worker is raised here; leaving the loop early
    stops the worker.
    """
    slots: queue.Queue[object] = queue.Queue(maxsize=max(1, depth))
    stop = threading.Event()

    def offer(item: object) -> bool:
        """Queue ``item`` unless the consumer has gone; never blocks past that."""
        while not stop.is_set():
            try:
                slots.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not offer(item):
                    return
            offer(_DONE)
        except BaseException as exc:  # handed to the consumer, raised there
            offer(exc)

    worker = threading.Thread(target=produce, name="zeroclass-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            item = slots.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        worker.join()
