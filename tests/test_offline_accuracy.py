"""Template ensembles, label descriptions and refinement: what they compute, and where they are refused."""

import json
import os
from pathlib import Path

import numpy as np
import pytest

from conftest import SCORE_TOL
from zeroclass import InputError
from zeroclass.backends.embedding import REFINE_EVIDENCE, _refined_cosine
from zeroclass.scoring import softmax

LABELS = ["sports", "finance", "weather"]


def test_template_ensemble_averages_the_cosines(offline_classifier):
    backend = offline_classifier.backend.fallback  # the English model answers English text
    text, templates = "The striker scored twice", ["{}", "This text is about {}."]
    result = offline_classifier(text, LABELS, hypothesis_template=templates, refine=False)
    x = backend.embed([text])[0]
    cosine = np.array([np.mean([x @ backend.embed([t.format(label)])[0] for t in templates]) for label in LABELS])
    expected = dict(zip(LABELS, softmax(cosine / backend.temperature)))
    assert result.scores == pytest.approx([expected[label] for label in result.labels], abs=1e-5)


def test_one_template_in_a_list_is_the_same_as_the_template(tiny_classifier):
    texts = ["one text", "another, longer text"]
    plain = tiny_classifier(texts, LABELS)
    listed = tiny_classifier(texts, LABELS, hypothesis_template=["This example is {}."])
    assert listed == plain
    assert tiny_classifier.prepare(texts, LABELS).template_count == 1


def test_ensemble_pairs_are_label_major_and_explain_shows_the_first_template(tiny_classifier):
    call = tiny_classifier.prepare("t", ["a", "b"], hypothesis_template=["{}", "It is {}."])
    assert call.hypotheses == [["a", "It is a.", "b", "It is b."]]
    result = tiny_classifier("t", ["a", "b"], hypothesis_template=["{}", "It is {}."], explain=True)
    assert {e["label"]: e["hypothesis"] for e in result["explanation"]} == {"a": "a", "b": "b"}


@pytest.mark.parametrize(("templates", "message"), [([], "empty list"), (["{}", "{}"], "same template twice"), (["{} {}"], "exactly one")])
def test_bad_template_lists_are_refused(tiny_classifier, templates, message):
    with pytest.raises(InputError, match=message):
        tiny_classifier("t", LABELS, hypothesis_template=templates)


def test_label_descriptions_go_into_the_hypotheses(tiny_classifier):
    result = tiny_classifier(
        "t", LABELS, label_descriptions={"finance": "money, markets and banks"}, explain=True
    )
    hypotheses = {e["label"]: e["hypothesis"] for e in result["explanation"]}
    assert hypotheses["finance"] == "This example is money, markets and banks."
    assert hypotheses["sports"] == "This example is sports."
    with pytest.raises(InputError, match="'fiance', which is not a candidate label"):
        tiny_classifier("t", LABELS, label_descriptions={"fiance": "money"})


def test_refine_is_refused_for_nli_models(tiny_classifier):
    with pytest.raises(InputError, match="refine=True needs an embedding backend"):
        tiny_classifier(["a", "b"], LABELS, refine=True)


def _refined_by_definition(x, start, picks):
    """``_refined_cosine`` written out one (text, label) at a time, as its docstring defines it."""
    unit = lambda v: v / max(np.linalg.norm(v), 1e-12)  # noqa: E731
    out = np.zeros((len(x), len(start)))
    for i in range(len(x)):
        rest = unit(sum(x[j] for j in range(len(x)) if j != i)) if len(x) > 1 else np.zeros(x.shape[1])
        for label in range(len(start)):
            members = [j for j in range(len(x)) if j != i and picks[j] == label]
            w = len(members) / (len(members) + REFINE_EVIDENCE)
            centroid = unit(sum(x[j] for j in members)) if members else np.zeros(x.shape[1])
            out[i, label] = x[i] @ unit(start[label] + w * (centroid - rest)) if members else x[i] @ start[label]
    return out


def test_refined_cosine_matches_its_definition():
    rng = np.random.default_rng(0)
    unit = lambda v: v / np.linalg.norm(v, axis=-1, keepdims=True)  # noqa: E731
    x, start = unit(rng.normal(size=(12, 5))), unit(rng.normal(size=(4, 5)))
    picks = np.array([0, 0, 0, 1, 1, 2, 0, 1, 0, 0, 1, 1])  # label 3 picked by nobody, label 2 by one text
    assert np.allclose(_refined_cosine(x, start, picks), _refined_by_definition(x, start, picks), atol=1e-9)


def test_refinement_changes_nothing_when_the_call_cannot_tell_labels_apart(offline_classifier):
    # Two texts, or texts that all pick one label: no centroid says anything about a label, so
    # refined scores are the plain ones. (Refinement once put both of these under one label at 0.999.)
    pair = ["I loved this film, wonderful acting", "Terrible movie, a waste of time"]
    for labels in (["pos", "neg"], ["positive", "negative"]):
        refined, plain = offline_classifier(pair, labels), offline_classifier(pair, labels, refine=False)
        assert [r.labels for r in refined] == [r.labels for r in plain]
        for a, b in zip(refined, plain):
            assert a.scores == pytest.approx(b.scores, abs=SCORE_TOL)
    sports = ["The striker scored twice", "The keeper saved a penalty", "A late goal won the cup final"]
    refined, plain = offline_classifier(sports, LABELS), offline_classifier(sports, LABELS, refine=False)
    assert {r.top for r in plain} == {"sports"}
    for a, b in zip(refined, plain):
        assert a.labels == b.labels and a.scores == pytest.approx(b.scores, abs=SCORE_TOL)


def test_refine_leaves_a_lone_text_alone_and_changes_a_batch(offline_classifier):
    text = "Shares fell after the results"
    assert offline_classifier(text, LABELS) == offline_classifier(text, LABELS, refine=False)
    texts = ["The striker scored twice", "Shares fell after the results", "Rain expected tomorrow", "Banks raised rates"]
    refined = offline_classifier(texts, LABELS)
    plain = offline_classifier(texts, LABELS, refine=False)
    assert refined != plain
    # Multi-label calls are never refined.
    assert offline_classifier(texts, LABELS, multi_label=True) == offline_classifier(texts, LABELS, multi_label=True, refine=False)


def test_multi_label_threshold_lets_two_topics_fit(offline_classifier):
    result = offline_classifier("I loved the food but the hotel room was dirty", ["food", "hotel", "weather"], multi_label=True)
    scores = dict(zip(result.labels, result.scores))
    assert scores["food"] > 0.5 and scores["hotel"] > 0.5 and scores["weather"] < 0.5


DATA = Path(os.environ.get("ZEROCLASS_DATA") or Path(__file__).resolve().parents[2] / "shared" / "data")


@pytest.mark.slow
@pytest.mark.skipif(not (DATA / "trec" / "meta.json").is_file(), reason="evaluation data not present")
def test_default_beats_the_single_template_baseline_on_trec():
    """The one small English set: the default must beat the issue's single-template baseline (0.378 on 1,000 texts)."""
    from zeroclass.evaluation import evaluate

    meta = json.loads((DATA / "trec" / "meta.json").read_text())
    kwargs = dict(label_column="labels", labels=meta["labels"], progress=False)
    from zeroclass import pipeline

    classifier = pipeline(device="cpu")
    default = evaluate(DATA / "trec" / "test.jsonl", classifier=classifier, **kwargs)
    baseline = evaluate(DATA / "trec" / "test.jsonl", classifier=classifier, refine=False,
                        hypothesis_template="This text is about {}.", **kwargs)
    assert default.summary["accuracy"] >= baseline.summary["accuracy"] + 0.05
