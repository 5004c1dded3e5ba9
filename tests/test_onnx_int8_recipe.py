"""The int8 recipe: which nodes dynamic quantisation leaves in fp32, and that the export honours it.

Why it matters: on a trained NLI head, quantising everything flipped top-1
labels against fp32 (benchmarks/RESULTS.md, "int8 recipe"); the default
recipe keeps the parts that cost little and decide the logits in fp32.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest.importorskip("onnxruntime")

import onnx  # noqa: E402

from zeroclass.backends import nli_onnx  # noqa: E402
from zeroclass.backends.nli_onnx import INT8_RECIPE, Int8Recipe, OnnxNLIBackend, export_dir, fp32_nodes  # noqa: E402

HEAD = {"/model/bert/pooler/dense/Gemm", "/model/classifier/Gemm"}


@pytest.fixture(scope="module", autouse=True)
def onnx_cache(tmp_path_factory: pytest.TempPathFactory):
    """Exports go to a throwaway cache, never the user's."""
    old = os.environ.get("ZEROCLASS_CACHE")
    os.environ["ZEROCLASS_CACHE"] = str(tmp_path_factory.mktemp("zeroclass-cache"))
    yield
    if old is None:
        del os.environ["ZEROCLASS_CACHE"]
    else:
        os.environ["ZEROCLASS_CACHE"] = old


@pytest.fixture(scope="module")
def fp32_graph(tiny_nli_dir: Path) -> onnx.GraphProto:
    """The fused fp32 export of the 2-layer tiny BERT."""
    OnnxNLIBackend.from_path(tiny_nli_dir)
    return onnx.load(str(export_dir(tiny_nli_dir, None) / "model.onnx")).graph


def _layer_nodes(names: list[str], layer: int) -> set[str]:
    return {n for n in names if f"/layer.{layer}/" in n or n == f"Attention_{layer}"}


def test_default_recipe() -> None:
    assert INT8_RECIPE == Int8Recipe(head=True, embeddings=True, ffn_out=True, ffn_in=True, layers=(), per_channel=True,
                                     qkv=True)


def test_nothing_kept_when_the_recipe_keeps_nothing(fp32_graph: onnx.GraphProto) -> None:
    assert fp32_nodes(fp32_graph, Int8Recipe(head=False, embeddings=False, ffn_out=False, ffn_in=False, qkv=False)) == []


def test_feed_forward_output_projections(fp32_graph: onnx.GraphProto) -> None:
    """The MatMul that reads each layer's GELU, and only that one per layer."""
    kept = fp32_nodes(fp32_graph, Int8Recipe(head=False, embeddings=False, ffn_out=True, ffn_in=False, qkv=False))
    assert kept == [f"/model/bert/encoder/layer.{i}/output/dense/MatMul" for i in (0, 1)]


def test_feed_forward_input_projections(fp32_graph: onnx.GraphProto) -> None:
    """The MatMul whose output (through the fused BiasGelu) is each layer's GELU input, and only that one."""
    kept = fp32_nodes(fp32_graph, Int8Recipe(head=False, embeddings=False, ffn_out=False, ffn_in=True, qkv=False))
    assert kept == [f"/model/bert/encoder/layer.{i}/intermediate/dense/MatMul" for i in (0, 1)]


@pytest.mark.parametrize("activation", ["intermediate/intermediate_act_fn", "ffn/activation"], ids=["bert-names", "distilbert-names"])
def test_feed_forward_projections_in_an_unfused_graph(activation: str) -> None:
    """Graphs ONNX Runtime does not fuse (DeBERTa, BART, DistilBERT) spell GELU out: MatMul -> Add (bias) -> Div/Erf/...
    named after the activation module; both projections are still found, and the attention MatMul is not."""
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])
    nodes = [
        helper.make_node("MatMul", ["x", "wq"], ["q"], name="/layer.0/attention/self/query/MatMul"),
        helper.make_node("MatMul", ["q", "w1"], ["h"], name="/layer.0/intermediate/dense/MatMul"),
        helper.make_node("Add", ["h", "b1"], ["hb"], name="/layer.0/intermediate/dense/Add"),
        helper.make_node("Div", ["hb", "c"], ["g"], name=f"/layer.0/{activation}/Div"),
        helper.make_node("MatMul", ["g", "w2"], ["y"], name="/layer.0/output/dense/MatMul"),
    ]
    graph = helper.make_graph(nodes, "unfused", [x], [y])
    assert fp32_nodes(graph, Int8Recipe(head=False, embeddings=False, ffn_out=False, ffn_in=True, qkv=False)) == [
        "/layer.0/intermediate/dense/MatMul"
    ]
    assert fp32_nodes(graph, Int8Recipe(head=False, embeddings=False, ffn_out=True, ffn_in=True, qkv=False)) == [
        "/layer.0/intermediate/dense/MatMul", "/layer.0/output/dense/MatMul"
    ]


@pytest.mark.parametrize(
    "names",
    [("attention/self/query", "attention/self/key", "attention/self/value"),  # BERT-likes unfused
     ("attention/self/query_proj", "attention/self/key_proj", "attention/self/value_proj"),  # DeBERTa
     ("self_attn/q_proj", "self_attn/k_proj", "self_attn/v_proj"),  # BART
     ("attention/q_lin", "attention/k_lin", "attention/v_lin")],  # DistilBERT
    ids=["bert", "deberta", "bart", "distilbert"],
)
def test_query_key_value_projections_in_an_unfused_graph(names: tuple[str, ...]) -> None:
    """Found by name, each of the three; the attention output projection is left to int8."""
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])
    nodes = [helper.make_node("MatMul", ["x", f"w{i}"], [f"h{i}"], name=f"/layer.0/{name}/MatMul") for i, name in enumerate(names)]
    nodes.append(helper.make_node("MatMul", ["h2", "wo"], ["y"], name="/layer.0/attention/output/dense/MatMul"))
    graph = helper.make_graph(nodes, "unfused", [x], [y])
    recipe = Int8Recipe(head=False, embeddings=False, ffn_out=False, ffn_in=False, qkv=True)
    assert fp32_nodes(graph, recipe) == [f"/layer.0/{name}/MatMul" for name in names]


def test_head_and_embeddings(fp32_graph: onnx.GraphProto) -> None:
    kept = set(fp32_nodes(fp32_graph, Int8Recipe(head=True, embeddings=True, ffn_out=False, ffn_in=False, qkv=False)))
    assert HEAD <= kept
    assert "EmbedLayerNormalization_0" in kept
    names = [n.name for n in fp32_graph.node]
    assert not kept & (_layer_nodes(names, 0) | _layer_nodes(names, 1))


@pytest.mark.parametrize(("layers", "kept_layer"), [(("first",), 0), (("last",), 1)])
def test_whole_layers_by_position(fp32_graph: onnx.GraphProto, layers: tuple[str, ...], kept_layer: int) -> None:
    kept = set(fp32_nodes(fp32_graph, Int8Recipe(head=False, embeddings=False, ffn_out=False, ffn_in=False, qkv=False,
                                                  layers=layers)))
    names = [n.name for n in fp32_graph.node if n.op_type in {"MatMul", "Attention"}]
    # The fused attention (named Attention_<i>, no layer in its name) and the layer's three MatMuls.
    assert kept == _layer_nodes(names, kept_layer) and len(kept) == 4, kept


def test_export_keeps_the_recipe_in_fp32(tiny_nli_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(nli_onnx, "INT8_RECIPE", Int8Recipe(ffn_out=False, ffn_in=False, qkv=False, layers=("last",)))
    OnnxNLIBackend.from_path(tiny_nli_dir, quantize="int8")
    nodes = {n.name: n.op_type for n in onnx.load(str(export_dir(tiny_nli_dir, "int8") / "model.onnx")).graph.node}
    # The quantiser splits each Gemm into MatMul + Add; kept in fp32 it stays a MatMul, not a MatMulInteger.
    assert all(nodes.get(f"{name}_MatMul") == "MatMul" for name in HEAD), nodes
    assert nodes.get("EmbedLayerNormalization_0") == "EmbedLayerNormalization"
    assert nodes.get("Attention_1") == "Attention" and nodes.get("Attention_0_quant") == "QAttention"
    assert nodes.get("/model/bert/encoder/layer.0/output/dense/MatMul_quant") == "MatMulInteger"


def test_default_export_keeps_the_feed_forward_block_in_fp32(tiny_nli_dir: Path) -> None:
    """The default int8 export: both feed-forward projections and the fused attention (its QKV projection) fp32,
    the attention output projection int8."""
    OnnxNLIBackend.from_path(tiny_nli_dir, quantize="int8")
    nodes = {n.name: n.op_type for n in onnx.load(str(export_dir(tiny_nli_dir, "int8") / "model.onnx")).graph.node}
    for i in (0, 1):
        assert nodes.get(f"/model/bert/encoder/layer.{i}/output/dense/MatMul") == "MatMul"
        assert nodes.get(f"/model/bert/encoder/layer.{i}/intermediate/dense/MatMul") == "MatMul"
        assert nodes.get(f"/model/bert/encoder/layer.{i}/attention/output/dense/MatMul_quant") == "MatMulInteger"
        assert nodes.get(f"Attention_{i}") == "Attention" and f"Attention_{i}_quant" not in nodes


def test_recipe_is_part_of_the_cache_key(tiny_nli_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = export_dir(tiny_nli_dir, "int8"), export_dir(tiny_nli_dir, None)
    monkeypatch.setattr(nli_onnx, "INT8_RECIPE", Int8Recipe(layers=("first",)))
    assert export_dir(tiny_nli_dir, "int8") != before[0]
    assert export_dir(tiny_nli_dir, None) == before[1]  # fp32 exports do not depend on the int8 recipe
