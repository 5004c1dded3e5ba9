"""Tiny stand-ins for the NLI checkpoints people load, one per model family.

Each is built the way the real checkpoint is: the family's own config and
model classes (tiny sizes, seeded random weights), the real checkpoint's
``id2label`` (order and spelling, cited below), and the family's real
tokenizer type, trained offline with ``tokenizers``' trainers (through
transformers' ``train_new_from_iterator``, which picks byte-level BPE,
Unigram or WordPiece from the tokenizer class) on a few hundred generated
English and Chinese sentences. Each is then laid into a Hugging Face cache
under the real repo id, so tests load it by id exactly as a user would.

Sources of ``id2label`` (each checkpoint's config.json on the Hub, or a
fine-tune's config that copies it where the original is not indexed):

* facebook/bart-large-mnli: huggingface.co/Xenova/bart-large-mnli/blob/main/config.json
* MoritzLaurer/deberta-v3-base-zeroshot-v2.0: huggingface.co/amritpuhan/fine-tuned-MoritzLaurer-deberta-v3-base-zeroshot-v2.0-arceasy
  (its ``_name_or_path``; the v2.0/v1.1 family is entailment/not_entailment, cf. MoritzLaurer/deberta-v3-base-zeroshot-v1/config.json)
* cross-encoder/nli-deberta-v3-small: huggingface.co/cross-encoder/nli-deberta-v3-small/blame/main/config.json
* FacebookAI/roberta-large-mnli: huggingface.co/Xenova/roberta-large-mnli/blob/main/config.json
* joeddav/xlm-roberta-large-xnli: huggingface.co/tuni/xlm-roberta-large-xnli-finetuned-mnli (``_name_or_path``), and
  huggingface.co/plexatic/ultrawhack-model (``_name_or_path``): contradiction, neutral, entailment
* MoritzLaurer/mDeBERTa-v3-base-xnli-multilingual-nli-2mil7: huggingface.co/Omidh/mDeBERTa-v3-base-xnli-multilingual-nli-2mil7-energy
  (``_name_or_path``), as MoritzLaurer/mDeBERTa-v3-base-mnli-xnli/config.json
* typeform/distilbert-base-uncased-mnli: huggingface.co/typeform/distilbert-base-uncased-mnli/blame/f507f5c/config.json
* alexandrainst/scandi-nli-small (ELECTRA, embedding 128 < hidden 256): huggingface.co/alexandrainst/scandi-nli-small/commit/a8ffc1e
* gchhablani/bert-base-cased-finetuned-mnli: huggingface.co/gchhablani/bert-base-cased-finetuned-mnli/blame/main/config.json
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tiny_models import WORDS

#: Longest pair every tiny model takes; long texts in the suite exceed it.
MAX_LENGTH = 96
#: Tiny transformer sizes shared by every family.
HIDDEN, LAYERS, HEADS, FFN = 32, 2, 2, 37

CHINESE = [
    "世界那么大，我想去看看", "今天的比赛我们队赢了", "股市今天下跌了很多", "明天有大雨和大风",
    "这部电影非常好看", "我想买一部新手机", "银行提高了利率", "他们周末去旅游了",
    "这是一个很长的中文句子", "家里的厨房很干净", "科技公司发布了新产品", "这是一条关于体育的新闻",
    "这是一条关于旅游的文本", "这个例子是关于财经的", "天气很冷，下雪了", "我很高兴见到你",
]


def corpus(n: int = 400, seed: int = 0) -> list[str]:
    """Generated English and Chinese sentences: every word and character the suite's texts use."""
    rng = random.Random(seed)
    english = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 14))) for _ in range(n)]
    english = [s.capitalize() + rng.choice([".", "!", "?", ""]) for s in english]
    chinese = ["".join(rng.sample(CHINESE, 2)) + "。" for _ in range(n // 4)]
    templates = ["This example is {}.", "The topic is {}", "This text is about {}.", "这是一条关于{}的文本。"]
    hypotheses = [t.format(w) for t in templates for w in WORDS]
    return english + chinese + CHINESE + hypotheses


@dataclass(frozen=True)
class Family:
    """One model family, standing in for one real checkpoint."""

    key: str
    repo_id: str
    id2label: dict[int, str]
    tokenizer_class: str
    model_class: str
    config: Callable[[Any], Any]  # tokenizer -> config (without the head's labels)
    vocab_size: int = 1200
    tokenizer_kwargs: dict[str, Any] = field(default_factory=dict)

    def build(self, folder: Path, seed: int = 0, head_scale: float = 8.0) -> Path:
        """Save the tiny model and its tokenizer to ``folder``."""
        import torch
        import transformers

        tokenizer = train_tokenizer(getattr(transformers, self.tokenizer_class), self.vocab_size, self.tokenizer_kwargs)
        config = self.config(tokenizer)
        config.id2label = dict(self.id2label)
        config.label2id = {v: k for k, v in self.id2label.items()}
        config.architectures = [self.model_class]
        torch.manual_seed(seed)
        model = getattr(transformers, self.model_class)(config).eval()
        calibrate_head(model, tokenizer, len(self.id2label), head_scale)
        model.save_pretrained(folder)
        tokenizer.save_pretrained(folder)
        return folder


def calibrate_head(model: Any, tokenizer: Any, n_labels: int, head_scale: float) -> None:
    """Sharpen the random head, then centre its logits on sample pairs.

    A sharper head makes scores differ clearly between hypotheses; centring
    removes the random offset between the entailment and contradiction
    columns, which would otherwise push every multi-label score to 0 or 1,
    where a parity check sees nothing.
    """
    import torch

    head = [m for m in model.modules() if isinstance(m, torch.nn.Linear) and m.out_features == n_labels][-1]
    premises = corpus(12, seed=1)[:12] + CHINESE[:4]
    hypotheses = [f"This example is {w}." for w in WORDS[60:76]]
    pairs = tokenizer(premises, hypotheses, padding=True, return_tensors="pt")
    inputs = {k: v for k, v in pairs.items() if k in tokenizer.model_input_names}
    with torch.no_grad():
        head.weight.mul_(head_scale)
        head.bias.sub_(model(**inputs).logits.mean(0))


def train_tokenizer(cls: Any, vocab_size: int, kwargs: dict[str, Any]) -> Any:
    """The family's tokenizer class, its model (BPE, Unigram, WordPiece) trained afresh on :func:`corpus`."""
    base = cls(**kwargs)
    extra = {"initial_alphabet": sorted({c for s in CHINESE for c in s})} if _model_type(base) == "Unigram" else {}
    trained = base.train_new_from_iterator([corpus()], vocab_size=vocab_size, **extra)
    trained.model_max_length = MAX_LENGTH
    return trained


def _model_type(tokenizer: Any) -> str:
    import json

    return json.loads(tokenizer.backend_tokenizer.to_str())["model"]["type"]


def _common(tokenizer: Any) -> dict[str, Any]:
    return {"vocab_size": len(tokenizer), "pad_token_id": tokenizer.pad_token_id, "initializer_range": 0.2}


def _bert_like(cls_name: str, positions: int = MAX_LENGTH, **extra: Any) -> Callable[[Any], Any]:
    def make(tokenizer: Any) -> Any:
        import transformers

        return getattr(transformers, cls_name)(
            **_common(tokenizer), hidden_size=HIDDEN, num_hidden_layers=LAYERS, num_attention_heads=HEADS,
            intermediate_size=FFN, max_position_embeddings=positions, **extra,
        )

    return make


def _roberta_like(cls_name: str) -> Callable[[Any], Any]:
    def make(tokenizer: Any) -> Any:
        # RoBERTa positions start after the padding index, as in the real 514-position checkpoints.
        base = _bert_like(cls_name, positions=MAX_LENGTH + tokenizer.pad_token_id + 1)(tokenizer)
        base.bos_token_id, base.eos_token_id = tokenizer.cls_token_id, tokenizer.sep_token_id
        return base

    return make


def _deberta_v2(tokenizer: Any) -> Any:
    from transformers import DebertaV2Config

    return DebertaV2Config(
        **_common(tokenizer), hidden_size=HIDDEN, num_hidden_layers=LAYERS, num_attention_heads=HEADS,
        intermediate_size=FFN, max_position_embeddings=MAX_LENGTH, relative_attention=True,
        pos_att_type=["p2c", "c2p"], position_biased_input=False, position_buckets=32, norm_rel_ebd="layer_norm",
        share_att_key=True, type_vocab_size=0, pooler_hidden_size=HIDDEN, layer_norm_eps=1e-7,
    )


def _bart(tokenizer: Any) -> Any:
    from transformers import BartConfig

    return BartConfig(
        vocab_size=len(tokenizer), d_model=HIDDEN, encoder_layers=LAYERS, decoder_layers=LAYERS,
        encoder_attention_heads=HEADS, decoder_attention_heads=HEADS, encoder_ffn_dim=FFN, decoder_ffn_dim=FFN,
        max_position_embeddings=MAX_LENGTH, pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id, decoder_start_token_id=tokenizer.eos_token_id,
        forced_eos_token_id=tokenizer.eos_token_id, init_std=0.2,
    )


def _distilbert(tokenizer: Any) -> Any:
    from transformers import DistilBertConfig

    return DistilBertConfig(
        **_common(tokenizer), dim=HIDDEN, n_layers=LAYERS, n_heads=HEADS, hidden_dim=FFN, max_position_embeddings=MAX_LENGTH,
    )


FAMILIES = [
    Family("bart", "facebook/bart-large-mnli", {0: "contradiction", 1: "neutral", 2: "entailment"},
           "BartTokenizer", "BartForSequenceClassification", _bart),
    Family("deberta-v3-2class", "MoritzLaurer/deberta-v3-base-zeroshot-v2.0", {0: "entailment", 1: "not_entailment"},
           "DebertaV2Tokenizer", "DebertaV2ForSequenceClassification", _deberta_v2),
    Family("deberta-v3-cross-encoder", "cross-encoder/nli-deberta-v3-small", {0: "contradiction", 1: "entailment", 2: "neutral"},
           "DebertaV2Tokenizer", "DebertaV2ForSequenceClassification", _deberta_v2),
    Family("roberta", "FacebookAI/roberta-large-mnli", {0: "CONTRADICTION", 1: "NEUTRAL", 2: "ENTAILMENT"},
           "RobertaTokenizer", "RobertaForSequenceClassification", _roberta_like("RobertaConfig")),
    Family("xlm-roberta", "joeddav/xlm-roberta-large-xnli", {0: "contradiction", 1: "neutral", 2: "entailment"},
           "XLMRobertaTokenizer", "XLMRobertaForSequenceClassification", _roberta_like("XLMRobertaConfig")),
    Family("mdeberta", "MoritzLaurer/mDeBERTa-v3-base-xnli-multilingual-nli-2mil7", {0: "entailment", 1: "neutral", 2: "contradiction"},
           "DebertaV2Tokenizer", "DebertaV2ForSequenceClassification", _deberta_v2),
    Family("distilbert", "typeform/distilbert-base-uncased-mnli", {0: "ENTAILMENT", 1: "NEUTRAL", 2: "CONTRADICTION"},
           "DistilBertTokenizer", "DistilBertForSequenceClassification", _distilbert),
    Family("electra", "alexandrainst/scandi-nli-small", {0: "entailment", 1: "neutral", 2: "contradiction"},
           "ElectraTokenizer", "ElectraForSequenceClassification", _bert_like("ElectraConfig", embedding_size=16)),
    Family("bert", "gchhablani/bert-base-cased-finetuned-mnli", {0: "entailment", 1: "neutral", 2: "contradiction"},
           "BertTokenizer", "BertForSequenceClassification", _bert_like("BertConfig"),
           tokenizer_kwargs={"do_lower_case": False}),
]

#: ModelScope's Chinese zero-shot StructBERT, stood in for by tests/fixtures/structbert_tiny.
STRUCTBERT_ID = "damo/nlp_structbert_zero-shot-classification_chinese-base"
