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


#: Longest one product should take: a precision the CPU only emulates (bf16
#: without AVX512-BF16 or AMX runs near 1 GFLOP/s) gets a smaller product, so
#: measuring it costs seconds rather than minutes.
PRODUCT_SECONDS = 0.25
#: Most time spent repeating one measurement (after its first run).
BUDGET_SECONDS = 3.0
#: Every product size is a multiple of this: CUDA's ``_int_mm`` wants multiples
#: of 8, and tensor-core kernels run their full rate on multiples of 64.
ALIGN = 64
#: ONNX IR version of the hand-built int8 graph: onnx 1.23 writes IR 14 by
#: default, which onnxruntime 1.30 (the GPU image's) cannot read; 8 is what
#: zeroclass's own exports write, and every runtime since 1.10 reads it.
ONNX_IR_VERSION = 8


def _best_rate(fn: Callable[[], object], flops: float, repeats: int, budget: float = BUDGET_SECONDS) -> float:
    fn()
    best = float("inf")
    spent = 0.0
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        took = time.perf_counter() - start
        best, spent = min(best, took), spent + took
        if spent > budget:
            break
    return flops / best


def _sized_rate(product: Callable[[int], Callable[[], object]], n: int, repeats: int, budget: float = BUDGET_SECONDS) -> float:
    """Best rate of an n x n x n ``product(n)``, n shrunk so one product takes at most ``PRODUCT_SECONDS``
    and rounded down to a multiple of :data:`ALIGN`."""
    probe = 256
    rate = _best_rate(product(probe), 2.0 * probe**3, 3, budget)
    n = max(probe, min(n, int((rate * min(PRODUCT_SECONDS, budget) / 2) ** (1 / 3))))
    n -= n % ALIGN
    return _best_rate(product(n), 2.0 * n**3, repeats, budget)


def measure(device: str = "cpu", size: int | None = None, repeats: int = 15, budget: float = BUDGET_SECONDS) -> dict[str, float]:
    """FLOP/s (int8: OP/s) of an n x n x n product for each precision on ``device``;
    ``budget``: the most seconds spent repeating each one."""
    import torch

    cuda = device.startswith("cuda")
    # Many short products on a CPU: on a shared machine the best of them catches a quiet moment.
    n = size or (8192 if cuda else 1536)
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    rates: dict[str, float] = {}
    dtypes = {"fp32": torch.float32, "bf16": torch.bfloat16} | ({"fp16": torch.float16} if cuda else {})
    if cuda:
        torch.backends.cuda.matmul.allow_tf32 = False
    for name, dtype in dtypes.items():
        rates[name] = _sized_rate(lambda k, dtype=dtype: _float_product(k, dtype, device, sync), n, repeats, budget)
    rates["int8"] = _sized_rate(lambda k: _int8_product(k, device, sync), n, repeats, budget)
    if not cuda:
        rates["int8"] = max(rates["int8"], _sized_rate(_onnx_int8_product, n, repeats, budget))
    return rates


def _float_product(n: int, dtype: object, device: str, sync: Callable[[], object]) -> Callable[[], object]:
    import torch

    a = torch.randn(n, n, device=device).to(dtype)
    b = torch.randn(n, n, device=device).to(dtype)
    return lambda: (a @ b, sync())


def _int8_product(n: int, device: str, sync: Callable[[], object]) -> Callable[[], object]:
    import torch

    a8 = torch.randint(-128, 127, (n, n), dtype=torch.int8, device=device)
    b8 = torch.randint(-128, 127, (n, n), dtype=torch.int8, device=device)
    return lambda: (torch._int_mm(a8, b8), sync())


def _onnx_int8_product(n: int) -> Callable[[], object]:
    import onnxruntime as ort
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("MatMulInteger", ["a", "b"], ["y"])],
        "int8",
        [helper.make_tensor_value_info("a", TensorProto.UINT8, [n, n]), helper.make_tensor_value_info("b", TensorProto.INT8, [n, n])],
        [helper.make_tensor_value_info("y", TensorProto.INT32, [n, n])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=ONNX_IR_VERSION)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    feed = {"a": rng.integers(0, 255, (n, n), dtype=np.uint8), "b": rng.integers(-128, 127, (n, n), dtype=np.int8)}
    return lambda: session.run(None, feed)
