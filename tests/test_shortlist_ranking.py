"""How the shortlister ranks: plain by default, with refinement and hub correction (CSLS) as options."""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

from zeroclass import ZeroShotClassifier
from zeroclass.errors import InputError
from zeroclass.shortlist import CSLS_NEIGHBOURS, LRUCache, Shortlister, hub_corrected

LABELS = ["sports", "finance", "weather", "travel", "technology", "home", "politics", "health", "music", "food"]
TEXTS = ["the team won the match at home", "the stock market fell and the bank cut its rate", "rain and snow tomorrow"]


class TableBackend:
    """An embedding "model" that looks vectors up in a table: labels are basis vectors, so a text's
    row *is* its similarity to each label, and a ranking's behaviour can be set up exactly."""

    model_name = "table"
    default_template = "{}"
    languages = None  # reads anything: nothing to refuse

    def __init__(self, table: dict[str, np.ndarray]) -> None:
        self.table = table

    def embed(self, sentences: Sequence[str]) -> np.ndarray:
        return np.stack([self.table[s] for s in sentences])


def hub_world() -> tuple[TableBackend, list[str], list[str], list[str]]:
    """(backend, labels, texts, gold): "hub" is near 10 texts of its own and, a little less, near the
    20 texts of four topics, nearer than each topic text is to its own label (0.40 against 0.35)."""
    labels = ["hub", "a", "b", "c", "d"]
    table = {name: np.eye(len(labels))[j] for j, name in enumerate(labels)}
    texts, gold = [], []
    for i in range(10):
        texts.append(f"hub text {i}")
        gold.append("hub")
        table[texts[-1]] = np.array([0.6, 0.1, 0.1, 0.1, 0.1])
    for j, topic in enumerate(labels[1:], start=1):
        for i in range(5):
            texts.append(f"{topic} text {i}")
            gold.append(topic)
            table[texts[-1]] = np.array([0.4] + [0.35 if k == j else 0.1 for k in range(1, len(labels))])
    return TableBackend(table), labels, texts, gold


def top1(shortlister: Shortlister, texts: list[str], labels: list[str]) -> list[str]:
    return [labels[row[0]] for row in shortlister.rank(texts, [labels] * len(texts), lambda names: names)]


def test_a_hub_label_crowds_out_the_gold_label_until_hub_correction_discounts_it():
    backend, labels, texts, gold = hub_world()
    plain = top1(Shortlister(backend, cache=LRUCache(100)), texts, labels)
    assert plain == ["hub"] * len(texts)  # the hub wins every topic text: shortlist=1 would lose them all
    corrected = top1(Shortlister(backend, hub_correction=True, cache=LRUCache(100)), texts, labels)
    assert corrected == gold


def test_hub_correction_is_csls_and_leaves_one_text_alone():
    sims = np.array([[0.9, 0.2], [0.8, 0.3], [0.1, 0.25]])
    r = np.array([0.85, 0.275])  # each label's mean similarity to its 2 most similar texts
    assert hub_corrected(sims, 2) == pytest.approx(2 * sims - r[None, :])
    assert np.array_equal(hub_corrected(sims[:1], CSLS_NEIGHBOURS), sims[:1])


def test_a_one_text_call_ranks_as_the_call_independent_default():
    backend, labels, texts, _ = hub_world()
    options = Shortlister(backend, refine=False, hub_correction=True, cache=LRUCache(100))
    default = Shortlister(backend, cache=LRUCache(100))
    for text in texts[10:15]:
        assert top1(options, [text], labels) == top1(default, [text], labels) == ["hub"]


TRANSDUCTIVE = [{"refine": True}, {"hub_correction": True}, {"refine": True, "hub_correction": True}]


@pytest.mark.parametrize("options", TRANSDUCTIVE)
def test_one_text_calls_with_minilm_equal_the_default_exactly(minilm, options):
    default = Shortlister(minilm, cache=LRUCache(1000))
    transductive = Shortlister(minilm, cache=LRUCache(1000), **options)
    for text in TEXTS:
        assert np.array_equal(transductive.similarities([text], LABELS), default.similarities([text], LABELS))


def test_hub_correction_keeps_the_label_vector_cache(minilm):
    cache = LRUCache(1000)
    shortlister = Shortlister(minilm, hub_correction=True, cache=cache)
    templates = len(minilm.default_template)
    shortlister.rank(TEXTS[:2], [LABELS] * 2, lambda names: names)
    assert (cache.misses, cache.hits) == (len(LABELS) * templates, 0)
    shortlister.rank(TEXTS[1:], [LABELS] * 2, lambda names: names)
    assert (cache.misses, cache.hits) == (len(LABELS) * templates, len(LABELS) * templates)


def test_the_call_dependent_options_raise_banking77_recall(shared_data, minilm):
    """On 256 banking77 texts in one call, refinement plus hub correction keep the gold intent in the
    top 10 more often than the plain ranking (measured on the whole set in benchmarks/RESULTS.md)."""
    meta = json.loads((shared_data / "banking77" / "meta.json").read_text(encoding="utf-8"))
    with open(shared_data / "banking77" / "test.jsonl", encoding="utf-8") as f:
        rows = random.Random(1).sample([json.loads(line) for line in f], 256)
    texts, labels = [r["text"] for r in rows], meta["labels"]

    def recall_at_10(shortlister: Shortlister) -> float:
        order = shortlister.rank(texts, [labels] * len(texts), lambda names: names)
        return float(np.mean([labels.index(r["labels"][0]) in row[:10] for r, row in zip(rows, order)]))

    plain = recall_at_10(Shortlister(minilm, cache=LRUCache(1000)))
    both = recall_at_10(Shortlister(minilm, refine=True, hub_correction=True, cache=LRUCache(1000)))
    assert both > plain + 0.01, (plain, both)


@pytest.fixture(scope="module")
def minilm(offline_classifier) -> Any:
    """The bundled all-MiniLM-L6-v2 alone (the offline default routes English to it): the default ranker."""
    return offline_classifier.backend.fallback


def test_load_takes_the_options_and_the_classifier_uses_them(tiny_classifier, minilm):
    shortlister = Shortlister.load(refine=True, hub_correction=True)
    assert (shortlister.model_name, shortlister.refine, shortlister.hub_correction) == (minilm.model_name, True, True)
    got = ZeroShotClassifier(tiny_classifier.backend, shortlist_model=shortlister)(TEXTS, LABELS, shortlist=3)
    expected = Shortlister(minilm, refine=True, hub_correction=True, cache=LRUCache(1000)).rank(
        TEXTS, [LABELS] * len(TEXTS), lambda names: names
    )
    for result, order in zip(got, expected):
        assert sorted(result["shortlisted"]) == sorted(LABELS[j] for j in order[:3])


def test_load_refuses_an_nli_model(tiny_nli_dir):
    with pytest.raises(InputError, match="NLI cross-encoder"):
        Shortlister.load(str(tiny_nli_dir))


def test_refinement_is_for_single_label_calls_only(minilm):
    """As in the offline default: refinement assumes one label per text, so a multi-label call ranks plainly."""
    plain = Shortlister(minilm, cache=LRUCache(1000)).similarities(TEXTS, LABELS)
    refining = Shortlister(minilm, refine=True, cache=LRUCache(1000))
    assert not np.allclose(refining.similarities(TEXTS, LABELS), plain, atol=1e-3)
    assert np.array_equal(refining.similarities(TEXTS, LABELS, multi_label=True), plain)


def test_the_classifier_tells_the_shortlister_whether_the_call_is_multi_label(tiny_classifier, minilm):
    seen = []

    class Recording(Shortlister):
        def similarities(self, texts, labels, multi_label=False):
            seen.append(multi_label)
            return super().similarities(texts, labels, multi_label)

    classifier = ZeroShotClassifier(tiny_classifier.backend, shortlist_model=Recording(minilm, cache=LRUCache(1000)))
    classifier(TEXTS, LABELS, shortlist=3, multi_label=True)
    classifier(TEXTS, LABELS, shortlist=3)
    assert seen == [True, False]
