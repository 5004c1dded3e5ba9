"""What was tried for Chinese with USE-multilingual v3, on every Chinese classification set.

Two tables, each over the same fixed-seed samples as ``run.py`` (1,000 texts;
EPRSTMT has 610):

* templates x refinement, through the classifier (bare labels; sentiment
  label sets keep their polarity phrasings, so these rows show the templates);
* sentiment label vectors (bare names, one review word, several phrasings,
  sentences, English words), each plain, with prior correction (each
  label's mean cosine over the call subtracted, so one label cannot take
  every text), with refinement, and with both; computed from embeddings
  directly, since the classifier only does what was kept.

    .venv/bin/python benchmarks/accuracy/chinese_variants.py [--limit 1000]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import classification_sets, data_root  # noqa: E402

TEMPLATES = {
    "bare": ["{}"],
    "frame": ["这是一条关于{}的内容。"],
    "bare + frame (default)": ["{}", "这是一条关于{}的内容。"],
    "bare + 文本 frame": ["{}", "这是一条关于{}的文本。"],
}
#: (negative, positive) label phrasings; "generic6" is zeroclass.polarity.PHRASINGS.
SENTIMENT = {
    "bare names": (["负面"], ["正面"]),
    "review word": (["差评"], ["好评"]),
    "3 phrasings": (["差评", "失望", "退货"], ["好评", "满意", "推荐"]),
    "generic6 (kept)": (["负面", "差评", "失望", "不满意", "很差", "讨厌"], ["正面", "好评", "满意", "喜欢", "很好", "推荐"]),
    "sentences": (["这是一条差评。", "我很失望，不推荐。", "质量太差了，要退货。"],
                  ["这是一条好评。", "我很满意，推荐购买。", "质量很好，非常喜欢。"]),
    "English words": (["negative", "bad", "disappointed"], ["positive", "good", "satisfied"]),
}


def template_table(classifier, sets, limit: int) -> None:
    from zeroclass.evaluation import evaluate

    print("| set | templates | plain | refined |\n|---|---|---:|---:|")
    for name, meta in sets:
        for label, templates in TEMPLATES.items():
            cells = []
            for refine in (False, True):
                report = evaluate(data_root() / name / "test.jsonl", classifier=classifier, label_column="labels",
                                  labels=meta["labels"], hypothesis_template=templates, refine=refine, limit=limit,
                                  progress=False)
                cells.append(f"{report.summary['accuracy']:.3f}")
            print(f"| {name} | {label} | {' | '.join(cells)} |", flush=True)


def sentiment_table(backend, sets, limit: int) -> None:
    from zeroclass.backends.embedding import _refined_cosine, _unit
    from zeroclass.evaluation.dataset import load_labelled

    def refined(x, start, picks):
        for _ in range(3):
            picks = _refined_cosine(x, start, picks).argmax(axis=1)
        return picks

    print("| set | label vectors | plain | prior-corrected | refined | both |\n|---|---|---:|---:|---:|---:|")
    for name, meta in sets:
        data = load_labelled(data_root() / name / "test.jsonl", label_column="labels", labels=meta["labels"], limit=limit)
        gold = np.array([meta["labels"].index(g[0]) for g in data.gold])
        x = backend.embed(data.texts)
        for label, (negative, positive) in SENTIMENT.items():
            start = _unit(np.stack([backend.embed(negative).mean(axis=0), backend.embed(positive).mean(axis=0)]))
            cosine = x @ start.T
            centred = cosine - cosine.mean(axis=0)
            picks = [cosine.argmax(1), centred.argmax(1), refined(x, start, cosine.argmax(1)),
                     refined(x, start, centred.argmax(1))]
            print(f"| {name} | {label} | " + " | ".join(f"{(p == gold).mean():.3f}" for p in picks) + " |", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=1000)
    args = parser.parse_args(argv)
    from zeroclass import ZeroShotClassifier
    from zeroclass.backends.use import UseBackend

    backend = UseBackend.from_path()
    sets = [(n, m) for n, m in classification_sets(data_root()) if m["language"] == "zh"]
    template_table(ZeroShotClassifier(backend), sets, args.limit)
    print()
    sentiment_table(backend, [(n, m) for n, m in sets if m["task"] == "sentiment"], args.limit)
    return 0


if __name__ == "__main__":
    sys.exit(main())
