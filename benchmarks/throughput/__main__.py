"""``python -m benchmarks.throughput``: zeroclass against transformers' pipeline, one process, one table.

Competitors: transformers' pipeline in fp32 (the reference) and bf16 (CPU
default), and, with ``--optimum``, Optimum's ONNX Runtime pipeline with its
own dynamic int8 quantisation. Each zeroclass row is also compared with the
competitor of its own precision (``x peer``): bf16 with transformers bf16,
ONNX int8 with Optimum int8.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
from pathlib import Path
from typing import Any

from . import ceiling, models, report, workloads
from .measure import Contender, compare, pick_batch_size, run_workload

#: name -> (backend, options, precision) of each zeroclass contender.
ZEROCLASS: dict[str, tuple[str, dict[str, Any], str | None]] = {
    "fp32": ("torch", {"dtype": "float32"}, "fp32"),
    "fp32-compile": ("torch", {"dtype": "float32", "compile": True}, "fp32"),
    "bf16": ("torch", {"dtype": "bfloat16"}, "bf16"),
    "bf16-compile": ("torch", {"dtype": "bfloat16", "compile": True}, "bf16"),
    "fp16": ("torch", {"dtype": "float16"}, "fp16"),
    "onnx-fp32": ("onnx", {}, "fp32"),
    "onnx-int8": ("onnx", {"quantize": "int8"}, "int8"),
    "embedding": ("embedding", {}, None),
}
DEFAULT_SYSTEMS = {"cpu": "fp32,bf16,onnx-fp32,onnx-int8,embedding", "cuda": "fp32,bf16,fp16,embedding"}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.throughput", description=__doc__)
    parser.add_argument("--model", default="bert-base", help=f"{', '.join(models.SHAPES)} (seeded, built here), or a folder / hub id")
    parser.add_argument("--workloads", default=",".join(workloads.WORKLOADS), help="comma-separated (default: all)")
    parser.add_argument("--pairs", type=int, default=128, help="about this many (text, label) pairs per workload")
    parser.add_argument("--systems", help="zeroclass contenders: " + ", ".join(ZEROCLASS) + " (default: by device)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--threads", type=int, default=os.cpu_count(), help="CPU threads for every contender (default: all)")
    parser.add_argument("--hf-dtypes", default=None,
                        help="transformers precisions (default: float32,bfloat16; cuda: float32,float16)")
    parser.add_argument("--optimum", action="store_true",
                        help="add Optimum's ONNX Runtime pipeline with its int8 dynamic quantisation (needs optimum[onnxruntime])")
    parser.add_argument("--hf-batch-sizes", default=None, help="transformers batch sizes to try (default: 1,8,32; cuda: 8,32,128)")
    parser.add_argument("--repeats", type=int, default=2, help="interleaved runs per contender, best kept")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "results")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


class Transformers:
    """transformers' zero-shot pipeline at one precision, batch size set per workload."""

    def __init__(self, path: Path, device: str, dtype: str) -> None:
        import torch
        from transformers import pipeline

        self.pipe = pipeline("zero-shot-classification", model=str(path), device=device, dtype=getattr(torch, dtype))
        self.batch_size = 1

    def with_batch_size(self, size: int) -> Any:
        return lambda texts, labels, multi: self.pipe(texts, candidate_labels=labels, multi_label=multi, batch_size=size)

    def __call__(self, texts: list[str], labels: list[str], multi: bool) -> list[dict[str, Any]]:
        return self.with_batch_size(self.batch_size)(texts, labels, multi)


def zeroclass_contender(name: str, path: Path, args: argparse.Namespace) -> Contender:
    from zeroclass import ZeroShotClassifier

    backend, options, precision = ZEROCLASS[name]
    options = options | {"num_threads": args.threads}
    if backend == "embedding":  # the bundled all-MiniLM-L6-v2: another model, so its scores are not compared
        classifier = ZeroShotClassifier.from_pretrained(None, device=args.device, **options)
    else:
        options |= {"device": args.device} if backend == "torch" else {}
        classifier = ZeroShotClassifier.from_pretrained(str(path), backend=backend, **options)
    # Warm up on batches of one and of several pairs (a compiled model specialises size 1).
    classifier(["warm up", "a second text"], ["one", "two"])
    classifier("warm up", ["one"])
    return Contender(
        f"zeroclass {name}",
        precision or "",
        lambda texts, labels, multi: classifier(texts, labels, multi_label=multi),
        languages=classifier.backend.languages,
    )


def try_contender(name: str, path: Path, args: argparse.Namespace) -> Contender | None:
    """The contender, or ``None`` with the reason printed: one that cannot start (say, no
    compiler for ``torch.compile``) must not cost the other figures of a run."""
    try:
        return zeroclass_contender(name, path, args)
    except Exception as exc:  # noqa: BLE001 - any failure to load or warm up
        print(f"skipping zeroclass {name}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return None


def distinct_lengths(tokenizer: Any, workload: workloads.Workload) -> Any:
    """Token counts of the workload's distinct pairs: the work that answering it takes."""
    import numpy as np

    pairs = list(dict.fromkeys((t, f"This example is {label}.") for t in workload.texts for label in workload.labels))
    ids = tokenizer([p for p, _ in pairs], [h for _, h in pairs], truncation="only_first", max_length=512)["input_ids"]
    return np.array([len(x) for x in ids]), len(pairs)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import torch
    from transformers import AutoTokenizer

    torch.set_num_threads(args.threads)
    cuda = args.device.startswith("cuda")
    hf_dtypes = (args.hf_dtypes or ("float32,float16" if cuda else "float32,bfloat16")).split(",")
    hf_sizes = [int(s) for s in (args.hf_batch_sizes or ("8,32,128" if cuda else "1,8,32")).split(",")]
    systems = (args.systems or DEFAULT_SYSTEMS["cuda" if cuda else "cpu"]).split(",")
    work = Path(tempfile.mkdtemp(prefix="zeroclass-bench-"))
    model = models.resolve(args.model, work, seed=args.seed)
    print(f"measuring the matmul ceiling on {args.device}...", file=sys.stderr)
    rates = ceiling.measure(args.device)
    tokenizer = AutoTokenizer.from_pretrained(model.path)
    hf: dict[str, Any] = {f"transformers {dtype}": Transformers(model.path, args.device, dtype) for dtype in hf_dtypes}
    precision = {f"transformers {dtype}": ZEROCLASS_PRECISION[dtype] for dtype in hf_dtypes}
    if args.optimum:
        from .optimum_ort import OptimumInt8

        hf["optimum onnx-int8"], precision["optimum onnx-int8"] = OptimumInt8(model.path, work, args.threads), "int8"
    contenders = [
        Contender(name, precision[name], pipe, is_reference=name == "transformers float32", is_competitor=True)
        for name, pipe in hf.items()
    ] + [c for name in systems if (c := try_contender(name, model.path, args))]
    header = {
        "model": args.model,
        "device": args.device if cuda else f"cpu ({platform.processor() or platform.machine()})",
        "threads": args.threads,
        "pairs_per_workload": args.pairs,
        "repeats": args.repeats,
        "ceiling": rates,
        "command": "python -m benchmarks.throughput " + " ".join(argv if argv is not None else sys.argv[1:]),
    }
    rows: list[dict[str, Any]] = []
    for name in args.workloads.split(","):
        workload = workloads.build(name, args.pairs, args.seed)
        chosen = {}
        for system, pipe in hf.items():
            pipe.batch_size, probe = pick_batch_size(pipe.with_batch_size, workload, hf_sizes)
            chosen[system] = pipe.batch_size
            print(f"{name}: {system} batch sizes {probe} -> {pipe.batch_size}", file=sys.stderr)
        runs = run_workload(contenders, workload, args.repeats)
        lengths, n_distinct = distinct_lengths(tokenizer, workload)
        flops = model.flops(lengths)
        reference = next(runs[c.name]["results"] for c in contenders if c.is_reference)
        best_competitor = min(runs[c.name]["seconds"] for c in contenders if c.is_competitor and c.name in runs)
        peers = {c.precision: runs[c.name]["seconds"] for c in contenders if c.is_competitor and c.name in runs}
        for contender in contenders:
            if contender.name not in runs:
                continue
            run = runs[contender.name]
            n_pairs = len(workload.texts) * len(workload.labels)
            same_model = not contender.name.endswith("embedding")
            diff, agree = compare(run["results"], reference) if same_model else (None, None)
            gflops = flops / run["seconds"] / 1e9 if flops and same_model else None
            rows.append(
                {
                    "workload": name,
                    "labels": len(workload.labels),
                    "texts": len(workload.texts),
                    "pairs": n_pairs,
                    "distinct_pairs": n_distinct,
                    "system": contender.name + (f" (bs {chosen[contender.name]})" if contender.name in chosen else ""),
                    "seconds": run["seconds"],
                    "pairs_per_s": n_pairs / run["seconds"],
                    "texts_per_s": len(workload.texts) / run["seconds"],
                    "speedup": best_competitor / run["seconds"],
                    "peer_speedup": peers[contender.precision] / run["seconds"]
                    if contender.precision in peers and not contender.is_competitor else None,
                    "max_abs_diff": diff,
                    "top1_agreement": agree,
                    "peak_mib": run["peak_mib"],
                    "gflops": gflops,
                    "precision": contender.precision,
                    "ceiling_fraction": gflops * 1e9 / rates[contender.precision] if gflops and contender.precision in rates else None,
                }
            )
        print(report.markdown([r for r in rows if r["workload"] == name], header), file=sys.stderr)
    # Measured again at the end, keeping the faster: a busy moment must not lower the ceiling.
    rates |= {k: max(v, rates[k]) for k, v in ceiling.measure(args.device).items()}
    for row in rows:
        row["ceiling_fraction"] = row["gflops"] * 1e9 / rates[row["precision"]] if row["gflops"] and row["precision"] in rates else None
    stem = f"throughput-{Path(args.model).name}-{args.device.split(':')[0]}"
    for path in report.write(rows, header, args.out, stem):
        print(f"wrote {path}", file=sys.stderr)
    print(report.markdown(rows, header))
    return 0


ZEROCLASS_PRECISION = {"float32": "fp32", "bfloat16": "bf16", "float16": "fp16"}

if __name__ == "__main__":
    raise SystemExit(main())
