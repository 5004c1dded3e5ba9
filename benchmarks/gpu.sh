#!/usr/bin/env bash
# The GPU measurements of issues 3 and 5 in one prepared run (estimated 5-7 minutes on an H200):
#  1. throughput: zeroclass against transformers' pipeline, one process, same model and
#     inputs, with each run's fraction of the GPU's measured matmul rate (BERT-base shape,
#     2,000 AG News texts x 8 labels, then mixed lengths, repeats and 32 labels);
#  2. the server's micro-batching gain: 32 clients on loopback, batching on against off.
#
# The GPU machine has Python 3.12 with torch, transformers, onnxruntime, httpx, rich and
# matplotlib, and no network. What it lacks travels in .gpu/, made here beforehand:
#   .venv/bin/python -m benchmarks.gpu_bundle        # server wheels, tokenizer, texts (~7 MiB)
# then, with the device tool: carry [".gpu"], command
#   GPU_SH_OUT=$OUT bash benchmarks/gpu.sh
#
# GPU_SH_DEVICE=cpu GPU_SH_SMOKE=1 runs the same steps on a tiny model (the test suite does).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
BUNDLE=${ZEROCLASS_GPU_BUNDLE:-.gpu}
DEVICE=${GPU_SH_DEVICE:-cuda}
RESULTS=${GPU_SH_OUT:-benchmarks/results}
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" TOKENIZERS_PARALLELISM=true HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1

if [ -d "$BUNDLE" ]; then
  BUNDLE=$(cd "$BUNDLE" && pwd)
  export ZEROCLASS_DATA="$BUNDLE/data" ZEROCLASS_BENCH_TOKENIZER="$BUNDLE/tokenizer"
  if ! "$PY" -c "import fastapi, fastapi_offline, uvicorn" 2>/dev/null && compgen -G "$BUNDLE/wheels/*.whl" >/dev/null; then
    site=$(mktemp -d)
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target "$site" "$BUNDLE"/wheels/*.whl
    export PYTHONPATH="$PYTHONPATH:$site"  # after the image's own packages: only what it lacks is taken
  fi
else
  echo "no $BUNDLE/ (make it with: python -m benchmarks.gpu_bundle); using ../shared/data and installed packages" >&2
fi
mkdir -p "$RESULTS"

if [ "$DEVICE" = cuda ]; then
  "$PY" -c "import torch; assert torch.cuda.is_available(), 'no CUDA device'; print(torch.cuda.get_device_name(0), 'torch', torch.__version__)"
  nvidia-smi --query-gpu=name,memory.total,clocks.max.sm --format=csv,noheader || true
fi

if [ -n "${GPU_SH_SMOKE:-}" ]; then
  model=tiny main_pairs=64 extra_pairs=48 duration=2 warmup=1 threads=(--threads 1)
else
  model=bert-base main_pairs=16000 extra_pairs=4000 duration=10 warmup=3 threads=()
fi
# torch.compile only in the main run: compiling again in the second process would cost a minute.
systems=fp32,bf16,fp16,bf16-compile extra_systems=bf16,fp16
[ "$DEVICE" = cuda ] || systems=fp32,bf16 extra_systems=bf16

# A failing step is reported and the next one still runs: the device time is spent either way.
failed=()
echo "== 1. throughput, $model shape, AG News x 8 labels ($main_pairs pairs)"
"$PY" -m benchmarks.throughput --device "$DEVICE" --model "$model" --workloads agnews-8 --pairs "$main_pairs" \
  --systems "$systems" --repeats 2 --out "$RESULTS" "${threads[@]}" || failed+=(throughput)
echo "== 1b. mixed lengths, repeated texts, 32 labels ($extra_pairs pairs each)"
"$PY" -m benchmarks.throughput --device "$DEVICE" --model "$model" --workloads mixed-8,repeated-8,agnews-32 \
  --pairs "$extra_pairs" --systems "$extra_systems" --repeats 1 --out "$RESULTS/extra" "${threads[@]}" || failed+=(throughput-extra)

echo "== 2. server micro-batching, 32 clients, batching on against each request alone"
set -o pipefail
"$PY" benchmarks/load.py --clients 32 --duration "$duration" --warmup "$warmup" --server-arg=--device="$DEVICE" \
  | tee "$RESULTS/load-$DEVICE.md" || failed+=(load)

if [ ${#failed[@]} -gt 0 ]; then
  echo "failed steps: ${failed[*]}" >&2
  exit 1
fi
