"""Labelled examples in, checked: texts, gold labels per text, candidate labels.

Every adaptation method reads the same :class:`Examples`, so a bad input
fails the same way (naming the example by its index) whatever the method.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from ..hypotheses import check_unicode, ensemble_hypotheses, parse_labels

__all__ = ["Examples", "check_examples"]


@dataclass(frozen=True)
class Examples:
    """Texts, their gold labels (a list per text), and the candidate labels the model chooses among."""

    texts: list[str]
    gold: list[list[str]]
    labels: list[str]
    multi_label: bool

    def counts(self) -> dict[str, int]:
        """Examples per candidate label (0 for a label no text has)."""
        counts = dict.fromkeys(self.labels, 0)
        for row in self.gold:
            for label in row:
                counts[label] += 1
        return counts

    def hypothesis_labels(self, templates: Sequence[str]) -> dict[str, str]:
        """Each candidate label's hypothesis under each template, mapped to its label (what a stored vector is of)."""
        hypotheses = ensemble_hypotheses(self.labels, templates)
        return {h: self.labels[i // len(templates)] for i, h in enumerate(hypotheses)}

    def subset(self, rows: Sequence[int]) -> "Examples":
        return Examples([self.texts[i] for i in rows], [self.gold[i] for i in rows], self.labels, self.multi_label)

    def split(self, fraction: float, seed: int) -> tuple["Examples", "Examples | None"]:
        """(train, held-out): about ``fraction`` of each label's examples held out, at least one kept for training.

        Stratified by the first gold label, so a label with two examples keeps
        one to learn from; a label with one example is never held out.
        """
        rng = np.random.default_rng(seed)
        by_label: dict[str, list[int]] = {}
        for i, row in enumerate(self.gold):
            by_label.setdefault(row[0] if row else "", []).append(i)
        held: list[int] = []
        for rows in by_label.values():
            n = int(len(rows) * fraction)
            if len(rows) >= 2 and n >= 1:
                held += list(rng.permutation(rows)[:n])
        if not held:
            return self, None
        held_set = set(int(i) for i in held)
        train = [i for i in range(len(self.texts)) if i not in held_set]
        return self.subset(train), self.subset(sorted(held_set))


def _gold_row(value: object, i: int, known: set[str] | None) -> list[str]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)):
        raise InputError(f"labels[{i}] must be a label or a list of labels, got {type(value).__name__} {value!r:.80}")
    row = []
    for item in items:
        if not isinstance(item, str) or not item.strip():
            raise InputError(f"labels[{i}]: {item!r:.80} is not a non-empty label")
        check_unicode(item, f"labels[{i}]")
        if known is not None and item.strip() not in known:
            raise InputError(f"labels[{i}]: {item!r} is not among candidate_labels {sorted(known)!r:.200}")
        row.append(item.strip())
    return list(dict.fromkeys(row))


def check_examples(
    texts: Sequence[str], labels: Sequence[str | Sequence[str]], candidate_labels: object = None
) -> Examples:
    """Validate ``texts`` and ``labels`` (one label per text, or a list of labels per text: multi-label).

    ``candidate_labels`` (default: every label of the examples, sorted) are
    the labels the examples are contrasted against; one without examples
    keeps its zero-shot meaning.
    """
    if isinstance(texts, str) or not isinstance(texts, Sequence):
        raise InputError(f"texts must be a list of texts, got {type(texts).__name__}")
    if isinstance(labels, str) or not isinstance(labels, Sequence):
        raise InputError(f"labels must be a list with one label (or list of labels) per text, got {type(labels).__name__}")
    if len(texts) != len(labels):
        raise InputError(f"got {len(texts)} texts but {len(labels)} labels: give one label (or list) per text")
    if not texts:
        raise InputError("adapt needs at least one labelled example")
    for i, text in enumerate(texts):
        if not isinstance(text, str) or not text.strip():
            raise InputError(f"texts[{i}] is empty or not text ({text!r:.80})")
        check_unicode(text, f"texts[{i}]")  # what a call checks; a tokenizer fails on it with a TypeError
    multi_label = any(not isinstance(value, str) for value in labels)
    known = set(parse_labels(candidate_labels)) if candidate_labels is not None else None  # type: ignore[arg-type]
    gold = [_gold_row(value, i, known) for i, value in enumerate(labels)]
    candidates = parse_labels(candidate_labels) if candidate_labels is not None else sorted({g for row in gold for g in row})  # type: ignore[arg-type]
    if len(candidates) < 2 and not multi_label:
        raise InputError(f"adapt needs at least two candidate labels to contrast, got {candidates!r}")
    return Examples(list(texts), gold, list(candidates), multi_label)
