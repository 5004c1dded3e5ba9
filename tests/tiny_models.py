"""Tiny, seeded, randomly initialised models with real tokenizers, built on the fly.

No hub is reachable in tests, so parity and engine tests run on models made
here: real architectures and tokenizers, weights from a fixed seed, with the
classifier head scaled up so different pairs get clearly different logits
(near-uniform scores would make a parity check weak).
"""

from __future__ import annotations

from pathlib import Path

WORDS = """the a an and or of to in on at for with from by about is are was were be been this that these those
it its he she they we you i my your our their not no yes very so too more most less many much some any all
text example topic sports finance weather travel technology home politics health music food science business
world news game team match win won lost play player ball goal score stock stocks market bank money price rate
rain wind sun snow storm cold hot trip flight hotel visit see big want go going went phone computer software
app house kitchen family love happy sad angry fear surprise joy good bad great movie book film story question
answer what who where when why how which time day year today tomorrow people city country car new old first
last up down out over after before into than then there here just only also can will would could should""".split()
SUBWORDS = ["##s", "##ed", "##ing", "##er", "##ly", "##es", "##tion", "##al", "##ic", "##ent"]
PUNCT = list(".,!?;:'\"()-/{}[]%$#@&*+=<>") + ["，", "。", "！", "？", "、", "：", "；"]


def build_vocab() -> list[str]:
    letters = [chr(c) for c in range(ord("a"), ord("z") + 1)]
    digits = [str(d) for d in range(10)]
    cjk = [chr(c) for c in range(0x4E00, 0x9FA6)]  # every common CJK ideograph
    pieces = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + PUNCT + digits + letters
    pieces += ["##" + x for x in letters + digits] + SUBWORDS + WORDS + cjk
    return list(dict.fromkeys(pieces))


def build_tiny_bert(
    folder: Path,
    *,
    seed: int = 0,
    id2label: dict[int, str] | None = None,
    max_length: int = 128,
    head_scale: float = 8.0,
) -> Path:
    """Save a tiny BertForSequenceClassification NLI model and its tokenizer to ``folder``."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    folder.mkdir(parents=True, exist_ok=True)
    vocab = build_vocab()
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    tokenizer = BertTokenizerFast(vocab=str(folder / "vocab.txt"), do_lower_case=True, model_max_length=max_length)
    id2label = id2label or {0: "contradiction", 1: "neutral", 2: "entailment"}
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=37,
        max_position_embeddings=max_length,
        num_labels=len(id2label),
        id2label=id2label,
        label2id={v: k for k, v in id2label.items()},
        initializer_range=0.2,
        architectures=["BertForSequenceClassification"],
    )
    model = BertForSequenceClassification(config).eval()
    with torch.no_grad():
        model.classifier.weight.mul_(head_scale)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def hf_cache_layout(
    root: Path, repo_id: str, source: Path, *, commit: str | None = None, refs: tuple[str, ...] = ("main",)
) -> Path:
    """Copy ``source`` into a Hugging Face cache as huggingface_hub lays it out; return the snapshot.

    ``models--owner--name/refs/<ref>`` holds the commit hash and
    ``snapshots/<commit>/`` the files, so ``snapshot_download(...,
    local_files_only=True)`` resolves ``main``, the other refs, and the hash.
    """
    import hashlib
    import shutil

    commit = commit or hashlib.sha1(f"{repo_id}@{refs}".encode()).hexdigest()
    repo = root / f"models--{repo_id.replace('/', '--')}"
    (repo / "refs").mkdir(parents=True, exist_ok=True)
    for ref in refs:
        (repo / "refs" / ref).parent.mkdir(parents=True, exist_ok=True)
        (repo / "refs" / ref).write_text(commit)
    shutil.copytree(source, repo / "snapshots" / commit)
    return repo / "snapshots" / commit


def modelscope_cache_layout(root: Path, model_id: str, source: Path, *, revision: str = "master") -> Path:
    """Copy ``source`` into a ModelScope cache as modelscope_hub lays it out: ``models/owner--name/snapshots/<rev>``."""
    import shutil

    target = root / "models" / model_id.replace("/", "--") / "snapshots" / revision
    shutil.copytree(source, target)
    return target
