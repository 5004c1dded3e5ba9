"""The linear head kept near zero-shot (zeroclass.adaptation.head): its solver and how it picks the pull, on synthetic vectors."""

from __future__ import annotations

import math

import numpy as np

from zeroclass.adaptation.head import choose_penalty, cross_validated_losses, fit_shifts

TEMPERATURE = 0.05


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def _task(seed: int = 0, per_label: int = 8, dim: int = 16):
    """Three labels whose zero-shot vectors point the wrong way for label 0 and 1 (swapped); label 2 has no examples."""
    rng = np.random.default_rng(seed)
    centres = _unit(rng.normal(size=(3, dim)))
    init = centres[[1, 0, 2]].copy()  # the label names of 0 and 1 are swapped: zero-shot gets them wrong
    x = _unit(np.concatenate([centres[j] + 0.3 * rng.normal(size=(per_label, dim)) for j in (0, 1)]))
    y = np.zeros((len(x), 3))
    y[:per_label, 0] = y[per_label:, 1] = 1
    return x, y, init, centres


def _accuracy(x, y, w) -> float:
    return float(np.mean((x @ w.T).argmax(axis=1) == y.argmax(axis=1)))


def test_head_corrects_wrong_label_vectors_and_leaves_labels_without_examples_alone():
    x, y, init, _ = _task()
    assert _accuracy(x, y, init) < 0.2
    shifts = fit_shifts(x, y, init, np.array([True, True, False]), temperature=TEMPERATURE, penalty=0.001)
    assert _accuracy(x, y, init + shifts) == 1.0
    assert np.all(shifts[2] == 0.0)


def test_stronger_pull_keeps_the_head_nearer_zero_shot_and_infinite_is_zero_shot():
    x, y, init, _ = _task()
    trainable = np.array([True, True, False])
    norms = [np.linalg.norm(fit_shifts(x, y, init, trainable, temperature=TEMPERATURE, penalty=p)) for p in (0.001, 0.1, 10.0)]
    assert norms[0] > norms[1] > norms[2] > 0
    assert np.all(fit_shifts(x, y, init, trainable, temperature=TEMPERATURE, penalty=math.inf) == 0.0)


def test_multi_label_head_learns_the_threshold_decisions():
    x, y, init, _ = _task()
    shifts = fit_shifts(x, y, init, np.array([True, True, False]), temperature=TEMPERATURE, penalty=0.001, threshold=0.2)
    decided = (x @ (init + shifts).T) > 0.2
    assert np.array_equal(decided[:, :2], y[:, :2].astype(bool))


def test_cross_validation_moves_away_from_zero_shot_only_when_the_examples_say_so():
    x, y, init, centres = _task()
    folds = np.arange(len(x)) % 4
    wrong = cross_validated_losses(x, y, init, folds, temperature=TEMPERATURE, threshold=None)
    assert not math.isinf(choose_penalty(wrong))  # swapped names: the examples must win
    right = cross_validated_losses(x, y, centres, folds, temperature=TEMPERATURE, threshold=None)
    assert choose_penalty(right) > choose_penalty(wrong)  # names already right: a stronger pull (less to gain)


def test_one_standard_error_rule_prefers_zero_shot_on_a_noisy_gain():
    rng = np.random.default_rng(0)
    base = rng.uniform(0.5, 1.5, size=12)
    noisy = base + np.tile([0.5, -0.6], 6)  # 0.05 better on average, far within the noise (standard error 0.16)
    assert choose_penalty({math.inf: base, 0.01: noisy}) == math.inf
    assert choose_penalty({math.inf: base, 0.01: base - 0.3}) == 0.01


def test_shifts_carry_nothing_along_the_examples_common_direction():
    """A shift along the direction every text shares would raise the label on the texts of labels without examples."""
    x, y, init, _ = _task()
    shifts = fit_shifts(x, y, init, np.array([True, True, False]), temperature=TEMPERATURE, penalty=0.001)
    np.testing.assert_allclose(shifts @ _unit(x.mean(axis=0)), 0.0, atol=1e-9)


def test_gate_keeps_unseen_labels_texts_and_only_ever_lowers_seen_labels():
    """gate_seen on hand-made similarities: columns 0-1 seen (adapted), 2 unseen."""
    from zeroclass.backends.prototypes import gate_seen

    plain = np.array([[0.30, 0.20, 0.40],   # the base model gives text 0 to the unseen label
                      [0.50, 0.20, 0.40],   # and text 1 to seen label 0
                      [0.10, 0.20, 0.30]])
    adapted = np.array([[0.60, 0.10, 0.99],  # the examples raised label 0 above the unseen label
                        [0.20, 0.45, 0.39],  # ... and made label 1 the best seen one
                        [0.05, 0.15, 0.99]])  # ... and lowered both seen labels here
    seen = np.array([True, True, False])
    gated = gate_seen(adapted, plain, seen)
    np.testing.assert_array_equal(gated[:, 2], plain[:, 2])  # unseen: the plain scores, whatever the adapted ones
    assert gated[0].argmax() == 2  # not stolen: the best seen is lowered to the plain best seen (0.30 < 0.40)
    np.testing.assert_allclose(gated[0, :2], [0.30, -0.20])
    assert gated[1].argmax() == 1  # which seen label: the adapted model's choice
    np.testing.assert_array_equal(gated[1, :2], adapted[1, :2])  # best seen (0.45) below plain's (0.50): left as it is
    np.testing.assert_array_equal(gated[2, :2], adapted[2, :2])  # never raised: lowered seen labels stay lowered


def test_two_encoder_gate_leaves_the_seen_or_unseen_decision_to_the_plain_model():
    """With the adapted labels scored by another encoder (lower_only=False), the best seen label scores exactly the
    plain best seen one: the plain model decides between seen and unseen labels, the adapted one among the seen."""
    from zeroclass.backends.prototypes import gate_seen

    plain = np.array([[0.30, 0.20, 0.40], [0.50, 0.20, 0.40], [0.35, 0.20, 0.30]])
    adapted = np.array([[0.60, 0.10, 0.99], [0.20, 0.45, 0.39], [0.05, 0.15, 0.99]])
    seen = np.array([True, True, False])
    gated = gate_seen(adapted, plain, seen, lower_only=False)
    np.testing.assert_array_equal(gated[:, 2], plain[:, 2])
    np.testing.assert_allclose(gated[:, :2].max(axis=1), plain[:, :2].max(axis=1))
    assert [row.argmax() == 2 for row in gated] == [row.argmax() == 2 for row in plain]  # the group: plain's
    assert gated[1].argmax() == 1 and gated[2].argmax() == 1  # within the seen labels: the adapted model's choice
    np.testing.assert_allclose(gated[2, :2], [0.25, 0.35])  # raised as well as lowered
