import numpy as np
import pytest

from zeroclass.batching import dedupe, pad, plan_batches


def test_dedupe_keeps_first_seen_order_and_inverts():
    items = [("a", "x"), ("b", "x"), ("a", "x"), ("c", "y"), ("b", "x")]
    unique, inverse = dedupe(items)
    assert unique == [("a", "x"), ("b", "x"), ("c", "y")]
    assert [unique[i] for i in inverse] == items


@pytest.mark.parametrize("max_tokens", [1, 7, 64, 1000])
def test_plan_batches_covers_every_index_once_within_budget(max_tokens):
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 50, size=200)
    batches = plan_batches(lengths, max_tokens)
    flat = np.concatenate(batches)
    assert sorted(flat.tolist()) == list(range(200))
    for batch in batches:
        longest = lengths[batch].max()
        assert len(batch) == 1 or len(batch) * longest <= max_tokens


def test_plan_batches_longest_first_and_max_batch_size():
    lengths = [3, 10, 5, 10, 1]
    batches = plan_batches(lengths, max_tokens=1000, max_batch_size=2)
    assert [len(b) for b in batches] == [2, 2, 1]
    assert [lengths[i] for i in batches[0]] == [10, 10]


def test_plan_batches_rejects_bad_budget():
    with pytest.raises(ValueError):
        plan_batches([1], 0)


def test_pad_right_and_left():
    assert pad([[1, 2, 3], [4]], 0).tolist() == [[1, 2, 3], [4, 0, 0]]
    assert pad([[1, 2, 3], [4]], 9, side="left").tolist() == [[1, 2, 3], [9, 9, 4]]
