"""Cross-lingual accuracy of the offline default: English texts with their labels in Chinese.

The same texts are classified twice, in calls of the same size: once with
the set's English label names (same language: all-MiniLM-L6-v2 answers) and
once with the label names translated by hand into Chinese (below), which
routes them to USE-multilingual, whose languages share one space. Two more
columns: the Chinese labels as they were answered before (by MiniLM, which
reads no Chinese), and the English labels through USE-multilingual, which
separates what the model change costs from what the language change costs.

    .venv/bin/python benchmarks/accuracy/cross_lingual.py [--limit 500] [--call-sizes 1,8,32,1000]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from benchmarks.throughput.workloads import data_root  # noqa: E402

#: Hand translations of each English set's label names (meta.json's order).
CHINESE = {
    "ag_news": ["世界", "体育", "商业", "科学技术"],
    "dair_emotion": ["悲伤", "喜悦", "爱", "愤怒", "恐惧", "惊讶"],
    "sst2": ["负面", "正面"],
    "trec": ["缩写", "实体", "描述", "人物", "地点", "数字"],
}


def rows(name: str, limit: int, seed: int = 0) -> tuple[list[str], list[int], list[str]]:
    folder = data_root() / name
    labels = json.loads((folder / "meta.json").read_text(encoding="utf-8"))["labels"]
    with open(folder / "test.jsonl", encoding="utf-8") as f:
        records = [json.loads(line) for line in f]
    random.Random(seed).shuffle(records)
    records = records[:limit]
    return [r["text"] for r in records], [labels.index(r["labels"][0]) for r in records], labels


def accuracy(classifier, texts: list[str], gold: list[int], labels: list[str], call_size: int) -> tuple[float, set[str]]:
    right, models = 0, set()
    for start in range(0, len(texts), call_size):
        results = classifier(texts[start : start + call_size], labels)
        for result, want in zip(results, gold[start : start + call_size]):
            right += result["labels"][0] == labels[want]
            models.add(result.get("model", "?"))
    return right / len(texts), models


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=500)
    parser.add_argument("--call-sizes", default="32", help="comma-separated texts per call, one table each")
    args = parser.parse_args()
    from zeroclass import ZeroShotClassifier
    from zeroclass.backends.routed import RoutedBackend

    default = ZeroShotClassifier.from_pretrained(None)
    assert isinstance(default.backend, RoutedBackend)
    use = ZeroShotClassifier(next(iter(default.backend.routes.values())))
    minilm = ZeroShotClassifier(default.backend.fallback)
    for call_size in (int(n) for n in args.call_sizes.split(",")):
        table(default, use, minilm, args.limit, call_size)


def table(default, use, minilm, limit: int, call_size: int) -> None:
    """One table: every set at one call size."""
    print(f"### {limit} texts per set, calls of {call_size} texts, offline default\n")
    print("| set | English labels (MiniLM) | Chinese labels (routed to USE) | Chinese labels, before (MiniLM) "
          "| English labels through USE | cross-lingual - same-language |")
    print("|---|---:|---:|---:|---:|---:|")
    gaps = []
    for name, chinese in CHINESE.items():
        texts, gold, english = rows(name, limit)
        same, _ = accuracy(default, texts, gold, english, call_size)
        cross, models = accuracy(default, texts, gold, chinese, call_size)
        through_use, _ = accuracy(use, texts, gold, english, call_size)
        before, _ = accuracy(minilm, texts, gold, chinese, call_size)
        assert models == {"google/universal-sentence-encoder-multilingual-3"}, models
        gaps.append(cross - same)
        print(f"| {name} | {same:.1%} | {cross:.1%} | {before:.1%} | {through_use:.1%} | {100 * (cross - same):+.1f} |")
    print(f"\nmean gap: {100 * sum(gaps) / len(gaps):+.1f} points\n")

if __name__ == "__main__":
    main()
