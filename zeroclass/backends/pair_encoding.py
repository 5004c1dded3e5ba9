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

from .base import Pair

__all__ = ["PairEncoder"]

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

    def encode(self, pairs: Sequence[Pair], max_length: int, names: Sequence[str]) -> dict[str, list[list[int]]] | None:
        """The pairs' ``names`` (ids, token types, masks), unpadded, premises truncated to fit
        ``max_length``; ``None`` where the tokenizer must do it."""
        if self._template is None or not set(names) <= {"input_ids", "token_type_ids", "attention_mask"}:
            return None
        premises = list(dict.fromkeys(p for p, _ in pairs))
        hypotheses = list(dict.fromkeys(h for _, h in pairs))
        premise_ids = self._ids(premises)
        hypothesis_ids = self._ids(hypotheses)
        t = self._template
        assert t is not None
        ids, types = [], []
        room = max_length - t.specials
        for premise, hypothesis in pairs:
            p, h = premise_ids[premise], hypothesis_ids[hypothesis]
            over = len(p) + len(h) - room
            if over > 0:
                if over >= len(p):  # the tokenizer refuses this pair; let it say so
                    return None
                p = p[over:] if self.left else p[: len(p) - over]
            ids.append(t.prefix + p + t.middle + h + t.suffix)
            if "token_type_ids" in names:
                types.append(t.prefix_types + [t.premise_type] * len(p) + t.middle_types + [t.hypothesis_type] * len(h) + t.suffix_types)
        encoded = {"input_ids": ids}
        if "token_type_ids" in names:
            encoded["token_type_ids"] = types
        if "attention_mask" in names:
            encoded["attention_mask"] = [[1] * len(x) for x in ids]
        if not self.checked:
            self.checked = True
            if not self._agrees(pairs[:CHECK_PAIRS], encoded, max_length):
                self._template = None  # this tokenizer joins pairs otherwise: always ask it from now on
                return None
        return encoded

    def _ids(self, texts: list[str]) -> dict[str, list[int]]:
        encodings = self._backend.encode_batch(texts, add_special_tokens=False)
        return {text: encoding.ids for text, encoding in zip(texts, encodings)}

    def _agrees(self, pairs: Sequence[Pair], encoded: dict[str, list[list[int]]], max_length: int) -> bool:
        """Whether the tokenizer's own pair encoding of the first pairs is exactly ours."""
        theirs = self.tokenizer([p for p, _ in pairs], [h for _, h in pairs], truncation="only_first",
                                max_length=max_length, padding=False)
        return all(name in theirs and theirs[name] == values[: len(pairs)] for name, values in encoded.items())
