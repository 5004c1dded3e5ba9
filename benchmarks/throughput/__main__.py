"""``python -m benchmarks.throughput``: zeroclass against transformers' pipeline, one process, one table.

Competitors: transformers' pipeline in fp32 (the reference) and bf16 (CPU
default) or fp16 (GPU), and, with ``--optimum``, Optimum's ONNX Runtime
pipeline with its own dynamic int8 quantisation. Each zeroclass row is also
compared with the competitor of its own precision (``x peer``): bf16 with
transformers bf16, ONNX int8 with Optimum int8.

Two ways to size a run. ``--pairs N``: about N pairs per workload. Or
``--target-seconds S`` (what the GPU plan uses): every contender first runs a
probe of at most :data:`PROBE_PAIRS` pairs (its warm-up, and for transformers
its batch-size search), and the timed workload is then sized so that one pass
of all contenders takes about S seconds. ``--budget`` bounds the whole
process: passes are repeated only while they fit. ``--json-out`` rewrites one
JSON file after every pass, so what was measured survives a kill.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from . import ceiling, models, report, workloads
from .measure import Contender, compare, pick_batch_size, run_pass, timed

#: name -> (backend, options, precision) of each zeroclass contender. A name may
#: end in ``@TOKENS`` to set ``max_batch_tokens`` (``bf16@131072``).
ZEROCLASS: dict[str, tuple[str, dict[str, Any], str | None]] = {
    "fp32": ("torch", {"dtype": "float32"}, "fp32"),
    "fp32-compile": ("torch", {"dtype": "float32", "compile": True}, "fp32"),
    "bf16": ("torch", {"dtype": "bfloat16"}, "bf16"),
    "bf16-compile": ("torch", {"dtype": "bfloat16", "compile": True}, "bf16"),
    "fp16": ("torch", {"dtype": "float16"}, "fp16"),
    "fp16-compile": ("torch", {"dtype": "float16", "compile": True}, "fp16"),
    "onnx-fp32": ("onnx", {}, "fp32"),
    "onnx-int8": ("onnx", {"quantize": "int8"}, "int8"),
    "embedding": ("embedding", {}, None),
}
DEFAULT_SYSTEMS = {"cpu": "fp32,bf16,onnx-fp32,onnx-int8,embedding", "cuda": "fp32,bf16,fp16"}
ZEROCLASS_PRECISION = {"float32": "fp32", "bfloat16": "bf16", "float16": "fp16"}
#: Largest probe (warm-up, batch-size search, rate estimate) of a ``--target-seconds`` run.
PROBE_PAIRS = 1000
#: A workload is started only if the budget left is this many times what the last one took.
NEXT_WORKLOAD_MARGIN = 1.2


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.throughput", description=__doc__)
    parser.add_argument("--model", default="bert-base", help=f"{', '.join(models.SHAPES)} (seeded, built here), or a folder / hub id")
    parser.add_argument("--workloads", default=",".join(workloads.WORKLOADS), help="comma-separated (default: all)")
    parser.add_argument("--pairs", type=int, default=128, help="about this many (text, label) pairs per workload")
    parser.add_argument("--target-seconds", type=float, help="size each workload so one pass of all contenders takes this long")
    parser.add_argument("--budget", type=float,
                        help="seconds for the whole run: passes are repeated, and workloads started, only while they fit")
    parser.add_argument("--probe-pairs", type=int, default=PROBE_PAIRS, help=f"pairs in each probe (default and most: {PROBE_PAIRS})")
    parser.add_argument("--systems", help="zeroclass contenders: " + ", ".join(ZEROCLASS) + ", each optionally @TOKENS (default: by device)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--threads", type=int, default=os.cpu_count(), help="CPU threads for every contender (default: all)")
    parser.add_argument("--hf-dtypes", default=None,
                        help="transformers precisions (default: float32,bfloat16; cuda: float32,float16)")
    parser.add_argument("--optimum", action="store_true",
                        help="add Optimum's ONNX Runtime pipeline with its int8 dynamic quantisation (needs optimum[onnxruntime])")
    parser.add_argument("--hf-batch-sizes", default=None, help="transformers batch sizes to try (default: 1,8,32; cuda: 8,32,128)")
    parser.add_argument("--repeats", type=int, default=2, help="interleaved passes per workload at most, best kept")
    parser.add_argument("--split", action="store_true",
                        help="also time zeroclass's host path (tokenise, pad, stage) and device path apart, per torch contender")
    parser.add_argument("--ceiling-budget", type=float, default=ceiling.BUDGET_SECONDS,
                        help="most seconds spent repeating each precision's matmul rate")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "results")
    parser.add_argument("--json-out", type=Path, help="write only this JSON file, rewritten after every pass")
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

    base, _, tokens = name.partition("@")
    backend, options, precision = ZEROCLASS[base]
    options = options | {"num_threads": args.threads} | ({"max_batch_tokens": int(tokens)} if tokens else {})
    start = time.perf_counter()
    if backend == "embedding":  # the bundled all-MiniLM-L6-v2: another model, so its scores are not compared
        classifier = ZeroShotClassifier.from_pretrained(None, device=args.device, **options)
    else:
        options |= {"device": args.device} if backend == "torch" else {}
        classifier = ZeroShotClassifier.from_pretrained(str(path), backend=backend, **options)
    loaded = time.perf_counter()
    # Warm up on batches of one and of several pairs (a compiled model specialises size 1).
    classifier(["warm up", "a second text"], ["one", "two"])
    first = time.perf_counter()
    classifier("warm up", ["one"])
    return Contender(
        f"zeroclass {name}",
        precision or "",
        lambda texts, labels, multi: classifier(texts, labels, multi_label=multi),
        languages=classifier.backend.languages,
        load_seconds=loaded - start,
        first_call_seconds=first - loaded,
        classifier=classifier,
    )


def try_contender(name: str, path: Path, args: argparse.Namespace) -> Contender | None:
    """The contender, or ``None`` with the reason printed: one that cannot start (say, no
    compiler for ``torch.compile``) must not cost the other figures of a run."""
    try:
        return zeroclass_contender(name, path, args)
    except Exception as exc:  # noqa: BLE001 - any failure to load or warm up
        print(f"skipping zeroclass {name}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return None


def transformers_contender(dtype: str, path: Path, device: str) -> Contender:
    start = time.perf_counter()
    pipe = Transformers(path, device, dtype)
    loaded = time.perf_counter()
    pipe(["warm up", "a second text"], ["one", "two"], False)
    name = f"transformers {dtype}"
    return Contender(name, ZEROCLASS_PRECISION[dtype], pipe, is_reference=dtype == "float32", is_competitor=True,
                     load_seconds=loaded - start, first_call_seconds=time.perf_counter() - loaded, pipeline=pipe)


def distinct_lengths(tokenizer: Any, workload: workloads.Workload) -> Any:
    """Token counts of the workload's distinct pairs: the work that answering it takes."""
    import numpy as np

    pairs = list(dict.fromkeys((t, f"This example is {label}.") for t in workload.texts for label in workload.labels))
    ids = tokenizer([p for p, _ in pairs], [h for _, h in pairs], truncation="only_first", max_length=512)["input_ids"]
    return np.array([len(x) for x in ids]), len(pairs)


def probe_and_size(name: str, contenders: list[Contender], args: argparse.Namespace, hf_sizes: list[int]) -> tuple[int, dict[str, Any]]:
    """Pairs for workload ``name``, and what the probe measured.

    Every contender runs the probe (so the timed runs start warm); transformers
    runs it once per batch size and keeps the fastest. With ``--target-seconds``
    the workload is sized from the probe's rates; else it is ``--pairs``.
    """
    size = min(args.probe_pairs, PROBE_PAIRS)
    probe = workloads.build(name, min(size, args.pairs) if args.target_seconds is None else size, args.seed + 1)
    n_probe = len(probe.texts) * len(probe.labels)
    rates: dict[str, float] = {}
    chosen: dict[str, int] = {}
    for contender in contenders:
        if contender.languages is not None and probe.language not in contender.languages:
            continue
        if contender.pipeline is not None:
            contender.pipeline.batch_size, by_size = pick_batch_size(contender.pipeline.with_batch_size, probe, hf_sizes)
            chosen[contender.name], rates[contender.name] = contender.pipeline.batch_size, max(by_size.values())
            print(f"{name}: {contender.name} batch sizes {by_size} -> {contender.pipeline.batch_size}", file=sys.stderr)
        else:
            try:  # the first run meets new shapes (kernel selection, compilation): the second is the rate
                rates[contender.name] = n_probe / min(timed(contender.classify, probe)[0] for _ in range(2))
            except Exception as exc:  # noqa: BLE001 - dropped again, with its reason, by the timed pass
                print(f"{name}: {contender.name} failed its probe: {type(exc).__name__}: {exc}", file=sys.stderr)
    info = {"probe_pairs": n_probe, "probe_pairs_per_s": rates, "transformers_batch_size": chosen}
    if args.target_seconds is None or not rates:
        return args.pairs, info
    seconds_per_pair = sum(1 / r for r in rates.values())
    return max(n_probe, int(args.target_seconds / seconds_per_pair)), info


def split_host_device(contender: Contender, workload: workloads.Workload) -> dict[str, float] | None:
    """Pairs/s of zeroclass's host path alone (tokenise, pad, stage every batch) and of its
    device path alone (those batches launched and read back): which one bounds the engine."""
    from zeroclass.backends.tokenized import TokenizedBackend

    backend = contender.classifier.backend if contender.classifier is not None else None
    if not isinstance(backend, TokenizedBackend) or not isinstance(backend.default_template, str):
        return None
    pairs = [(t, backend.default_template.format(label)) for t in workload.texts for label in workload.labels]
    start = time.perf_counter()
    batches = list(backend._batches(pairs))
    host = time.perf_counter() - start
    start = time.perf_counter()
    launched = [backend.launch(staged) for _, staged in batches]
    for item in launched:
        backend.fetch(item)
    device = time.perf_counter() - start
    return {"host_pairs_per_s": len(pairs) / host, "device_pairs_per_s": len(pairs) / device, "batches": len(batches)}


def rows_for(workload: workloads.Workload, runs: dict[str, dict[str, Any]], contenders: list[Contender],
             model: models.BenchModel, tokenizer: Any, rates: dict[str, float], chosen: dict[str, int]) -> list[dict[str, Any]]:
    """One table row per contender that finished the workload: speed, ratios, agreement, ceiling fraction."""
    lengths, n_distinct = distinct_lengths(tokenizer, workload)
    flops = model.flops(lengths)
    reference = next(runs[c.name]["results"] for c in contenders if c.is_reference)
    best_competitor = min(runs[c.name]["seconds"] for c in contenders if c.is_competitor and c.name in runs)
    peers = {c.precision: runs[c.name]["seconds"] for c in contenders if c.is_competitor and c.name in runs}
    n_pairs = len(workload.texts) * len(workload.labels)
    rows = []
    for contender in contenders:
        if contender.name not in runs:
            continue
        run = runs[contender.name]
        same_model = not contender.name.endswith("embedding")
        diff, agree, margin_agree = compare(run["results"], reference) if same_model else (None, None, None)
        gflops = flops / run["seconds"] / 1e9 if flops and same_model else None
        rows.append({
            "workload": workload.name,
            "labels": len(workload.labels),
            "texts": len(workload.texts),
            "pairs": n_pairs,
            "distinct_pairs": n_distinct,
            "system": contender.name + (f" (bs {chosen[contender.name]})" if contender.name in chosen else ""),
            "seconds": run["seconds"],
            "pass_seconds": run["passes"],
            "pairs_per_s": n_pairs / run["seconds"],
            "texts_per_s": len(workload.texts) / run["seconds"],
            "speedup": best_competitor / run["seconds"],
            "peer_speedup": peers[contender.precision] / run["seconds"]
            if contender.precision in peers and not contender.is_competitor else None,
            "max_abs_diff": diff,
            "top1_agreement": agree,
            "top1_agreement_clear": margin_agree,
            "peak_mib": run["peak_mib"],
            "gflops": gflops,
            "precision": contender.precision,
            "ceiling_fraction": gflops * 1e9 / rates[contender.precision] if gflops and contender.precision in rates else None,
            "load_seconds": contender.load_seconds,
            "first_call_seconds": contender.first_call_seconds,
        })
    return rows


def write_json(path: Path, document: dict[str, Any]) -> None:
    """Replace ``path`` whole (written aside, then renamed): a kill never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(document, indent=1, ensure_ascii=False, default=float) + "\n", encoding="utf-8")
    partial.replace(path)


def main(argv: list[str] | None = None) -> int:
    started = time.perf_counter()
    args = parse_args(argv)
    import torch
    from transformers import AutoTokenizer

    torch.set_num_threads(args.threads)
    cuda = args.device.startswith("cuda")
    hf_dtypes = (args.hf_dtypes or ("float32,float16" if cuda else "float32,bfloat16")).split(",")
    hf_sizes = [int(s) for s in (args.hf_batch_sizes or ("8,32,128" if cuda else "1,8,32")).split(",")]
    systems = (args.systems or DEFAULT_SYSTEMS["cuda" if cuda else "cpu"]).split(",")
    work = Path(tempfile.mkdtemp(prefix="zeroclass-bench-"))
    header: dict[str, Any] = {
        "model": args.model,
        "device": (torch.cuda.get_device_name(0) if cuda else f"cpu ({platform.processor() or platform.machine()})"),
        "torch": torch.__version__,
        "threads": args.threads,
        "pairs_per_workload": args.pairs if args.target_seconds is None else None,
        "target_seconds": args.target_seconds,
        "repeats": args.repeats,
        "command": "python -m benchmarks.throughput " + " ".join(argv if argv is not None else sys.argv[1:]),
    }
    rows: list[dict[str, Any]] = []
    document: dict[str, Any] = {**header, "status": "running", "rows": rows, "workloads": {}}

    def save(stage: str) -> None:
        document["stage"], document["elapsed_s"] = stage, time.perf_counter() - started
        document.setdefault("stages", {})[stage] = round(document["elapsed_s"], 2)
        if args.json_out:
            write_json(args.json_out, document)

    save("starting")
    build_start = time.perf_counter()
    model = models.resolve(args.model, work, seed=args.seed, device=args.device if cuda else "cpu")
    document["model_build_s"] = time.perf_counter() - build_start
    print(f"measuring the matmul ceiling on {args.device}...", file=sys.stderr)
    rates = ceiling.measure(args.device, budget=args.ceiling_budget)
    document["ceiling"] = rates
    save("ceiling measured")
    tokenizer = AutoTokenizer.from_pretrained(model.path)
    contenders = [transformers_contender(dtype, model.path, args.device) for dtype in hf_dtypes]
    if args.optimum:
        from .optimum_ort import OptimumInt8

        contenders.append(Contender("optimum onnx-int8", "int8", OptimumInt8(model.path, work, args.threads), is_competitor=True))
    contenders += [c for name in systems if (c := try_contender(name, model.path, args))]
    document["first_call"] = {c.name: {"load_s": c.load_seconds, "first_call_s": c.first_call_seconds} for c in contenders}
    save("contenders loaded")
    last = 0.0
    for name in args.workloads.split(","):
        left = None if args.budget is None else args.budget - (time.perf_counter() - started)
        if left is not None and left < NEXT_WORKLOAD_MARGIN * last:
            document.setdefault("skipped_workloads", []).append(name)
            save(f"{name}: skipped, {left:.0f} s left")
            continue
        workload_start = time.perf_counter()
        pairs, probe = probe_and_size(name, contenders, args, hf_sizes)
        workload = workloads.build(name, pairs, args.seed)
        document["workloads"][name] = probe | {"pairs": len(workload.texts) * len(workload.labels)}
        save(f"{name}: probed")
        runs: dict[str, dict[str, Any]] = {}
        active = [c for c in contenders if c.languages is None or workload.language in c.languages]
        last_pass = 0.0
        for done in range(args.repeats):
            pass_start = time.perf_counter()
            run_pass(active, workload, runs)
            rows[:] = [r for r in rows if r["workload"] != name] + rows_for(
                workload, runs, contenders, model, tokenizer, rates, probe["transformers_batch_size"])
            save(f"{name}: pass {done + 1}")
            last_pass = time.perf_counter() - pass_start
            if args.budget is not None and time.perf_counter() - started + 1.3 * last_pass > args.budget:
                break
        if args.split and (args.budget is None or time.perf_counter() - started + last_pass < args.budget):
            document["workloads"][name]["split"] = {
                c.name: s for c in active if c.classifier is not None and (s := split_host_device(c, workload))}
            save(f"{name}: host and device split")
        print(report.markdown([r for r in rows if r["workload"] == name], header | {"ceiling": rates}), file=sys.stderr)
        last = time.perf_counter() - workload_start
    if args.budget is None:  # measured again, keeping the faster: a busy moment must not lower the ceiling
        rates |= {k: max(v, rates[k]) for k, v in ceiling.measure(args.device).items()}
        for row in rows:
            row["ceiling_fraction"] = row["gflops"] * 1e9 / rates[row["precision"]] if row["gflops"] and row["precision"] in rates else None
    document["status"] = "ok"
    save("done")
    if not args.json_out:
        stem = f"throughput-{Path(args.model).name}-{args.device.split(':')[0]}"
        for path in report.write(rows, header | {"ceiling": rates}, args.out, stem):
            print(f"wrote {path}", file=sys.stderr)
    print(report.markdown(rows, header | {"ceiling": rates}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
