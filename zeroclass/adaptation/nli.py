"""Fine-tune an NLI cross-encoder on entailment pairs built from labelled examples.

The recipe behind MoritzLaurer's zero-shot models: a text with its label's
hypothesis is *entailment*, with another label's hypothesis *not
entailment* (the contradiction column of a 3-way head, the
not-entailment column of a 2-way one). The model keeps its head, so it
still scores any label; it only gets better at the labels it saw.

A plain PyTorch loop with transformers' linear warm-up schedule. Early
stopping: when the examples allow a held-out split, the epoch (the
untouched model included) that scores best on it is kept, so training
cannot make the held-out accuracy worse.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import numpy as np

from ..errors import InputError
from .examples import Examples
from .heldout import heldout_score

__all__ = ["finetune_nli", "entailment_pairs"]

#: Not-entailment pairs per entailment pair, drawn afresh each epoch: balanced classes, so the head does not just learn "not entailment".
NEGATIVES = 1
#: Share of each label's examples held out for early stopping.
HELDOUT_FRACTION = 0.25
#: Pairs are cut to this many tokens in training: examples are short, and memory on a CPU is not.
TRAIN_MAX_LENGTH = 256


def entailment_pairs(
    examples: Examples, templates: tuple[str, ...], rng: np.random.Generator
) -> list[tuple[str, str, bool]]:
    """(text, hypothesis, entails) for every gold label and ``NEGATIVES`` random other labels per gold label."""
    pairs = []
    for text, gold in zip(examples.texts, examples.gold):
        others = [label for label in examples.labels if label not in gold]
        n = min(len(others), NEGATIVES * max(len(gold), 1))
        negatives = [others[j] for j in rng.permutation(len(others))[:n]]
        for template in templates:
            pairs += [(text, template.format(label), True) for label in gold]
            pairs += [(text, template.format(label), False) for label in negatives]
    return pairs


def _train_epoch(model: Any, backend: Any, pairs: list, optimizer: Any, scheduler: Any, batch_size: int, tick: Callable[[], None]) -> None:
    import torch

    head = backend.head
    model.train()
    for start in range(0, len(pairs), batch_size):
        batch = pairs[start : start + batch_size]
        inputs = backend.tokenizer(
            [p for p, _, _ in batch], [h for _, h, _ in batch], truncation="only_first",
            max_length=min(backend.max_length, TRAIN_MAX_LENGTH), padding=True, return_tensors="pt",
        )
        inputs = {k: v.to(backend.device) for k, v in inputs.items() if k in backend.input_names}
        target = torch.tensor([head.entailment_id if y else head.contradiction_id for _, _, y in batch], device=backend.device)
        loss = torch.nn.functional.cross_entropy(model(**inputs).logits.float(), target)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad()
        tick()
    model.eval()


def finetune_nli(
    backend: Any,
    examples: Examples,
    templates: tuple[str, ...],
    *,
    seed: int = 0,
    epochs: int = 3,
    learning_rate: float = 2e-5,
    batch_size: int = 16,
    progress: bool = False,
) -> tuple[Any, dict[str, Any]]:
    """A new torch NLI backend fine-tuned on ``examples`` (``backend`` is not changed), and what happened."""
    import torch
    from tqdm.auto import tqdm
    from transformers import get_linear_schedule_with_warmup

    from ..backends.nli_torch import TorchNLIBackend

    if not isinstance(backend, TorchNLIBackend):
        raise InputError(f"NLI fine-tuning needs the torch backend; {type(backend).__name__} cannot be trained (load with backend='torch')")
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    train, heldout = examples.split(HELDOUT_FRACTION, seed)
    model = copy.deepcopy(backend.plain_model).float()
    adapted = copy.copy(backend)
    adapted.model = model
    per_epoch = [entailment_pairs(train, templates, rng) for _ in range(epochs)]
    steps = sum(-(-len(p) // batch_size) for p in per_epoch)
    optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate, weight_decay=0.01)
    scheduler = get_linear_schedule_with_warmup(optimizer, int(0.1 * steps), steps)
    history = [heldout_score(adapted, heldout, templates)] if heldout else []
    best = (history[0], copy.deepcopy(model.state_dict())) if heldout else None
    with tqdm(total=steps, desc="fine-tuning", unit="step", disable=not progress) as bar:
        for pairs in per_epoch:
            order = rng.permutation(len(pairs))
            _train_epoch(model, backend, [pairs[i] for i in order], optimizer, scheduler, batch_size, lambda: bar.update(1))
            if heldout:
                history.append(heldout_score(adapted, heldout, templates))
                if history[-1] > best[0]:  # type: ignore[index]
                    best = (history[-1], copy.deepcopy(model.state_dict()))
    if best is not None:
        model.load_state_dict(best[1])
    model.to(backend.dtype).eval()
    info = {"epochs": epochs, "learning_rate": learning_rate, "train_examples": len(train.texts),
            "heldout_examples": len(heldout.texts) if heldout else 0, "heldout_history": history}
    return adapted, info
