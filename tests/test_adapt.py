"""ZeroShotClassifier.adapt: few labelled examples in, a better classifier out, still zero-shot."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

import zeroclass
from zeroclass.backends.joint import JointEncoder
from zeroclass.backends.use import USE_MODEL
from zeroclass.errors import InputError

MINILM = "sentence-transformers/all-MiniLM-L6-v2"

# Label names that say nothing about their texts: zero-shot is at chance, examples must carry the meaning.
TRAIN = {
    "alpha": [
        "Whisk the eggs with sugar and bake the cake for forty minutes.",
        "Chop the onions and fry them in olive oil until golden.",
        "Simmer the tomato sauce with garlic and fresh basil.",
        "Knead the bread dough and let it rise overnight.",
    ],
    "beta": [
        "The striker scored twice in the second half of the match.",
        "The goalkeeper saved a penalty in the final minute.",
        "The coach praised his defenders after the league game.",
        "The team won the championship after extra time.",
    ],
}
TEST = [
    ("Roast the chicken with lemon, thyme and potatoes.", "alpha"),
    ("Stir the risotto slowly and add the stock bit by bit.", "alpha"),
    ("Season the soup with salt and pepper before serving.", "alpha"),
    ("Melt the butter and pour it over the pancakes.", "alpha"),
    ("The midfielder was sent off after a rough tackle.", "beta"),
    ("Fans cheered as the home side equalised late on.", "beta"),
    ("The referee awarded a free kick outside the box.", "beta"),
    ("Their forward headed the ball into the net.", "beta"),
]
LABELS = ["alpha", "beta"]


def _examples() -> tuple[list[str], list[str]]:
    texts = [t for label in LABELS for t in TRAIN[label]]
    return texts, [label for label in LABELS for _ in TRAIN[label]]


def _accuracy(classifier, labels=LABELS) -> float:
    """One call per text: a call of several texts would refine the label vectors on them, which hides what the examples did."""
    results = [classifier(t, labels) for t, _ in TEST]
    return float(np.mean([r["labels"][0] == gold for r, (_, gold) in zip(results, TEST)]))


def _score_map(classifier, texts, labels, **kwargs) -> list[dict[str, float]]:
    return [dict(zip(r["labels"], r["scores"])) for r in classifier(texts, labels, **kwargs)]


@pytest.fixture(scope="module")
def adapted(offline_classifier):
    return offline_classifier.adapt(*_examples())


def test_prototypes_learn_labels_whose_names_say_nothing(offline_classifier, adapted):
    before, after = _accuracy(offline_classifier), _accuracy(adapted)
    assert after == 1.0
    assert after >= before + 0.25, (before, after)
    assert type(adapted.backend).__name__ == "PrototypeBackend"
    assert adapted.info["method"] == "head" and adapted.info["examples_per_label"] == {"alpha": 4, "beta": 4}


def test_prototypes_still_learn_without_a_gradient(offline_classifier):
    prototypes = offline_classifier.adapt(*_examples(), method="prototypes")
    assert prototypes.info["method"] == "prototypes" and _accuracy(prototypes) == 1.0


def test_unseen_labels_score_exactly_as_the_base_model(offline_classifier, adapted):
    texts = [t for t, _ in TEST]
    labels = ["cooking", "football", "weather"]
    base = offline_classifier
    for kwargs in ({}, {"multi_label": True}):
        got, want = adapted(texts, labels, **kwargs), base(texts, labels, **kwargs)
        assert [r["labels"] for r in got] == [r["labels"] for r in want]
        np.testing.assert_allclose([r["scores"] for r in got], [r["scores"] for r in want], atol=1e-5)


def test_english_examples_tune_both_offline_models_and_other_languages_their_own(offline_classifier, adapted):
    """A head over MiniLM and USE side by side learns more from a few English examples (benchmarks/RESULTS.md);
    Chinese examples have only USE to teach, and contrastive tuning fine-tunes one encoder."""
    assert isinstance(adapted.backend.model, JointEncoder) and adapted.info["languages"] == ["en"]
    assert adapted.backend.model_name == f"{MINILM} + {USE_MODEL}" and adapted.info["base_model"] == MINILM
    chinese = offline_classifier.adapt(["世界那么大，我想去看看", "我爱我的家", "这次旅行很愉快", "新沙发很舒服"],
                                       ["旅游", "家居", "旅游", "家居"])
    assert chinese.info["base_model"] == USE_MODEL and not isinstance(chinese.backend.model, JointEncoder)
    assert offline_classifier.backend.adaptation_backend(["An English sentence."], joint=False).model_name == MINILM
    with pytest.raises(InputError, match="reads texts with two"):
        adapted.adapt(*_examples(), method="contrastive")


def test_joint_cosine_is_the_mean_of_the_two_models_cosines(offline_classifier):
    """Why temperature and threshold keep their meaning over the joint encoder."""
    routed = offline_classifier.backend
    joint = routed.adaptation_backend(["An English sentence."])
    assert routed.adaptation_backend(["Another English sentence."]) is joint  # built once, embeddings kept
    sentences = [t for t, _ in TEST[:3]] + ["This text is about cooking."]
    x = joint.embed(sentences)
    np.testing.assert_allclose(np.linalg.norm(x, axis=1), 1.0, atol=1e-5)
    mini, use = routed.fallback.embed(sentences), routed.routes["zh"].embed(sentences)
    np.testing.assert_allclose(x @ x[-1], (mini @ mini[-1] + use @ use[-1]) / 2, atol=1e-5)


def test_original_classifier_is_untouched(offline_classifier):
    texts = [t for t, _ in TEST]
    before = _score_map(offline_classifier, texts, LABELS)
    backend = offline_classifier.backend
    offline_classifier.adapt(*_examples())
    assert offline_classifier.backend is backend
    assert _score_map(offline_classifier, texts, LABELS) == before


def test_save_and_load_gives_the_same_scores(adapted, tmp_path):
    adapted.save_pretrained(tmp_path / "adapted", evaluation={"data": "test", "rows": 8, "before": {"accuracy": 0.5}, "after": {"accuracy": 1.0}})
    loaded = zeroclass.pipeline(model=str(tmp_path / "adapted"), device="cpu")
    texts = [t for t, _ in TEST]
    for labels in (LABELS, ["alpha", "beta", "weather"], ["cooking", "football"]):
        want = [r["scores"] for r in adapted(texts, labels)]
        got = [r["scores"] for r in loaded(texts, labels)]
        assert [r["labels"] for r in adapted(texts, labels)] == [r["labels"] for r in loaded(texts, labels)]
        np.testing.assert_allclose(got, want, atol=1e-5)
    assert loaded.backend.languages == frozenset({"en"})
    assert isinstance(loaded.backend.model, JointEncoder)
    card = (tmp_path / "adapted" / "README.md").read_text(encoding="utf-8")
    assert MINILM in card and USE_MODEL in card and "| alpha | 4 |" in card and "| after | 1.0000" in card
    config = json.loads((tmp_path / "adapted" / "zeroclass_adapter.json").read_text(encoding="utf-8"))
    assert config["base_model"] == MINILM and config["examples"] == 8 and config["joint_with"] == USE_MODEL
    assert config["gate_unseen_labels"] is True and loaded.backend.gate is True
    again = loaded.adapt(["It will rain all day tomorrow.", "Sunny and warm all week."], ["gamma", "delta"])
    assert again.info["base_model"] == str(tmp_path / "adapted")  # the model new labels are scored by, not the pair
    assert isinstance(again.backend.model, JointEncoder) and again.backend.plain is loaded.backend.plain
    assert dict(zip(config["prototype_hypotheses"], config["prototype_labels"]))["This text is about alpha."] == "alpha"


def test_a_folder_whose_marker_does_not_match_its_encoders_is_refused(adapted, tmp_path):
    from zeroclass.errors import ModelConfigError

    adapted.save_pretrained(tmp_path / "adapted")
    marker = tmp_path / "adapted" / "zeroclass_adapter.json"
    marker.write_text(json.dumps({**json.loads(marker.read_text(encoding="utf-8")), "joint_with": "someone/else"}), encoding="utf-8")
    with pytest.raises(ModelConfigError, match="someone/else"):
        zeroclass.pipeline(model=str(tmp_path / "adapted"), device="cpu")
    marker.write_text(json.dumps({**json.loads(marker.read_text(encoding="utf-8")), "joint_with": None}), encoding="utf-8")
    with pytest.raises(ModelConfigError, match="896 dimensions but .* gives 384"):
        zeroclass.pipeline(model=str(tmp_path / "adapted"), device="cpu")


def test_adapting_an_adapted_classifier_keeps_its_earlier_labels(adapted):
    more = adapted.adapt(["It will rain all day tomorrow.", "Sunny and warm all week."], ["gamma", "delta"])
    assert _accuracy(more) == 1.0
    assert more.info["base_model"] == MINILM


def test_bad_examples_are_named(offline_classifier, tiny_classifier):
    with pytest.raises(InputError, match="2 texts but 1 labels"):
        offline_classifier.adapt(["a", "b"], ["x"])
    with pytest.raises(InputError, match=r"texts\[1\] is empty"):
        offline_classifier.adapt(["a", " "], ["x", "y"])
    with pytest.raises(InputError, match=r"labels\[0\]: 'x' is not among candidate_labels"):
        offline_classifier.adapt(["a"], ["x"], candidate_labels=["y", "z"])
    with pytest.raises(InputError, match="'nli' does not apply"):
        offline_classifier.adapt(["a", "b"], ["x", "y"], method="nli")
    with pytest.raises(InputError, match="'prototypes' does not apply"):
        tiny_classifier.adapt(["a", "b"], ["x", "y"], method="prototypes")
    with pytest.raises(InputError, match="do not apply to the 'head' method"):
        offline_classifier.adapt(["a", "b"], ["x", "y"], epochs=3)
    with pytest.raises(InputError, match="do not apply to the 'prototypes' method"):
        offline_classifier.adapt(["a", "b"], ["x", "y"], method="prototypes", epochs=3)
    with pytest.raises(InputError, match=r"texts\[0\] has a lone surrogate U\+D800"):
        offline_classifier.adapt(["a \ud800", "b"], ["x", "y"])
    with pytest.raises(InputError, match=r"labels\[1\] has a lone surrogate"):
        offline_classifier.adapt(["a", "b"], ["x", "y\udfff"])
    with pytest.raises(InputError, match="hypothesis_template '{:>99999999}' must contain exactly one {}"):
        offline_classifier.adapt(["a", "b"], ["x", "y"], hypothesis_template="{:>99999999}")


def test_adapt_takes_a_hypothesis_template_as_a_call_does(offline_classifier):
    adapted = offline_classifier.adapt(*_examples(), hypothesis_template="This recipe or report is about {}.")
    assert adapted.info["templates"] == ["This recipe or report is about {}."]
    assert "This recipe or report is about alpha." in adapted.backend.prototypes and _accuracy(adapted) == 1.0


def _gold_scores(classifier, texts, gold, labels) -> float:
    results = classifier(texts, labels)
    return float(np.mean([dict(zip(r["labels"], r["scores"]))[g] for r, g in zip(results, gold)]))


@pytest.fixture(scope="module")
def trainable_tiny_classifier(tmp_path_factory):
    """The tiny NLI model with dropout off: with dropout its few, saturated units barely learn from eight examples."""
    from tiny_models import build_tiny_bert

    folder = build_tiny_bert(tmp_path_factory.mktemp("tiny-trainable"))
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    config.update(hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    (folder / "config.json").write_text(json.dumps(config), encoding="utf-8")
    return zeroclass.ZeroShotClassifier.from_pretrained(str(folder), device="cpu")


def test_nli_fine_tuning_moves_scores_towards_the_gold_labels(trainable_tiny_classifier, tmp_path):
    tiny_classifier = trainable_tiny_classifier
    texts = ["the team won the match", "stock market and bank rate", "rain and snow storm today", "flight to the hotel"] * 2
    gold = ["sports", "finance", "weather", "travel"] * 2
    labels = ["sports", "finance", "weather", "travel"]
    before = _gold_scores(tiny_classifier, texts, gold, labels)
    tuned = tiny_classifier.adapt(texts, gold, method="nli", epochs=30, learning_rate=1e-3, batch_size=4)
    after = _gold_scores(tuned, texts, gold, labels)
    assert after > before + 0.1, (before, after)
    assert _gold_scores(tiny_classifier, texts, gold, labels) == before  # the original is untouched
    tuned.save_pretrained(tmp_path / "nli")
    loaded = zeroclass.pipeline(model=str(tmp_path / "nli"), device="cpu")
    np.testing.assert_allclose(
        [r["scores"] for r in loaded(texts, labels)], [r["scores"] for r in tuned(texts, labels)], atol=1e-5
    )


@pytest.mark.slow
def test_contrastive_fine_tuning_changes_the_encoder_not_the_original(offline_classifier):
    texts, gold = _examples()
    weights = offline_classifier.backend.model[0].auto_model.embeddings.word_embeddings.weight
    before = weights.detach().numpy().copy()
    tuned = offline_classifier.adapt(texts, gold, method="contrastive", epochs=1)
    assert tuned.backend.model is not offline_classifier.backend.model
    np.testing.assert_array_equal(weights.detach().numpy(), before)  # the original encoder is not trained
    # One held-out example per label: the untouched encoder and the epoch are both scored on it.
    assert len(tuned.info["training"]["heldout_history"]) == 2
    assert _accuracy(tuned) == 1.0


def _write_csv(path: Path, rows: list[tuple[str, str]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["review", "tag"])
        writer.writerows(rows)
    return path


def test_cli_adapt_end_to_end(tmp_path, capsys):
    from zeroclass.cli import main

    texts, gold = _examples()
    examples = _write_csv(tmp_path / "examples.csv", list(zip(texts, gold)))
    held = _write_csv(tmp_path / "held.csv", TEST)
    out = tmp_path / "model"
    code = main(["adapt", str(examples), "-o", str(out), "--labels", "alpha,beta", "--text-column", "review",
                 "--label-column", "tag", "--eval", str(held), "--device", "cpu"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "before and after adapting" in printed and "saved to" in printed
    assert f"by head over {MINILM} + {USE_MODEL} on 8 examples" in " ".join(printed.split())
    config = json.loads((out / "zeroclass_adapter.json").read_text(encoding="utf-8"))
    assert config["evaluation"]["after"]["accuracy"] == 1.0
    assert set(config["evaluation"]["before"]) == set(config["evaluation"]["after"]) >= {"accuracy", "macro_f1"}
    code = main(["classify", "Fry the garlic in butter.", "--labels", "alpha,beta", "--model", str(out), "--json"])
    assert code == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["labels"][0] == "alpha"


def test_cli_adapt_names_a_missing_column(tmp_path, capsys):
    from zeroclass.cli import main

    examples = _write_csv(tmp_path / "examples.csv", [("a", "x"), ("b", "y")])
    assert main(["adapt", str(examples), "-o", str(tmp_path / "m")]) == 2
    assert "text" in capsys.readouterr().err


def test_head_learns_multi_label_examples_against_the_threshold(offline_classifier):
    """Multi-label examples train each label's sigmoid against the backend's threshold: gold labels rise above 0.5."""
    texts, gold = _examples()
    adapted = offline_classifier.adapt(texts, [[g] for g in gold])
    assert adapted.info["method"] == "head" and adapted.info["multi_label"]
    assert adapted.backend.gate is False  # independent sigmoids: labels do not compete, nothing to gate
    for text, label in TEST:
        scores = dict(zip(*(lambda r: (r["labels"], r["scores"]))(adapted(text, LABELS, multi_label=True))))
        assert scores[label] > 0.5 > scores[next(x for x in LABELS if x != label)], (text, scores)


def _gated_view(classifier, texts, seen, unseen):
    """Per text: its answer, and the score ratio of the best seen label to each unseen label (a logit difference)."""
    out = []
    for r in classifier(texts, seen + unseen):
        scores = dict(zip(r["labels"], r["scores"]))
        best_seen = max(scores[label] for label in seen)
        out.append((r["labels"][0], [best_seen / scores[label] for label in unseen]))
    return out


@pytest.mark.parametrize("one_call", [False, True], ids=["text-by-text", "refined-call"])
def test_unseen_labels_keep_the_base_models_decision_in_a_mixed_call(offline_classifier, adapted, one_call):
    """Seen labels (alpha, beta) must not win texts from unseen ones (cooking, football) that the base model gives those;
    the best seen label may score less against an unseen one than in the base model, never more.

    Both the pair path (one text per call) and the refined path (one call of many texts) are checked.
    """
    texts = [t for t, _ in TEST]
    seen, unseen = ["alpha", "beta"], ["cooking", "football"]

    def view(classifier):
        if one_call:
            return _gated_view(classifier, texts, seen, unseen)
        return [_gated_view(classifier, [t], seen, unseen)[0] for t in texts]

    base, gated = view(offline_classifier), view(adapted)
    for (base_top, base_ratios), (top, ratios) in zip(base, gated):
        assert top == base_top or base_top in seen  # a text the base model gives an unseen label keeps it
        assert all(r <= b * (1 + 1e-4) for r, b in zip(ratios, base_ratios))  # best seen vs each unseen: never above the base margin
    ungated = zeroclass.ZeroShotClassifier(type(adapted.backend).from_backend(adapted.backend, adapted.backend.prototypes, gate=False))
    stolen = sum(top in seen for top, _ in view(ungated)) - sum(top in seen for top, _ in gated)
    assert stolen > 0, "without the gate the seen labels should win texts the base model gives the unseen ones"
    if not one_call:  # among the seen labels the adapted head still decides: their order is that of a seen-only call
        for text in texts:
            mixed, alone = adapted(text, seen + unseen), adapted(text, seen)
            assert [label for label in mixed["labels"] if label in seen] == alone["labels"]


def test_the_gate_can_be_switched_off_and_stays_off_when_saved(offline_classifier, adapted, tmp_path):
    """``gate_unseen_labels=False``: the adapted labels score as the plain head would in a mixed call, also after saving."""
    ungated = offline_classifier.adapt(*_examples(), gate_unseen_labels=False)
    assert ungated.backend.gate is False and adapted.backend.gate is True
    by_hand = zeroclass.ZeroShotClassifier(type(adapted.backend).from_backend(adapted.backend, adapted.backend.prototypes, gate=False))
    texts, mixed = [t for t, _ in TEST], ["alpha", "beta", "cooking", "football"]
    np.testing.assert_allclose([r["scores"] for r in ungated(texts, mixed)], [r["scores"] for r in by_hand(texts, mixed)], atol=1e-5)
    ungated.save_pretrained(tmp_path / "ungated")
    config = json.loads((tmp_path / "ungated" / "zeroclass_adapter.json").read_text(encoding="utf-8"))
    loaded = zeroclass.pipeline(model=str(tmp_path / "ungated"), device="cpu")
    assert config["gate_unseen_labels"] is False and loaded.backend.gate is False


def test_the_gate_switch_is_refused_where_it_means_nothing(offline_classifier, tiny_classifier):
    texts, gold = _examples()
    with pytest.raises(InputError, match="gate_unseen_labels=True applies to single-label"):
        offline_classifier.adapt(texts, [[g] for g in gold], gate_unseen_labels=True)
    with pytest.raises(InputError, match="gate_unseen_labels applies to embedding models"):
        tiny_classifier.adapt(["a", "b"], ["x", "y"], gate_unseen_labels=False)


def test_cli_adapt_no_gate(tmp_path, capsys):
    from zeroclass.cli import main

    examples = _write_csv(tmp_path / "examples.csv", list(zip(*_examples())))
    assert main(["adapt", str(examples), "-o", str(tmp_path / "m"), "--text-column", "review", "--label-column", "tag",
                 "--no-gate", "--device", "cpu"]) == 0
    capsys.readouterr()
    assert json.loads((tmp_path / "m" / "zeroclass_adapter.json").read_text(encoding="utf-8"))["gate_unseen_labels"] is False


def test_the_joint_encoder_reads_each_text_once_per_model(offline_classifier, adapted, monkeypatch):
    """MiniLM's half of a joint vector comes from MiniLM's own cache: a mixed call (adapted and new labels) or a
    zero-shot call before it does not make MiniLM encode the same text twice."""
    fallback = offline_classifier.backend.fallback
    calls: list[list[str]] = []
    encode = fallback.model.encode
    monkeypatch.setattr(fallback.model, "encode", lambda sentences, **kw: calls.append(list(sentences)) or encode(sentences, **kw))
    text = "A brand new sentence about pastry and penalties."
    offline_classifier(text, ["cooking", "football"])
    adapted(text, ["alpha", "beta", "cooking"])
    assert sum(s.count(text) for s in calls) == 1


def test_the_offline_default_and_its_adaptation_pickle(offline_classifier, adapted):
    """Ray ships a loaded classifier to its actors by pickling it; USE's ctypes handles are rebuilt from the package."""
    import pickle

    texts = [t for t, _ in TEST[:2]]
    offline_classifier("世界那么大，我想去看看", ["旅游", "家居"])  # USE has run, so its native handles exist
    for classifier, labels in ((offline_classifier, ["cooking", "football"]), (adapted, ["alpha", "beta", "weather"])):
        copy = pickle.loads(pickle.dumps(classifier))
        want, got = classifier(texts, labels), copy(texts, labels)
        assert [r["labels"] for r in got] == [r["labels"] for r in want]
        np.testing.assert_allclose([r["scores"] for r in got], [r["scores"] for r in want], atol=1e-5)
