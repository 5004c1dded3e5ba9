"""Code written for ``transformers.pipeline("zero-shot-classification")`` runs unchanged on zeroclass.

One script, written against transformers' pipeline with its factory and call
keywords and every input type it is fed, runs on both; labels must agree and
scores be within the project's tolerance (1e-5).
"""

from __future__ import annotations

import logging
import types

import numpy as np
import pytest
import torch
from torch.utils.data import Dataset

import zeroclass
from zeroclass import ZeroShotClassifier, compat
from zeroclass.classifier import STREAM_CHUNK_TEXTS
from zeroclass.result import ResultList

TOL = 1e-5
TEXTS = [
    "The team won the match",
    "Stocks fell as the bank raised the rate",
    "世界那么大，我想去看看",
    "rain and wind today",
    "the new phone app and software " * 40,  # longer than the model's 128 tokens: truncated
]
LABELS = ["sports", "finance", "weather", "travel", "technology"]


class ListDataset(Dataset):
    """The smallest map-style torch Dataset of rows, as ``datasets`` tables are to KeyDataset."""

    def __init__(self, rows: list[dict]) -> None:
        self.rows = rows

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> dict:
        return self.rows[i]


def transformers_script(pipeline, model_dir: str) -> dict[str, list[dict]]:
    """A script as one writes it for transformers: its keywords, its input types."""
    from transformers.pipelines.pt_utils import KeyDataset

    classifier = pipeline(
        "zero-shot-classification", model=model_dir, tokenizer=model_dir, device=-1, dtype=torch.float32,
        use_fast=True, trust_remote_code=False, batch_size=4, model_kwargs={},
    )
    rows = ListDataset([{"text": t, "id": i} for i, t in enumerate(TEXTS)])
    out = {
        "single": [classifier(TEXTS[0], candidate_labels=LABELS)],
        "sequences": classifier(sequences=TEXTS, candidate_labels=LABELS, batch_size=8, truncation=True, num_workers=0),
        "positional": classifier(TEXTS, LABELS, multi_label=True, hypothesis_template="This text is about {}."),
        "comma_string": classifier(TEXTS, "sports, finance, weather", truncation="only_first"),
        "generator": list(classifier((t for t in TEXTS), candidate_labels=LABELS, batch_size=2)),
        "key_dataset": list(classifier(KeyDataset(rows, "text"), candidate_labels=LABELS)),
    }
    try:
        import datasets
    except ImportError:
        return out
    table = datasets.Dataset.from_dict({"text": TEXTS})
    out["datasets_key_dataset"] = list(classifier(KeyDataset(table, "text"), candidate_labels=LABELS, batch_size=3))
    return out


def assert_same(got: list[dict], want: list[dict]) -> None:
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g["sequence"] == w["sequence"]
        assert g["labels"] == w["labels"]
        assert np.max(np.abs(np.array(g["scores"]) - np.array(w["scores"]))) <= TOL


@pytest.fixture(scope="module")
def reference_pipeline(tiny_nli_dir):
    import transformers

    return transformers.pipeline("zero-shot-classification", model=str(tiny_nli_dir), device=-1)


def test_a_transformers_script_runs_unchanged_with_the_same_results(tiny_nli_dir):
    import transformers

    want = transformers_script(transformers.pipeline, str(tiny_nli_dir))
    got = transformers_script(zeroclass.pipeline, str(tiny_nli_dir))
    assert set(got) == set(want)
    for case in want:
        assert_same(got[case], want[case])


@pytest.mark.parametrize("container", ["tuple", "series", "ndarray", "datasets_column"])
def test_containers_of_texts_give_every_result(tiny_classifier, reference_pipeline, container):
    """transformers answers only the first text of these (it takes them for one input); zeroclass answers all."""
    if container == "series":
        inputs = pytest.importorskip("pandas").Series(TEXTS, index=range(10, 10 + len(TEXTS)))
    elif container == "datasets_column":
        inputs = pytest.importorskip("datasets").Dataset.from_dict({"text": TEXTS})["text"]
    else:
        inputs = tuple(TEXTS) if container == "tuple" else np.array(TEXTS)
    got = tiny_classifier(inputs, LABELS)
    assert isinstance(got, list)
    assert all(type(r["sequence"]) is str for r in got)
    assert_same(got, reference_pipeline(list(TEXTS), candidate_labels=LABELS))


def test_a_generator_is_streamed_lazily_chunk_by_chunk(tiny_classifier):
    pulled = []

    def source():
        for i in range(3 * STREAM_CHUNK_TEXTS):
            pulled.append(i)
            yield TEXTS[i % len(TEXTS)]

    results = tiny_classifier(source(), LABELS)
    assert isinstance(results, types.GeneratorType) and pulled == []
    first = next(results)
    assert len(pulled) == STREAM_CHUNK_TEXTS  # one chunk read, not the whole source
    rest = list(results)
    assert len(pulled) == 3 * STREAM_CHUNK_TEXTS and len(rest) == 3 * STREAM_CHUNK_TEXTS - 1
    assert_same([first, *rest], tiny_classifier([TEXTS[i % len(TEXTS)] for i in range(3 * STREAM_CHUNK_TEXTS)], LABELS))


def test_a_bad_streamed_text_is_named_by_its_place_in_the_stream(tiny_classifier):
    results = tiny_classifier(iter(["fine"] * (STREAM_CHUNK_TEXTS + 3) + [None]), LABELS)
    with pytest.raises(TypeError, match=f"text {STREAM_CHUNK_TEXTS + 3} is NoneType"):
        list(results)


def test_streamed_labels_are_checked_at_the_call(tiny_classifier):
    with pytest.raises(ValueError, match="duplicate label"):
        tiny_classifier(iter(TEXTS), ["a", "a"])


def test_per_text_labels_with_a_generator(tiny_classifier):
    label_sets = [["sports", "finance"], ["weather", "travel"], ["科技", "旅游"]]
    got = list(tiny_classifier((t for t in TEXTS[:3]), label_sets))
    assert_same(got, tiny_classifier(TEXTS[:3], label_sets))
    with pytest.raises(ValueError, match="3 label lists but the input had 2 texts"):
        list(tiny_classifier((t for t in TEXTS[:2]), label_sets))


def test_ignored_keywords_are_noted_once_each_saying_why(tiny_classifier, caplog, monkeypatch):
    monkeypatch.setattr(compat, "_noted", set())
    with caplog.at_level(logging.WARNING, logger="zeroclass"):
        for _ in range(3):
            tiny_classifier(TEXTS[:2], LABELS, batch_size=8, num_workers=2, truncation=True, padding="longest")
    notes = [r.getMessage() for r in caplog.records]
    assert len(notes) == 3, notes  # batch_size, num_workers, padding; truncation=True is what zeroclass does
    assert any("batch_size=8 is ignored" in n and "token budget" in n for n in notes)
    assert any("num_workers=2 is ignored" in n for n in notes)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="zeroclass"):
        tiny_classifier(TEXTS[0], LABELS, truncation=False)
    assert ["truncates the text, never the hypothesis" in r.getMessage() for r in caplog.records] == [True]


def test_unknown_keywords_are_errors_with_a_suggestion(tiny_classifier):
    with pytest.raises(TypeError, match=r"unexpected keyword argument 'multi_lable'; did you mean 'multi_label'"):
        tiny_classifier(TEXTS[0], LABELS, multi_lable=True)
    with pytest.raises(TypeError, match="'candidate_label'; did you mean 'candidate_labels'"):
        tiny_classifier(TEXTS[0], candidate_label=LABELS)
    # Checked before any model is looked for.
    with pytest.raises(TypeError, match="'max_batch_token'; did you mean 'max_batch_tokens'"):
        zeroclass.pipeline("zero-shot-classification", model="/nonexistent/model", max_batch_token=512)
    with pytest.raises(TypeError, match="given twice"):
        tiny_classifier(TEXTS[0], LABELS, sequences=TEXTS[0])


def test_multi_class_is_read_as_multi_label(tiny_classifier, reference_pipeline):
    """transformers 4 renamed it to multi_label; transformers 5 drops it without a word. Here it keeps its meaning."""
    assert_same(tiny_classifier(TEXTS, LABELS, multi_class=True), reference_pipeline(TEXTS, LABELS, multi_label=True))


def test_pipeline_keeps_labels_and_multi_label_for_every_call(tiny_nli_dir, tiny_classifier):
    classifier = zeroclass.pipeline(
        "zero-shot-classification", model=str(tiny_nli_dir), device_map="cpu", candidate_labels=LABELS, multi_label=True,
        model_kwargs={"torch_dtype": "float32"},
    )
    assert_same(classifier(TEXTS), tiny_classifier(TEXTS, LABELS, multi_label=True))
    assert_same([classifier(TEXTS[0], ["a", "b"], multi_label=False)], [tiny_classifier(TEXTS[0], ["a", "b"])])


def test_model_tokenizer_device_task_and_repr(tiny_nli_dir, tiny_classifier, reference_pipeline):
    assert type(tiny_classifier.model) is type(reference_pipeline.model)
    assert tiny_classifier.model.config.id2label == reference_pipeline.model.config.id2label
    assert tiny_classifier.tokenizer("a text")["input_ids"] == reference_pipeline.tokenizer("a text")["input_ids"]
    assert tiny_classifier.device == torch.device("cpu") == reference_pipeline.device
    assert tiny_classifier.task == reference_pipeline.task == "zero-shot-classification"
    assert repr(tiny_classifier) == (
        f"ZeroShotClassifier(model={str(tiny_nli_dir)!r}, backend='torch', device='cpu', dtype='float32')"
    )


def test_the_embedding_backend_exposes_its_sentence_transformer(offline_classifier):
    from sentence_transformers import SentenceTransformer

    assert isinstance(offline_classifier.model, SentenceTransformer)
    assert offline_classifier.tokenizer is offline_classifier.model.tokenizer
    assert offline_classifier.device == torch.device("cpu")
    # The offline default routes by language; its English model is the SentenceTransformer it exposes.
    assert "backend='routed'" in repr(offline_classifier) and "dtype='float32'" in repr(offline_classifier)


def test_not_texts_are_refused_naming_the_type(tiny_classifier):
    with pytest.raises(TypeError, match="pass the column"):
        tiny_classifier({"text": "a"}, LABELS)
    with pytest.raises(TypeError, match="one-dimensional"):
        tiny_classifier(np.array([["a", "b"]]), LABELS)
    with pytest.raises(TypeError, match="text 1 is int"):
        tiny_classifier(["a", 3], LABELS)


def test_lists_of_results_and_explanations_render_in_jupyter(tiny_classifier):
    results = tiny_classifier(TEXTS[:2], LABELS, explain=True)
    assert isinstance(results, ResultList) and results == [dict(r) for r in results]
    page = results._repr_html_()
    assert page.count("<table>") == 2
    for result in results:
        assert result["explanation"][0]["hypothesis"] in page
    assert "entailment" in page and "contradiction" in page
    plain = tiny_classifier(TEXTS[0], LABELS)._repr_html_()
    assert "entailment" not in plain and "sports" in plain


def test_evaluate_takes_a_dataframe_and_a_list_of_dicts(tiny_classifier, tmp_path):
    pd = pytest.importorskip("pandas")
    rows = [{"text": t, "label": LABELS[i % 3]} for i, t in enumerate(TEXTS)]
    path = tmp_path / "data.jsonl"
    pd.DataFrame(rows).to_json(path, orient="records", lines=True, force_ascii=False)
    from_file = zeroclass.evaluate(path, classifier=tiny_classifier, progress=False)
    from_frame = zeroclass.evaluate(pd.DataFrame(rows), classifier=tiny_classifier, progress=False)
    from_dicts = zeroclass.evaluate(rows, classifier=tiny_classifier, progress=False)
    assert from_frame.summary == from_file.summary == from_dicts.summary
    assert from_frame.config["data"] == "DataFrame (5 rows)"
    with pytest.raises(ValueError, match="no column 'gold'"):
        zeroclass.evaluate(pd.DataFrame(rows), classifier=tiny_classifier, label_column="gold")


def test_classifier_is_still_built_directly(tiny_classifier):
    again = ZeroShotClassifier(tiny_classifier.backend)
    assert again(TEXTS[0], LABELS) == tiny_classifier(TEXTS[0], LABELS)


def test_a_loaded_model_object_and_tokenizer_run_as_in_transformers(tiny_nli_dir, reference_pipeline):
    """``pipeline(model=model_object, tokenizer=tokenizer_object)``: that very model is used, not reloaded."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    model = AutoModelForSequenceClassification.from_pretrained(str(tiny_nli_dir))
    tokenizer = AutoTokenizer.from_pretrained(str(tiny_nli_dir))
    with torch.no_grad():
        model.classifier.bias.add_(torch.tensor([0.0, 0.0, 1.5]))  # changed in memory only
    import transformers

    reference = transformers.pipeline("zero-shot-classification", model=model, tokenizer=tokenizer, device=-1)
    classifier = zeroclass.pipeline("zero-shot-classification", model=model, tokenizer=tokenizer, device=-1)
    assert classifier.model is model
    assert_same(classifier(TEXTS, LABELS), reference(TEXTS, LABELS))
    changed = classifier(TEXTS, LABELS, multi_label=True)
    assert_same(changed, reference(TEXTS, LABELS, multi_label=True))
    saved = reference_pipeline(TEXTS[0], LABELS, multi_label=True)  # the weights on disk
    assert changed[0]["scores"] != pytest.approx(saved["scores"], abs=1e-3)
    with pytest.raises(ValueError, match="applies to a model loaded by name"):
        zeroclass.pipeline("zero-shot-classification", model=model, backend="onnx")


def test_the_onnx_backend_reports_its_session_device_and_dtype(tiny_nli_dir, tmp_path, monkeypatch):
    pytest.importorskip("onnxruntime")
    import onnxruntime

    monkeypatch.setenv("ZEROCLASS_CACHE", str(tmp_path))
    classifier = ZeroShotClassifier.from_pretrained(str(tiny_nli_dir), backend="onnx")
    assert isinstance(classifier.model, onnxruntime.InferenceSession)
    assert classifier.device == "cpu" and classifier.dtype == "float32"
    assert classifier.tokenizer("a text")["input_ids"]
    assert repr(classifier).endswith("backend='onnx', device='cpu', dtype='float32')")


@pytest.mark.parametrize("device, expected", [(-1, "cpu"), (0, "cuda:0"), ("cpu", "cpu"), (None, None)])
def test_devices_are_read_as_transformers_reads_them(device, expected):
    from zeroclass.backends.base import device_string

    assert device_string(device) == expected


def test_device_minus_one_means_cpu_on_every_backend(tiny_nli_dir, tmp_path, monkeypatch):
    # transformers scripts say device=-1 for the CPU; the onnx and embedding backends once crashed on it.
    pytest.importorskip("onnxruntime")
    monkeypatch.setenv("ZEROCLASS_CACHE", str(tmp_path))
    onnx = zeroclass.pipeline("zero-shot-classification", model=str(tiny_nli_dir), backend="onnx", device=-1)
    assert onnx.device == "cpu" and onnx(TEXTS[0], LABELS)["labels"]
    offline = zeroclass.pipeline("zero-shot-classification", device=-1)
    assert str(offline.device) == "cpu" and offline(TEXTS[0], LABELS)["labels"]


def test_a_tokenizer_object_given_with_a_model_name_is_the_one_used(tiny_nli_dir):
    """Its own model_max_length (or casing) changes the scores in transformers; it must here too."""
    import transformers
    from transformers import AutoTokenizer

    short = AutoTokenizer.from_pretrained(str(tiny_nli_dir), model_max_length=16)
    reference = transformers.pipeline("zero-shot-classification", model=str(tiny_nli_dir), tokenizer=short, device=-1)
    classifier = zeroclass.pipeline("zero-shot-classification", model=str(tiny_nli_dir), tokenizer=short, device=-1)
    assert classifier.tokenizer is short and classifier.max_length == 16
    texts = [TEXTS[-1], TEXTS[1]]
    assert_same(classifier(texts, LABELS), reference(texts, LABELS))
    own = zeroclass.pipeline("zero-shot-classification", model=str(tiny_nli_dir), device=-1)
    assert own(TEXTS[-1], LABELS)["scores"] != pytest.approx(classifier(TEXTS[-1], LABELS)["scores"], abs=1e-4)


def test_labels_come_back_exactly_as_given_and_arrays_are_label_lists(tiny_classifier, reference_pipeline):
    import pandas as pd

    lines = [label + "\n" for label in LABELS]  # open("labels.txt").readlines()
    assert_same(tiny_classifier(TEXTS[:2], lines), reference_pipeline(TEXTS[:2], lines))
    spaced = [" sports", "finance "]
    template = "This text is about{}."
    assert_same(tiny_classifier(TEXTS[:2], spaced, hypothesis_template=template),
                reference_pipeline(TEXTS[:2], spaced, hypothesis_template=template))
    want = reference_pipeline(TEXTS[:2], LABELS)
    for labels in (np.array(LABELS), pd.Series(LABELS), pd.Series(LABELS).unique()):
        assert_same(tiny_classifier(TEXTS[:2], candidate_labels=labels), want)


def test_older_and_modelscope_spellings_are_understood(tiny_nli_dir, tiny_classifier, caplog):
    classifier = zeroclass.pipeline(
        "zero-shot-classification", model=str(tiny_nli_dir), framework="pt", use_auth_token=None, sequence_length=24
    )
    assert classifier.max_length == 24
    assert classifier(input=TEXTS[0], candidate_labels=LABELS) == classifier(TEXTS[0], LABELS)
    with pytest.raises(TypeError, match="given twice: positionally and as input="):
        classifier(TEXTS[0], LABELS, input=TEXTS[1])


def test_a_named_label2id_is_read_when_id2label_is_generic(tiny_nli_dir):
    """transformers finds entailment in label2id, so a hand-patched label2id works there and here."""
    import transformers
    from transformers import AutoModelForSequenceClassification

    model = AutoModelForSequenceClassification.from_pretrained(str(tiny_nli_dir))
    model.config.id2label = {0: "LABEL_0", 1: "LABEL_1", 2: "LABEL_2"}
    model.config.label2id = {"contradiction": 0, "neutral": 1, "entailment": 2}
    reference = transformers.pipeline("zero-shot-classification", model=model, tokenizer=str(tiny_nli_dir), device=-1)
    classifier = zeroclass.pipeline("zero-shot-classification", model=model, tokenizer=str(tiny_nli_dir), device=-1)
    assert classifier.backend.head.entailment_id == 2
    assert_same(classifier(TEXTS, LABELS, multi_label=True), reference(TEXTS, LABELS, multi_label=True))


def test_dtype_never_casts_a_model_object_in_place(tiny_nli_dir, caplog):
    from transformers import AutoModelForSequenceClassification

    model = AutoModelForSequenceClassification.from_pretrained(str(tiny_nli_dir))
    compat._noted.discard("dtype")
    with caplog.at_level(logging.WARNING, logger="zeroclass"):
        classifier = zeroclass.pipeline("zero-shot-classification", model=model, tokenizer=str(tiny_nli_dir),
                                        dtype=torch.bfloat16)
    assert next(model.parameters()).dtype == torch.float32 and classifier.model is model
    assert "dtype=torch.bfloat16 is ignored: a loaded model runs in its own dtype" in caplog.text


@pytest.mark.parametrize("device", ["cuda", "cuda:1", 0, "gpu"])
def test_a_device_this_machine_lacks_is_a_clear_error(tiny_nli_dir, device):
    """Not torch's "Torch not compiled with CUDA enabled" assertion from deep in the load."""
    if torch.cuda.device_count() > 1:
        pytest.skip("this machine has the devices asked for")
    if torch.cuda.is_available() and device != "cuda:1":
        pytest.skip("this machine has CUDA")
    with pytest.raises(ValueError, match="is not available: cuda"):
        zeroclass.pipeline("zero-shot-classification", model=str(tiny_nli_dir), device=device)
