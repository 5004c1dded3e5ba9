"""Check that the Optimum int8 contender and zeroclass onnx-int8 both run, in Optimum's environment, on a tiny model.

    PYTHONPATH=. /work/venv-shortlist/bin/python benchmarks/optimum_check.py   (see RESULTS.md, "Stronger contenders")
"""
import sys, tempfile, time
from pathlib import Path
from benchmarks.throughput.models import build
from benchmarks.throughput.optimum_ort import OptimumInt8
from zeroclass import ZeroShotClassifier
work = Path(tempfile.mkdtemp())
path = build("tiny", work / "tiny")
t = time.time()
opt = OptimumInt8(path, work, 1)
texts, labels = ["the team won the match", "stocks fell"], ["sports", "finance", "weather"]
o = opt(texts, labels, False)
z = ZeroShotClassifier.from_pretrained(str(path), backend="onnx", quantize="int8")(texts, labels)
import transformers
print("transformers", transformers.__version__)
for a, b in zip(o, z):
    da = dict(zip(a["labels"], a["scores"])); db = dict(zip(b["labels"], b["scores"]))
    print(a["labels"], b["labels"], max(abs(da[l] - db[l]) for l in labels))
print("seconds", time.time() - t)
