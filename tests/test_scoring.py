import numpy as np
import pytest

from zeroclass.scoring import label_scores, nli_probabilities, rank, softmax


def reference_softmax(x):
    e = np.exp(np.asarray(x, dtype=np.float64))
    return e / e.sum(-1, keepdims=True)


def test_softmax_matches_definition_and_is_stable():
    x = np.array([[1.0, 2.0, 3.0], [-1.0, 0.0, 0.5]])
    np.testing.assert_allclose(softmax(x), reference_softmax(x), rtol=1e-12)
    big = np.array([1000.0, 1001.0])  # exp overflows without the max shift
    np.testing.assert_allclose(softmax(big), reference_softmax([0.0, 1.0]), rtol=1e-12)
    assert np.isfinite(softmax(np.array([-1e4, 1e4]))).all()


def test_single_label_is_softmax_of_entailment_across_labels():
    logits = np.array([[0.1, 0.2, 2.0], [0.3, 0.1, 1.0], [2.0, 0.0, -1.0]])  # columns: con, neu, ent
    scores = label_scores(logits, entailment_id=2, contradiction_id=0, multi_label=False)
    np.testing.assert_allclose(scores, reference_softmax([2.0, 1.0, -1.0]))
    assert scores.sum() == pytest.approx(1.0)


def test_multi_label_is_per_label_contradiction_vs_entailment():
    logits = np.array([[0.1, 5.0, 2.0], [3.0, 0.1, 1.0]])
    scores = label_scores(logits, entailment_id=2, contradiction_id=0, multi_label=True)
    expected = [reference_softmax([0.1, 2.0])[1], reference_softmax([3.0, 1.0])[1]]
    np.testing.assert_allclose(scores, expected)
    # The neutral column plays no part.
    logits[:, 1] = -50
    np.testing.assert_allclose(label_scores(logits, entailment_id=2, contradiction_id=0, multi_label=True), expected)


def test_one_label_is_scored_as_multi_label():
    logits = np.array([[1.0, 0.0, 3.0]])
    single = label_scores(logits, entailment_id=2, contradiction_id=0, multi_label=False)
    np.testing.assert_allclose(single, [reference_softmax([1.0, 3.0])[1]])


def test_entailment_first_convention():
    logits = np.array([[2.0, 0.0, -1.0], [0.0, 0.0, 1.0]])  # ModelScope: ent 0, con 2
    scores = label_scores(logits, entailment_id=0, contradiction_id=2, multi_label=True)
    np.testing.assert_allclose(scores, [reference_softmax([-1.0, 2.0])[1], reference_softmax([1.0, 0.0])[1]])


def test_rank_is_best_first_and_matches_reversed_argsort():
    scores = np.array([0.2, 0.5, 0.1, 0.2])
    order = rank(scores)
    assert list(scores[order]) == sorted(scores, reverse=True)
    assert list(order) == list(reversed(scores.argsort()))


def test_nli_probabilities_rows_sum_to_one():
    probs = nli_probabilities(np.array([[1.0, 2.0, 3.0], [0.0, -np.inf, 1.0]]))
    np.testing.assert_allclose(probs.sum(-1), 1.0)
    assert probs[1, 1] == 0.0


def test_bad_shape_is_refused():
    with pytest.raises(ValueError, match="shape"):
        label_scores(np.zeros(3), entailment_id=0, contradiction_id=1, multi_label=False)
