"""``benchmarks/gpu.sh`` runs end to end, so a lent GPU's few minutes are not lost to a broken script.

The GPU machine has no network and none of ``../shared/data``: the script
reads texts and tokenizer from the bundle that ``benchmarks.gpu_bundle``
makes. Here the same steps run on the CPU with a tiny model (``GPU_SH_DEVICE=cpu
GPU_SH_SMOKE=1``) from such a bundle (without the wheels, which need PyPI).
No time is asserted.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_gpu_script_runs_every_step_from_a_bundle(tmp_path: Path, shared_data: Path) -> None:
    bundle, out = tmp_path / "bundle", tmp_path / "out"
    env = os.environ | {"ZEROCLASS_DATA": str(shared_data), "ZEROCLASS_CACHE": str(tmp_path / "cache")}
    subprocess.run([sys.executable, "-m", "benchmarks.gpu_bundle", "--no-wheels", "--out", str(bundle)],
                   cwd=REPO, env=env, check=True, capture_output=True, timeout=120)
    assert (bundle / "tokenizer" / "vocab.txt").is_file() and (bundle / "data" / "ag_news" / "test.jsonl").is_file()

    # Only the bundle may supply the texts: the shared data's path is not given.
    env = {k: v for k, v in env.items() if k != "ZEROCLASS_DATA"} | {
        "PYTHON": sys.executable, "GPU_SH_DEVICE": "cpu", "GPU_SH_SMOKE": "1",
        "ZEROCLASS_GPU_BUNDLE": str(bundle), "GPU_SH_OUT": str(out),
    }
    done = subprocess.run(["bash", "benchmarks/gpu.sh"], cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]

    main = json.loads((out / "throughput-tiny-cpu.json").read_text())
    assert {r["workload"] for r in main["rows"]} == {"agnews-8"}
    extra = json.loads((out / "extra" / "throughput-tiny-cpu.json").read_text())
    assert {r["workload"] for r in extra["rows"]} == {"mixed-8", "repeated-8", "agnews-32"}
    exact = [r for r in main["rows"] if r["system"] == "zeroclass fp32"]
    assert exact and exact[0]["max_abs_diff"] <= 1e-5

    load = (out / "load-cpu.md").read_text()
    rows = [line.split("|") for line in load.splitlines() if line.startswith("| micro") or line.startswith("| each")]
    assert len(rows) == 2
    for cells in rows:
        requests, errors, diff = int(cells[6]), int(cells[7]), float(cells[9])
        assert requests > 0 and errors == 0 and diff < 1e-4
