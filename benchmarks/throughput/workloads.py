"""Benchmark inputs: real texts from the shared evaluation sets, shaped into workloads.

Each workload is texts x labels: AG News (news-length English) at 2, 8, 32
and 128 labels, TNEWS (short Chinese), GoEmotions (short, multi-label), a
mixed-length set (short comments with ~400-token articles, shuffled), and a
set where a third of the texts are repeats of others.
"""

from __future__ import annotations

import json
import os
import random
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
#: Sets whose texts the workloads read (the others lend label names only).
TEXT_SETS = ("ag_news", "fewclue_tnews", "goemotions")
#: Extra English label names (from the other sets) to reach 32 or 128 labels.
_LABEL_POOLS = ("ag_news", "goemotions", "banking77", "yin_situation", "dair_emotion", "trec", "sst2")


@dataclass(frozen=True)
class Workload:
    name: str
    texts: list[str]
    labels: list[str]
    multi_label: bool
    language: str


def data_root() -> Path:
    """``$ZEROCLASS_DATA``, else ``../shared/data`` beside the repository."""
    root = Path(os.environ.get("ZEROCLASS_DATA", REPO.parent / "shared" / "data"))
    if not (root / "ag_news" / "test.jsonl").is_file():
        raise SystemExit(f"evaluation data not found in {root}: set ZEROCLASS_DATA to the folder holding ag_news/")
    return root


def _texts(name: str) -> list[str]:
    with open(data_root() / name / "test.jsonl", encoding="utf-8") as f:
        return [json.loads(line)["text"] for line in f]


def _labels(name: str) -> list[str]:
    return json.loads((data_root() / name / "meta.json").read_text(encoding="utf-8"))["labels"]


def _sample(texts: list[str], n: int, seed: int) -> list[str]:
    """``n`` texts, seeded (the sets are grouped by label, so never the first ``n``)."""
    rng = random.Random(seed)
    return rng.sample(texts, min(n, len(texts)))


def _english_labels(n: int) -> list[str]:
    pool = list(dict.fromkeys(label for name in _LABEL_POOLS for label in _labels(name)))
    if n > len(pool):
        raise SystemExit(f"only {len(pool)} distinct label names available, asked for {n}")
    return pool[:n]


def _articles(n: int, seed: int, words: int = 300) -> list[str]:
    """~400-token articles: consecutive AG News stories joined until ``words`` words."""
    stories = _sample(_texts("ag_news"), 20 * n, seed + 1)
    out, current = [], []
    for story in stories:
        current.append(story)
        if sum(len(s.split()) for s in current) >= words:
            out.append(" ".join(current))
            current = []
        if len(out) == n:
            break
    return out


def build(name: str, pairs: int, seed: int = 0) -> Workload:
    """Workload ``name`` with about ``pairs`` (text, label) pairs."""
    kind, _, count = name.partition("-")
    if kind == "agnews":
        labels = _english_labels(int(count))
        return Workload(name, _sample(_texts("ag_news"), _n(pairs, labels), seed), labels, False, "en")
    if kind == "tnews":
        labels = _labels("fewclue_tnews")
        return Workload(name, _sample(_texts("fewclue_tnews"), _n(pairs, labels), seed), labels, False, "zh")
    if kind == "goemotions":
        labels = _labels("goemotions")
        return Workload(name, _sample(_texts("goemotions"), _n(pairs, labels), seed), labels, True, "en")
    if kind == "mixed":
        labels = _english_labels(8)
        n = _n(pairs, labels)
        texts = _sample(_texts("goemotions"), n - n // 2, seed) + _articles(n // 2, seed)
        random.Random(seed).shuffle(texts)
        return Workload(name, texts, labels, False, "en")
    if kind == "repeated":
        labels = _english_labels(8)
        n = _n(pairs, labels)
        distinct = _sample(_texts("ag_news"), n - n // 3, seed)
        texts = distinct + random.Random(seed).choices(distinct, k=n // 3)
        random.Random(seed + 1).shuffle(texts)
        return Workload(name, texts, labels, False, "en")
    raise SystemExit(f"unknown workload {name!r}: use one of {', '.join(WORKLOADS)}")


def _n(pairs: int, labels: list[str]) -> int:
    return max(2, pairs // len(labels))


WORKLOADS = ("agnews-2", "agnews-8", "agnews-32", "agnews-128", "tnews-15", "goemotions-28", "mixed-8", "repeated-8")
