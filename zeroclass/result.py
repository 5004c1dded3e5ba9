"""The result types: the reference pipelines' dict and list, with attribute access and Jupyter views on top."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .scoring import label_scores, nli_probabilities, rank

if TYPE_CHECKING:
    from .backends.base import NLIHead

__all__ = ["ClassificationResult", "ResultList"]

#: Labels drawn per result, and results drawn per list, in Jupyter; the rest are summarised in one line.
_MAX_BARS = 20
_MAX_RESULTS = 50


def _bar(score: float) -> str:
    return (
        '<td style="min-width:12em"><div style="background:#4c78a8;height:0.9em;'
        f'width:{min(max(score, 0.0), 1.0) * 100:.1f}%"></div></td>'
    )


def _probability(value: float | None) -> str:
    return "<td>–</td>" if value is None else f"<td>{value:.3f}</td>"


class ClassificationResult(dict):
    """``{"sequence": str, "labels": [...], "scores": [...]}``, labels best first.

    A real ``dict`` (so ``json.dumps``, ``==`` against a plain dict and code
    written for transformers' or ModelScope's pipeline keep working) that also
    offers ``.labels``, ``.scores``, ``.top``. With ``explain=True`` it has an
    ``"explanation"`` key: per label, in the same order, the hypothesis
    sentence and the entailment / neutral / contradiction probabilities of
    its (text, hypothesis) pair (neutral is ``None`` for 2-class models).
    """

    @classmethod
    def from_logits(
        cls,
        text: str,
        labels: Sequence[str],
        hypotheses: Sequence[str],
        logits: np.ndarray,
        head: NLIHead,
        *,
        multi_label: bool,
        explain: bool = False,
        model: str | None = None,
        ensemble: Sequence[Sequence[str]] | None = None,
    ) -> "ClassificationResult":
        """One text's result from its labels' NLI logits (one row per label), labels best first.

        ``model`` is recorded when given (a routed model says which of its
        models answered); ``explain`` adds each label's hypothesis and NLI
        probabilities, and with a template ensemble (``ensemble``: per label,
        every hypothesis whose logits were averaged) all of its hypotheses.
        """
        scores = label_scores(
            logits, entailment_id=head.entailment_id, contradiction_id=head.contradiction_id, multi_label=multi_label
        )
        order = rank(scores)
        result = cls(sequence=text, labels=[labels[i] for i in order], scores=[float(scores[i]) for i in order])
        if model is not None:
            result["model"] = model
        if explain:
            result["explanation"] = _explanation(labels, hypotheses, logits, scores, order, head, ensemble)
        return result

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
        """Jupyter: the text, then one bar per label (at most 20), best first; with ``explain``, the NLI table."""
        explanation = self.explanation
        head = "<tr><th>label</th><th></th><th>score</th>"
        if explanation:
            head += "<th>hypothesis</th><th>entailment</th><th>neutral</th><th>contradiction</th>"
        rows = []
        for i, (label, score) in enumerate(list(zip(self.labels, self.scores))[:_MAX_BARS]):
            row = f'<tr><td style="text-align:left">{html.escape(label)}</td>{_bar(score)}<td>{score:.4f}</td>'
            if explanation:
                info = explanation[i]
                row += f'<td style="text-align:left">{html.escape(info["hypothesis"])}</td>'
                row += "".join(_probability(info[k]) for k in ("entailment", "neutral", "contradiction"))
            rows.append(row + "</tr>")
        more = len(self.labels) - _MAX_BARS
        if more > 0:
            rows.append(f'<tr><td colspan="3">… {more} more label{"s" if more > 1 else ""}</td></tr>')
        return f"<div><p>{html.escape(self.sequence)}</p><table>{head}</tr>{''.join(rows)}</table></div>"

    def as_dict(self) -> dict[str, Any]:
        """A plain ``dict`` copy (for pickling across versions, say)."""
        return dict(self)


def _explanation(
    labels: Sequence[str], hypotheses: Sequence[str], logits: np.ndarray, scores: np.ndarray, order: np.ndarray,
    head: NLIHead, ensemble: Sequence[Sequence[str]] | None = None,
) -> list[dict[str, Any]]:
    """Per label, best first: its hypothesis (and, for an ensemble, all of them), its score,
    and its pair's NLI probabilities (of the averaged logits, for an ensemble)."""
    probs = nli_probabilities(logits)
    neutral = head.neutral_id
    return [
        {
            "label": labels[i],
            "hypothesis": hypotheses[i],
            **({"hypotheses": list(ensemble[i])} if ensemble is not None else {}),
            "score": float(scores[i]),
            "entailment": float(probs[i, head.entailment_id]),
            "neutral": None if neutral is None else float(probs[i, neutral]),
            "contradiction": float(probs[i, head.contradiction_id]),
        }
        for i in order
    ]


class ResultList(list):
    """The results of a list of texts: a real ``list`` (equal to one) that Jupyter shows as tables."""

    def _repr_html_(self) -> str:
        """Jupyter: each result's view, one after the other (the first 50)."""
        parts = [r._repr_html_() if isinstance(r, ClassificationResult) else html.escape(repr(r)) for r in self[:_MAX_RESULTS]]
        if len(self) > _MAX_RESULTS:
            parts.append(f"<p>… {len(self) - _MAX_RESULTS} more results</p>")
        return f"<div>{''.join(parts)}</div>"
