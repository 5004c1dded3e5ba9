"""Hugging Face Optimum's ONNX Runtime pipeline with its own dynamic int8 quantisation: a contender.

What a user who wants the fastest CPU setup from the Hugging Face stack
would run: export with ``ORTModelForSequenceClassification``, quantise with
``ORTQuantizer`` and ``AutoQuantizationConfig`` (dynamic, for the CPU's
instruction set), and call the zero-shot pipeline on the result.

Optimum's ONNX Runtime support (optimum-onnx 0.1) needs transformers < 4.58
while zeroclass needs transformers 5, so it cannot share the project's
environment; see benchmarks/RESULTS.md for how it was run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def quantization_config() -> Any:
    """Optimum's dynamic int8 preset for this CPU: AVX-512 VNNI where present, else AVX2."""
    from optimum.onnxruntime.configuration import AutoQuantizationConfig

    flags = Path("/proc/cpuinfo").read_text(encoding="utf-8") if Path("/proc/cpuinfo").is_file() else ""
    if "avx512_vnni" in flags:
        return AutoQuantizationConfig.avx512_vnni(is_static=False, per_channel=False)
    return AutoQuantizationConfig.avx2(is_static=False, per_channel=False)


class OptimumInt8:
    """Optimum's int8 ONNX Runtime model behind transformers' zero-shot pipeline; batch size set per workload."""

    def __init__(self, path: Path, work: Path, threads: int) -> None:
        import onnxruntime as ort
        from optimum.onnxruntime import ORTModelForSequenceClassification, ORTQuantizer
        from transformers import AutoTokenizer, pipeline

        exported = work / "optimum-fp32"
        ORTModelForSequenceClassification.from_pretrained(str(path), export=True).save_pretrained(exported)
        quantized = work / "optimum-int8"
        ORTQuantizer.from_pretrained(exported).quantize(save_dir=quantized, quantization_config=quantization_config())
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        model = ORTModelForSequenceClassification.from_pretrained(
            quantized, file_name="model_quantized.onnx", session_options=options
        )
        self.pipe = pipeline("zero-shot-classification", model=model, tokenizer=AutoTokenizer.from_pretrained(path))
        self.batch_size = 1

    def with_batch_size(self, size: int) -> Any:
        return lambda texts, labels, multi: self.pipe(texts, candidate_labels=labels, multi_label=multi, batch_size=size)

    def __call__(self, texts: list[str], labels: list[str], multi: bool) -> list[dict[str, Any]]:
        return self.with_batch_size(self.batch_size)(texts, labels, multi)
