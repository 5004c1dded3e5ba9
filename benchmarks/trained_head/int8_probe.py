"""Where int8's error came from once the feed-forward block was fp32, and what removes it, on the trained head.

It studies the base recipe, ``Int8Recipe(qkv=False)`` (the default before its ``qkv`` step), which
left only attention's products in int8: the fused QKV projection
(``Attention``, reading the previous layer's LayerNorm output) and the
attention output projection. Each variant below starts from the same fused
fp32 export and changes one thing (``+ fp32 QKV`` is the default recipe
since):

* ``fp32 QKV`` / ``fp32 QKV, every other layer`` / ``fp32 attention output``:
  more products left out of the quantiser (real int8 for the rest);
* ``SmoothQuant QKV (alpha 0.5)``: the QKV input divided per channel by
  ``s = amax(x)^0.5 / amax(W)^0.5`` and the weight rows multiplied by it
  (exact in fp32; SmoothQuant, Xiao et al. 2023, its default alpha), the
  activation maxima calibrated on :data:`CALIBRATION`, pairs written for
  this probe (no evaluation text), then the base recipe;
* ``emulated ...``: fp32 graphs that round only the weights (7-bit, as
  ``reduce_range`` does on CPUs without VNNI, or 8-bit) or only the
  activations (one scale per batch tensor as ONNX Runtime's dynamic
  quantisation does, or one per token) of the base recipe's int8
  products, to see which of the two carries the error.

Each is compared with torch fp32 on the held-out SNLI/SICK pairs (3-way
decisions) and on AG News and TREC texts × labels (single-label scores):
flips, mean and max |Δ|. Real-int8 variants are also timed on 384 NLI
pairs (batches of 32, run by the sessions directly), interleaved, best of five, relative
to the base recipe, with the fp32 graph beside them.

    PYTHONPATH=$PWD python -m benchmarks.trained_head.int8_probe --model /work/trained-head
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from benchmarks.throughput.workloads import data_root
from benchmarks.trained_head.agreement import OUT, held_out_pairs, load_task

#: Premise/hypothesis pairs for SmoothQuant's activation maxima: ordinary sentences and the templates' shapes.
CALIBRATION = [
    ("A man is playing a guitar on the street.", "Someone is making music."),
    ("The stock market fell sharply on Monday after the bank raised rates.", "This example is about business."),
    ("Two children are running across a field of grass.", "The kids are sitting indoors."),
    ("I can't log in to my account since yesterday.", "This text is about a technical problem."),
    ("The team won the championship in overtime.", "This example is sports."),
    ("She cooked dinner for her family.", "A woman is preparing food."),
    ("What is the capital of Australia?", "This question asks for a location."),
    ("The new phone has a longer battery life and a brighter screen.", "This example is technology."),
    ("It rained all day, so the picnic was cancelled.", "The weather was sunny."),
    ("He forgot his keys and waited outside for an hour.", "This text expresses frustration."),
    ("The museum opens at nine and closes at five.", "This example is about travel."),
    ("A dog catches a frisbee in the park.", "An animal is playing outside."),
    ("My card payment was declined at the shop.", "This example is about banking."),
    ("Scientists discovered a new species of frog in the rainforest.", "This example is science."),
    ("The film was long, but the ending made it worth it.", "The review is positive."),
    ("Nobody came to the meeting.", "The room was full of people."),
]
TEMPLATE = "This example is {}."


def _base() -> Any:
    from zeroclass.backends.nli_onnx import Int8Recipe

    return Int8Recipe(qkv=False)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="the trained NLI folder (train.py --out)")
    parser.add_argument("--sets", default="ag_news:300,trec:200")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=OUT / "trained_head_int8_probe.json")
    args = parser.parse_args(argv)
    os.environ["ZEROCLASS_CACHE"] = tempfile.mkdtemp(prefix="zeroclass-probe-")
    sets = evaluation_sets(args.sets)
    reference = [reference_scores(args.model, pairs, labels, args.threads) for _, pairs, labels in sets]
    backend, graph = fp32_export(args.model, args.threads)
    rows, sessions = [], {}
    for name, (build, real) in variants(backend).items():
        session = _session(build(copy.deepcopy(graph)), args.threads)
        if real:
            sessions[name] = session
        backend.session = session
        for (set_name, pairs, labels), ref in zip(sets, reference):
            rows.append({"variant": name, "set": set_name, **compare(ref, scores(backend, pairs, labels))})
            print(json.dumps(rows[-1]), flush=True)
    sessions["fp32 (nothing in int8)"] = _session(graph, args.threads)
    speed = timings(backend, sessions, sets[0][1][:384])
    for row in rows:
        row["time_vs_base"] = speed.get(row["variant"])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"model": args.model, "sets": args.sets, "rows": rows, "time_vs_base": speed},
                                   indent=1), encoding="utf-8")
    print(table(rows))
    print(f"fp32 graph: {speed['fp32 (nothing in int8)']:.2f}x the base recipe's time")


def evaluation_sets(spec: str) -> list[tuple[str, list[tuple[str, str]], int | None]]:
    """(name, pairs, label count or None for 3-way NLI) of the held-out NLI pairs and of each ``name:rows`` set."""
    root = data_root()
    sets: list[tuple[str, list[tuple[str, str]], int | None]] = [("snli+sick held-out", held_out_pairs(root)[0], None)]
    for name, rows in (s.split(":") for s in spec.split(",")):
        task = load_task(root, name, int(rows), 0)
        sets.append((name, [(t, TEMPLATE.format(label)) for t in task.texts for label in task.labels], len(task.labels)))
    return sets


def scores(backend: Any, pairs: list[tuple[str, str]], labels: int | None) -> np.ndarray:
    """NLI class probabilities per pair (``labels`` None), else single-label scores per text."""
    logits = np.asarray(backend.score_pairs(pairs), dtype=np.float64)
    if labels is not None:
        logits = logits[:, backend.head.entailment_id].reshape(-1, labels)
    exp = np.exp(logits - logits.max(axis=1, keepdims=True))
    return exp / exp.sum(axis=1, keepdims=True)


def reference_scores(model: str, pairs: list[tuple[str, str]], labels: int | None, threads: int) -> np.ndarray:
    """torch fp32's scores: the reference every variant is compared with."""
    import zeroclass

    classifier = zeroclass.pipeline("zero-shot-classification", model=model, backend="torch", num_threads=threads)
    return scores(classifier.backend, pairs, labels)


def compare(reference: np.ndarray, other: np.ndarray) -> dict[str, Any]:
    delta = np.abs(reference - other)
    return {"flips": int((reference.argmax(1) != other.argmax(1)).sum()), "rows": len(reference),
            "mean_abs_delta": float(delta.mean()), "max_abs_delta": float(delta.max())}


def fp32_export(model: str, threads: int) -> tuple[Any, Any]:
    """zeroclass's ONNX fp32 backend of ``model`` and its fused graph (the graph every variant starts from)."""
    import onnx

    from zeroclass.backends.nli_onnx import OnnxNLIBackend, export_dir

    backend = OnnxNLIBackend.from_path(model, num_threads=threads)
    return backend, onnx.load(str(export_dir(model, None) / "model.onnx"))


def variants(backend: Any) -> dict[str, tuple[Callable[[Any], Any], bool]]:
    """Variant name -> (graph -> model to run, whether it is real int8 and so timed)."""
    int8 = _int8_nodes
    return {
        "base recipe (QKV in int8)": (lambda g: quantize(g, []), True),
        "+ fp32 QKV (the default since)": (lambda g: quantize(g, [n.name for n in int8(g) if n.op_type == "Attention"]), True),
        "+ fp32 QKV, every other layer": (
            lambda g: quantize(g, [n.name for n in int8(g) if n.op_type == "Attention"][::2]), True),
        "+ fp32 attention output": (lambda g: quantize(g, [n.name for n in int8(g) if n.op_type == "MatMul"]), True),
        "SmoothQuant QKV (alpha 0.5)": (lambda g: quantize(smooth(g, backend, 0.5), []), True),
        "emulated: 7-bit weights only": (lambda g: emulate(g, weight_bits=7, activations=None), False),
        "emulated: 8-bit weights only": (lambda g: emulate(g, weight_bits=8, activations=None), False),
        "emulated: activations only, per tensor": (lambda g: emulate(g, weight_bits=None, activations="tensor"), False),
        "emulated: activations only, per token": (lambda g: emulate(g, weight_bits=None, activations="token"), False),
    }


def _int8_nodes(model: Any) -> list[Any]:
    """The products the base recipe quantises (fused ``Attention`` and ``MatMul`` nodes it does not keep)."""
    from zeroclass.backends.nli_onnx import fp32_nodes

    keep = set(fp32_nodes(model.graph, _base()))
    return [n for n in model.graph.node if n.op_type in {"Attention", "MatMul"} and n.name not in keep]


def quantize(model: Any, extra_fp32: list[str]) -> Any:
    """The base recipe's dynamic int8 of ``model``, with ``extra_fp32`` nodes also left in fp32."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from zeroclass.backends.nli_onnx import _saturating_int8_cpu, fp32_nodes

    with tempfile.TemporaryDirectory() as work:
        quantize_dynamic(
            model, f"{work}/int8.onnx", weight_type=QuantType.QInt8, per_channel=_base().per_channel,
            reduce_range=_saturating_int8_cpu(), nodes_to_exclude=fp32_nodes(model.graph, _base()) + extra_fp32,
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )
        return onnx.load(f"{work}/int8.onnx")


def smooth(model: Any, backend: Any, alpha: float) -> Any:
    """SmoothQuant on each QKV product: input scaled down per channel by a ``Mul``, weight rows scaled up."""
    from onnx import helper, numpy_helper

    nodes = [n for n in _int8_nodes(model) if n.op_type == "Attention"]
    amax = activation_maxima(model, backend, [n.input[0] for n in nodes])
    weights = {i.name: i for i in model.graph.initializer}
    for node in nodes:
        w = numpy_helper.to_array(weights[node.input[1]])
        s = np.maximum(amax[node.input[0]], 1e-5) ** alpha / np.maximum(np.abs(w).max(axis=1), 1e-5) ** (1 - alpha)
        weights[node.input[1]].CopyFrom(numpy_helper.from_array((w * s[:, None]).astype(np.float32), node.input[1]))
        model.graph.initializer.append(numpy_helper.from_array((1 / s).astype(np.float32), f"{node.name}_smooth"))
        mul = helper.make_node("Mul", [node.input[0], f"{node.name}_smooth"], [f"{node.name}_smoothed"])
        node.input[0] = f"{node.name}_smoothed"
        model.graph.node.insert(list(model.graph.node).index(node), mul)
    return model


def activation_maxima(model: Any, backend: Any, names: list[str]) -> dict[str, np.ndarray]:
    """Per-channel max |x| of the tensors ``names`` over the real tokens of :data:`CALIBRATION`."""
    import onnx
    from onnx import helper

    probe = copy.deepcopy(model)
    probe.graph.output.extend(helper.make_tensor_value_info(n, onnx.TensorProto.FLOAT, None) for n in names)
    session = _session(probe, None)
    arrays = backend.collate(backend.tokenize(CALIBRATION), np.arange(len(CALIBRATION)))
    outputs = session.run(names, {k: arrays[k] for k in backend.input_names})
    real = arrays["attention_mask"].astype(bool)
    return {name: np.abs(out[real]).max(axis=0) for name, out in zip(names, outputs)}


def emulate(model: Any, *, weight_bits: int | None, activations: str | None) -> Any:
    """fp32 ``model`` with the base recipe's int8 products' weights and/or inputs rounded as int8 would."""
    from onnx import numpy_helper

    weights = {i.name: i for i in model.graph.initializer}
    model.graph.initializer.extend(numpy_helper.from_array(np.float32(v), n) for n, v in _CONSTANTS.items())
    for node in _int8_nodes(model):
        if weight_bits is not None:
            w = numpy_helper.to_array(weights[node.input[1]])
            step = np.maximum(np.abs(w).max(axis=0, keepdims=True), 1e-12) / (2 ** (weight_bits - 1) - 1)
            weights[node.input[1]].CopyFrom(numpy_helper.from_array((np.round(w / step) * step).astype(np.float32), node.input[1]))
        if activations is not None:
            ops = _per_token(node) if activations == "token" else _per_tensor(node)
            node.input[0] = ops[-1].output[0]
            at = list(model.graph.node).index(node)
            for offset, op in enumerate(ops):
                model.graph.node.insert(at + offset, op)
    return model


_CONSTANTS = {"q_eps": 1e-8, "q_zero": 0.0, "q_127": 127.0, "q_255": 255.0}


def _per_token(node: Any) -> list[Any]:
    """Symmetric 8-bit rounding with one scale per token (row of the last axis)."""
    from onnx import helper

    x, p = node.input[0], f"{node.name}_q_"
    return [
        helper.make_node("Abs", [x], [p + "abs"]),
        helper.make_node("ReduceMax", [p + "abs"], [p + "max"], axes=[-1], keepdims=1),
        helper.make_node("Max", [p + "max", "q_eps"], [p + "max1"]),
        helper.make_node("Div", [p + "max1", "q_127"], [p + "step"]),
        helper.make_node("Div", [x, p + "step"], [p + "div"]),
        helper.make_node("Round", [p + "div"], [p + "round"]),
        helper.make_node("Mul", [p + "round", p + "step"], [p + "out"]),
    ]


def _per_tensor(node: Any) -> list[Any]:
    """ONNX Runtime's ``DynamicQuantizeLinear``: uint8, one scale and zero point per tensor, range holding 0."""
    from onnx import helper

    x, p = node.input[0], f"{node.name}_q_"
    op = helper.make_node
    return [
        op("ReduceMax", [x], [p + "max0"], keepdims=0), op("ReduceMin", [x], [p + "min0"], keepdims=0),
        op("Max", [p + "max0", "q_zero"], [p + "max"]), op("Min", [p + "min0", "q_zero"], [p + "min"]),
        op("Sub", [p + "max", p + "min"], [p + "range"]), op("Div", [p + "range", "q_255"], [p + "step0"]),
        op("Max", [p + "step0", "q_eps"], [p + "step"]), op("Div", [p + "min", p + "step"], [p + "zdiv"]),
        op("Round", [p + "zdiv"], [p + "zneg"]), op("Neg", [p + "zneg"], [p + "zero"]),
        op("Div", [x, p + "step"], [p + "div"]), op("Round", [p + "div"], [p + "round"]),
        op("Add", [p + "round", p + "zero"], [p + "shift"]), op("Clip", [p + "shift", "q_zero", "q_255"], [p + "clip"]),
        op("Sub", [p + "clip", p + "zero"], [p + "back"]), op("Mul", [p + "back", p + "step"], [p + "out"]),
    ]


def _session(model: Any, threads: int | None) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or 0
    options.log_severity_level = 3  # the emulations' constants, unused in some variants, are not news
    return ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])


def timings(backend: Any, sessions: dict[str, Any], pairs: list[tuple[str, str]]) -> dict[str, float]:
    """Each real-int8 variant's best of five interleaved runs on the same padded batches, relative to the base recipe's.

    The sessions run the batches directly, so tokenising and the backend's
    own work, the same for every variant, do not dilute the ratios.
    """
    encoded = backend.tokenize(pairs)
    batches = [backend.collate(encoded, np.arange(i, min(i + 32, len(pairs)))) for i in range(0, len(pairs), 32)]
    feeds = [{name: arrays[name] for name in backend.input_names} for arrays in batches]
    best = {name: float("inf") for name in sessions}
    for _ in range(5):
        for name, session in sessions.items():
            start = time.perf_counter()
            for feed in feeds:
                session.run(["logits"], feed)
            best[name] = min(best[name], time.perf_counter() - start)
    return {name: seconds / best["base recipe (QKV in int8)"] for name, seconds in best.items()}


def table(rows: list[dict[str, Any]]) -> str:
    """One line per variant, the sets side by side: flips, mean |Δ| ×1e-3, max |Δ|."""
    sets = list(dict.fromkeys(r["set"] for r in rows))
    head = "| variant | " + " | ".join(f"{s}: flips / mean Δ / max Δ" for s in sets) + " | time vs base |"
    lines = [head, "|---|" + "---:|" * (len(sets) + 1)]
    for variant in dict.fromkeys(r["variant"] for r in rows):
        mine = {r["set"]: r for r in rows if r["variant"] == variant}
        cells = [f"{mine[s]['flips']} / {mine[s]['mean_abs_delta'] * 1e3:.2f}e-3 / {mine[s]['max_abs_delta']:.3f}" for s in sets]
        ratio = mine[sets[0]]["time_vs_base"]
        lines.append(f"| {variant} | " + " | ".join(cells) + f" | {'n/a' if ratio is None else f'{ratio:.2f}x'} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
