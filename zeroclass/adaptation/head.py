"""A linear head over frozen embeddings that starts as the zero-shot classifier and stays near it.

The zero-shot classifier of an embedding model already *is* a linear head:
label ``l`` scores ``w_l . x / temperature`` with ``w_l`` the mean of its
hypotheses' embeddings (``x`` a unit text embedding). Here each label with
examples gets a shift ``d_l`` (``w_l + d_l``) trained with the loss the
classifier scores by (softmax cross-entropy over the candidate labels; for
multi-label examples the per-label sigmoid against the backend's threshold)
plus ``penalty * sum ||d_l||^2``, which pulls the head back to the zero-shot
one. Why this shape:

* it keeps the zero-shot prior: with no evidence the head *is* zero-shot, so
  labels named well need few examples and labels named badly are corrected;
* labels without examples keep their vectors exactly (no shift), are left
  out of the training loss, and shifts carry no component along the texts'
  common direction (:func:`fit_shifts`); that alone still let labels with
  examples steal texts of labels without (TREC: -3 points on average, -12
  in one run), so at scoring time the adapted labels are also gated: they
  may not score above the base model's best adapted-label score against a
  label without examples (:mod:`zeroclass.backends.prototypes`);
* unlike a logistic regression from scratch it never throws the label names
  away, and unlike prototypes it corrects a label that attracts every text.

How hard the pull is (``penalty``, from :data:`PENALTIES`; ``inf`` = plain
zero-shot) is chosen per task by cross-validation on the user's own examples
(held-out cross-entropy, the strongest pull within one standard error of
the best), since only their data says how much the label names can be trusted. The problem is convex, so
SciPy's L-BFGS solves it in milliseconds.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..backends.embedding import EmbeddingBackend
from .examples import Examples

__all__ = ["build_head", "fit_shifts", "PENALTIES"]

#: Candidate strengths of the pull towards the zero-shot head (per label, on the mean loss); ``inf`` keeps zero-shot.
PENALTIES = (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, math.inf)
#: Most cross-validation folds (fewer when a label has fewer examples; at least two).
MAX_FOLDS = 5


def _targets(examples: Examples) -> np.ndarray:
    """``(texts, labels)`` 0/1 matrix of the gold labels."""
    index = {label: j for j, label in enumerate(examples.labels)}
    y = np.zeros((len(examples.gold), len(examples.labels)), dtype=np.float32)
    for i, row in enumerate(examples.gold):
        for label in row:
            y[i, index[label]] = 1.0
    return y


def _loss_and_gradient(w: np.ndarray, x: np.ndarray, y: np.ndarray, temperature: float, threshold: float | None) -> tuple[float, np.ndarray]:
    """Mean loss per example of label vectors ``w`` on ``(x, y)``, and its gradient in ``w``."""
    if threshold is None:  # single-label: softmax cross-entropy over the candidate labels
        z = x @ w.T / temperature
        z = z - z.max(axis=1, keepdims=True)
        log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        loss = -(y * log_p).sum() / len(x)
        error = np.exp(log_p) - y
    else:  # multi-label: per-label sigmoid against the threshold
        z = (x @ w.T - threshold) / temperature
        loss = (np.logaddexp(0.0, z) - y * z).sum() / len(x)
        error = 1.0 / (1.0 + np.exp(-z)) - y
    return float(loss), error.T @ x / (temperature * len(x))


def fit_shifts(
    x: np.ndarray, y: np.ndarray, init: np.ndarray, trainable: np.ndarray, *,
    temperature: float, penalty: float, threshold: float | None = None, start: np.ndarray | None = None,
) -> np.ndarray:
    """Shifts ``(labels, dim)`` minimising the loss on ``(x, y)`` plus ``penalty * ||shift||^2``.

    Two choices protect labels without examples, which must keep their
    texts (measured on TREC with a third of the labels held out: -6 to -12
    points without them):

    * the loss compares only the labels that may move: with the others in
      the softmax, the examples (none of which is theirs) would teach every
      trained label to beat them on any text;
    * shifts are kept orthogonal to the examples' mean direction: every text
      of a domain shares it, so a shift along it would raise the label on
      all texts alike.

    ``init``: the zero-shot label vectors; ``trainable``: which labels may
    move (the others keep a zero shift); ``threshold``: multi-label (sigmoid
    loss against it) when given, softmax cross-entropy otherwise; ``start``:
    shifts to start from (a neighbouring penalty's solution).
    """
    shifts = np.zeros_like(init)
    if math.isinf(penalty) or not trainable.any() or len(x) == 0:
        return shifts
    from scipy.optimize import minimize

    rows = np.flatnonzero(trainable)
    common = x.mean(axis=0)
    common /= max(float(np.linalg.norm(common)), 1e-12)

    def project(d: np.ndarray) -> np.ndarray:
        """``d`` without its component along the examples' common direction (see :func:`fit_shifts`)."""
        return d - np.outer(d @ common, common)

    def objective(flat: np.ndarray) -> tuple[float, np.ndarray]:
        d = project(flat.reshape(len(rows), -1))
        loss, grad = _loss_and_gradient(init[rows] + d, x, y[:, rows], temperature, threshold)
        return loss + penalty * float((d**2).sum()), project(grad + 2 * penalty * d).ravel()

    first = (start[rows] if start is not None else np.zeros((len(rows), init.shape[1]))).ravel()
    solved = minimize(objective, first, jac=True, method="L-BFGS-B", options={"maxiter": 500})
    shifts[rows] = project(solved.x.reshape(len(rows), -1))
    return shifts


def _folds(examples: Examples, seed: int) -> np.ndarray:
    """A fold number per example: each label's examples dealt round-robin over the folds, in seeded order."""
    counts = [c for c in examples.counts().values() if c]
    n_folds = max(2, min(MAX_FOLDS, min(counts) if counts else 2))
    rng = np.random.default_rng(seed)
    folds = np.zeros(len(examples.texts), dtype=np.int64)
    dealt: dict[str, int] = {}
    for i in rng.permutation(len(examples.texts)):
        key = examples.gold[i][0] if examples.gold[i] else ""
        folds[i] = dealt.get(key, 0) % n_folds
        dealt[key] = dealt.get(key, 0) + 1
    return folds


def _per_example_loss(w: np.ndarray, x: np.ndarray, y: np.ndarray, temperature: float, threshold: float | None) -> np.ndarray:
    return np.array([_loss_and_gradient(w, x[i : i + 1], y[i : i + 1], temperature, threshold)[0] for i in range(len(x))])


def cross_validated_losses(x: np.ndarray, y: np.ndarray, init: np.ndarray, folds: np.ndarray, *, temperature: float, threshold: float | None) -> dict[float, np.ndarray]:
    """Held-out loss of every example for each of :data:`PENALTIES`, each fold's head trained on the other folds.

    Penalties are tried from the strongest pull down, each fit starting at
    the previous one's solution (they are close), which keeps the search to
    a fraction of a second.
    """
    losses = {penalty: np.zeros(len(x)) for penalty in PENALTIES}
    for fold in np.unique(folds):
        train, held = folds != fold, folds == fold
        trainable = y[train].sum(axis=0) > 0
        shifts = None
        for penalty in sorted(PENALTIES, reverse=True):
            shifts = fit_shifts(x[train], y[train], init, trainable, temperature=temperature, penalty=penalty,
                                threshold=threshold, start=shifts)
            losses[penalty][held] = _per_example_loss(init + shifts, x[held], y[held], temperature, threshold)
    return losses


def choose_penalty(losses: dict[float, np.ndarray]) -> float:
    """The strongest pull whose held-out loss is within one standard error of the best one's (the one-standard-error rule).

    With a handful of examples the best cross-validated penalty is itself
    noisy; the rule moves away from the zero-shot head only as far as the
    examples show it pays, paired example by example.
    """
    best = min(losses, key=lambda p: losses[p].mean())
    for penalty in sorted(losses, reverse=True):
        difference = losses[penalty] - losses[best]
        error = difference.std(ddof=1) / np.sqrt(len(difference)) if len(difference) > 1 else 0.0
        if difference.mean() <= error:
            return penalty
    return best


def build_head(
    backend: EmbeddingBackend, examples: Examples, templates: tuple[str, ...], *, seed: int = 0,
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """``{hypothesis: vector}`` for every template of every label with examples, and how the pull was chosen.

    A label's stored hypothesis vectors are its template embeddings plus its
    shift, so the classifier's template-averaged score is exactly the head's.
    """
    from threadpoolctl import threadpool_limits

    x = backend.embed(examples.texts).astype(np.float64)
    hypotheses = {label: backend.hypothesis_vectors([t.format(label) for t in templates]) for label in examples.labels}
    init = np.stack([hypotheses[label].mean(axis=0) for label in examples.labels]).astype(np.float64)
    y = _targets(examples)
    threshold = backend.threshold if examples.multi_label else None
    options = {"temperature": backend.temperature, "threshold": threshold}
    folds = _folds(examples, seed)
    # The products are small (examples x labels x dim): BLAS threads only add
    # synchronisation, measured 4-20x slower on a busy 2-core machine.
    with threadpool_limits(limits=1, user_api="blas"):
        losses = cross_validated_losses(x, y, init, folds, **options)
        penalty = choose_penalty(losses)
        shifts = fit_shifts(x, y, init, y.sum(axis=0) > 0, penalty=penalty, **options)
    vectors = {
        template.format(label): (hypotheses[label][t] + shifts[j]).astype(np.float32)
        for j, label in enumerate(examples.labels) if y[:, j].any()
        for t, template in enumerate(templates)
    }
    details = {"penalty": penalty, "folds": int(folds.max()) + 1,
               "cross_validated_loss": {str(p): round(float(v.mean()), 4) for p, v in losses.items()}}
    return vectors, details
