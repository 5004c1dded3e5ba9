"""Metrics against examples computed by hand (see each test's comments)."""

import numpy as np
import pytest

from zeroclass.evaluation.metrics import (
    multi_label_metrics,
    reliability,
    single_label_metrics,
    threshold_sweep,
)


def test_single_label_by_hand_with_a_label_that_never_occurs():
    # gold a a b c c c / predicted a b b c c a; "d" is a candidate nobody uses.
    labels = ["a", "b", "c", "d"]
    m = single_label_metrics(labels, np.array([0, 0, 1, 2, 2, 2]), np.array([0, 1, 1, 2, 2, 0]))
    assert m["accuracy"] == pytest.approx(4 / 6)
    stats = {s.label: s for s in m["per_label"]}
    assert (stats["a"].precision, stats["a"].recall, stats["a"].f1, stats["a"].support) == (0.5, 0.5, 0.5, 2)
    assert (stats["b"].precision, stats["b"].recall, stats["b"].support) == (0.5, 1.0, 1)
    assert stats["b"].f1 == pytest.approx(2 / 3)
    assert (stats["c"].precision, stats["c"].recall) == (1.0, pytest.approx(2 / 3))
    assert stats["c"].f1 == pytest.approx(0.8)
    # Unused label: listed, undefined, and left out of the macro average.
    assert (stats["d"].precision, stats["d"].recall, stats["d"].f1, stats["d"].support) == (None, None, None, 0)
    assert m["macro_f1"] == pytest.approx((0.5 + 2 / 3 + 0.8) / 3)
    assert m["confusion"].tolist() == [[1, 1, 0, 0], [0, 1, 0, 0], [1, 0, 2, 0], [0, 0, 0, 0]]


def test_a_label_predicted_but_never_gold_counts_as_zero_f1():
    m = single_label_metrics(["a", "b"], np.array([0, 0]), np.array([0, 1]))
    b = m["per_label"][1]
    assert (b.precision, b.recall, b.f1, b.support) == (0.0, 0.0, 0.0, 0)
    assert m["macro_f1"] == pytest.approx((2 / 3 + 0) / 2)


# gold: [x], [x, y], [] (no gold label), [z]
GOLD = np.array([[1, 0, 0], [1, 1, 0], [0, 0, 0], [0, 0, 1]], dtype=bool)
SCORES = np.array([[0.9, 0.2, 0.1], [0.6, 0.4, 0.0], [0.1, 0.7, 0.0], [0.0, 0.0, 0.3]])


def test_multi_label_by_hand_including_a_row_without_gold():
    m = multi_label_metrics(["x", "y", "z"], GOLD, SCORES, 0.5)
    # predicted {x} {x} {y} {}: tp x=2; fp y=1; fn y=1, z=1
    assert m["micro_f1"] == pytest.approx(4 / 7)
    assert [s.f1 for s in m["per_label"]] == [1.0, 0.0, 0.0]
    assert m["macro_f1"] == pytest.approx(1 / 3)
    assert m["exact_match"] == 0.25
    # At 0.75 nothing is predicted for the gold-less row: an exact match.
    high = multi_label_metrics(["x", "y", "z"], GOLD, SCORES, 0.75)
    assert high["exact_match"] == 0.5
    assert high["micro_f1"] == pytest.approx(2 / 5)


def test_threshold_sweep_finds_the_best_threshold():
    sweep = threshold_sweep(["x", "y", "z"], GOLD, SCORES)
    best = max(sweep, key=lambda r: r["micro_f1"])
    # At 0.20: predicted {x} {x,y} {y} {z}: tp 4, fp 1 -> 8/9; 0.25 ties, the first wins.
    assert best["threshold"] == 0.2
    assert best["micro_f1"] == pytest.approx(8 / 9)
    assert best["exact_match"] == 0.75


def test_expected_calibration_error_by_hand():
    r = reliability(np.array([0.95, 0.85, 0.15]), np.array([1, 0, 0]))
    assert r["ece"] == pytest.approx((0.05 + 0.85 + 0.15) / 3)
    assert [b["count"] for b in r["bins"]] == [0, 1, 0, 0, 0, 0, 0, 0, 1, 1]
    assert r["bins"][9]["accuracy"] == 1.0 and r["bins"][8]["confidence"] == pytest.approx(0.85)


def test_perfectly_calibrated_scores_have_zero_ece():
    r = reliability(np.array([1.0, 1.0, 0.0, 0.0]), np.array([1, 1, 0, 0]))
    assert r["ece"] == 0.0
