"""A model already in memory: transformers' ``pipeline(model=model_object, tokenizer=...)``.

transformers' pipeline takes a loaded ``PreTrainedModel`` (fine-tuned in this
process, say) as well as a name. It runs on the torch backend as it is: its
weights are used, never reloaded from its name, and the tokenizer is the one
given (an object or a name), else the one saved under the model's name.
"""

from __future__ import annotations

import os
from typing import Any

from ..errors import InputError
from .base import head_labels, resolve_nli_head
from .nli_torch import DEFAULT_TEMPLATE, TorchNLIBackend, resolve_device
from .tokenized import CPU_BATCH_TOKENS, CPU_BF16_BATCH_TOKENS, GPU_BATCH_TOKENS, default_max_length

__all__ = ["backend_from_objects", "is_model_object"]


def is_model_object(model: Any) -> bool:
    """A loaded transformers model (a torch module with a config), rather than a name or a folder."""
    return not isinstance(model, (str, os.PathLike)) and hasattr(model, "config") and hasattr(model, "forward")


def _tokenizer(model: Any, tokenizer: Any) -> Any:
    if tokenizer is not None and not isinstance(tokenizer, (str, os.PathLike)):
        return tokenizer
    from transformers import AutoTokenizer

    name = tokenizer or getattr(model, "name_or_path", None)
    if not name:
        raise InputError("this model object has no name_or_path to load its tokenizer from: pass tokenizer=...")
    return AutoTokenizer.from_pretrained(name)


def backend_from_objects(
    model: Any,
    tokenizer: Any = None,
    *,
    device: Any = None,
    max_length: int | None = None,
    max_batch_tokens: int | None = None,
    max_batch_size: int | None = None,
    entailment_id: int | None = None,
    contradiction_id: int | None = None,
) -> TorchNLIBackend:
    """A torch backend over ``model`` (moved to ``device``, as transformers moves it) and its tokenizer.

    Its dtype is left as it is: casting would change the caller's own model.
    """
    tokenizer = _tokenizer(model, tokenizer)
    if tokenizer.pad_token is None and tokenizer.eos_token is not None:
        tokenizer.pad_token = tokenizer.eos_token  # as transformers' pipeline does
    torch_device = resolve_device(device)
    model_dtype = next(model.parameters()).dtype
    head = resolve_nli_head(head_labels(model.config), entailment_id, contradiction_id)
    if torch_device.type != "cpu":
        budget = GPU_BATCH_TOKENS
    else:
        budget = CPU_BATCH_TOKENS if str(model_dtype) == "torch.float32" else CPU_BF16_BATCH_TOKENS
    return TorchNLIBackend(
        model,
        tokenizer,
        device=torch_device,
        model_name=getattr(model, "name_or_path", None) or type(model).__name__,
        head=head,
        default_template=DEFAULT_TEMPLATE,
        max_length=max_length or default_max_length(tokenizer, model.config),
        max_batch_tokens=max_batch_tokens or budget,
        max_batch_size=max_batch_size,
    )
