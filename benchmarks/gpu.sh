#!/usr/bin/env bash
# The GPU plan (benchmarks/gpu_plan.py) in one command, inside 5 minutes on a fresh machine:
#  1. BERT-base, AG News x 8: zeroclass fp16/bf16/fp32 against transformers' best, the
#     matmul ceiling, first-call latency, and zeroclass's host and device paths apart;
#  2-3. the bart-large-mnli and deberta-v3-base shapes;
#  4. the server with 32 clients, micro-batching on and off;
#  5. mixed lengths, repeated texts, 32 and 128 labels;  6. compile=True.
# Each step has its own budget and writes its result the moment it is measured:
# $GPU_SH_OUT/plan.log, stderr.log and one JSON per step (eight files: what comes back).
#
# The GPU machine has Python 3.12 with torch, transformers, onnxruntime, httpx, rich and
# matplotlib, and no network. What it lacks travels in .gpu/, made here beforehand and
# rehearsed in an environment like the image's (`make gpu-rehearsal`):
#   .venv/bin/python -m benchmarks.gpu_bundle        # resolved server wheels, tokenizer, texts
# then, with the device tool: carry [".gpu"], command
#   GPU_SH_OUT=$OUT bash benchmarks/gpu.sh
#
# GPU_SH_DEVICE=cpu GPU_SH_SMOKE=1 runs the same steps on tiny models (the rehearsal does);
# GPU_SH_BUDGET (seconds, default 280) bounds the whole plan; GPU_SH_STEPS=1-bert-base,... runs only those.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
BUNDLE=${ZEROCLASS_GPU_BUNDLE:-.gpu}
DEVICE=${GPU_SH_DEVICE:-cuda}
RESULTS=${GPU_SH_OUT:-benchmarks/results/gpu}
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" TOKENIZERS_PARALLELISM=true HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1
mkdir -p "$RESULTS"
log() { echo "$*" | tee -a "$RESULTS/plan.log" >&2; }

if [ -d "$BUNDLE" ]; then
  BUNDLE=$(cd "$BUNDLE" && pwd)
  export ZEROCLASS_DATA="$BUNDLE/data" ZEROCLASS_BENCH_TOKENIZER="$BUNDLE/tokenizer"
  if compgen -G "$BUNDLE/wheels/*.whl" >/dev/null; then
    site=$(mktemp -d)
    # Only what the image lacks is in the bundle (benchmarks/gpu_image.txt is subtracted).
    if "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target "$site" "$BUNDLE"/wheels/*.whl 2>>"$RESULTS/stderr.log"; then
      export PYTHONPATH="$PYTHONPATH:$site"
      log "bundle: $(ls "$BUNDLE"/wheels | wc -l) wheels installed"
    else
      log "bundle: pip install of $BUNDLE/wheels failed (see stderr.log); the server step will fail"
    fi
  fi
else
  log "no $BUNDLE/ (make it with: python -m benchmarks.gpu_bundle); using ../shared/data and installed packages"
fi

if [ "$DEVICE" = cuda ]; then
  log "$("$PY" -c "import torch; assert torch.cuda.is_available(), 'no CUDA device'; print(torch.cuda.get_device_name(0), 'torch', torch.__version__)" 2>&1)"
  log "$(nvidia-smi --query-gpu=name,memory.total,clocks.max.sm --format=csv,noheader 2>&1 || true)"
fi

exec "$PY" -m benchmarks.gpu_plan --out "$RESULTS" --device "$DEVICE" --budget "${GPU_SH_BUDGET:-280}" ${GPU_SH_SMOKE:+--smoke} \
  ${GPU_SH_STEPS:+--steps "$GPU_SH_STEPS"}
