"""Recall@K of shortlist rankings: the shipped ones by call size, and call-independent candidates.

``Shortlister`` ranks plainly by default (cosine of the text with each
label's mean template vector), and offers two corrections that read the
call's other texts: ``refine`` (label vectors refined over the call, as the
offline default does) and ``hub_correction`` (CSLS, which discounts labels
near many texts). Both make a text's shortlist depend on its call, and a
server call holds a few texts, a batch chunk some dozens, so recall is
measured per call size: the sample is cut into consecutive calls of 1, 8,
32, 256 texts and whole.

Call-independent candidates (a text's shortlist depends on the text and the
label set only) are measured beside them, none fitted to a set:

* ``cosine``: the mean template vector scaled to unit length (a true cosine);
* ``max-template``: a label's best template instead of the templates' mean;
* ``centred``: label vectors centred on the label set's mean, re-normalised;
* ``label-csls``: CSLS with each label's hub score taken from its 10 nearest
  other labels instead of the call's texts.

Every English set whose labels outnumber the smallest K: single-label sets
(gold label among the top K), and the multi-label ones as a check of
generality (each gold label among the top K, counted per gold label), all
ranked as single-label calls: refinement forced on, which a multi-label
call does not do (it ranks as plain, or as ``hub``).

    PYTHONPATH=$PWD python -m benchmarks.shortlist_variants [--limit 1000]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections.abc import Callable

import numpy as np

from benchmarks.shortlist_recall import OUT, MemoEmbeddings
from benchmarks.throughput.workloads import data_root

CALL_SIZES = (1, 8, 32, 256, None)  # None: the whole sample in one call


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def _label_hubs(vectors: np.ndarray, k: int = 10) -> np.ndarray:
    """Each label's mean cosine with its ``k`` nearest other labels."""
    sims = vectors @ vectors.T
    np.fill_diagonal(sims, -np.inf)
    return np.sort(sims, axis=1)[:, -min(k, len(vectors) - 1) :].mean(axis=1)


#: Call-independent candidates: (texts, labels, templates) vectors -> (texts, labels) scores.
CANDIDATES: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "cosine": lambda x, h: x @ _unit(h.mean(axis=1)).T,
    "max-template": lambda x, h: np.einsum("nd,ltd->nlt", x, h).max(axis=2),
    "centred": lambda x, h: x @ _unit(h.mean(axis=1) - h.mean(axis=(0, 1))).T,
    "label-csls": lambda x, h: 2 * x @ _unit(h.mean(axis=1)).T - _label_hubs(_unit(h.mean(axis=1)))[None, :],
}

#: The shipped rankings, as Shortlister options.
SHIPPED = {
    "plain (default)": {},
    "refine": {"refine": True},
    "hub": {"hub_correction": True},
    "refine+hub": {"refine": True, "hub_correction": True},
}


def load(name: str, limit: int, seed: int) -> tuple[list[str], np.ndarray, list[str], dict]:
    """(texts, gold matrix texts x labels, labels, meta) of a seeded sample of at most ``limit`` rows."""
    root = data_root()
    meta = json.loads((root / name / "meta.json").read_text(encoding="utf-8"))
    with open(root / name / "test.jsonl", encoding="utf-8") as f:
        rows = [json.loads(line) for line in f]
    rows = random.Random(seed).sample(rows, min(limit, len(rows)))
    labels = list(meta["labels"])
    gold = np.zeros((len(rows), len(labels)), dtype=bool)
    for i, row in enumerate(rows):
        gold[i, [labels.index(g) for g in row["labels"]]] = True
    return [r["text"] for r in rows], gold, labels, meta


def recall(sims: np.ndarray, gold: np.ndarray, k: int) -> float:
    """Share of (text, gold label) pairs whose label is among the text's ``k`` best (ties count against it)."""
    rows, cols = np.nonzero(gold)
    rank = (sims[rows] > sims[rows, cols][:, None]).sum(axis=1)
    return float(np.mean(rank < k))


def in_calls(score: Callable[[list[str]], np.ndarray], texts: list[str], size: int | None) -> np.ndarray:
    """Scores of ``texts`` cut into consecutive calls of ``size`` (``None``: one call)."""
    step = size or len(texts)
    return np.concatenate([score(texts[i : i + step]) for i in range(0, len(texts), step)])


def measure(backend, name: str, args: argparse.Namespace) -> list[dict]:
    """One row per ranking of set ``name``: recall@1/K at the whole call, and recall@K per call size."""
    from zeroclass.hypotheses import ensemble_hypotheses
    from zeroclass.shortlist import LRUCache, Shortlister

    texts, gold, labels, meta = load(name, args.limit, args.seed)
    k = 10 if len(labels) > 20 else 5
    base = dict(set=name, labels=len(labels), texts=len(texts), multi_label=bool(meta.get("multi_label")), k=k)
    rows = []
    for variant, options in SHIPPED.items():
        shortlister = Shortlister(MemoEmbeddings(backend), cache=LRUCache(4096), **options)
        sims = {size: in_calls(lambda t: shortlister.similarities(t, labels), texts, size) for size in CALL_SIZES}
        by_size = {str(size or "all"): recall(s, gold, k) for size, s in sims.items()}
        rows.append(base | {"ranking": variant, "recall": _recalls(sims[None], gold), "by_call_size": by_size})
    templates = backend.default_template
    h = MemoEmbeddings(backend).embed(ensemble_hypotheses(labels, templates)).reshape(len(labels), len(templates), -1)
    x = MemoEmbeddings(backend).embed(texts)
    rows.append(base | {"ranking": "hubs", **hubs(x, h, labels, k)})
    for variant, score in CANDIDATES.items():
        sims = score(x, h)  # call-independent: one figure stands for every call size
        by_size = {"any": recall(sims, gold, k)}
        rows.append(base | {"ranking": variant, "recall": _recalls(sims, gold), "by_call_size": by_size})
    return rows


def hubs(x: np.ndarray, h: np.ndarray, labels: list[str], k: int) -> dict:
    """The label most often in a text's plain top ``k`` (against its fair share, ``k`` / labels), and how well
    the label-side hub score predicts the text-side one (Pearson r over labels)."""
    sims = x @ h.mean(axis=1).T
    counts = np.bincount(np.argsort(-sims, axis=1)[:, :k].ravel(), minlength=len(labels))
    text_side = np.sort(sims, axis=0)[-10:].mean(axis=0)
    label_side = _label_hubs(_unit(h.mean(axis=1)))
    return {"top_hub": labels[int(counts.argmax())], "top_hub_share": float(counts.max() / len(x)),
            "fair_share": k / len(labels), "hub_score_correlation": float(np.corrcoef(text_side, label_side)[0, 1])}


def _recalls(sims: np.ndarray, gold: np.ndarray) -> dict[str, float]:
    return {f"@{k}": recall(sims, gold, k) for k in (1, 5, 10, 20) if k < gold.shape[1]}


def markdown(rows: list[dict]) -> str:
    """One line per (set, ranking): recall@1/5/10/20 on the whole call, then recall@K by call size."""
    head = "| set | labels | ranking | @1 | @5 | @10 | @20 | K | K, call of 1 | 8 | 32 | 256 | all |"
    lines = [head, "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for row in rows:
        if row["ranking"] == "hubs":
            continue
        cells = [f"{row['recall'][f'@{k}']:.3f}" if f"@{k}" in row["recall"] else "all" for k in (1, 5, 10, 20)]
        sizes = row["by_call_size"]
        if "any" in sizes:
            by_size = ["same"] * 4 + [f"{sizes['any']:.3f}"]
        else:
            by_size = [f"{sizes[s]:.3f}" for s in ("1", "8", "32", "256", "all")]
        name = row["set"] + (" (multi)" if row["multi_label"] else "")
        cells += [str(row["k"]), *by_size]
        lines.append(f"| {name} | {row['labels']} | {row['ranking']} | " + " | ".join(cells) + " |")
    for row in (r for r in rows if r["ranking"] == "hubs"):
        share = f"{row['top_hub_share']:.0%}"
        lines.append(f"\n{row['set']}: \"{row['top_hub']}\" is in the plain top {row['k']} of {share} "
                     f"of texts (fair share {row['fair_share']:.0%}); label-side vs text-side hub score: "
                     f"r = {row['hub_score_correlation']:.2f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.shortlist_variants", description=__doc__)
    parser.add_argument("--limit", type=int, default=1000, help="texts per set, a seeded sample (default: 1000)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    from zeroclass import pipeline

    routed = pipeline(device="cpu").backend
    backend = getattr(routed, "fallback", routed)  # the English all-MiniLM-L6-v2 the shortlist ranks with
    rows = []
    for meta_path in sorted(data_root().glob("*/meta.json")):
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if meta.get("task") == "nli" or meta.get("language", "en") != "en" or len(meta["labels"]) <= 5:
            continue
        rows += measure(backend, meta_path.parent.name, args)
        print(markdown(rows[-len(SHIPPED) - len(CANDIDATES) - 1 :]), file=sys.stderr, flush=True)
    command = "python -m benchmarks.shortlist_variants " + " ".join(argv if argv is not None else sys.argv[1:])
    OUT.mkdir(exist_ok=True)
    (OUT / "shortlist-variants.json").write_text(json.dumps({"command": command, "rows": rows}, indent=1) + "\n")
    print(f"`{command}`\n\n" + markdown(rows))


if __name__ == "__main__":
    main()
