"""shortlist=K: an embedding model picks each text's K labels, the NLI model scores only those."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

from zeroclass import ZeroShotClassifier
from zeroclass.errors import InputError, UnsupportedLanguageError
from zeroclass.shortlist import LRUCache, Shortlister

LABELS = ["sports", "finance", "weather", "travel", "technology", "home", "politics", "health", "music", "food"]
TEXTS = ["the team won the match at home", "the stock market fell and the bank cut its rate", "rain and snow tomorrow"]


class CountingBackend:
    """The tiny NLI backend, recording every pair it is asked to score."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.seen: list[tuple[str, str]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def score_pairs(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        self.seen.extend(pairs)
        return self.inner.score_pairs(pairs)


@pytest.fixture(scope="module")
def minilm(offline_classifier) -> Any:
    """The bundled all-MiniLM-L6-v2 alone (the offline default routes English to it): the default ranker."""
    return offline_classifier.backend.fallback


@pytest.fixture(scope="module")
def shortlister(minilm) -> Shortlister:
    """The bundled all-MiniLM-L6-v2 as ranker, with a cache of its own so counts are this module's."""
    return Shortlister(minilm, cache=LRUCache(1000))


@pytest.fixture
def counted(tiny_classifier, shortlister) -> ZeroShotClassifier:
    return ZeroShotClassifier(CountingBackend(tiny_classifier.backend), shortlist_model=shortlister)


def test_shortlist_none_is_exactly_todays_behaviour(tiny_nli_dir, tiny_classifier):
    fresh = ZeroShotClassifier.from_pretrained(str(tiny_nli_dir), device="cpu")
    for multi in (False, True):
        today = tiny_classifier(TEXTS, LABELS, multi_label=multi, explain=True)
        assert fresh(TEXTS, LABELS, multi_label=multi, explain=True, shortlist=None) == today
        assert fresh(TEXTS, LABELS, multi_label=multi, explain=True) == today
    assert fresh.shortlister._loaded is None  # never loaded the embedding model


def test_shortlist_of_all_labels_equals_the_full_call(counted, tiny_classifier):
    full = tiny_classifier(TEXTS, LABELS)
    got = counted(TEXTS, LABELS, shortlist=len(LABELS))
    assert len(counted.backend.seen) == len(TEXTS) * len(LABELS)
    for g, f in zip(got, full):
        assert g["labels"] == f["labels"]
        assert g["scores"] == pytest.approx(f["scores"], abs=1e-5)
        assert g["shortlisted"] == f["labels"]


def _check_expanded(result: dict, k: int) -> None:
    """All labels present once; the K shortlisted come first, the others at 0.0."""
    assert sorted(result["labels"]) == sorted(LABELS)
    assert len(result["shortlisted"]) == k
    assert result["labels"][:k] == result["shortlisted"]
    assert result["scores"][k:] == [0.0] * (len(LABELS) - k)


def test_only_the_shortlist_is_scored_and_softmaxed_over(counted, tiny_classifier, shortlister):
    k = 3
    got = counted(TEXTS, LABELS, shortlist=k, explain=True)
    assert len(counted.backend.seen) == len(TEXTS) * k
    ranking = shortlister.rank(TEXTS, [LABELS] * len(TEXTS), lambda labels: labels)
    for text, result, order in zip(TEXTS, got, ranking):
        _check_expanded(result, k)
        assert set(result["shortlisted"]) == {LABELS[j] for j in order[:k]}
        assert sum(result["scores"]) == pytest.approx(1.0)
        # Same numbers as asking the NLI model about the shortlisted labels alone.
        alone = tiny_classifier(text, [label for label in LABELS if label in result["shortlisted"]])
        assert result["scores"][:k] == pytest.approx(alone["scores"], abs=1e-5)
        assert result["labels"][:k] == alone["labels"]
        # The unscored ones keep the shortlister's order, and explain marks them.
        assert result["labels"][k:] == [LABELS[j] for j in order[k:]]
        marks = [(e["label"], e["scored"], e["entailment"] is None) for e in result["explanation"]]
        assert marks == [(label, i < k, i >= k) for i, label in enumerate(result["labels"])]


def test_multi_label_scores_the_shortlist_and_zeroes_the_rest(counted, tiny_classifier):
    got = counted(TEXTS, LABELS, shortlist=4, multi_label=True)
    assert len(counted.backend.seen) == len(TEXTS) * 4
    for text, result in zip(TEXTS, got):
        _check_expanded(result, 4)
        alone = tiny_classifier(text, result["shortlisted"], multi_label=True)
        expected = dict(zip(alone["labels"], alone["scores"]))
        assert result["scores"][:4] == pytest.approx([expected[label] for label in result["labels"][:4]], abs=1e-5)


def test_label_vectors_are_cached_across_calls(tiny_classifier, minilm):
    cache = LRUCache(1000)
    classifier = ZeroShotClassifier(tiny_classifier.backend, shortlist_model=Shortlister(minilm, cache=cache))
    classifier(TEXTS[:1], LABELS, shortlist=2)
    templates = len(minilm.default_template)
    assert (cache.misses, cache.hits, len(cache)) == (len(LABELS) * templates, 0, len(LABELS) * templates)
    classifier(TEXTS[1:], LABELS, shortlist=2)
    assert (cache.misses, cache.hits) == (len(LABELS) * templates, len(LABELS) * templates)


def test_lru_cache_is_bounded_and_evicts_the_oldest():
    cache = LRUCache(2)
    embed = lambda keys: np.array([[float(len(k))] for k in keys])  # noqa: E731
    cache.get_many(["a", "bb"], embed)
    cache.get_many(["a"], embed)  # "a" is now the most recent
    cache.get_many(["ccc"], embed)  # evicts "bb"
    assert len(cache) == 2 and cache.misses == 3
    cache.get_many(["bb"], embed)
    assert cache.misses == 4


@pytest.mark.parametrize("bad", [0, -1, True, 2.5, "3"])
def test_a_bad_shortlist_is_refused(counted, bad):
    with pytest.raises(InputError, match="shortlist must be"):
        counted(TEXTS, LABELS, shortlist=bad)
    with pytest.raises(InputError, match="shortlist must be"):  # at the call, not at the stream's first read
        counted((t for t in TEXTS), LABELS, shortlist=bad)


def test_shortlist_needs_an_nli_model(offline_classifier):
    with pytest.raises(InputError, match="shortlist is for NLI models"):
        offline_classifier(TEXTS, LABELS, shortlist=3)


def test_an_english_ranker_refuses_chinese_text(counted):
    with pytest.raises(UnsupportedLanguageError, match="shortlist model"):
        counted(["世界那么大，我想去看看"], LABELS, shortlist=3)


def test_cli_flag(tiny_nli_dir, capsys):
    from zeroclass.cli import main

    code = main(["classify", TEXTS[0], "--labels", ",".join(LABELS), "--shortlist", "2", "--json", "-m", str(tiny_nli_dir)])
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    _check_expanded(result, 2)


def test_server_field(tiny_classifier, shortlister):
    from fastapi.testclient import TestClient

    from zeroclass.server import ServerSettings, create_app

    classifier = ZeroShotClassifier(tiny_classifier.backend, shortlist_model=shortlister)
    with TestClient(create_app(classifier, ServerSettings(max_labels=len(LABELS) - 1))) as client:
        body = {"texts": TEXTS, "candidate_labels": LABELS[:-1], "shortlist": 2, "explain": True}
        response = client.post("/v1/classify", json=body)
        assert response.status_code == 200, response.text
        results = response.json()["results"]
        expected = classifier(TEXTS, LABELS[:-1], shortlist=2, explain=True)
        assert [r["shortlisted"] for r in results] == [e["shortlisted"] for e in expected]
        assert all(r["scores"][2:] == [0.0] * (len(LABELS) - 3) for r in results)
        refused = client.post("/v1/classify", json={**body, "shortlist": 0})
        assert refused.status_code == 422 and "shortlist" in refused.json()["error"]
        # The label cap counts every label sent, not only the shortlisted ones.
        over = client.post("/v1/classify", json={**body, "candidate_labels": LABELS})
        assert over.status_code == 422 and "max_labels" in over.json()["error"]


def test_batch_plumbing(tmp_path, tiny_classifier, shortlister):
    import pyarrow.parquet as pq

    from zeroclass.batch import classify_file

    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps({"text": t}) + "\n" for t in TEXTS), encoding="utf-8")
    classifier = ZeroShotClassifier(tiny_classifier.backend, shortlist_model=shortlister)
    classify_file(source, tmp_path / "out.parquet", LABELS, model=classifier, shortlist=3, progress=False)
    rows = pq.read_table(tmp_path / "out.parquet").to_pylist()
    expected = classifier(TEXTS, LABELS, shortlist=3)
    for row, want in zip(rows, expected):
        assert [s["label"] for s in row["predicted_scores"]] == want["labels"]
        assert [s["score"] for s in row["predicted_scores"]][3:] == [0.0] * (len(LABELS) - 3)


def test_a_named_ranker_is_loaded_and_checked_where_it_is_named(tiny_nli_dir, tmp_path, capsys):
    """Not as a 500 on every server request or an error on every batch row."""
    from zeroclass.cli import main
    from zeroclass.errors import InputTypeError, ModelNotFoundError
    from zeroclass.shortlist import ShortlistSource

    with pytest.raises(ModelNotFoundError):
        ZeroShotClassifier.from_pretrained(str(tiny_nli_dir), shortlist_model=str(tmp_path / "missing"))
    with pytest.raises(InputError, match="is an NLI cross-encoder; the shortlist needs a sentence-embedding model"):
        ShortlistSource(str(tiny_nli_dir))
    with pytest.raises(InputTypeError, match="shortlist_model must be .* got int"):
        ShortlistSource(5)  # type: ignore[arg-type]
    with pytest.raises(InputTypeError, match="refine must be True or False"):
        Shortlister(object(), refine="no")
    with pytest.raises(InputTypeError, match="unknown option.*refin"):
        Shortlister.load("/not/loaded/first", refin=True)
    # serve has --shortlist-model only; an abbreviation is not silently read as it.
    with pytest.raises(SystemExit) as exited:
        main(["serve", "--model", str(tiny_nli_dir), "--shortlist", "3"])
    assert exited.value.code == 2
    assert "unrecognized option --shortlist; did you mean --shortlist-model?" in capsys.readouterr().err


def test_a_batch_job_with_a_ranker_object_resumes(tmp_path, tiny_classifier, shortlister, monkeypatch):
    """The job records the ranker by model name and options, not by the object's address."""
    from zeroclass.batch import classify_file
    from zeroclass.batch.manifest import Manifest

    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps({"text": f"{t} {i}"}) + "\n" for i in range(4) for t in TEXTS), encoding="utf-8")
    commit = Manifest.commit

    def crash_after_one(self, table, bad):
        if self.chunks == 1:
            raise RuntimeError("simulated crash")
        commit(self, table, bad)

    def job(ranker: Shortlister):
        classifier = ZeroShotClassifier(tiny_classifier.backend, shortlist_model=ranker)
        return classify_file(source, tmp_path / "out.jsonl", LABELS, model=classifier, shortlist=3, chunk_rows=5,
                             progress=False)

    with monkeypatch.context() as patch:
        patch.setattr(Manifest, "commit", crash_after_one)
        with pytest.raises(RuntimeError, match="simulated crash"):
            job(shortlister)
    assert job(Shortlister(shortlister.backend, cache=LRUCache(10))).resumed_rows == 5


def test_only_texts_with_more_than_k_labels_are_ranked(counted):
    """A Chinese text with two labels needs no English ranking, whatever the call's other texts need."""
    texts = ["世界那么大，我想去看看", TEXTS[0]]
    results = counted(texts, [["家居", "旅游"], LABELS], shortlist=3)
    assert results[0]["labels"] == results[0]["shortlisted"] == counted(texts[0], ["家居", "旅游"])["labels"]
    assert len(results[1]["shortlisted"]) == 3


def test_caches_key_texts_by_a_small_digest(shortlister, minilm):
    """Bounded by entries, the caches are bounded in memory only if a 2,000-character label costs no more."""
    long_label = "🙂" * 2000
    shortlister.similarities(TEXTS[:1], [long_label])
    assert all(len(key[1]) == 16 for key in shortlister.cache._data)
    assert all(isinstance(key, bytes) and len(key) == 16 for key in minilm._cache)



def test_the_bundled_models_can_be_named_as_rankers_offline(tiny_classifier, monkeypatch):
    """The refusal of Chinese text names the bundled multilingual encoder; naming it works with no hub."""
    from zeroclass.backends.use import USE_MODEL

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    labels = ["家居", "旅游", "科技", "体育", "财经"]
    with pytest.raises(UnsupportedLanguageError, match=USE_MODEL):
        ZeroShotClassifier(tiny_classifier.backend)("世界那么大，我想去看看", labels, shortlist=2)
    chinese = ZeroShotClassifier(tiny_classifier.backend, shortlist_model=USE_MODEL)
    assert len(chinese("世界那么大，我想去看看", labels, shortlist=2)["shortlisted"]) == 2
    named = Shortlister.load("sentence-transformers/all-MiniLM-L6-v2")
    assert named.similarities(TEXTS, LABELS).shape == (len(TEXTS), len(LABELS))
