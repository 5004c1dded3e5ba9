"""Same labels, same order, same scores (within 1e-5) as transformers' own pipeline."""

from __future__ import annotations

import pytest

from conftest import SCORE_TOL
from tiny_models import WORDS

TOL = SCORE_TOL
pytestmark = pytest.mark.numeric

SHORT = [
    "The team won the match after a late goal",
    "Stocks fell as the bank raised the rate",
    "世界那么大，我想去看看",
    "rain and wind are expected tomorrow in the city",
]
LONG = " ".join(WORDS) + " " + "这是一个很长的中文句子。" * 20  # far over the 128-token limit


@pytest.fixture(scope="module")
def reference(tiny_nli_dir):
    from transformers import pipeline as hf_pipeline

    return hf_pipeline("zero-shot-classification", model=str(tiny_nli_dir), device="cpu")


def assert_same(ours, theirs):
    if isinstance(theirs, dict):
        ours, theirs = [ours], [theirs]
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        assert a["sequence"] == b["sequence"]
        ours_by_label = dict(zip(a["labels"], a["scores"]))
        theirs_by_label = dict(zip(b["labels"], b["scores"]))
        assert ours_by_label.keys() == theirs_by_label.keys()
        assert max(abs(ours_by_label[k] - theirs_by_label[k]) for k in ours_by_label) <= TOL
        # Same order, except that labels whose scores differ by less than the
        # tolerance (float noise between batched and unbatched runs) may swap.
        for mine, reference_label in zip(a["labels"], b["labels"]):
            assert mine == reference_label or abs(ours_by_label[mine] - ours_by_label[reference_label]) <= TOL


@pytest.mark.parametrize("n_labels", [1, 2, 3, 7, 20, 50])
@pytest.mark.parametrize("multi_label", [False, True])
def test_label_counts(tiny_classifier, reference, n_labels, multi_label):
    labels = WORDS[40 : 40 + n_labels]
    ours = tiny_classifier(SHORT, labels, multi_label=multi_label)
    theirs = reference(SHORT, candidate_labels=labels, multi_label=multi_label)
    assert_same(ours, theirs)


@pytest.mark.parametrize("template", ["This example is {}.", "The topic is {}", "{}", "这是一条关于{}的文本。"])
def test_templates(tiny_classifier, reference, template):
    labels = ["sports", "finance", "weather", "travel"]
    for multi_label in (False, True):
        ours = tiny_classifier(SHORT, labels, multi_label=multi_label, hypothesis_template=template)
        theirs = reference(SHORT, candidate_labels=labels, multi_label=multi_label, hypothesis_template=template)
        assert_same(ours, theirs)


def test_one_text_gives_one_dict_and_string_labels(tiny_classifier, reference):
    ours = tiny_classifier(SHORT[0], "sports, finance,weather")
    theirs = reference(SHORT[0], candidate_labels="sports, finance,weather")
    assert isinstance(ours, dict) and isinstance(theirs, dict)
    assert_same(ours, theirs)


def test_long_text_truncates_only_the_premise(tiny_classifier, reference):
    labels = ["sports", "finance", "旅游"]
    for multi_label in (False, True):
        assert_same(
            tiny_classifier([LONG, SHORT[1]], labels, multi_label=multi_label),
            reference([LONG, SHORT[1]], candidate_labels=labels, multi_label=multi_label),
        )


def test_default_template_is_transformers_default(tiny_classifier):
    assert tiny_classifier.backend.default_template == "This example is {}."
