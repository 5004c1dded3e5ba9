"""Check that Optimum's int8 contender and zeroclass onnx-int8 both run, in Optimum's environment, on a tiny model.

Optimum needs transformers < 4.58, zeroclass's environment has 5.x, so this
runs in the separate environment described in RESULTS.md ("Stronger
contenders") before a long benchmark is started there:

    PYTHONPATH=. /work/venv-shortlist/bin/python -m benchmarks.optimum_check
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import transformers

from benchmarks.throughput.models import build
from benchmarks.throughput.optimum_ort import OptimumInt8

TEXTS = ["the team won the match", "stocks fell"]
LABELS = ["sports", "finance", "weather"]


def main() -> int:
    from zeroclass import ZeroShotClassifier

    work = Path(tempfile.mkdtemp(prefix="zeroclass-optimum-"))
    path = build("tiny", work / "tiny")
    optimum = OptimumInt8(path, work, threads=1)(TEXTS, LABELS, False)
    ours = ZeroShotClassifier.from_pretrained(str(path), backend="onnx", quantize="int8")(TEXTS, LABELS)
    print(f"transformers {transformers.__version__}")
    for theirs, mine in zip(optimum, ours):
        a, b = dict(zip(theirs["labels"], theirs["scores"])), dict(zip(mine["labels"], mine["scores"]))
        print(theirs["labels"], mine["labels"], "max |Δscore|", max(abs(a[label] - b[label]) for label in LABELS))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
