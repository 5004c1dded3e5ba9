"""The result type: the reference pipelines' dict, with attribute access on top."""

from __future__ import annotations

import html
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

    def _repr_html_(self) -> str:
        """Jupyter: the text, then one bar per label (at most 20), best first."""
        rows = "".join(
            f'<tr><td style="text-align:left">{html.escape(label)}</td><td style="min-width:12em">'
            f'<div style="background:#4c78a8;height:0.9em;width:{max(score, 0.0) * 100:.1f}%"></div></td>'
            f"<td>{score:.4f}</td></tr>"
            for label, score in list(zip(self.labels, self.scores))[:20]
        )
        return f"<div><p>{html.escape(self.sequence)}</p><table>{rows}</table></div>"

    def as_dict(self) -> dict[str, Any]:
        """A plain ``dict`` copy (for pickling across versions, say)."""
        return dict(self)
