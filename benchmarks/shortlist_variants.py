"""Recall@K of shortlist rankings that correct for hub labels (CSLS), beside the shipped ones.

A few labels of a large set ("card payment", "top up") sit close to many
texts in embedding space and crowd the gold label out of a text's top K.
CSLS (cross-domain similarity local scaling, Conneau et al. 2018) scores a
(text, label) pair as ``2·cos − r(label)``, where ``r`` is the label's mean
similarity to its ``k`` nearest texts of the call, so a label near everything
is discounted. Like refinement, it needs the call's other texts, so one
text's shortlist then depends on its batch. General by construction: no
threshold or weight is fitted to a set; ``k`` is the only knob.

Not wired into :class:`zeroclass.shortlist.Shortlister` yet: this measures
whether it is worth it, on every single-label set with more labels than the
smallest K.

    PYTHONPATH=$PWD python -m benchmarks.shortlist_variants [--limit 1000] [--k-neighbours 10]
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from benchmarks.shortlist_recall import load, single_label_sets
from benchmarks.throughput.workloads import data_root


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def csls(sims: np.ndarray, k: int) -> np.ndarray:
    """``2·sims − r``, ``r`` each label's mean similarity to its ``k`` most similar texts (columns are labels)."""
    k = max(1, min(k, len(sims)))
    return 2 * sims - np.sort(sims, axis=0)[-k:].mean(axis=0)


def recall(sims: np.ndarray, gold: np.ndarray, k: int) -> float:
    """Share of texts whose gold label is among the ``k`` most similar (ties counted against the gold label)."""
    rank = (sims > sims[np.arange(len(gold)), gold][:, None]).sum(axis=1)
    return float(np.mean(rank < k))


def rankings(backend, texts: list[str], labels: list[str], k: int) -> dict[str, np.ndarray]:
    """The shipped plain and refined similarities (as Shortlister computes them), and both with CSLS."""
    from zeroclass.hypotheses import ensemble_hypotheses

    templates = tuple(backend.default_template) if not isinstance(backend.default_template, str) else (backend.default_template,)
    hypotheses = ensemble_hypotheses(labels, templates)
    per_label = [hypotheses[i : i + len(templates)] for i in range(0, len(hypotheses), len(templates))]
    vectors = _unit(np.stack([np.asarray(backend.embed(h)).mean(axis=0) for h in per_label]))
    plain = _unit(np.asarray(backend.embed(texts))) @ vectors.T
    refined = backend.refined_logits(texts, per_label)[..., 0]
    return {"plain": plain, "refined": refined, "plain+csls": csls(plain, k), "refined+csls": csls(refined, k)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=1000)
    parser.add_argument("--ks", default="5,10,20")
    parser.add_argument("--k-neighbours", type=int, default=10, help="CSLS neighbourhood size")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    from zeroclass import pipeline

    ks = [int(k) for k in args.ks.split(",")]
    routed = pipeline(device="cpu").backend
    backend = getattr(routed, "fallback", routed)  # the English all-MiniLM-L6-v2 the shortlist ranks with
    print("| set | labels | ranking | " + " | ".join(f"recall@{k}" for k in [1, *ks]) + " |")
    print("|---|---:|---|" + "---:|" * (1 + len(ks)))
    for name in single_label_sets(data_root()):
        texts, gold, labels, language = load(data_root(), name, args.limit, args.seed)
        if language != "en" or len(labels) <= min(ks):
            continue
        index = np.array([labels.index(g) for g in gold])
        for variant, sims in rankings(backend, texts, labels, args.k_neighbours).items():
            cells = " | ".join(f"{recall(sims, index, k):.3f}" for k in [1, *ks])
            print(f"| {name} | {len(labels)} | {variant} | {cells} |", flush=True)


if __name__ == "__main__":
    main()
