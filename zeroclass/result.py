"""The result type: the reference pipelines' dict, with attribute access on top."""

from __future__ import annotations

from typing import Any

__all__ = ["ClassificationResult"]


class ClassificationResult(dict):
    """``{"sequence": str, "labels": [...], "scores": [...]}``, labels best first.

    A real ``dict`` (so ``json.dumps``, ``==`` against a plain dict and code
    written for transformers' or ModelScope's pipeline keep working) that also
    offers ``.labels``, ``.scores``, ``.top``. With ``explain=True`` it has an
    ``"explanation"`` key: per label, in the same order, the hypothesis
    sentence and the entailment / neutral / contradiction probabilities of
    its (text, hypothesis) pair (neutral is ``None`` for 2-class models).
    """

    @property
    def sequence(self) -> str:
        return self["sequence"]

    @property
    def labels(self) -> list[str]:
        return self["labels"]

    @property
    def scores(self) -> list[float]:
        return self["scores"]

    @property
    def explanation(self) -> list[dict[str, Any]] | None:
        return self.get("explanation")

    @property
    def top(self) -> str:
        """The best label."""
        return self["labels"][0]

    def as_dict(self) -> dict[str, Any]:
        """A plain ``dict`` copy (for pickling across versions, say)."""
        return dict(self)
