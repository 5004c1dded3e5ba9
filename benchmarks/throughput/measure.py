"""Running the contenders on a workload: speed, memory, and agreement with the fp32 reference.

Every contender is a callable ``(texts, labels, multi_label) -> results`` in
transformers' result format. The machine is shared and noisy, so each is
timed several times, interleaved with the others (a noisy moment hits all of
them alike), and the best time is kept.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


from .workloads import Workload

Classify = Callable[[list[str], list[str], bool], list[dict[str, Any]]]


@dataclass
class Contender:
    """One system under test: a name, its precision (for the ceiling) and how to call it."""

    name: str
    precision: str
    classify: Classify
    is_reference: bool = False
    is_competitor: bool = False
    languages: frozenset[str] | None = None


class PeakRSS:
    """Peak resident memory above the starting point while the block runs, in MiB (polled)."""

    def __enter__(self) -> "PeakRSS":
        self.start = self.peak = _rss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()
        return self

    def _poll(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, _rss())

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss())

    @property
    def mib(self) -> float:
        return (self.peak - self.start) / 2**20


def _rss() -> int:
    import os

    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def timed(classify: Classify, workload: Workload) -> tuple[float, float, list[dict[str, Any]]]:
    """(seconds, peak MiB, results) of one run."""
    with PeakRSS() as memory:
        start = time.perf_counter()
        results = classify(workload.texts, workload.labels, workload.multi_label)
        seconds = time.perf_counter() - start
    return seconds, memory.mib, results


#: Reference scores this close count as a tie: either label agrees with the reference's top one.
TIE = 1e-6


def compare(results: list[dict[str, Any]], reference: list[dict[str, Any]]) -> tuple[float, float]:
    """(max |score difference| over every text and label, top-1 agreement).

    A top label agrees when the reference scores it as high as its own top
    label, within :data:`TIE`: which of two tied labels an argmax returns is
    not a disagreement.
    """
    worst, agree = 0.0, 0
    for mine, ref in zip(results, reference, strict=True):
        ref_scores = dict(zip(ref["labels"], ref["scores"]))
        for label, score in zip(mine["labels"], mine["scores"]):
            worst = max(worst, abs(score - ref_scores[label]))
        agree += ref_scores[mine["labels"][0]] >= ref["scores"][0] - TIE
    return worst, agree / len(reference)


def run_workload(contenders: list[Contender], workload: Workload, repeats: int) -> dict[str, dict[str, Any]]:
    """Best-of-``repeats`` time, memory and outputs of each contender that reads the workload's language."""
    active = [c for c in contenders if c.languages is None or workload.language in c.languages]
    best: dict[str, dict[str, Any]] = {}
    for _ in range(repeats):
        for contender in list(active):
            try:
                seconds, mib, results = timed(contender.classify, workload)
            except Exception as exc:  # noqa: BLE001 - one broken contender must not cost the others' figures
                if contender.is_reference:
                    raise
                print(f"{workload.name}: dropping {contender.name}: {type(exc).__name__}: {exc}", file=sys.stderr)
                active.remove(contender)
                best.pop(contender.name, None)
                continue
            row = best.setdefault(contender.name, {"seconds": seconds, "peak_mib": mib, "results": results})
            row["seconds"] = min(row["seconds"], seconds)
            row["peak_mib"] = max(row["peak_mib"], mib)
    return best


def pick_batch_size(make: Callable[[int], Classify], workload: Workload, sizes: list[int]) -> tuple[int, dict[int, float]]:
    """transformers' fastest ``batch_size`` on a slice of the workload, measured (best of two)."""
    n = max(2, len(workload.texts) // 4)
    probe = Workload(workload.name, workload.texts[:n], workload.labels, workload.multi_label, workload.language)
    rates = {}
    for size in sizes:
        classify = make(size)
        rates[size] = len(probe.texts) * len(probe.labels) / min(timed(classify, probe)[0] for _ in range(2))
    return max(rates, key=rates.__getitem__), rates
