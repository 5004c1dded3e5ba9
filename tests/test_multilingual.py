"""The language-routed offline default: each text answered by the model that reads its language.

English goes to all-MiniLM-L6-v2, exactly as before; Chinese (and the other
languages USE-multilingual reads) to USE-multilingual v3. The session's
``offline_classifier`` loads both models once; the single-model classifiers
here wrap the *same* backend objects, so nothing is loaded twice.
"""

from __future__ import annotations

import json
import logging

import pytest

from zeroclass import ZeroShotClassifier
from zeroclass.backends.routed import RoutedBackend
from zeroclass.backends.use import USE_MODEL, UseBackend
from zeroclass.hub import OFFLINE_DEFAULT
from zeroclass.language import detect_language
from zeroclass.polarity import SENTIMENT_MODEL_HINT, is_sentiment_like, polarity

SEED_TEXT, SEED_LABELS = "世界那么大，我想去看看", ["家居", "旅游", "科技"]
ZH_TEMPLATES = ["{}", "这是一条关于{}的内容。"]
EN_LABELS = ["sports", "finance", "weather"]
EN_TEXTS = ["The striker scored twice in the final", "Shares fell after the bank raised rates", "Heavy rain is forecast"]
ZH_TEXTS = ["国足在世界杯预选赛中取胜", "央行宣布降息，股市大涨", "明天有大雨和强风"]
ZH_LABELS = ["体育", "财经", "天气"]


@pytest.fixture(scope="module")
def routed(offline_classifier) -> RoutedBackend:
    assert isinstance(offline_classifier.backend, RoutedBackend)
    return offline_classifier.backend


@pytest.fixture(scope="module")
def english_only(routed) -> ZeroShotClassifier:
    return ZeroShotClassifier(routed.fallback)


@pytest.fixture(scope="module")
def use_only(routed) -> ZeroShotClassifier:
    backend = routed.routes["zh"]
    assert isinstance(backend, UseBackend)
    return ZeroShotClassifier(backend, hypothesis_template=ZH_TEMPLATES)


def assert_same(got: dict, want: dict) -> None:
    assert got["labels"] == want["labels"]
    assert got["scores"] == pytest.approx(want["scores"], abs=1e-5)


def test_the_seed_example_answers_travel_first_offline(offline_classifier):
    result = offline_classifier(SEED_TEXT, SEED_LABELS)
    assert result.labels == ["旅游", "科技", "家居"], result
    assert result["model"] == USE_MODEL


def test_a_mixed_call_answers_each_text_with_its_languages_model(offline_classifier, english_only, use_only):
    texts = [EN_TEXTS[0], ZH_TEXTS[0], EN_TEXTS[1], SEED_TEXT]
    labels = [EN_LABELS, ZH_LABELS, EN_LABELS, SEED_LABELS]
    results = offline_classifier(texts, labels, explain=True)
    assert [r["model"] for r in results] == [OFFLINE_DEFAULT, USE_MODEL, OFFLINE_DEFAULT, USE_MODEL]
    assert [r.top for r in results] == ["sports", "体育", "finance", "旅游"]
    # The two English texts share a label set, so they are refined together, by the English model alone.
    for got, want in zip([results[0], results[2]], english_only([texts[0], texts[2]], EN_LABELS)):
        assert_same(got, want)
    for i in (1, 3):
        assert_same(results[i], use_only(texts[i], labels[i]))
    # Each text got its own language's templates.
    assert results[1]["explanation"][0]["hypothesis"] == "体育"
    call = offline_classifier.prepare(texts, labels)
    assert "这是一条关于体育的内容。" in call.hypotheses[1] and "This text is about sports." in call.hypotheses[0]


def test_refinement_runs_per_model_over_that_models_texts(offline_classifier, english_only, use_only):
    labels = ["sports", "finance", "weather"]  # English labels: English texts to MiniLM, Chinese ones to USE
    mixed = offline_classifier([*EN_TEXTS, *ZH_TEXTS], labels, hypothesis_template="{}")
    english = english_only(EN_TEXTS, labels, hypothesis_template="{}")
    chinese = use_only(ZH_TEXTS, labels, hypothesis_template="{}")
    for got, want in zip(mixed, [*english, *chinese]):
        assert_same(got, want)
    assert [r["model"] for r in mixed] == [OFFLINE_DEFAULT] * 3 + [USE_MODEL] * 3


def test_english_answers_are_exactly_the_english_models(offline_classifier, english_only):
    for got, want in zip(offline_classifier(EN_TEXTS, EN_LABELS), english_only(EN_TEXTS, EN_LABELS)):
        assert_same(got, want)
        assert got["model"] == OFFLINE_DEFAULT


def test_language_detection_keeps_unsure_text_on_english():
    languages = {"en", "zh", "fr", "de", "ja"}
    assert detect_language("Show me flights to Boston", languages) == "en"
    assert detect_language("lol", languages) == "en"
    assert detect_language("We ate 饺子 for dinner at home", languages) == "en"
    assert detect_language(SEED_TEXT, languages) == "zh"
    assert detect_language("Je voudrais réserver une chambre pour deux nuits à Paris", languages) == "fr"
    assert detect_language("東京で美味しいラーメンを食べました", languages) == "ja"


def test_sentiment_like_label_sets_are_recognised_in_both_languages():
    assert polarity("正面") == "positive" and polarity("不满意") == "negative" and polarity("负面评价") == "negative"
    assert polarity("正面和负面") is None and polarity("旅游") is None
    assert is_sentiment_like(["正面", "负面"]) and is_sentiment_like(["positive", "neutral", "negative"])
    assert not is_sentiment_like(["喜欢运动", "喜欢读书"]) and not is_sentiment_like(SEED_LABELS)


def test_sentiment_answers_come_back_with_a_notice_naming_the_hub_model(offline_classifier, routed, caplog):
    use = routed.routes["zh"]
    use.sentiment_warned = False
    with caplog.at_level(logging.WARNING, logger="zeroclass"):
        offline_classifier(SEED_TEXT, SEED_LABELS)
        assert not [r for r in caplog.records if SENTIMENT_MODEL_HINT in r.getMessage()]  # a topic set says nothing
        result = offline_classifier(["质量很好，物流也快，非常满意", "太差了，用了两天就坏了"], ["正面", "负面"])
        offline_classifier("很满意", ["正面", "负面"])
    assert [r.top for r in result] == ["正面", "负面"]
    notices = [r.getMessage() for r in caplog.records if SENTIMENT_MODEL_HINT in r.getMessage()]
    assert len(notices) == 1 and "weak on sentiment" in notices[0] and "\n" not in notices[0]


def test_the_server_says_which_model_answered_each_text(offline_classifier, english_only, use_only):
    from fastapi.testclient import TestClient

    from zeroclass.server import create_app

    with TestClient(create_app(offline_classifier)) as client:
        labels = [["sports", "finance", "weather"], SEED_LABELS]  # each text with labels in its own language
        response = client.post("/v1/classify", json={"texts": [EN_TEXTS[0], SEED_TEXT], "candidate_labels": labels})
    assert response.status_code == 200, response.text
    body = response.json()
    assert OFFLINE_DEFAULT in body["model"] and USE_MODEL in body["model"]
    english, chinese = body["results"]
    assert (english["model"], chinese["model"]) == (OFFLINE_DEFAULT, USE_MODEL)
    assert_same(english, english_only(EN_TEXTS[0], labels[0]))
    assert_same(chinese, use_only(SEED_TEXT, SEED_LABELS))
    assert chinese["labels"][0] == "旅游"


def test_batch_answers_each_row_with_its_languages_model(tmp_path, offline_classifier, english_only, use_only):
    from zeroclass.batch import classify_file

    texts = [EN_TEXTS[0], ZH_TEXTS[0], EN_TEXTS[2], ZH_TEXTS[2]]
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"text": t}, ensure_ascii=False) + "\n" for t in texts), encoding="utf-8")
    labels = ["sports", "finance", "weather"]  # English labels: English rows to MiniLM, Chinese rows to USE
    classify_file(src, tmp_path / "out.jsonl", labels, model=offline_classifier, progress=False)
    rows = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()]
    expected = [*english_only([texts[0], texts[2]], labels), *use_only([texts[1], texts[3]], labels)]
    for row, want in zip([rows[0], rows[2], rows[1], rows[3]], expected):
        scores = row["predicted_scores"]
        scores = json.loads(scores) if isinstance(scores, str) else scores
        assert row["predicted_label"] == want["labels"][0]
        assert [s["score"] for s in scores] == pytest.approx(want["scores"], abs=1e-5)
    assert [rows[1]["predicted_label"], rows[3]["predicted_label"]] == ["sports", "weather"]


# -- issue 22, item 10: an English text with Chinese labels goes to the model that reads both ----------


def test_english_text_with_chinese_labels_is_answered_by_the_multilingual_model(offline_classifier):
    """It went to MiniLM, which reads no Chinese: 家居 0.72 and 旅游 last for a sentence about travel."""
    result = offline_classifier("I want to travel abroad next summer", ["家居", "旅游", "科技"], explain=True)
    assert result["model"] == "google/universal-sentence-encoder-multilingual-3"
    assert result["labels"][0] == "旅游"
    assert result["explanation"][0]["hypothesis"] in {"旅游", "这是一条关于旅游的内容。"}  # the labels' own templates


def test_a_french_text_with_chinese_labels_is_answered_by_the_multilingual_model(offline_classifier):
    result = offline_classifier("Je veux voyager à l'étranger l'été prochain", ["家居", "旅游", "科技"])
    assert result["model"] == "google/universal-sentence-encoder-multilingual-3" and result["labels"][0] == "旅游"


def test_english_text_with_english_labels_still_goes_to_the_english_model(offline_classifier, english_only):
    text, labels = "Messi scored twice as Inter Miami won the final", ["sports", "finance", "weather"]
    result = offline_classifier(text, labels)
    assert result["model"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert result["scores"] == pytest.approx(english_only(text, labels)["scores"], abs=1e-6)


def test_label_parts_cut_the_shared_frame_off():
    from zeroclass.backends.routed import label_parts

    assert label_parts(["This example is 旅游.", "This example is 家居."]) == ["旅游", "家居"]
    assert label_parts(["sports"]) == ["sports"]
    assert label_parts(["这是一条关于体育的内容。", "体育"]) == ["这是一条关于体育的内容。", "体育"]
