"""The ONNX Runtime backend: same answers as torch, cached export, int8, runs without torch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnxruntime")

from conftest import SCORE_TOL  # noqa: E402
from zeroclass import ZeroShotClassifier  # noqa: E402
from zeroclass.backends import nli_onnx  # noqa: E402
from zeroclass.backends.nli_onnx import OnnxNLIBackend, export_dir  # noqa: E402
from zeroclass.backends.nli_torch import TorchNLIBackend  # noqa: E402
from zeroclass.errors import InputError  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures"
TEXTS = ["the team won the match today", "stock prices fell sharply at the bank", "I want to travel and see the world " * 6]
LABELS = ["sports", "finance", "travel", "weather"]
PAIRS = [(t, f"This example is {label}.") for t in TEXTS for label in LABELS]


@pytest.fixture(scope="module", autouse=True)
def onnx_cache(tmp_path_factory: pytest.TempPathFactory):
    """Exports go to a throwaway cache, never the user's."""
    old = os.environ.get("ZEROCLASS_CACHE")
    os.environ["ZEROCLASS_CACHE"] = str(tmp_path_factory.mktemp("zeroclass-cache"))
    yield Path(os.environ["ZEROCLASS_CACHE"])
    if old is None:
        del os.environ["ZEROCLASS_CACHE"]
    else:
        os.environ["ZEROCLASS_CACHE"] = old


@pytest.fixture(scope="module")
def fp32(tiny_nli_dir: Path) -> OnnxNLIBackend:
    return OnnxNLIBackend.from_path(tiny_nli_dir)


@pytest.fixture(scope="module")
def torch_backend(tiny_nli_dir: Path) -> TorchNLIBackend:
    return TorchNLIBackend.from_path(tiny_nli_dir, device="cpu")


def test_fp32_logits_match_torch(fp32: OnnxNLIBackend, torch_backend: TorchNLIBackend) -> None:
    np.testing.assert_allclose(fp32.score_pairs(PAIRS), torch_backend.score_pairs(PAIRS), atol=1e-5)
    assert fp32.head == torch_backend.head and fp32.default_template == torch_backend.default_template


@pytest.mark.parametrize("multi_label", [False, True])
def test_pipeline_scores_match_torch(tiny_nli_dir: Path, tiny_classifier: ZeroShotClassifier, multi_label: bool) -> None:
    onnx = ZeroShotClassifier.from_pretrained(str(tiny_nli_dir), backend="onnx")
    label_sets = [LABELS, LABELS[:2], ["weather", "travel", "sports"]]
    for mine, ref in zip(onnx(TEXTS, label_sets, multi_label=multi_label), tiny_classifier(TEXTS, label_sets, multi_label=multi_label)):
        assert mine["labels"] == ref["labels"]
        np.testing.assert_allclose(mine["scores"], ref["scores"], atol=1e-5)


def test_modelscope_structbert_exports_and_matches() -> None:
    folder = FIXTURES / "structbert_tiny"
    pairs = [("世界那么大，我想去看看", "旅游"), ("世界那么大，我想去看看", "科技"), ("今天股市大涨", "财经")]
    onnx = OnnxNLIBackend.from_path(folder)
    reference = TorchNLIBackend.from_path(folder, device="cpu")
    np.testing.assert_allclose(onnx.score_pairs(pairs), reference.score_pairs(pairs), atol=1e-5)
    assert (onnx.head.entailment_id, onnx.head.contradiction_id, onnx.default_template) == (0, 2, "{}")


def test_export_is_cached_and_keyed_by_options(tiny_nli_dir: Path, fp32: OnnxNLIBackend, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_export(*args: object, **kwargs: object) -> None:
        raise AssertionError("the cached export should have been reused")

    monkeypatch.setattr(nli_onnx, "_export", no_export)
    again = OnnxNLIBackend.from_path(tiny_nli_dir)
    np.testing.assert_array_equal(again.score_pairs(PAIRS), fp32.score_pairs(PAIRS))
    assert export_dir(tiny_nli_dir, None) != export_dir(tiny_nli_dir, "int8")


def test_a_damaged_export_is_made_again(tmp_path: Path, tiny_nli_dir: Path, fp32: OnnxNLIBackend, monkeypatch) -> None:
    """A cut-short or deleted graph in the cache is exported again once, not a raw error on every load."""
    import shutil

    made = export_dir(tiny_nli_dir, None)
    monkeypatch.setenv("ZEROCLASS_CACHE", str(tmp_path / "cache"))
    shutil.copytree(made, export_dir(tiny_nli_dir, None))
    graph = export_dir(tiny_nli_dir, None) / "model.onnx"
    for damage in (lambda: graph.write_bytes(graph.read_bytes()[:1000]), graph.unlink):
        damage()
        again = OnnxNLIBackend.from_path(tiny_nli_dir)
        np.testing.assert_allclose(again.score_pairs(PAIRS), fp32.score_pairs(PAIRS), atol=1e-5)
    (tmp_path / "file").write_text("not a folder")
    monkeypatch.setenv("ZEROCLASS_CACHE", str(tmp_path / "file"))
    with pytest.raises(InputError, match="is not a folder: set ZEROCLASS_CACHE"):
        OnnxNLIBackend.from_path(tiny_nli_dir)


def test_a_killed_exports_work_folder_is_removed_later(tmp_path: Path, tiny_nli_dir: Path, monkeypatch) -> None:
    import time

    monkeypatch.setenv("ZEROCLASS_CACHE", str(tmp_path))
    root = export_dir(tiny_nli_dir, None).parent
    old, recent = root / ".export-old", root / ".export-recent"  # a live export elsewhere must be left alone
    for work in (old, recent):
        work.mkdir(parents=True)
        (work / "raw.onnx").write_bytes(b"x")
    day_ago = time.time() - 25 * 3600
    os.utime(old, (day_ago, day_ago))
    OnnxNLIBackend.from_path(tiny_nli_dir)
    assert not old.exists() and recent.exists()


def test_int8_export_leaves_the_root_logger_alone(tmp_path: Path, tiny_nli_dir: Path, monkeypatch, capfd) -> None:
    """onnxruntime's quantiser calls logging.warning(); that must not configure the user's logging."""
    import logging

    monkeypatch.setenv("ZEROCLASS_CACHE", str(tmp_path))
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", [])
    OnnxNLIBackend.from_path(tiny_nli_dir, quantize="int8")
    assert root.handlers == []
    assert "WARNING:root" not in capfd.readouterr().err


def test_changed_model_files_get_a_new_export(tmp_path: Path, tiny_nli_dir: Path) -> None:
    import shutil

    copy = tmp_path / "model"
    shutil.copytree(tiny_nli_dir, copy)
    before = export_dir(copy, None)
    config = copy / "config.json"
    config.write_text(config.read_text() + "\n")
    assert export_dir(copy, None) != before


def test_int8_graph_is_quantised_and_close(tiny_nli_dir: Path, fp32: OnnxNLIBackend) -> None:
    import onnx

    int8 = OnnxNLIBackend.from_path(tiny_nli_dir, quantize="int8")
    ops = {node.op_type for node in onnx.load(str(export_dir(tiny_nli_dir, "int8") / "model.onnx")).graph.node}
    assert ops & {"MatMulInteger", "DynamicQuantizeMatMul", "QAttention"}, ops
    fused = {node.op_type for node in onnx.load(str(export_dir(tiny_nli_dir, None) / "model.onnx")).graph.node}
    assert "Attention" in fused  # the graph optimiser fused the attention blocks
    got, want = int8.score_pairs(PAIRS), fp32.score_pairs(PAIRS)
    assert not np.array_equal(got, want)
    # Activations are quantised per batch, so the error depends on which pairs
    # share a batch; on this 32-wide toy model it stays under 10% of the logit
    # range and the predicted class never changes (agreement on real shapes:
    # benchmarks/RESULTS.md).
    assert np.abs(got - want).max() <= 0.1 * (want.max() - want.min())
    assert (got.argmax(axis=1) == want.argmax(axis=1)).all()


def test_cached_export_runs_without_torch(tiny_nli_dir: Path, fp32: OnnxNLIBackend) -> None:
    """torch blocked from importing: loading from the cache and scoring must not need it."""
    script = f"""
import json, sys
sys.modules["torch"] = None  # any `import torch` now fails
from zeroclass import ZeroShotClassifier
clf = ZeroShotClassifier.from_pretrained({str(tiny_nli_dir)!r}, backend="onnx")
print(json.dumps(clf.backend.score_pairs({PAIRS!r}).tolist()))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=os.environ.copy(), timeout=120)
    assert done.returncode == 0, done.stderr
    np.testing.assert_allclose(json.loads(done.stdout.splitlines()[-1]), fp32.score_pairs(PAIRS), atol=SCORE_TOL)


def test_bad_options_name_the_option(tiny_nli_dir: Path) -> None:
    with pytest.raises(InputError, match="quantize='int4'"):
        ZeroShotClassifier.from_pretrained(str(tiny_nli_dir), backend="onnx", quantize="int4")
    with pytest.raises(InputError, match="quantize"):
        ZeroShotClassifier.from_pretrained(str(tiny_nli_dir), backend="torch", quantize="int8")
    with pytest.raises(InputError, match="device 'tpu'"):
        ZeroShotClassifier.from_pretrained(str(tiny_nli_dir), backend="onnx", device="tpu")


def test_cli_backend_onnx_quantize_int8(tiny_nli_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from zeroclass.cli import main

    status = main(
        ["classify", TEXTS[0], "--labels", "sports,finance", "--model", str(tiny_nli_dir),
         "--backend", "onnx", "--quantize", "int8", "--json"]
    )
    assert status == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert sorted(result["labels"]) == ["finance", "sports"] and abs(sum(result["scores"]) - 1) < 1e-6
