"""Label prototypes: an embedding model's label vectors moved towards the label's examples.

No gradient: each hypothesis of a label with examples gets a new vector,

    unit(e(h) + w * (m_label - m_all)),   w = scale * n / (n + PRIOR_EXAMPLES)

where ``e(h)`` is the hypothesis' own embedding (the zero-shot prior),
``m_label`` the mean of the label's examples, ``m_all`` the mean over all
labels' means, and ``n`` the label's number of examples. Two reasons:

* the *difference* ``m_label - m_all`` is what tells this label's texts from
  the others'; adding the raw mean would instead make the label closer to
  every text (all texts share a common direction), so labels with examples
  would steal texts from labels without (which must keep their zero-shot
  accuracy);
* the prior's weight shrinks as examples accumulate, as in a Bayesian mean:
  two examples nudge the label, sixteen mostly define it.

``scale`` is chosen per task by leave-one-out accuracy on the examples
(:func:`build_prototypes`). Hypotheses of labels without examples are
scored exactly as before.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..backends.embedding import EmbeddingBackend, _unit
from ..backends.prototypes import PrototypeBackend
from .examples import Examples

__all__ = ["PrototypeBackend", "build_prototypes", "PRIOR_EXAMPLES", "SCALES"]

#: How many examples the label's own name is worth (``w = n / (n + PRIOR_EXAMPLES)``).
PRIOR_EXAMPLES = 4.0
#: Candidate lengths of the example direction added to the unit hypothesis vector at full weight.
SCALES = (0.0, 0.5, 1.0, 2.0, 4.0)
#: Examples scored in the leave-one-out choice of the scale (a seeded sample when there are more).
LOO_ROWS = 200


def _prototypes(x: np.ndarray, gold: list[list[str]], priors: dict[str, np.ndarray], scale: float, prior_examples: float) -> dict[str, np.ndarray]:
    """``{label: (templates, dim) vectors}`` for every label with examples in ``gold`` (see the module doc)."""
    rows: dict[str, list[int]] = {}
    for i, labels in enumerate(gold):
        for label in labels:
            rows.setdefault(label, []).append(i)
    means = {label: (_unit(x[idx].mean(axis=0)), len(idx)) for label, idx in rows.items()}
    if not means:
        return {}
    centre = np.mean([m for m, _ in means.values()], axis=0)
    return {
        label: _unit(priors[label] + scale * n / (n + prior_examples) * (mean - centre)).astype(np.float32)
        for label, (mean, n) in means.items()
    }


def leave_one_out_accuracy(x: np.ndarray, examples: Examples, priors: dict[str, np.ndarray], scale: float, prior_examples: float, rows: np.ndarray) -> float:
    """Share of ``rows`` whose best label, against prototypes built without that row, is one of its gold labels."""
    labels = examples.labels
    hits = 0
    for i in rows:
        keep = [j for j in range(len(x)) if j != i]
        built = _prototypes(x[keep], [examples.gold[j] for j in keep], priors, scale, prior_examples)
        vectors = np.stack([built.get(label, priors[label]) for label in labels])  # (labels, templates, dim)
        best = labels[int(np.einsum("ltd,d->lt", vectors, x[i]).mean(axis=1).argmax())]
        hits += best in examples.gold[i]
    return hits / max(len(rows), 1)


def build_prototypes(
    backend: EmbeddingBackend,
    examples: Examples,
    templates: tuple[str, ...],
    *,
    prior_examples: float = PRIOR_EXAMPLES,
    seed: int = 0,
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """``{hypothesis: vector}`` for every template of every label with examples, and how the shift was chosen.

    How far the examples move a label is chosen per task by leave-one-out
    accuracy on the examples themselves (ties go to the smaller move): where
    the encoder does not separate the labels' texts (sentiment in a topic-
    minded encoder), the examples' direction is noise and the label names
    should keep the say, and only the user's own data can tell which case
    applies.
    """
    x = backend.embed(examples.texts)
    priors = {label: backend.hypothesis_vectors([t.format(label) for t in templates]) for label in examples.labels}
    rng = np.random.default_rng(seed)
    rows = rng.permutation(len(x))[:LOO_ROWS]
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):  # small products: threads only add synchronisation
        scores = {scale: leave_one_out_accuracy(x, examples, priors, scale, prior_examples, rows) for scale in SCALES}
    scale = max(SCALES, key=lambda s: (scores[s], -s))
    built = _prototypes(x, examples.gold, priors, scale, prior_examples)
    prototypes = {
        template.format(label): vectors[t] for label, vectors in built.items() for t, template in enumerate(templates)
    }
    return prototypes, {"shift_scale": scale, "leave_one_out_accuracy": {str(k): round(v, 4) for k, v in scores.items()}}
