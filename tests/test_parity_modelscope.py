"""ModelScope's own pipeline outputs, reproduced on transformers 5.

The fixture was made by tools/make_modelscope_fixture.py with transformers<5
and modelscope[framework]: a tiny random StructBERT built with ModelScope's own
classes, saved in ModelScope's layout, and the labels and scores that
ModelScope's ``pipeline("zero-shot-classification")`` returned for it.
"""

from __future__ import annotations

import json

import pytest

from conftest import FIXTURES, SCORE_TOL

TOL = SCORE_TOL
pytestmark = pytest.mark.numeric
FIXTURE = FIXTURES / "structbert_tiny"
CASES = json.loads((FIXTURE / "reference_outputs.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def structbert():
    from zeroclass import pipeline

    return pipeline("zero-shot-classification", model=str(FIXTURE), device="cpu")


def test_modelscope_conventions(structbert):
    head = structbert.backend.head
    assert (head.entailment_id, head.contradiction_id) == (0, 2)
    assert structbert.backend.default_template == "{}"
    assert structbert.backend.max_length == 512


@pytest.mark.parametrize("case", CASES["cases"], ids=lambda c: f"{c['text'][:12]}|{c['candidate_labels']!s:.20}|{c['multi_label']}")
def test_matches_modelscope_pipeline(structbert, case):
    result = structbert(
        case["text"],
        case["candidate_labels"],
        multi_label=case["multi_label"],
        hypothesis_template=case["hypothesis_template"],
    )
    expected = case["result"]
    assert result["labels"] == expected["labels"]
    assert max(abs(a - b) for a, b in zip(result["scores"], expected["scores"])) <= TOL


@pytest.mark.parametrize("case", CASES["raw_logits_cases"], ids=lambda c: c["hypothesis"])
def test_raw_logits_and_token_ids(structbert, case):
    encoded = structbert.backend.tokenize([(case["premise"], case["hypothesis"])])
    assert encoded["input_ids"][0] == case["input_ids"]
    logits = structbert.backend.score_pairs([(case["premise"], case["hypothesis"])])[0]
    assert max(abs(a - b) for a, b in zip(logits, case["logits"])) <= TOL


def test_reference_example_is_covered():
    assert any(c["text"] == "世界那么大，我想去看看" and c["candidate_labels"] == ["家居", "旅游", "科技"] for c in CASES["cases"])
