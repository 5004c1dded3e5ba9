"""The throughput benchmark runs end to end on a tiny model and reports consistent figures.

No time is asserted: only that the harness measures what it says (the
contenders, transformers' batch-size choice, exact fp32 agreement, the
ceiling) and writes its JSON, table and plot.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_benchmark_harness_on_a_tiny_model(tmp_path: Path, shared_data: Path) -> None:
    command = [
        sys.executable, "-m", "benchmarks.throughput", "--model", "tiny", "--workloads", "agnews-2,agnews-8,repeated-8",
        "--pairs", "24", "--repeats", "1", "--systems", "fp32,bf16,onnx-int8", "--threads", "1", "--out", str(tmp_path),
    ]
    env = os.environ | {"ZEROCLASS_CACHE": str(tmp_path / "cache"), "ZEROCLASS_DATA": str(shared_data)}
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, env=env, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads((tmp_path / "throughput-tiny-cpu.json").read_text())
    assert set(report["ceiling"]) == {"fp32", "bf16", "int8"} and all(v > 0 for v in report["ceiling"].values())
    rows = {(r["workload"], r["system"].split(" (")[0]): r for r in report["rows"]}
    for workload in ("agnews-2", "agnews-8", "repeated-8"):
        hf = rows[workload, "transformers float32"]
        assert hf["max_abs_diff"] == 0 and hf["speedup"] <= 1.0 and hf["peer_speedup"] is None
        hf_bf16, bf16 = rows[workload, "transformers bfloat16"], rows[workload, "zeroclass bf16"]
        assert bf16["peer_speedup"] == hf_bf16["seconds"] / bf16["seconds"]  # bf16 is compared with bf16
        assert any(f"(bs {n})" in hf["system"] for n in (1, 8, 32))
        exact = rows[workload, "zeroclass fp32"]
        assert exact["max_abs_diff"] <= 1e-5 and exact["top1_agreement"] == 1.0
        assert 0 < exact["ceiling_fraction"] < 1
        assert rows[workload, "zeroclass onnx-int8"]["max_abs_diff"] > 0  # really quantised
    repeated = rows["repeated-8", "zeroclass fp32"]
    assert repeated["distinct_pairs"] < repeated["pairs"]  # a third of the texts repeat
    table = (tmp_path / "throughput-tiny-cpu.md").read_text()
    assert "| agnews-8 | zeroclass fp32 |" in table and "x peer" in table
    assert (tmp_path / "throughput-tiny-cpu.png").read_bytes()[:4] == b"\x89PNG"
    assert table.strip() in done.stdout
