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
    #: Seconds to load, and of the first call after loading (what a user waits for once).
    load_seconds: float | None = None
    first_call_seconds: float | None = None
    #: The zeroclass classifier behind ``classify``, for the host/device split.
    classifier: Any = None
    #: transformers' pipeline behind ``classify``, whose batch size is searched.
    pipeline: Any = None


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
#: A reference whose top two scores differ by more than this has a clear winner:
#: random heads tie often, so reduced precision is judged on the clear texts too.
CLEAR_MARGIN = 0.01


def compare(results: list[dict[str, Any]], reference: list[dict[str, Any]]) -> tuple[float, float, float | None]:
    """(max |score difference| over every text and label, top-1 agreement,
    top-1 agreement on the texts whose reference margin exceeds :data:`CLEAR_MARGIN`).

    A top label agrees when the reference scores it as high as its own top
    label, within :data:`TIE`: which of two tied labels an argmax returns is
    not a disagreement.
    """
    worst, agree, clear, clear_agree = 0.0, 0, 0, 0
    for mine, ref in zip(results, reference, strict=True):
        ref_scores = dict(zip(ref["labels"], ref["scores"]))
        for label, score in zip(mine["labels"], mine["scores"]):
            worst = max(worst, abs(score - ref_scores[label]))
        same = ref_scores[mine["labels"][0]] >= ref["scores"][0] - TIE
        agree += same
        if len(ref["scores"]) < 2 or ref["scores"][0] - ref["scores"][1] > CLEAR_MARGIN:
            clear, clear_agree = clear + 1, clear_agree + same
    return worst, agree / len(reference), clear_agree / clear if clear else None


def run_pass(contenders: list[Contender], workload: Workload, best: dict[str, dict[str, Any]]) -> None:
    """One interleaved pass of every contender in ``contenders`` over the workload; ``best``
    keeps each one's fastest time, peak memory and outputs. A contender that fails is
    dropped from ``contenders`` (the reference failing ends the run)."""
    for contender in list(contenders):
        try:
            seconds, mib, results = timed(contender.classify, workload)
        except Exception as exc:  # noqa: BLE001 - one broken contender must not cost the others' figures
            if contender.is_reference:
                raise
            print(f"{workload.name}: dropping {contender.name}: {type(exc).__name__}: {exc}", file=sys.stderr)
            contenders.remove(contender)
            best.pop(contender.name, None)
            continue
        row = best.setdefault(contender.name, {"seconds": seconds, "peak_mib": mib, "results": results, "passes": []})
        row["passes"].append(seconds)  # the first pass meets new shapes; later ones show the warm rate
        row["seconds"] = min(row["seconds"], seconds)
        row["peak_mib"] = max(row["peak_mib"], mib)


def pick_batch_size(make: Callable[[int], Classify], probe: Workload, sizes: list[int]) -> tuple[int, dict[int, float]]:
    """transformers' fastest ``batch_size`` on the probe workload (one timed run per size), and each size's pairs/s."""
    rates = {}
    for size in sizes:
        rates[size] = len(probe.texts) * len(probe.labels) / timed(make(size), probe)[0]
    return max(rates, key=rates.__getitem__), rates
