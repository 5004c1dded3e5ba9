"""Cross-encoder NLI models run with PyTorch (any ``AutoModelForSequenceClassification``).

Also runs ModelScope's StructBERT zero-shot checkpoints: they are BERT-shaped
(``bert.*`` + ``classifier.*`` weights, ``vocab.txt``), so they load into
transformers' ``BertForSequenceClassification`` on current transformers, where
the ``modelscope`` library itself no longer runs them.
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import InputError, ModelConfigError
from .base import NLIHead, head_labels, resolve_nli_head
from .quiet import quiet_load
from .tokenized import CPU_BATCH_TOKENS, CPU_BF16_BATCH_TOKENS, GPU_BATCH_TOKENS, TokenizedBackend, default_max_length

__all__ = ["TorchNLIBackend", "resolve_device", "resolve_dtype"]

#: transformers' pipeline default, kept so results match it out of the box.
DEFAULT_TEMPLATE = "This example is {}."
#: ModelScope's zero-shot pipeline puts the bare label in the hypothesis.
MODELSCOPE_TEMPLATE = "{}"
#: ModelScope's StructBERT NLI head: entailment first, contradiction last.
MODELSCOPE_ENTAILMENT_ID, MODELSCOPE_CONTRADICTION_ID = 0, 2

_DTYPES = {
    "float32": torch.float32,
    "fp32": torch.float32,
    "bfloat16": torch.bfloat16,
    "bf16": torch.bfloat16,
    "float16": torch.float16,
    "fp16": torch.float16,
}


def resolve_device(device: str | int | torch.device | None) -> torch.device:
    """``None`` picks the fastest device present: cuda, then mps, then cpu."""
    if device is None:
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if isinstance(device, int):
        chosen = torch.device("cpu") if device < 0 else torch.device("cuda", device)
    else:
        try:
            chosen = torch.device(device)
        except (RuntimeError, TypeError) as exc:
            raise InputError(f"unknown device {device!r}: use cpu, cuda, cuda:N or mps") from exc
    problem = device_problem(chosen)
    if problem is not None:  # rather than torch's assertion at the first move
        raise InputError(f"device {device!r} is not available: {problem}")
    return chosen


def device_problem(device: torch.device) -> str | None:
    """Why PyTorch on this machine cannot run on ``device``, or ``None`` when it can (the CLI asks too)."""
    if device.type == "mps":
        return None if torch.backends.mps.is_available() else "mps: this machine has no Apple GPU for PyTorch"
    if device.type != "cuda":
        return None
    if torch.version.cuda is None:
        return f"{device}: this PyTorch ({torch.__version__}) is a CPU-only build; use the CPU (device='cpu', --device cpu) or install a CUDA build"
    count = torch.cuda.device_count()
    if (device.index or 0) >= count:
        return f"{device}: PyTorch sees {count} CUDA device{'s' if count != 1 else ''} here"
    return None


def resolve_dtype(dtype: str | torch.dtype | None) -> torch.dtype:
    """``None`` means float32: the exact default that matches transformers' pipeline."""
    if dtype is None:
        return torch.float32
    if isinstance(dtype, torch.dtype):
        return dtype
    try:
        return _DTYPES[str(dtype).lower().removeprefix("torch.")]
    except KeyError:
        raise InputError(f"unknown dtype {dtype!r}: use one of float32, bfloat16, float16") from None


def is_modelscope_structbert(path: Path) -> bool:
    """True for a ModelScope StructBERT folder, which transformers' Auto classes cannot read."""
    config = _read_json(path / "config.json")
    return config.get("model_type") in {"structbert", "sbert"} or (
        (path / "configuration.json").is_file() and config.get("model_type") is None
    )


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}


def _load(path: Path, structbert: bool, dtype: torch.dtype | None, trust_remote_code: bool) -> tuple[Any, Any]:
    """The model and its tokenizer, from ModelScope's StructBERT layout or through transformers' Auto classes."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    with quiet_load():
        if structbert:
            return _load_structbert(path, dtype)
        tokenizer = AutoTokenizer.from_pretrained(path, trust_remote_code=trust_remote_code)
        model = AutoModelForSequenceClassification.from_pretrained(path, trust_remote_code=trust_remote_code, dtype=dtype)
    return model, tokenizer


def _load_structbert(path: Path, torch_dtype: torch.dtype) -> tuple[Any, Any]:
    """StructBERT weights into ``BertForSequenceClassification``, with a strict key check."""
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    raw = _read_json(path / "config.json")
    fields = {k: v for k, v in raw.items() if k not in {"model_type", "architectures", "transformers_version"}}
    num_labels = raw.get("num_labels") or len(raw.get("id2label") or {}) or 3
    config = BertConfig(**{**fields, "num_labels": num_labels})
    model = BertForSequenceClassification(config)
    weights = path / "model.safetensors"
    if weights.is_file():
        from safetensors.torch import load_file

        state = load_file(str(weights))
    else:
        state = torch.load(path / "pytorch_model.bin", map_location="cpu", weights_only=True)
    state = {k: v for k, v in state.items() if not k.endswith("position_ids")}
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.endswith("position_ids")]
    if missing or unexpected:
        raise ModelConfigError(
            f"{path} does not look like a BERT-shaped StructBERT checkpoint: "
            f"missing weights {missing[:5]}, unexpected weights {unexpected[:5]}"
        )
    # ModelScope's preprocessor tokenises to 512 unless configuration.json's
    # preprocessor section says otherwise.
    preprocessor = _read_json(path / "configuration.json").get("preprocessor") or {}
    max_length = preprocessor.get("max_length") or preprocessor.get("sequence_length") or 512
    tokenizer = BertTokenizerFast(
        vocab=str(path / "vocab.txt"),
        do_lower_case=raw.get("do_lower_case", True),
        model_max_length=min(int(max_length), config.max_position_embeddings),
    )
    return model.to(torch_dtype), tokenizer


def _compiled(model: Any) -> Any:
    """``torch.compile`` for inference on batches of every shape.

    Shapes stay symbolic (``dynamic=True``): each batch has its own length,
    and compiling per shape would cost more than it saves. Freezing folds the
    weights in as constants, which lets inductor pre-pack them for oneDNN on
    a CPU; the model is never trained here, so nothing is lost.
    """
    return torch.compile(model, dynamic=True, options={"freezing": True})


def _default_budget(on_gpu: bool, dtype: torch.dtype) -> int:
    """Token budget of one batch when none is given (measured: see ``tokenized``)."""
    if on_gpu:
        return GPU_BATCH_TOKENS
    return CPU_BATCH_TOKENS if dtype == torch.float32 else CPU_BF16_BATCH_TOKENS


class TorchNLIBackend(TokenizedBackend):
    """A sequence-classification NLI model under ``torch.inference_mode``."""

    def __init__(self, model: Any, tokenizer: Any, *, device: torch.device, compile: bool = False, **kwargs: Any) -> None:
        super().__init__(tokenizer, input_names=tokenizer.model_input_names, **kwargs)
        self.model = model.eval().to(device)
        self.device = device
        self.dtype = next(model.parameters()).dtype
        # Ask the model which inputs it takes: DeBERTa and BART ignore token_type_ids.
        forward_args = set(inspect.signature(model.forward).parameters)
        self.input_names = tuple(n for n in self.input_names if n in forward_args)
        if compile:
            self.model = _compiled(self.model)
        if device.type == "cuda":
            # Keep the GPU fed: host work for the next batches runs in a worker thread.
            self.prefetch, self.chunk_pairs = 3, 4096

    @property
    def plain_model(self) -> Any:
        """The model without ``torch.compile``'s wrapper: what adaptation fine-tunes and saves."""
        return getattr(self.model, "_orig_mod", self.model)

    @classmethod
    def from_path(
        cls,
        path: str | Path,
        *,
        model_name: str | None = None,
        device: str | torch.device | None = None,
        dtype: str | torch.dtype | None = None,
        max_length: int | None = None,
        max_batch_tokens: int | None = None,
        max_batch_size: int | None = None,
        entailment_id: int | None = None,
        contradiction_id: int | None = None,
        trust_remote_code: bool = False,
        num_threads: int | None = None,
        compile: bool = False,
        tokenizer: Any = None,
    ) -> "TorchNLIBackend":
        """Load a local model folder (already fetched by ``zeroclass.hub``).

        ``tokenizer``: a loaded tokenizer to use instead of the folder's own,
        as transformers' ``pipeline(model=name, tokenizer=obj)`` does (one
        with its own ``model_max_length`` or casing, say).

        ``compile=True`` runs the model through ``torch.compile``: the first
        calls take seconds to minutes to compile (cached on disk by PyTorch
        afterwards), then every batch runs fused kernels; scores stay within
        float rounding of the eager model's.
        """
        path = Path(path)
        torch_device = resolve_device(device)
        torch_dtype = resolve_dtype(dtype)
        if num_threads is not None:
            torch.set_num_threads(num_threads)
        structbert = is_modelscope_structbert(path)
        model, own_tokenizer = _load(path, structbert, torch_dtype, trust_remote_code)
        tokenizer = own_tokenizer if tokenizer is None else tokenizer
        id2label = head_labels(model.config)
        template = MODELSCOPE_TEMPLATE if structbert else DEFAULT_TEMPLATE
        if structbert:
            # ModelScope's pipeline hard-codes these and never reads id2label; so do we.
            entailment_id = MODELSCOPE_ENTAILMENT_ID if entailment_id is None else entailment_id
            contradiction_id = MODELSCOPE_CONTRADICTION_ID if contradiction_id is None else contradiction_id
        head: NLIHead = resolve_nli_head(id2label, entailment_id, contradiction_id)
        if tokenizer.pad_token is None and tokenizer.eos_token is not None:
            tokenizer.pad_token = tokenizer.eos_token  # as transformers' pipeline does
        on_gpu = torch_device.type != "cpu"
        return cls(
            model,
            tokenizer,
            device=torch_device,
            model_name=model_name or str(path),
            head=head,
            default_template=template,
            max_length=max_length or default_max_length(tokenizer, model.config),
            max_batch_tokens=max_batch_tokens or _default_budget(on_gpu, torch_dtype),
            max_batch_size=max_batch_size,
            compile=compile,
        )

    def stage(self, arrays: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
        """Tensors of the model's inputs; pinned on a GPU so the copy can run asynchronously."""
        tensors = {name: torch.from_numpy(arrays[name]) for name in self.input_names if name in arrays}
        if self.device.type == "cuda":
            tensors = {name: t.pin_memory() for name, t in tensors.items()}
        return tensors

    def launch(self, staged: dict[str, torch.Tensor]) -> Any:
        """Queue one batch on the device; on a GPU this returns before it has run."""
        with torch.inference_mode():
            inputs = {name: t.to(self.device, non_blocking=True) for name, t in staged.items()}
            logits = self.model(**inputs).logits.float()
            if self.device.type != "cuda":
                return logits.cpu().numpy()
            host = torch.empty(logits.shape, dtype=torch.float32, pin_memory=True)
            host.copy_(logits, non_blocking=True)
            done = torch.cuda.Event()
            done.record()
            return host, done

    def fetch(self, launched: Any) -> np.ndarray:
        if isinstance(launched, np.ndarray):
            return launched
        host, done = launched
        done.synchronize()
        return host.numpy()

    def run_batch(self, arrays: dict[str, np.ndarray]) -> np.ndarray:
        return self.fetch(self.launch(self.stage(arrays)))
