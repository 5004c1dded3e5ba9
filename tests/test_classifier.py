from __future__ import annotations

import json

import numpy as np
import pytest

from tiny_models import build_tiny_bert
from zeroclass import ClassificationResult, InputError, ModelConfigError, ModelNotFoundError, ZeroShotClassifier, pipeline

TEXTS = [
    "The team won the match",
    "Stocks fell as the bank raised the rate",
    "世界那么大，我想去看看",
    "rain",
    "the new phone app and software " * 12,  # long: exercises truncation and padding
]
LABELS = ["sports", "finance", "weather", "travel", "technology"]


def scores_by_label(result):
    return dict(zip(result["labels"], result["scores"]))


@pytest.mark.parametrize("max_batch_tokens,max_batch_size", [(1, None), (40, None), (10**6, None), (10**6, 1), (200, 3)])
def test_batching_never_changes_a_score(tiny_nli_dir, tiny_classifier, max_batch_tokens, max_batch_size):
    reference = [scores_by_label(r) for r in tiny_classifier(TEXTS, LABELS)]
    other = ZeroShotClassifier.from_pretrained(
        str(tiny_nli_dir), device="cpu", max_batch_tokens=max_batch_tokens, max_batch_size=max_batch_size
    )
    for ref, got in zip(reference, other(TEXTS, LABELS)):
        got = scores_by_label(got)
        assert max(abs(ref[k] - got[k]) for k in ref) <= 1e-5


def test_batched_equals_one_pair_at_a_time(tiny_classifier):
    backend = tiny_classifier.backend
    pairs = [(t, f"This example is {label}.") for t in TEXTS for label in LABELS]
    together = backend.score_pairs(pairs)
    alone = np.concatenate([backend.score_pairs([p]) for p in pairs])
    np.testing.assert_allclose(together, alone, atol=1e-5)


def test_repeated_texts_are_scored_once_with_identical_results(tiny_classifier, monkeypatch):
    seen = []
    original = tiny_classifier.backend.score_pairs
    monkeypatch.setattr(tiny_classifier.backend, "score_pairs", lambda pairs: seen.append(len(pairs)) or original(pairs))
    results = tiny_classifier([TEXTS[0], TEXTS[1], TEXTS[0], TEXTS[0]], LABELS)
    assert seen == [2 * len(LABELS)]
    assert results[0] == results[2] == results[3]


def test_per_text_label_lists(tiny_classifier):
    label_sets = [["sports", "finance"], ["weather", "travel", "technology"], ["家居", "旅游", "科技"]]
    results = tiny_classifier(TEXTS[:3], label_sets)
    for result, labels in zip(results, label_sets):
        assert sorted(result["labels"]) == sorted(labels)
        assert sum(result["scores"]) == pytest.approx(1.0)
        # Same scores as classifying that text alone with its own labels.
        alone = tiny_classifier(result["sequence"], labels)
        assert scores_by_label(alone) == pytest.approx(scores_by_label(result), abs=1e-5)


def test_result_shape_and_type(tiny_classifier):
    result = tiny_classifier(TEXTS[0], LABELS)
    assert isinstance(result, ClassificationResult) and isinstance(result, dict)
    assert set(result) == {"sequence", "labels", "scores"}
    assert result.labels == result["labels"] and result.top == result["labels"][0]
    assert result["scores"] == sorted(result["scores"], reverse=True)
    assert json.loads(json.dumps(result)) == dict(result)
    assert isinstance(tiny_classifier([TEXTS[0]], LABELS), list)


def test_multi_label_scores_are_independent(tiny_classifier):
    both = scores_by_label(tiny_classifier(TEXTS[1], LABELS, multi_label=True))
    fewer = scores_by_label(tiny_classifier(TEXTS[1], LABELS[:2], multi_label=True))
    for label in LABELS[:2]:
        assert both[label] == pytest.approx(fewer[label], abs=1e-5)
    assert all(0.0 <= s <= 1.0 for s in both.values())


def test_explain_gives_hypotheses_and_nli_probabilities(tiny_classifier):
    result = tiny_classifier(TEXTS[0], LABELS, explain=True, hypothesis_template="It is about {}.")
    explanation = result["explanation"]
    assert [e["label"] for e in explanation] == result["labels"]
    for e in explanation:
        assert e["hypothesis"] == f"It is about {e['label']}."
        assert e["entailment"] + e["neutral"] + e["contradiction"] == pytest.approx(1.0)
        assert e["score"] == scores_by_label(result)[e["label"]]
    # Multi-label scores are entailment vs contradiction, renormalised.
    multi = tiny_classifier(TEXTS[0], LABELS, multi_label=True, explain=True)
    for e in multi["explanation"]:
        assert e["score"] == pytest.approx(e["entailment"] / (e["entailment"] + e["contradiction"]))


def test_prepare_and_finish_split_a_call(tiny_classifier):
    call = tiny_classifier.prepare(TEXTS[:2], LABELS, multi_label=True)
    assert len(call.pairs) == 2 * len(LABELS)
    logits = tiny_classifier.backend.score_pairs(call.pairs)
    assert tiny_classifier.finish(call, logits) == tiny_classifier(TEXTS[:2], LABELS, multi_label=True)
    with pytest.raises(ValueError, match="pairs"):
        tiny_classifier.finish(call, logits[:-1])


@pytest.mark.parametrize(
    "texts,labels,kwargs,message",
    [
        ("text", None, {}, "no candidate labels"),
        ("text", [], {}, "no candidate labels"),
        ("text", "", {}, "label 0 is empty"),
        ("text", ["a", " "], {}, "label 1 is empty"),
        ("text", "a,,b", {}, "label 1 is empty"),
        ("text", ["a", "b", "a"], {}, "duplicate label 'a' at positions 0 and 2"),
        ("text", ["a", 3], {}, "label 1 is int"),
        ("text", ["a"], {"hypothesis_template": "no placeholder"}, "exactly one {}"),
        ("text", ["a"], {"hypothesis_template": "{} and {}"}, "found 2 placeholders"),
        ("text", ["a"], {"hypothesis_template": "{label}"}, "exactly one {}"),
        ("text", ["a"], {"hypothesis_template": "bad {"}, "not a valid format string"),
        (["ok", 5], ["a"], {}, "text 1 is int"),
        (["ok", "  "], ["a"], {}, "text 1 is empty"),
        ("", ["a"], {}, "the text is empty"),
        ([], ["a"], {}, "no texts"),
        (b"bytes", ["a"], {}, "must be a string"),
        (["a", "b"], [["x"], ["y"], ["z"]], {}, "3 label lists but there are 2 texts"),
        (["a", "b"], [["x"], ["y", "y"]], {}, "labels of text 1"),
    ],
)
def test_bad_input_gets_a_clear_error(tiny_classifier, texts, labels, kwargs, message):
    with pytest.raises(InputError, match=message.replace("{", r"\{").replace("}", r"\}").replace("(", r"\(")):
        tiny_classifier(texts, labels, **kwargs)


def test_non_string_text_is_also_a_type_error(tiny_classifier):
    with pytest.raises(TypeError):
        tiny_classifier(["ok", None], ["a"])


def test_two_class_not_entailment_model(tmp_path):
    folder = build_tiny_bert(tmp_path / "rte", id2label={0: "entailment", 1: "not_entailment"})
    classifier = ZeroShotClassifier.from_pretrained(str(folder), device="cpu")
    assert (classifier.backend.head.entailment_id, classifier.backend.head.contradiction_id) == (0, 1)
    result = classifier(TEXTS[0], LABELS, explain=True)
    assert result["explanation"][0]["neutral"] is None


def test_model_without_entailment_label_is_refused_with_its_labels(tmp_path):
    folder = build_tiny_bert(tmp_path / "generic", id2label={0: "LABEL_0", 1: "LABEL_1", 2: "LABEL_2"})
    with pytest.raises(ModelConfigError, match=r"LABEL_0.*entailment_id"):
        ZeroShotClassifier.from_pretrained(str(folder), device="cpu")
    # The explicit override makes the same model usable.
    classifier = ZeroShotClassifier.from_pretrained(str(folder), device="cpu", entailment_id=2, contradiction_id=0)
    assert classifier("text", ["a", "b"])["labels"]


def test_unknown_model_offline_names_cache_and_fix(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelNotFoundError, match=r"not in the Hugging Face cache .*zeroclass download"):
        pipeline("zero-shot-classification", model="nobody/no-such-model", cache_dir=str(tmp_path))
    monkeypatch.setenv("MODELSCOPE_CACHE", str(tmp_path))
    with pytest.raises(ModelNotFoundError, match=r"(?s)ModelScope cache and offline mode is set.*searched: .*zeroclass download"):
        pipeline("zero-shot-classification", model="damo/nlp_structbert_zero-shot-classification_chinese-base")


def test_missing_local_folder():
    with pytest.raises(ModelNotFoundError, match="does not exist"):
        pipeline("zero-shot-classification", model="./no/such/folder")


def test_wrong_task_and_bad_options(tiny_nli_dir):
    with pytest.raises(InputError, match="zero-shot-classification"):
        pipeline("text-classification", model=str(tiny_nli_dir))
    with pytest.raises(InputError, match="dtype"):
        pipeline(model=str(tiny_nli_dir), dtype="float8")
    with pytest.raises(InputError, match="unknown backend"):
        pipeline(model=str(tiny_nli_dir), backend="tensorflow")
    with pytest.raises(InputError, match="unexpected keyword argument 'no_such_option'"):
        pipeline(model=str(tiny_nli_dir), no_such_option=1)
    with pytest.raises(InputError, match="do not apply"):  # an option of another backend
        pipeline(model=str(tiny_nli_dir), quantize="int8")


def test_bfloat16_agrees_with_float32(tiny_nli_dir, tiny_classifier):
    bf16 = ZeroShotClassifier.from_pretrained(str(tiny_nli_dir), device="cpu", dtype="bfloat16")
    for a, b in zip(tiny_classifier(TEXTS, LABELS), bf16(TEXTS, LABELS)):
        a, b = scores_by_label(a), scores_by_label(b)
        assert max(abs(a[k] - b[k]) for k in a) < 0.05


def test_hypothesis_never_truncated(tiny_classifier):
    backend = tiny_classifier.backend
    long_text = "word " * 500
    hypothesis = "This example is a very specific label."
    ids = backend.tokenize([(long_text, hypothesis)])["input_ids"][0]
    assert len(ids) == backend.max_length
    hypothesis_ids = backend.tokenizer(hypothesis, add_special_tokens=False)["input_ids"]
    assert ids[-len(hypothesis_ids) - 1 : -1] == hypothesis_ids
    with pytest.raises(InputError, match="too long for max_length"):
        tiny_classifier("text", ["label " * 200])


# -- the classifier owns scoring (issue 12) -------------------------------------


def test_score_scores_each_distinct_pair_once_and_scatters_back(tiny_classifier):
    pairs = [("a cat sat", "This example is animals."), ("stocks fell", "This example is finance.")] * 3
    seen: list[tuple[int, int]] = []
    logits = tiny_classifier.score(pairs, progress=lambda scored, total: seen.append((scored, total)))
    assert logits.shape == (6, 3)
    assert seen == [(2, 2)]  # one backend call, for the two distinct pairs
    np.testing.assert_allclose(logits[0::2], np.broadcast_to(logits[0], (3, 3)), atol=0)
    np.testing.assert_allclose(logits[:2], tiny_classifier.backend.score_pairs(pairs[:2]), atol=1e-5)


def test_score_in_chunks_reports_progress_and_agrees(tiny_classifier):
    pairs = [(f"text number {i}", f"This example is label {i % 4}.") for i in range(10)]
    seen: list[tuple[int, int]] = []
    chunked = tiny_classifier.score(pairs, progress=lambda scored, total: seen.append((scored, total)), chunk_pairs=4)
    assert seen == [(4, 10), (8, 10), (10, 10)]
    np.testing.assert_allclose(chunked, tiny_classifier.score(pairs), atol=1e-5)


def test_classifier_reports_what_callers_need(tiny_classifier, offline_classifier):
    from zeroclass.backends import Embedding, Refining, Routing

    assert tiny_classifier.max_length == tiny_classifier.backend.max_length > 0
    assert tiny_classifier.max_batch_tokens == tiny_classifier.backend.max_batch_tokens > 0
    assert tiny_classifier.backend_class == "TorchNLIBackend"
    assert offline_classifier.max_length is None and offline_classifier.max_batch_tokens is None
    routed = offline_classifier.backend
    assert isinstance(routed, Refining) and isinstance(routed, Routing) and not isinstance(routed, Embedding)
    assert isinstance(routed.fallback, Embedding) and isinstance(routed.fallback, Refining)
    assert not isinstance(tiny_classifier.backend, (Refining, Embedding, Routing))
    assert tiny_classifier.check_shortlist(3) == 3
    with pytest.raises(InputError, match="shortlist is for NLI models"):
        offline_classifier.check_shortlist(3)
