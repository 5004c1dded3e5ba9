"""Load benchmark of ``zeroclass serve``: N concurrent clients on loopback, micro-batching on vs off.

Starts the real server twice on 127.0.0.1 with the same model: once as
shipped (dynamic micro-batching) and once with ``--max-batch-requests 1``
(each request scored alone, everything else equal). Each run drives N
closed-loop clients (each sends its next request when the last is answered)
for a fixed time and reports requests/s, p50/p95/p99 latency, errors (must be
0), the gain of batching over scoring alone, and the max |score difference|
between the server's answers and the Python API's in this process.

The model is a randomly initialised NLI cross-encoder of all-MiniLM-L6-v2's
shape (6 layers, 384 wide), so each forward pass costs what a small real
model's does; no hub is needed.

    .venv/bin/python benchmarks/load.py --clients 32 --duration 20

Each server's standard error is appended to ``--server-log`` (default: a
temporary file), and its last lines are printed when a server fails to
start, so a missing package is named rather than lost. ``--json-out``
rewrites one JSON file after each run, so a run cut short keeps what it
measured.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from tiny_models import WORDS, build_vocab  # noqa: E402

LABEL_SETS = [["sports", "politics", "travel", "technology"], ["food", "music", "health", "business"],
              ["weather", "finance", "science", "movie"]]


def build_minilm_shaped_nli(folder: Path) -> Path:
    """A random BERT NLI model with all-MiniLM-L6-v2's shape and a real tokenizer."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    (folder / "vocab.txt").write_text("\n".join(build_vocab()) + "\n", encoding="utf-8")
    tokenizer = BertTokenizerFast(vocab=str(folder / "vocab.txt"), do_lower_case=True, model_max_length=512)
    torch.manual_seed(0)
    id2label = {0: "contradiction", 1: "neutral", 2: "entailment"}
    config = BertConfig(
        vocab_size=tokenizer.vocab_size, hidden_size=384, num_hidden_layers=6, num_attention_heads=12,
        intermediate_size=1536, num_labels=3, id2label=id2label, label2id={v: k for k, v in id2label.items()},
    )
    BertForSequenceClassification(config).eval().save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def make_requests(n: int, seed: int = 0) -> list[dict]:
    """Texts of 8 to 30 words, each with one of three 4-label sets: a typical interactive request."""
    rng = random.Random(seed)
    return [
        {"text": " ".join(rng.choices(WORDS, k=rng.randint(8, 30))), "candidate_labels": LABEL_SETS[i % len(LABEL_SETS)]}
        for i in range(n)
    ]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(model: Path, extra: list[str], log: Path, ready_within: float = 120) -> tuple[subprocess.Popen, str]:
    """A ``zeroclass serve`` process on a free loopback port, once it answers ``/readyz``.

    Its output goes to ``log`` (appended), and a server that exits or never
    becomes ready is an error quoting the log's end: the cause (a missing
    package, a bad option) is in there.
    """
    port = free_port()
    # One access-log line per request would bury the log's errors (and fill it: thousands a second on a GPU).
    quiet = "import logging, sys; logging.getLogger('uvicorn.access').addFilter(lambda record: False)"
    command = [sys.executable, "-c", f"{quiet}; from zeroclass.cli import main; sys.exit(main())",
               "serve", "--model", str(model), "--port", str(port), "--max-texts", "64", *extra]
    with open(log, "a", encoding="utf-8") as sink:
        sink.write(f"\n==== {' '.join(command[3:])}\n")
        sink.flush()
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + ready_within
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return process, url
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    why = f"exited with status {process.returncode}" if process.poll() is not None else f"not ready within {ready_within:.0f} s"
    process.kill()
    tail = "".join(log.read_text(encoding="utf-8", errors="replace").splitlines(keepends=True)[-25:])
    raise RuntimeError(f"server {why}; the end of its log ({log}):\n{tail}")


async def drive(url: str, requests: list[dict], clients: int, duration: float, warmup: float) -> dict:
    """Closed-loop load; only requests started after the warm-up count."""
    latencies: list[float] = []
    errors = 0
    answers: dict[int, list[float]] = {}
    start = time.perf_counter()
    measure_from, stop_at = start + warmup, start + warmup + duration
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as http:

        async def client(k: int) -> None:
            nonlocal errors
            i = k
            while (t0 := time.perf_counter()) < stop_at:
                body = requests[i % len(requests)]
                try:
                    response = await http.post("/v1/classify", json=body)
                    ok = response.status_code == 200
                except httpx.HTTPError:
                    ok = False
                if t0 >= measure_from:
                    latencies.append(time.perf_counter() - t0)
                    errors += not ok
                if ok and i % len(requests) not in answers:
                    result = response.json()["results"][0]
                    answers[i % len(requests)] = dict(zip(result["labels"], result["scores"]))
                i += clients

        await asyncio.gather(*(client(k) for k in range(clients)))
    lat = np.array(latencies or [float("nan")]) * 1000  # no answer at all: NaN latencies, 0 requests
    return {"requests": len(latencies), "rps": len(latencies) / duration, "p50": np.percentile(lat, 50), "p95": np.percentile(lat, 95),
            "p99": np.percentile(lat, 99), "errors": errors, "answers": answers}


def max_diff(answers: dict[int, dict[str, float]], reference, requests: list[dict]) -> float:
    """Largest |server score - Python API score| over every distinct request the server answered."""
    ids = sorted(answers)
    expected = reference([requests[i]["text"] for i in ids], [requests[i]["candidate_labels"] for i in ids])
    return max(
        abs(answers[i][label] - score)
        for i, want in zip(ids, expected)
        for label, score in zip(want["labels"], want["scores"])
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--duration", type=float, default=20.0, help="measured seconds per run")
    parser.add_argument("--warmup", type=float, default=3.0, help="unmeasured seconds before each run")
    parser.add_argument("--model", help="model folder (default: a random MiniLM-shaped NLI model)")
    parser.add_argument("--server-arg", action="append", default=[], metavar="OPTION",
                        help="passed to both servers, e.g. --server-arg=--dtype=bfloat16 (repeatable)")
    parser.add_argument("--server-log", type=Path, help="append both servers' output here (default: a temporary file)")
    parser.add_argument("--json-out", type=Path, help="also write the runs as JSON here, rewritten after each run")
    args = parser.parse_args()

    from zeroclass import ZeroShotClassifier

    with tempfile.TemporaryDirectory() as tmp:
        model = Path(args.model) if args.model else build_minilm_shaped_nli(Path(tmp))
        log = args.server_log or Path(tmp) / "servers.log"
        requests = make_requests(512)
        runs: dict[str, dict] = {}
        document = {"clients": args.clients, "duration_s": args.duration, "server_args": args.server_arg,
                    "model": args.model or "random MiniLM-shaped NLI (6x384)", "status": "running", "runs": runs}
        for name, extra in (("micro-batching (default)", []), ("each request alone", ["--max-batch-requests", "1"])):
            process, url = start_server(model, [*args.server_arg, *extra], log)
            try:
                runs[name] = asyncio.run(drive(url, requests, args.clients, args.duration, args.warmup))
            finally:
                process.terminate()
                process.wait(60)
            write_json(args.json_out, document)
        reference = ZeroShotClassifier.from_pretrained(str(model), device="cpu")
        alone_rps = runs["each request alone"]["rps"]
        for run in runs.values():
            run["vs_alone"] = run["rps"] / alone_rps
            run["max_abs_diff"] = max_diff(run["answers"], reference, requests)
        document["status"] = "ok"
        write_json(args.json_out, document)
        print(f"model: {document['model']}; "
              f"{args.clients} clients, {args.duration:.0f} s per run, 1 text x 4 labels per request"
              + (f"; serve {' '.join(args.server_arg)}" if args.server_arg else ""))
        print("| server | req/s | p50 ms | p95 ms | p99 ms | requests | errors | vs alone | max abs score diff vs Python API |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        for name, run in runs.items():
            print(f"| {name} | {run['rps']:.1f} | {run['p50']:.0f} | {run['p95']:.0f} | {run['p99']:.0f} | "
                  f"{run['requests']} | {run['errors']} | {run['vs_alone']:.2f}x | {run['max_abs_diff']:.1e} |")


def write_json(path: Path | None, document: dict) -> None:
    """Replace ``path`` whole with ``document`` (answers left out: they are only for the score check)."""
    if path is None:
        return
    public = {**document, "runs": {k: {f: v for f, v in run.items() if f != "answers"} for k, run in document["runs"].items()}}
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(public, indent=1, default=float) + "\n", encoding="utf-8")
    partial.replace(path)


if __name__ == "__main__":
    main()
