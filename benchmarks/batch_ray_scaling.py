"""Rows/s of ``zeroclass batch --engine ray`` with 1 and 2 actors, against the local engine.

All three runs happen in this one process on the same file, with the tiny
random NLI model and one CPU thread per actor (and for the local engine), on
a local Ray started with 2 CPUs; max |score difference| is against the local
engine's output. Usage::

    .venv/bin/python benchmarks/batch_ray_scaling.py [--rows 20000] [--labels 3]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from tiny_models import WORDS, build_tiny_bert  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--labels", type=int, default=3)
    parser.add_argument("--chunk-rows", type=int, default=500)
    args = parser.parse_args()

    import ray

    from zeroclass.batch import classify_file

    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        model = build_tiny_bert(folder / "model")
        rng = random.Random(0)
        source = folder / "rows.jsonl"
        source.write_text("".join(
            json.dumps({"id": i, "text": " ".join(rng.choices(WORDS, k=rng.randint(3, 12)))}) + "\n"
            for i in range(args.rows)
        ))
        labels = ["sports", "finance", "weather", "travel", "music"][: args.labels]
        options = {"model": str(model), "device": "cpu", "num_threads": 1, "progress": False,
                   "chunk_rows": args.chunk_rows}
        runs = [("local", {}), ("ray, 1 actor", {"engine": "ray", "actors": 1}),
                ("ray, 2 actors", {"engine": "ray", "actors": 2})]
        rates, outputs = {}, {}
        for name, extra in runs:
            output = folder / f"{name.replace(' ', '').replace(',', '-')}.parquet"
            started = time.perf_counter()
            classify_file(source, output, labels, **options, **extra)
            rates[name] = args.rows / (time.perf_counter() - started)
            outputs[name] = [
                s["score"] for row in pq.read_table(output, columns=["predicted_scores"]).column(0).to_pylist()
                for s in row
            ]
        print("| engine | rows/s | vs ray, 1 actor | max abs score diff vs local |")
        print("|---|---:|---:|---:|")
        for name, _ in runs:
            diff = max(abs(a - b) for a, b in zip(outputs[name], outputs["local"]))
            print(f"| {name} | {rates[name]:,.0f} | {rates[name] / rates['ray, 1 actor']:.2f}x | {diff:.1e} |")
    ray.shutdown()


if __name__ == "__main__":
    main()
