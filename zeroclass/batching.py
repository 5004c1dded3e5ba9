"""Pairs to batches: deduplicate, sort by length, cut by a token budget.

Pure Python/NumPy. The cost of a transformer batch is roughly
``batch_size x longest_sequence``, so sorting by length and filling batches up
to a *token* budget (instead of a fixed count) removes nearly all padding
waste on mixed-length inputs, and scoring each distinct pair once removes the
cost of repeated texts. Neither changes a score: padding is masked out and
identical pairs have identical logits.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import TypeVar

import numpy as np

__all__ = ["dedupe", "plan_batches", "pad"]

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
    times slower.
    """
    longest = max(len(s) for s in sequences)
    out = np.full((len(sequences), longest), pad_value, dtype=np.int64)
    for row, seq in enumerate(sequences):
        if side == "right":
            out[row, : len(seq)] = seq
        else:
            out[row, longest - len(seq) :] = seq
    return out
