"""This machine's matrix-multiply rate: the ceiling that achieved model FLOP/s is measured against.

Large square products, best of a few runs, per precision: fp32 and bf16 with
torch, int8 with both torch's ``_int_mm`` and ONNX Runtime's
``MatMulInteger`` (the kernel its dynamically quantised models use), keeping
the faster. A model cannot beat these rates, so achieved / ceiling says how
much of the machine a run used.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np


def _best_rate(fn: Callable[[], object], flops: float, repeats: int) -> float:
    fn()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return flops / best


def measure(device: str = "cpu", size: int | None = None, repeats: int = 15) -> dict[str, float]:
    """FLOP/s (int8: OP/s) of an n x n x n product for each precision on ``device``."""
    import torch

    cuda = device.startswith("cuda")
    # Many short products on a CPU: on a shared machine the best of them catches a quiet moment.
    n = size or (8192 if cuda else 1536)
    flops = 2.0 * n**3
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    rates: dict[str, float] = {}
    dtypes = {"fp32": torch.float32, "bf16": torch.bfloat16} | ({"fp16": torch.float16} if cuda else {})
    if cuda:
        torch.backends.cuda.matmul.allow_tf32 = False
    for name, dtype in dtypes.items():
        a = torch.randn(n, n, device=device).to(dtype)
        b = torch.randn(n, n, device=device).to(dtype)
        rates[name] = _best_rate(lambda: (a @ b, sync()), flops, repeats)
    a8 = torch.randint(-128, 127, (n, n), dtype=torch.int8, device=device)
    b8 = torch.randint(-128, 127, (n, n), dtype=torch.int8, device=device)
    rates["int8"] = _best_rate(lambda: (torch._int_mm(a8, b8), sync()), flops, repeats)
    if not cuda:
        rates["int8"] = max(rates["int8"], _onnx_int8(n, repeats))
    return rates


def _onnx_int8(n: int, repeats: int) -> float:
    import onnxruntime as ort
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("MatMulInteger", ["a", "b"], ["y"])],
        "int8",
        [helper.make_tensor_value_info("a", TensorProto.UINT8, [n, n]), helper.make_tensor_value_info("b", TensorProto.INT8, [n, n])],
        [helper.make_tensor_value_info("y", TensorProto.INT32, [n, n])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    feed = {"a": rng.integers(0, 255, (n, n), dtype=np.uint8), "b": rng.integers(-128, 127, (n, n), dtype=np.int8)}
    return _best_rate(lambda: session.run(None, feed), 2.0 * n**3, repeats)
