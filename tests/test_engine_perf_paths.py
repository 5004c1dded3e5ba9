"""Fast paths of the engine: reduced precision, thread caps, and the prefetching pipeline.

None of them may change an answer beyond what its precision implies; the
pipeline that feeds GPUs is exercised here on the CPU, where it must give the
same logits as the plain loop.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import SCORE_TOL
from zeroclass import ZeroShotClassifier
from zeroclass.backends.nli_torch import TorchNLIBackend
from zeroclass.batching import pad, prefetch
from zeroclass.errors import InputError

TEXTS = [
    "the team won the match today after a great goal",
    "stock prices fell sharply at the bank",
    "rain and wind and snow tomorrow in the city",
    "I want to travel and see the world " * 8,
    "a new phone app for the kitchen",
    "happy family movie night with a good book",
]
LABELS = ["sports", "finance", "weather", "travel", "technology", "home"]


@pytest.fixture
def restore_threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


@pytest.mark.numeric
def test_bfloat16_agrees_with_float32(tiny_nli_dir: Path, tiny_classifier: ZeroShotClassifier) -> None:
    bf16 = ZeroShotClassifier.from_pretrained(str(tiny_nli_dir), device="cpu", dtype="bfloat16")
    assert bf16.backend.dtype == torch.bfloat16
    reference = tiny_classifier(TEXTS, LABELS)
    results = bf16(TEXTS, LABELS)
    diffs = [
        abs(dict(zip(r["labels"], r["scores"]))[label] - dict(zip(ref["labels"], ref["scores"]))[label])
        for r, ref in zip(results, reference)
        for label in LABELS
    ]
    assert 0 < max(diffs) < 0.05  # really ran in bf16, and stayed close
    # Top-1 must agree wherever the reference's margin exceeds the bf16 error (near-ties may flip).
    clear = [(r, ref) for r, ref in zip(results, reference) if ref["scores"][0] - ref["scores"][1] > 2 * max(diffs)]
    assert len(clear) >= len(TEXTS) // 2
    assert all(r["labels"][0] == ref["labels"][0] for r, ref in clear)


def test_num_threads_caps_torch(tiny_nli_dir: Path, restore_threads: None) -> None:
    ZeroShotClassifier.from_pretrained(str(tiny_nli_dir), device="cpu", num_threads=1)
    assert torch.get_num_threads() == 1


def test_num_threads_caps_onnx(tiny_nli_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("onnxruntime")
    monkeypatch.setenv("ZEROCLASS_CACHE", str(tmp_path))
    capped = ZeroShotClassifier.from_pretrained(str(tiny_nli_dir), backend="onnx", num_threads=1)
    assert capped.backend.session.get_session_options().intra_op_num_threads == 1
    default = ZeroShotClassifier.from_pretrained(str(tiny_nli_dir), backend="onnx")
    assert default.backend.session.get_session_options().intra_op_num_threads == 0  # all physical cores


@pytest.mark.numeric
def test_prefetching_chunked_pipeline_gives_the_same_logits(tiny_nli_dir: Path) -> None:
    pairs = [(t, f"This example is {label}.") for t in TEXTS for label in LABELS]
    plain = TorchNLIBackend.from_path(tiny_nli_dir, device="cpu", max_batch_tokens=64)
    piped = TorchNLIBackend.from_path(tiny_nli_dir, device="cpu", max_batch_tokens=64)
    piped.prefetch, piped.chunk_pairs = 2, 5  # as on a GPU, with chunks that split texts
    launched: list[int] = []
    original = piped.launch
    piped.launch = lambda staged: launched.append(1) or original(staged)  # type: ignore[method-assign]
    # Chunks change which pairs share a padded batch, so oneDNN may pick other kernels: ~1e-6 apart on AMD.
    np.testing.assert_allclose(piped.score_pairs(pairs), plain.score_pairs(pairs), atol=SCORE_TOL)
    assert len(launched) > len(pairs) // 5  # many batches, each chunk batched on its own


@pytest.mark.slow
def test_compiled_model_gives_the_eager_logits(tiny_nli_dir: Path) -> None:
    """torch.compile must not change an answer beyond float rounding, on batches of every shape."""
    pairs = [(t, f"This example is {label}.") for t in TEXTS for label in LABELS]
    eager = TorchNLIBackend.from_path(tiny_nli_dir, device="cpu", max_batch_tokens=96)
    compiled = TorchNLIBackend.from_path(tiny_nli_dir, device="cpu", max_batch_tokens=96, compile=True)
    assert compiled.model is not eager.model and hasattr(compiled.model, "_orig_mod")  # really compiled
    np.testing.assert_allclose(compiled.score_pairs(pairs), eager.score_pairs(pairs), atol=SCORE_TOL)
    # One pair alone: the size-1 batch that dynamic shapes specialise.
    np.testing.assert_allclose(compiled.score_pairs(pairs[:1]), eager.score_pairs(pairs[:1]), atol=SCORE_TOL)


def test_compile_is_refused_by_backends_without_it(tiny_nli_dir: Path) -> None:
    pytest.importorskip("onnxruntime")
    with pytest.raises(InputError, match="compile"):
        ZeroShotClassifier.from_pretrained(str(tiny_nli_dir), backend="onnx", compile=True)


@pytest.mark.parametrize("side", ["right", "left"])
def test_pad_matches_a_plain_loop(side: str) -> None:
    rng = np.random.default_rng(0)
    rows = [list(rng.integers(1, 100, n)) for n in (5, 1, 9, 3)]
    got = pad(rows, -1, side)
    for row, seq in zip(got, rows):
        filled = row[row != -1]
        assert list(filled) == seq
        assert (row[: len(seq)] != -1).all() if side == "right" else (row[len(row) - len(seq) :] != -1).all()


def test_prefetch_raises_worker_errors_and_stops_when_abandoned() -> None:
    def failing():
        yield 1
        raise ValueError("tokenizer broke")

    with pytest.raises(ValueError, match="tokenizer broke"):
        list(prefetch(failing(), 2))
    stream = prefetch(iter(range(1000)), 2)
    assert next(stream) == 0
    stream.close()
    assert not any(t.name == "zeroclass-prefetch" for t in threading.enumerate())


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("dtype", ["float32", "bfloat16", "float16"])
def test_cuda_matches_cpu(tiny_nli_dir: Path, tiny_classifier: ZeroShotClassifier, dtype: str) -> None:
    gpu = ZeroShotClassifier.from_pretrained(str(tiny_nli_dir), device="cuda", dtype=dtype)
    assert gpu.backend.prefetch > 0
    for mine, ref in zip(gpu(TEXTS, LABELS), tiny_classifier(TEXTS, LABELS)):
        # A GPU's float32 (TF32-free) matmuls still round differently from a CPU's; bf16/fp16 keep ~3 digits.
        np.testing.assert_allclose(mine["scores"], ref["scores"], atol=1e-4 if dtype == "float32" else 0.05)
