"""Cross-encoder NLI models run with ONNX Runtime, optionally int8-quantised.

The first load of a model exports it (with torch, through the ``torch``
backend's loader, so ModelScope StructBERT works too), fuses the transformer
graph (attention, layer norm, GELU) with ONNX Runtime's optimiser, and
optionally applies dynamic int8 quantisation. The result, with the tokenizer
and the NLI head, is cached under ``$ZEROCLASS_CACHE/onnx/<key>`` (default
``~/.cache/zeroclass``), keyed by the model's files and the export options, so
every later load reads the cache and runs with onnxruntime alone: torch is
not imported on that path, so a load skips its import time (torch stays a
dependency of the package: the first export needs it).
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import re
import tempfile
import time
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

from ..errors import InputError
from .base import NLIHead, device_string, resolve_nli_head
from .quiet import quiet_load, root_logger_untouched
from .tokenized import GPU_BATCH_TOKENS, ONNX_CPU_BATCH_TOKENS, TokenizedBackend

__all__ = ["OnnxNLIBackend", "export_dir", "QUANTIZE", "Int8Recipe", "INT8_RECIPE", "fp32_nodes"]

#: Quantisation modes: ``None`` keeps fp32; ``"int8"`` is dynamic quantisation
#: (int8 weights, activations quantised per batch at run time).
QUANTIZE = ("int8",)
#: Bumped whenever the export recipe changes, so old caches are not reused.
_RECIPE = 2
_OPSET = 17
#: Model types whose graphs ONNX Runtime's BERT fusions understand.
_BERT_LIKE = {"bert", "roberta", "xlm-roberta", "camembert", "electra", "structbert", "sbert"}
_META = "zeroclass.json"


@dataclass(frozen=True)
class Int8Recipe:
    """Which parts of the graph dynamic int8 quantisation leaves in fp32.

    ``head``: the pooler and classifier, which run once per sequence (so cost
    nothing) yet turn the last hidden state straight into the logits the
    labels are ranked by. ``embeddings``: the embedding tables, a lookup
    rather than arithmetic, quantised per tensor although their rows' scales
    differ. ``layers``: whole encoder layers by position, ``"first"`` and/or
    ``"last"``, each costing 1/L of the int8 speed-up. ``ffn_out``: every
    layer's feed-forward output projection, the product that reads the GELU
    output, whose activations span the widest range, so one per-batch int8
    scale blurs them most (a third of a layer's products). ``ffn_in``: every
    layer's feed-forward input projection, the product that feeds the GELU;
    it reads the attention block's LayerNorm output, whose few outlying
    values set the one per-batch scale and crush the rest (the other third;
    on the trained head it caused most of the remaining flips). ``per_channel``:
    one weight scale per output column instead of per matrix, so a column of
    small weights is not rounded on the scale of the matrix's largest (on
    the trained head: 98.4% to 98.8% NLI agreement and the largest score
    error 0.25 to 0.18, at no measured cost in time). ``qkv``: every
    layer's query/key/value projection (a fused ``Attention`` node, or the
    three MatMuls of an unfused graph), which reads the previous layer's
    LayerNorm output: with the rest above in fp32 it carried most of what
    was left (NLI agreement 98.8% to 99.5%, the largest error 0.18 to 0.05,
    at 1.09x the time; neither per-token activation scales nor SmoothQuant
    came close). What stays int8 is then each attention block's output
    projection.
    """

    head: bool = True
    embeddings: bool = True
    ffn_out: bool = True
    ffn_in: bool = True
    layers: tuple[str, ...] = ()
    per_channel: bool = True
    qkv: bool = True


#: The default int8 recipe (chosen with ``benchmarks/trained_head/int8_recipes.py``; benchmarks/RESULTS.md, "int8 recipe").
INT8_RECIPE = Int8Recipe()
_HEAD = re.compile(r"(pooler|classifier|classification_head)[/.]")
_LAYER = re.compile(r"/layers?[./](\d+)/")
#: Activation modules as exported names show them: BERT-likes, BART, DistilBERT (``ffn/activation``).
_ACTIVATION = re.compile(r"/(intermediate_act_fn|activation_fn|activation|act)/")
_QUANTISABLE = {"MatMul", "Gemm", "Attention", "Gather", "EmbedLayerNormalization"}
#: Query/key/value projections as exported names show them: BERT-likes, DeBERTa (``query_proj``), BART
#: (``q_proj``), DistilBERT (``q_lin``), MPNet (``attn/q``).
_QKV = re.compile(r"/(query|key|value|query_proj|key_proj|value_proj|[qkv]_proj|[qkv]_lin|[qkv])/")


def fp32_nodes(graph: Any, recipe: Int8Recipe) -> list[str]:
    """Names of the quantisable nodes of ``graph`` (an ``onnx.GraphProto``) that ``recipe`` keeps in fp32.

    Layers are read from the exported node names (``.../layer.3/...``); a
    fused ``Attention`` node has no layer in its name, so it takes the layer
    of the node that reads its output.
    """
    layer_of = _node_layers(graph)
    count = max(layer_of.values(), default=-1) + 1
    wanted = {count - 1 if which == "last" else 0 for which in recipe.layers} if count else set()
    around_gelu = (_reads_gelu(graph) if recipe.ffn_out else set()) | (_feeds_gelu(graph) if recipe.ffn_in else set())
    keep = []
    for node in graph.node:
        if node.op_type not in _QUANTISABLE:
            continue
        if (
            (recipe.head and _HEAD.search(node.name))
            or (recipe.embeddings and node.op_type in {"Gather", "EmbedLayerNormalization"})
            or (recipe.qkv and _is_qkv(node))
            or layer_of.get(node.name) in wanted
            or node.name in around_gelu
        ):
            # The quantiser first rewrites each Gemm as a MatMul named "<name>_MatMul"; that is the node it sees.
            keep += [node.name, f"{node.name}_MatMul"] if node.op_type == "Gemm" else [node.name]
    return keep


def _is_qkv(node: Any) -> bool:
    """A fused ``Attention`` (its input product is the QKV projection), or a MatMul named as a Q/K/V projection."""
    return node.op_type == "Attention" or (node.op_type == "MatMul" and bool(_QKV.search(node.name)))


def _is_gelu(node: Any) -> bool:
    """A fused ``Gelu``/``BiasGelu``/``FastGelu``, or a node of an unfused activation module
    (``.../intermediate_act_fn/...``, ``.../activation_fn/...``, ``.../activation/...``)."""
    return "Gelu" in node.op_type or bool(_ACTIVATION.search(node.name))


def _reads_gelu(graph: Any) -> set[str]:
    """Names of the MatMuls whose input is a GELU's output (:func:`_is_gelu`)."""
    producer = {out: node for node in graph.node for out in node.output}
    found = set()
    for node in graph.node:
        source = producer.get(node.input[0]) if node.op_type == "MatMul" and node.input else None
        if source is not None and _is_gelu(source):
            found.add(node.name)
    return found


def _feeds_gelu(graph: Any) -> set[str]:
    """Names of the MatMuls whose output, directly or through its bias ``Add``, is a GELU's input (:func:`_is_gelu`)."""
    readers: dict[str, list[Any]] = {}
    for node in graph.node:
        for name in node.input:
            readers.setdefault(name, []).append(node)
    found = set()
    for node in graph.node:
        if node.op_type != "MatMul":
            continue
        direct = readers.get(node.output[0], [])
        after_bias = [r for a in direct if a.op_type == "Add" for r in readers.get(a.output[0], [])]
        if any(_is_gelu(r) for r in direct + after_bias):
            found.add(node.name)
    return found


def _node_layers(graph: Any) -> dict[str, int]:
    """Encoder layer index of each node whose name, or whose first reader's name, says it."""
    layers = {node.name: int(m.group(1)) for node in graph.node if (m := _LAYER.search(node.name))}
    readers: dict[str, str] = {}
    for node in graph.node:
        for name in node.input:
            readers.setdefault(name, node.name)
    for node in graph.node:
        if node.name not in layers:
            reader = next((readers[o] for o in node.output if readers.get(o) in layers), None)
            if reader is not None:
                layers[node.name] = layers[reader]
    return layers


def _quantize_int8(source: Path, target: Path, recipe: Int8Recipe) -> None:
    """Dynamic int8 quantisation of ``source`` into ``target``, leaving ``recipe``'s parts in fp32."""
    import onnx
    from onnx import TensorProto
    from onnxruntime.quantization import QuantType, quantize_dynamic

    model = onnx.load(str(source))
    with root_logger_untouched():
        quantize_dynamic(
            model, str(target), weight_type=QuantType.QInt8, per_channel=recipe.per_channel,
            reduce_range=_saturating_int8_cpu(), nodes_to_exclude=fp32_nodes(model.graph, recipe),
            # Fused ops (com.microsoft) defeat shape inference; their outputs are float.
            extra_options={"DefaultTensorType": TensorProto.FLOAT},
        )


def cache_root() -> Path:
    """Where exports live: ``$ZEROCLASS_CACHE`` or ``~/.cache/zeroclass``."""
    return Path(os.environ.get("ZEROCLASS_CACHE", Path.home() / ".cache" / "zeroclass")).expanduser()


def export_dir(path: str | Path, quantize: str | None) -> Path:
    """The cache folder of ``path`` exported with these options.

    The key hashes every file's name, size and modification time (not the
    content: re-hashing a 1 GB checkpoint on every load would cost seconds),
    the options, and the onnxruntime version, whose fusions the graph holds.
    """
    folder = Path(path).resolve()
    files = sorted(
        (str(f.relative_to(folder)), f.stat().st_size, f.stat().st_mtime_ns) for f in folder.rglob("*") if f.is_file()
    )
    key = json.dumps(
        {"model": str(folder), "files": files, "quantize": quantize, "opset": _OPSET, "recipe": _RECIPE, "int8": asdict(INT8_RECIPE) if quantize == "int8" else None, "reduce_range": quantize == "int8" and _saturating_int8_cpu(), "ort": ort.__version__}
    )
    return cache_root() / "onnx" / hashlib.sha256(key.encode()).hexdigest()[:24]


def _export(path: Path, target: Path, *, quantize: str | None, trust_remote_code: bool) -> None:
    """Export, fuse and quantise ``path`` into ``target`` (written whole, then renamed into place)."""
    from .nli_torch import TorchNLIBackend

    source = TorchNLIBackend.from_path(path, device="cpu", trust_remote_code=trust_remote_code)
    _remove_abandoned_exports(target.parent)
    work = Path(tempfile.mkdtemp(prefix=".export-", dir=target.parent))
    work.chmod(0o755)
    try:
        raw, final = work / "raw.onnx", work / "model.onnx"
        _trace(source, raw)
        _optimize(raw, final, source.model.config)
        if quantize == "int8":
            _quantize_int8(final, work / "int8.onnx", INT8_RECIPE)
            (work / "int8.onnx").replace(final)
        raw.unlink()
        source.tokenizer.save_pretrained(work)
        meta = {
            "id2label": {str(k): v for k, v in source.head.id2label.items()},
            "entailment_id": source.head.entailment_id,
            "contradiction_id": source.head.contradiction_id,
            "default_template": source.default_template,
            "max_length": source.max_length,
            "input_names": list(source.input_names),
        }
        (work / _META).write_text(json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8")
        try:
            work.rename(target)
        except OSError:  # another process finished the same export first
            if not (target / _META).is_file():
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)


#: An export folder untouched this long belongs to a process that was killed mid-export.
_ABANDONED_SECONDS = 24 * 3600


def _remove_abandoned_exports(root: Path) -> None:
    """Delete ``.export-*`` work folders a killed export left behind (each may hold hundreds of MB)."""
    now = time.time()
    for work in root.glob(".export-*"):
        try:
            if now - work.stat().st_mtime > _ABANDONED_SECONDS:
                shutil.rmtree(work, ignore_errors=True)
        except OSError:
            continue  # removed by another process meanwhile


def _trace(source: Any, raw: Path) -> None:
    """The torch model of ``source`` (a TorchNLIBackend) as an ONNX graph with dynamic batch and sequence axes."""
    import torch

    model = source.model
    if hasattr(model, "set_attn_implementation"):
        # The eager attention graph is the one ONNX Runtime's fusions recognise.
        model.set_attn_implementation("eager")
    names = list(source.input_names)
    # Two pairs of different lengths: with no padding in the traced batch,
    # transformers skips building the attention mask and the graph would lack it.
    sample = source.collate(source.tokenize([("a premise to trace with", "a hypothesis"), ("short", "one")]), np.array([0, 1]))
    args = tuple(torch.from_numpy(sample[n]) for n in names)

    class ByName(torch.nn.Module):
        """Positional inputs in ``names`` order, passed on by keyword (forward's own order differs)."""

        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, *tensors: torch.Tensor) -> torch.Tensor:
            return self.model(**dict(zip(names, tensors))).logits

    axes = {n: {0: "batch", 1: "sequence"} for n in names} | {"logits": {0: "batch"}}
    with torch.inference_mode(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer chatter about shapes the dynamic axes cover
        torch.onnx.export(
            ByName(), args, str(raw), input_names=names, output_names=["logits"],
            dynamic_axes=axes, opset_version=_OPSET, dynamo=False,
        )


def _saturating_int8_cpu() -> bool:
    """Whether this x86 CPU lacks VNNI, so int8 weights must keep to 7 bits.

    Without VNNI, ONNX Runtime multiplies uint8 activations by int8 weights
    with AVX2's ``vpmaddubsw``, whose int16 sums saturate; ORT's quantisation
    guide recommends ``reduce_range`` there. Measured on an AMD EPYC (AVX2, no
    VNNI): full-range weights moved logits by 24% of their range, reduced ones
    stay close. VNNI and non-x86 CPUs keep the full 8 bits.
    """
    if platform.machine().lower() not in {"x86_64", "amd64", "i386", "i686"}:
        return False
    try:
        flags = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return True  # unknown x86 CPU: the safe recipe
    return not any(f in flags for f in ("avx512_vnni", "avx_vnni", "amx_int8"))


def _optimize(raw: Path, out: Path, config: Any) -> None:
    """Fuse attention / layer norm / GELU for BERT-like graphs; others keep ORT's run-time optimisations."""
    model_type = str(getattr(config, "model_type", ""))
    if model_type not in _BERT_LIKE:
        shutil.copyfile(raw, out)
        return
    from onnxruntime.transformers.optimizer import optimize_model

    fused = optimize_model(
        str(raw), model_type="bert", num_heads=config.num_attention_heads, hidden_size=config.hidden_size, opt_level=0
    )
    fused.save_model_to_file(str(out))


class OnnxNLIBackend(TokenizedBackend):
    """An exported NLI model in an ONNX Runtime session."""

    def __init__(self, session: ort.InferenceSession, tokenizer: Any, *, quantize: str | None = None, **kwargs: Any) -> None:
        super().__init__(tokenizer, input_names=[i.name for i in session.get_inputs()], **kwargs)
        self.session = session
        self.quantize = quantize

    @property
    def model(self) -> ort.InferenceSession:
        """The ONNX Runtime session (``pipeline.model``)."""
        return self.session

    @property
    def device(self) -> str:
        """``"cuda"`` when the session runs on CUDA, else ``"cpu"``."""
        return "cuda" if self.session.get_providers()[0] == "CUDAExecutionProvider" else "cpu"

    @property
    def dtype(self) -> str:
        """``"int8"`` for a quantised export, else ``"float32"``."""
        return self.quantize or "float32"

    @classmethod
    def from_path(
        cls,
        path: str | Path,
        *,
        model_name: str | None = None,
        quantize: str | None = None,
        device: str | int | None = None,
        max_length: int | None = None,
        max_batch_tokens: int | None = None,
        max_batch_size: int | None = None,
        entailment_id: int | None = None,
        contradiction_id: int | None = None,
        trust_remote_code: bool = False,
        num_threads: int | None = None,
        tokenizer: Any = None,
    ) -> "OnnxNLIBackend":
        """Load ``path``'s cached export, exporting it first if there is none.

        ``tokenizer``: a loaded tokenizer to use instead of the model's own
        (transformers' ``pipeline(model=name, tokenizer=obj)``).
        """
        if quantize is not None and quantize not in QUANTIZE:
            raise InputError(f"unknown quantize={quantize!r}: use one of {', '.join(QUANTIZE)} (or none for fp32)")
        providers = _providers(device)
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = num_threads or 0  # 0: onnxruntime's default, every physical core
        folder, session = _cached_session(Path(path), quantize, trust_remote_code, options, providers)
        from transformers import AutoTokenizer

        meta = json.loads((folder / _META).read_text(encoding="utf-8"))
        if tokenizer is None:
            with quiet_load():
                tokenizer = AutoTokenizer.from_pretrained(folder)
        if tokenizer.pad_token is None and tokenizer.eos_token is not None:
            tokenizer.pad_token = tokenizer.eos_token
        head: NLIHead = resolve_nli_head(
            {int(k): v for k, v in meta["id2label"].items()},
            meta["entailment_id"] if entailment_id is None else entailment_id,
            meta["contradiction_id"] if contradiction_id is None else contradiction_id,
        )
        return cls(
            session,
            tokenizer,
            quantize=quantize,
            model_name=model_name or str(path),
            head=head,
            default_template=meta["default_template"],
            max_length=min(max_length or meta["max_length"], meta["max_length"]),
            max_batch_tokens=max_batch_tokens or (GPU_BATCH_TOKENS if providers[0] != "CPUExecutionProvider" else ONNX_CPU_BATCH_TOKENS),
            max_batch_size=max_batch_size,
        )

    def run_batch(self, arrays: dict[str, np.ndarray]) -> np.ndarray:
        feed = {name: arrays[name] for name in self.input_names}
        return np.asarray(self.session.run(["logits"], feed)[0], dtype=np.float32)


#: What onnxruntime raises for a graph file that is missing, cut short or not a graph.
_UNREADABLE = tuple(
    getattr(ort.capi.onnxruntime_pybind11_state, name) for name in ("Fail", "NoSuchFile", "InvalidProtobuf", "InvalidGraph")
)


def _cached_session(
    path: Path, quantize: str | None, trust_remote_code: bool, options: Any, providers: list[str]
) -> tuple[Path, ort.InferenceSession]:
    """The export folder of ``path`` and a session on its graph, exporting first when there is none.

    A cached export whose graph cannot be read (a disk error, a file deleted
    by hand) is exported again once, rather than failing every later load
    until someone finds and deletes the hash-named folder.
    """
    folder = export_dir(path, quantize)
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise InputError(f"the export cache {cache_root()} is not a folder: set ZEROCLASS_CACHE to a folder") from None
    if not (folder / _META).is_file():
        _export(path, folder, quantize=quantize, trust_remote_code=trust_remote_code)
    try:
        return folder, ort.InferenceSession(str(folder / "model.onnx"), options, providers=providers)
    except _UNREADABLE:
        shutil.rmtree(folder, ignore_errors=True)
    _export(path, folder, quantize=quantize, trust_remote_code=trust_remote_code)
    return folder, ort.InferenceSession(str(folder / "model.onnx"), options, providers=providers)


def _providers(device: str | int | None) -> list[str]:
    """ONNX Runtime execution providers for ``device`` (cpu, or cuda when onnxruntime-gpu is installed)."""
    kind = (device_string(device) or "cpu").split(":")[0]
    if kind == "cpu":
        return ["CPUExecutionProvider"]
    if kind == "cuda" and "CUDAExecutionProvider" in ort.get_available_providers():
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    raise InputError(
        f"device {device!r} is not available to the onnx backend (providers: {', '.join(ort.get_available_providers())}); "
        "use device='cpu', or install onnxruntime-gpu for cuda"
    )
