"""Contrastive fine-tuning of a sentence encoder on pairs built from labelled examples, as SetFit does.

Pairs (cosine target 1 or 0, ``CosineSimilarityLoss``) from every example:
another text of its label (1), a text of another label (0), its label's
hypothesis (1) and another label's hypothesis (0). The hypothesis pairs are
what SetFit leaves out: they keep the label *names* meaningful to the
encoder, so the classifier stays zero-shot. Training uses
sentence-transformers' own ``SentenceTransformerTrainer``.

Afterwards label prototypes are built on the tuned encoder (the zero-shot
prior plus the examples, see ``prototypes``). Early stopping: with a held-out
split, each epoch (the untouched encoder included) is scored on it and the
best kept.
"""

from __future__ import annotations

import copy
import tempfile
from typing import Any

import numpy as np

from ..errors import InputError
from .examples import Examples
from .heldout import heldout_score
from .prototypes import PrototypeBackend, build_prototypes

__all__ = ["finetune_contrastive", "contrastive_pairs"]

#: Rounds of pair sampling per epoch (each round: four pairs per example).
ROUNDS = 4
HELDOUT_FRACTION = 0.25


def contrastive_pairs(examples: Examples, templates: tuple[str, ...], rng: np.random.Generator) -> dict[str, list]:
    """Columns ``sentence1``, ``sentence2``, ``score`` of one epoch's pairs."""
    by_label: dict[str, list[int]] = {}
    for i, gold in enumerate(examples.gold):
        for label in gold:
            by_label.setdefault(label, []).append(i)
    rows: list[tuple[str, str, float]] = []
    for _ in range(ROUNDS):
        for i, (text, gold) in enumerate(zip(examples.texts, examples.gold)):
            label = gold[int(rng.integers(len(gold)))]
            same = [j for j in by_label[label] if j != i]
            other = [j for j in range(len(examples.texts)) if not set(examples.gold[j]) & set(gold)]
            wrong = [x for x in examples.labels if x not in gold]
            template = templates[int(rng.integers(len(templates)))]
            if same:
                rows.append((text, examples.texts[same[int(rng.integers(len(same)))]], 1.0))
            if other:
                rows.append((text, examples.texts[other[int(rng.integers(len(other)))]], 0.0))
            rows.append((text, template.format(label), 1.0))
            if wrong:
                rows.append((text, template.format(wrong[int(rng.integers(len(wrong)))]), 0.0))
    order = rng.permutation(len(rows))
    return {
        "sentence1": [rows[i][0] for i in order],
        "sentence2": [rows[i][1] for i in order],
        "score": [rows[i][2] for i in order],
    }


def _train_one_epoch(model: Any, columns: dict[str, list], *, seed: int, learning_rate: float, batch_size: int, progress: bool) -> None:
    try:
        from datasets import Dataset
    except ImportError as exc:
        raise InputError("method='contrastive' trains with sentence-transformers' Trainer: pip install 'zeroclass[adapt]'") from exc
    from sentence_transformers import SentenceTransformerTrainer, SentenceTransformerTrainingArguments

    try:  # sentence-transformers 6 moved the losses; the old path warns there, and is all that 3-5 have
        from sentence_transformers.sentence_transformer import losses
    except ImportError:
        from sentence_transformers import losses

    with tempfile.TemporaryDirectory(prefix="zeroclass-adapt-") as out:
        args = SentenceTransformerTrainingArguments(
            output_dir=out, num_train_epochs=1, per_device_train_batch_size=batch_size, learning_rate=learning_rate,
            warmup_steps=0.1, seed=seed, save_strategy="no", report_to="none", disable_tqdm=not progress,
            logging_strategy="no", use_cpu=str(model.device) == "cpu",
        )
        trainer = SentenceTransformerTrainer(
            model=model, args=args, train_dataset=Dataset.from_dict(columns), loss=losses.CosineSimilarityLoss(model)
        )
        trainer.train()


def finetune_contrastive(
    backend: Any,
    examples: Examples,
    templates: tuple[str, ...],
    *,
    seed: int = 0,
    epochs: int = 2,
    learning_rate: float = 2e-5,
    batch_size: int = 16,
    gate: bool = True,
    progress: bool = False,
) -> tuple[PrototypeBackend, dict[str, Any]]:
    """A prototype backend over a fine-tuned copy of ``backend``'s encoder (``backend`` is not changed);
    ``gate``: see :mod:`zeroclass.backends.prototypes`."""
    import torch

    from ..backends.joint import JointEncoder

    if isinstance(backend.model, JointEncoder):
        raise InputError(f"method 'contrastive' fine-tunes one encoder, and {backend.model_name} reads texts with two: "
                         "adapt it with 'head' or 'prototypes', or adapt the offline default itself with 'contrastive'")
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    train, heldout = examples.split(HELDOUT_FRACTION, seed)
    model = copy.deepcopy(backend.model)

    def candidate() -> PrototypeBackend:
        plain = _with_model(backend, model)
        return PrototypeBackend.from_backend(plain, build_prototypes(plain, train, templates, seed=seed)[0])

    history: list[float] = []
    best_state = None
    if heldout:
        history.append(heldout_score(candidate(), heldout, templates))
        best_state = copy.deepcopy(model.state_dict())
    for epoch in range(epochs):
        columns = contrastive_pairs(train, templates, rng)
        _train_one_epoch(model, columns, seed=seed + epoch, learning_rate=learning_rate, batch_size=batch_size, progress=progress)
        if heldout:
            history.append(heldout_score(candidate(), heldout, templates))
            if history[-1] > max(history[:-1]):
                best_state = copy.deepcopy(model.state_dict())
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    tuned = _with_model(backend, model)
    built, chosen = build_prototypes(tuned, examples, templates, seed=seed)
    adapted = PrototypeBackend.from_backend(tuned, built, labels=examples.hypothesis_labels(templates), gate=gate)
    info = {"epochs": epochs, "learning_rate": learning_rate, "train_examples": len(train.texts),
            "heldout_examples": len(heldout.texts) if heldout else 0, "heldout_history": history, **chosen}
    return adapted, info


def _with_model(backend: Any, model: Any) -> PrototypeBackend:
    """``backend``'s settings over another encoder, without prototypes (a fresh embedding cache)."""
    plain = PrototypeBackend.from_backend(backend, {})
    plain.model = model
    return plain
