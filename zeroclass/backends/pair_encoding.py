"""Pairs encoded from their parts: each distinct text and hypothesis tokenised once.

A call of T texts and L labels has T x L pairs but only T distinct premises
and L distinct hypotheses. A fast tokenizer encodes the two sequences of a
pair independently and then joins them with its special tokens, truncating
the premise (``only_first``) to fit ``max_length``. So this tokenises the
distinct parts once and joins them the same way, which is L times less
tokenising: the host work that bounds a GPU, and a good share of a CPU's.

The join is learned from the tokenizer itself (one probe pair: which
positions are specials, which are the premise's and the hypothesis's, and
their token types), and checked against the tokenizer's own pair encoding on
the first pairs it encodes; any difference, a tokenizer that is not a fast
one, or an input it does not model (a premise that truncation would empty)
sends the work back to the tokenizer, so ids are always exactly what
``tokenizer(premises, hypotheses, truncation="only_first")`` gives.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..batching import dedupe
from .base import Pair

__all__ = ["PairEncoder", "JoinedPairs"]

#: Pairs compared with the tokenizer's own encoding before the join is trusted.
CHECK_PAIRS = 64


@dataclass(frozen=True)
class _Template:
    """Where a pair's parts go: specials before, between and after, and each part's token type."""

    prefix: list[int]
    middle: list[int]
    suffix: list[int]
    prefix_types: list[int]
    middle_types: list[int]
    suffix_types: list[int]
    premise_type: int
    hypothesis_type: int

    @property
    def specials(self) -> int:
        return len(self.prefix) + len(self.middle) + len(self.suffix)


class PairEncoder:
    """Encodes (premise, hypothesis) pairs from their distinct parts, as the tokenizer would whole."""

    def __init__(self, tokenizer: Any) -> None:
        self.tokenizer = tokenizer
        self.left = getattr(tokenizer, "truncation_side", "right") == "left"
        self._backend, self._template = self._learn(tokenizer)
        self.checked = False

    @staticmethod
    def _learn(tokenizer: Any) -> tuple[Any, _Template | None]:
        """A private copy of the Rust tokenizer (no truncation, no padding) and the pair template,
        or ``(None, None)`` when the tokenizer is not one this can imitate."""
        backend = getattr(tokenizer, "_tokenizer", None)
        if backend is None or not getattr(tokenizer, "is_fast", False):
            return None, None
        from tokenizers import Tokenizer

        backend = Tokenizer.from_str(backend.to_str())
        backend.no_truncation()
        backend.no_padding()
        probe = backend.encode("premise", "hypothesis", add_special_tokens=True)
        seq = probe.sequence_ids
        first = [i for i, s in enumerate(seq) if s == 0]
        second = [i for i, s in enumerate(seq) if s == 1]
        if not first or not second or first != list(range(first[0], first[-1] + 1)) or second != list(range(second[0], second[-1] + 1)):
            return None, None
        if any(s is not None for s in seq[: first[0]] + seq[first[-1] + 1 : second[0]] + seq[second[-1] + 1 :]):
            return None, None
        ids, types = probe.ids, probe.type_ids
        return backend, _Template(
            prefix=ids[: first[0]], middle=ids[first[-1] + 1 : second[0]], suffix=ids[second[-1] + 1 :],
            prefix_types=types[: first[0]], middle_types=types[first[-1] + 1 : second[0]],
            suffix_types=types[second[-1] + 1 :], premise_type=types[first[0]], hypothesis_type=types[second[0]],
        )

    def join(self, pairs: Sequence[Pair], max_length: int, names: Sequence[str]) -> JoinedPairs | None:
        """The pairs as :class:`JoinedPairs` (premises truncated to fit ``max_length``), or
        ``None`` where the tokenizer must encode them itself."""
        if self._template is None or not set(names) <= {"input_ids", "token_type_ids", "attention_mask"}:
            return None
        premises, premise_index = dedupe([p for p, _ in pairs])
        hypotheses, hypothesis_index = dedupe([h for _, h in pairs])
        premise_ids, premise_len = self._matrix(premises)
        hypothesis_ids, hypothesis_len = self._matrix(hypotheses)
        full = premise_len[premise_index]
        hyp_len = hypothesis_len[hypothesis_index]
        over = np.maximum(full + hyp_len - (max_length - self._template.specials), 0)
        if np.any((over > 0) & (over >= full)):  # the tokenizer refuses such a pair; let it say so
            return None
        joined = JoinedPairs(
            self._template, tuple(names), premise_ids, hypothesis_ids, premise_index, hypothesis_index,
            kept=full - over, skip=over if self.left else np.zeros_like(over), hyp_len=hyp_len,
        )
        if not self.checked:
            self.checked = True
            if not self._agrees(pairs[:CHECK_PAIRS], joined, max_length):
                self._template = None  # this tokenizer joins pairs otherwise: always ask it from now on
                return None
        return joined

    def encode(self, pairs: Sequence[Pair], max_length: int, names: Sequence[str]) -> dict[str, list[list[int]]] | None:
        """The pairs' ``names`` as unpadded lists (what ``tokenizer(...)`` returns), or ``None``."""
        joined = self.join(pairs, max_length, names)
        return None if joined is None else joined.lists(np.arange(len(pairs)))

    def _matrix(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Token ids of each text (no specials) as rows of one zero-padded matrix, and their lengths."""
        encodings = self._backend.encode_batch(texts, add_special_tokens=False)
        lengths = np.fromiter((len(e.ids) for e in encodings), dtype=np.int64, count=len(encodings))
        matrix = np.zeros((len(texts), max(1, int(lengths.max(initial=0)))), dtype=np.int64)
        for row, encoding in enumerate(encodings):
            matrix[row, : lengths[row]] = encoding.ids
        return matrix, lengths

    def _agrees(self, pairs: Sequence[Pair], joined: JoinedPairs, max_length: int) -> bool:
        """Whether the tokenizer's own pair encoding of the first pairs is exactly ours."""
        theirs = self.tokenizer([p for p, _ in pairs], [h for _, h in pairs], truncation="only_first",
                                max_length=max_length, padding=False)
        ours = joined.lists(np.arange(len(pairs)))
        return all(name in theirs and theirs[name] == values for name, values in ours.items())


@dataclass(frozen=True)
class JoinedPairs:
    """Pairs as indices into their distinct parts' token matrices, collated in NumPy.

    A batch's padded arrays are built by indexing (no Python loop per pair or
    per token): position ``j`` of a row is a prefix special, a premise token,
    a middle special, a hypothesis token, a suffix special or padding,
    depending on where ``j`` falls among the row's segment boundaries.
    """

    template: _Template
    names: tuple[str, ...]
    premise_ids: np.ndarray
    hypothesis_ids: np.ndarray
    premise_index: np.ndarray
    hypothesis_index: np.ndarray
    #: Premise tokens kept, and dropped from the start (left truncation), per pair.
    kept: np.ndarray
    skip: np.ndarray
    hyp_len: np.ndarray

    @property
    def lengths(self) -> np.ndarray:
        return self.template.specials + self.kept + self.hyp_len

    def collate(self, batch: np.ndarray, pad_id: int, pad_side: str = "right") -> dict[str, np.ndarray]:
        """The batch's inputs padded to its longest pair, as ``tokenizer.pad`` would lay them out."""
        t = self.template
        kept, hyp_len = self.kept[batch, None], self.hyp_len[batch, None]
        total = t.specials + kept + hyp_len
        width = int(total.max())
        j = np.arange(width)[None, :]
        if pad_side == "left":
            j = j - (width - total)
        a = len(t.prefix)
        b = a + kept
        c = b + len(t.middle)
        d = c + hyp_len
        segments = [j < 0, j < a, j < b, j < c, j < d, j < total]
        premise = self.premise_ids[self.premise_index[batch, None], np.clip(j - a + self.skip[batch, None], 0, self.premise_ids.shape[1] - 1)]
        hypothesis = self.hypothesis_ids[self.hypothesis_index[batch, None], np.clip(j - c, 0, self.hypothesis_ids.shape[1] - 1)]
        out = {"input_ids": np.select(segments, [
            pad_id, _take(t.prefix, j), premise, _take(t.middle, j - b), hypothesis, _take(t.suffix, j - d)], pad_id)}
        if "token_type_ids" in self.names:
            out["token_type_ids"] = np.select(segments, [
                0, _take(t.prefix_types, j), t.premise_type, _take(t.middle_types, j - b), t.hypothesis_type,
                _take(t.suffix_types, j - d)], 0)
        if "attention_mask" in self.names:
            out["attention_mask"] = ((j >= 0) & (j < total)).astype(np.int64)
        return out

    def lists(self, rows: np.ndarray) -> dict[str, list[list[int]]]:
        """Unpadded lists of ``rows`` (what a tokenizer returns with ``padding=False``)."""
        arrays = self.collate(rows, 0)
        lengths = self.lengths[rows]
        return {name: [row[:n].tolist() for row, n in zip(values, lengths)] for name, values in arrays.items()}


def _take(values: list[int], index: np.ndarray) -> np.ndarray:
    """``values[index]`` with the index clipped into range (positions outside are never selected)."""
    array = np.asarray(values or [0], dtype=np.int64)
    return array[np.clip(index, 0, len(array) - 1)]
