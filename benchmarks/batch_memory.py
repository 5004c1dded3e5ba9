"""Peak memory of ``zeroclass batch`` over a large file: it must stream, not load.

Writes N short rows (default 1,000,000) as JSON lines, runs ``zeroclass
batch`` on them in a child process with the tiny random NLI model the tests
use (the model's size is not what is measured), and reports the child's peak
RSS and rows/s. Usage::

    .venv/bin/python benchmarks/batch_memory.py [--rows 1000000] [--labels 2] [--output-format parquet]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from tiny_models import WORDS, build_tiny_bert  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--labels", type=int, default=2, help="candidate labels per row")
    parser.add_argument("--output-format", default="parquet", choices=("csv", "jsonl", "parquet"))
    parser.add_argument("--chunk-rows", type=int, default=1000)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        model = build_tiny_bert(folder / "model")
        rng = random.Random(0)
        source = folder / "rows.jsonl"
        with open(source, "w", encoding="utf-8") as f:
            for i in range(args.rows):
                f.write(json.dumps({"id": i, "text": " ".join(rng.choices(WORDS, k=rng.randint(3, 8)))}) + "\n")
        output = folder / f"out.{args.output_format}"
        labels = ",".join(["sports", "finance", "weather", "travel", "music"][: args.labels])
        command = [sys.executable, "-m", "zeroclass", "batch", str(source), "-o", str(output), "--labels", labels,
                   "--model", str(model), "--device", "cpu", "--threads", "1", "--chunk-rows", str(args.chunk_rows)]
        started = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        seconds = time.perf_counter() - started
        peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # Linux: KiB
        print("| rows | labels | output | peak RSS | wall time | rows/s |")
        print("|---:|---:|---|---:|---:|---:|")
        print(f"| {args.rows:,} | {args.labels} | {args.output_format} | {peak_mib:,.0f} MiB | {seconds:,.0f} s | "
              f"{args.rows / seconds:,.0f} |")
        print(f"input {source.stat().st_size / 2**20:,.0f} MiB, output {output.stat().st_size / 2**20:,.0f} MiB")


if __name__ == "__main__":
    main()
