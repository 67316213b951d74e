"""The ONNX graph of an encoder and its task head, written op by op from the model's weights.

Why write the graph rather than convert a TensorFlow one: the numbers are the Keras model's
by construction (same weights, same formulas, float32), it works the same on every
TensorFlow release (only the weights are read, no graph converter is involved), and the ops
come in the patterns ONNX Runtime fuses at load time (``LayerNormalization``, the erf / tanh
GELU, MatMul + bias; its offline transformer optimizer, `jbert_tf2.onnx_inference.
fuse_for_onnxruntime`, also fuses the attention and LayerNorm with its residual, which its
CPU kernels run slower: docs/performance.md, "CPU inference"). As in the Keras model, the
last block of a sentence classifier computes the [CLS] position alone (``pooled_only``).
Inputs are Google's int32 ``input_ids``, ``input_mask`` and ``segment_ids`` [batch,
sequence], both dimensions dynamic.

Outputs are the task's serving outputs without the strings (the label names are in the model's
metadata, ``labels``): ``logits``, ``probabilities``, ``predicted_ids`` and ``score``
(`SequenceClassifier`); ``predictions`` instead of the last two for a `MultiLabelClassifier`;
per-token ``logits`` [batch, sequence, labels] for a `TokenClassifier` (its words are gathered
in Python, as `TaggingPipeline` does); ``embeddings`` for an `Embedder`; ``sequence_output``
and ``pooled_output`` for a bare encoder.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from jbert_tf2.errors import JbertError
from jbert_tf2.layers.attention import MASK_ADDER

OPSET = 17  # LayerNormalization is a standard op from 17; ONNX Runtime >= 1.14 runs it
INPUT_NAMES = ("input_ids", "input_mask", "segment_ids")


def require_onnx():
    """The ``onnx`` module, or a clear error naming the extra to install."""
    try:
        import onnx
    except ImportError:
        raise JbertError(
            "the ONNX export needs the onnx package: pip install 'jbert-tf2[onnx]' "
            "(or pip install onnx onnxruntime)"
        ) from None
    return onnx


class _Graph:
    """Nodes, initializers and fresh names for one ONNX graph."""

    def __init__(self, onnx):
        self.onnx = onnx
        self.helper = onnx.helper
        self.nodes: list = []
        self.initializers: list = []
        self.count = 0

    def name(self, hint: str) -> str:
        self.count += 1
        return f"{hint}_{self.count}"

    def const(self, value, hint: str, dtype=np.float32) -> str:
        name = self.name(hint)
        array = np.asarray(value, dtype)
        self.initializers.append(self.onnx.numpy_helper.from_array(array, name))
        return name

    def op(self, op_type: str, inputs: list[str], hint: str | None = None, **attrs) -> str:
        out = self.name(hint or op_type.lower())
        self.nodes.append(self.helper.make_node(op_type, inputs, [out], name=out, **attrs))
        return out

    def dense(self, x: str, kernel, bias, hint: str) -> str:
        y = self.op("MatMul", [x, self.const(_numpy(kernel), f"{hint}/kernel")], f"{hint}/matmul")
        return self.op("Add", [y, self.const(_numpy(bias), f"{hint}/bias")], f"{hint}/add")

    def layer_norm(self, x: str, layer, hint: str) -> str:
        return self.op(
            "LayerNormalization",
            [
                x,
                self.const(_numpy(layer.gamma), f"{hint}/gamma"),
                self.const(_numpy(layer.beta), f"{hint}/beta"),
            ],
            hint,
            axis=-1,
            epsilon=float(layer.epsilon),
        )


def _numpy(variable) -> np.ndarray:
    return np.asarray(variable.numpy() if hasattr(variable, "numpy") else variable, np.float32)


def _activation(g: _Graph, x: str, name: str) -> str:
    """The encoder's ``hidden_act``, in the op patterns ONNX Runtime's optimizers fuse
    (BiasGelu for the erf form, FastGelu for the tanh form: hence ``Pow(x, 3)``)."""
    if name == "gelu":  # erf form: x * 0.5 * (1 + erf(x / sqrt(2)))
        erf = g.op("Erf", [g.op("Div", [x, g.const(math.sqrt(2.0), "sqrt2")])])
        one_plus = g.op("Add", [erf, g.const(1.0, "one")])
        return g.op("Mul", [g.op("Mul", [x, one_plus]), g.const(0.5, "half")], "gelu")
    if name == "gelu_approx":  # tanh form: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
        cube = g.op("Pow", [x, g.const(3.0, "three")])
        inner = g.op("Add", [x, g.op("Mul", [cube, g.const(0.044715, "c")])])
        scaled = g.op("Mul", [inner, g.const(math.sqrt(2.0 / math.pi), "sqrt_2_pi")])
        one_plus = g.op("Add", [g.op("Tanh", [scaled]), g.const(1.0, "one")])
        return g.op("Mul", [g.op("Mul", [x, g.const(0.5, "half")]), one_plus], "gelu")
    if name == "relu":
        return g.op("Relu", [x])
    if name == "tanh":
        return g.op("Tanh", [x])
    if name == "silu":
        return g.op("Mul", [x, g.op("Sigmoid", [x])])
    raise JbertError(
        f"hidden_act {name!r} has no ONNX form here; use gelu, gelu_approx, relu, tanh or silu"
    )


def _attention_bias(g: _Graph, mask: str) -> str:
    """[batch, seq] 0/1 -> [batch, 1, 1, seq]: 0 to keep, -10000 to drop (Google's adder)."""
    expanded = g.op("Unsqueeze", [mask, g.const([1], "axes", np.int64)])
    expanded = g.op("Unsqueeze", [expanded, g.const([2], "axes", np.int64)])
    floats = g.op("Cast", [expanded], to=g.onnx.TensorProto.FLOAT)
    dropped = g.op("Sub", [g.const(1.0, "one"), floats])
    return g.op("Mul", [dropped, g.const(MASK_ADDER, "mask_adder")], "attention_bias")


def _block(g: _Graph, x: str, bias: str, block, config, i: int, first_only: bool) -> str:
    """One Transformer block; with ``first_only`` only the [CLS] position attends and goes on
    (all a pooled output needs: the encoder's ``pooled_only`` path)."""
    heads, width = config.num_attention_heads, config.hidden_size
    size = width // heads
    att, hint = block.attention, f"layer_{i}"
    split = g.const([0, 0, heads, size], "heads_shape", np.int64)

    def project(source, dense, name, perm):
        y = g.dense(source, dense.kernel, dense.bias, f"{hint}/{name}")
        return g.op("Transpose", [g.op("Reshape", [y, split])], perm=perm)

    queries = x
    if first_only:
        one = g.const([1], "one", np.int64)
        queries = g.op("Slice", [x, g.const([0], "zero", np.int64), one, one], "first_token")
    q = project(queries, att.query, "query", [0, 2, 1, 3])
    k = project(x, att.key, "key", [0, 2, 3, 1])
    v = project(x, att.value, "value", [0, 2, 1, 3])
    scores = g.op("Div", [g.op("MatMul", [q, k]), g.const(math.sqrt(float(size)), "scale")])
    probs = g.op("Softmax", [g.op("Add", [scores, bias])], f"{hint}/softmax", axis=-1)
    context = g.op("Transpose", [g.op("MatMul", [probs, v])], perm=[0, 2, 1, 3])
    context = g.op("Reshape", [context, g.const([0, 0, width], "merge_shape", np.int64)])
    attended = g.dense(
        context,
        block.attention_output.kernel,
        block.attention_output.bias,
        f"{hint}/attention_output",
    )
    x = g.layer_norm(
        g.op("Add", [attended, queries]), block.attention_layer_norm, f"{hint}/attention_LayerNorm"
    )
    inner = g.dense(x, block.intermediate.kernel, block.intermediate.bias, f"{hint}/intermediate")
    inner = _activation(g, inner, config.hidden_act)
    out = g.dense(inner, block.output_dense.kernel, block.output_dense.bias, f"{hint}/output")
    return g.layer_norm(g.op("Add", [out, x]), block.output_layer_norm, f"{hint}/output_LayerNorm")


def _encoder(
    g: _Graph, encoder, segment_ids: str, pooled_only: bool = False
) -> tuple[list[str], str]:
    """Every hidden state (embeddings first) and the pooled output of ``encoder``; with
    ``pooled_only`` the last block computes the [CLS] position alone."""
    config, emb = encoder.config, encoder.embeddings
    words = g.op(
        "Gather",
        [g.const(_numpy(emb.word_embeddings.embeddings), "word_embeddings"), "input_ids"],
        axis=0,
    )
    types = g.op(
        "Gather",
        [
            g.const(_numpy(emb.token_type_embeddings.embeddings), "token_type_embeddings"),
            segment_ids,
        ],
        axis=0,
    )
    length = g.op(
        "Slice",
        [
            g.op("Shape", ["input_ids"]),
            g.const([1], "one", np.int64),
            g.const([2], "two", np.int64),
        ],
    )
    positions = g.op(
        "Slice",
        [
            g.const(_numpy(emb.position_embeddings.embeddings), "position_embeddings"),
            g.const([0], "zero", np.int64),
            length,
            g.const([0], "axis0", np.int64),
        ],
    )
    x = g.op("Add", [g.op("Add", [words, types]), positions], "embeddings_sum")
    x = g.layer_norm(x, emb.layer_norm, "embeddings/LayerNorm")
    if encoder.embeddings_project is not None:
        project = encoder.embeddings_project
        x = g.dense(x, project.kernel, project.bias, "embeddings_project")
    bias = _attention_bias(g, "input_mask")
    states = [x]
    last = len(encoder.blocks) - 1
    for i, block in enumerate(encoder.blocks):
        x = _block(g, x, bias, block, config, i, pooled_only and i == last)
        states.append(x)
    first = g.op("Gather", [x, g.const(0, "cls", np.int64)], "cls_token", axis=1)
    if encoder.pooler is None:
        return states, first  # ELECTRA: [CLS] itself
    dense = encoder.pooler.dense
    return states, g.op("Tanh", [g.dense(first, dense.kernel, dense.bias, "pooler")], "pooled")


def _pool(g: _Graph, hidden: str, pooling: str) -> str:
    """An `Embedder`'s pooling over the positions ``input_mask`` marks."""
    if pooling == "cls":
        return g.op("Gather", [hidden, g.const(0, "cls", np.int64)], axis=1)
    weights = g.op(
        "Unsqueeze",
        [g.op("Cast", ["input_mask"], to=g.onnx.TensorProto.FLOAT), g.const([2], "axes", np.int64)],
    )
    axis = g.const([1], "axis1", np.int64)
    if pooling == "mean":
        total = g.op("ReduceSum", [g.op("Mul", [hidden, weights]), axis], keepdims=0)
        count = g.op("ReduceSum", [weights, axis], keepdims=0)
        return g.op("Div", [total, g.op("Max", [count, g.const(1.0, "one")])])
    kept = g.op(
        "Where", [g.op("Greater", [weights, g.const(0.0, "zero")]), hidden, g.const(-1e9, "lowest")]
    )
    return g.op("ReduceMax", [kept], axes=[1], keepdims=0)


def _head_outputs(
    g: _Graph, model, states: list[str], pooled: str, hidden_layers
) -> dict[str, str]:
    """The output names of ``model``'s head, keyed as its serving outputs are."""
    task = getattr(model, "task", None)
    if task is None and hidden_layers is not None:  # jbert-extract-features' stacked layers
        axis = g.const([2], "axes", np.int64)
        chosen = [g.op("Unsqueeze", [states[i], axis]) for i in hidden_layers]
        return {"layers": g.op("Concat", chosen, axis=2) if len(chosen) > 1 else chosen[0]}
    if task is None:  # a bare encoder
        return {"sequence_output": states[-1], "pooled_output": pooled}
    if task == "embedding":
        chosen = [states[i] for i in model.hidden_layers]
        pooled_layers = [_pool(g, h, model.pooling) for h in chosen]
        if len(pooled_layers) == 1:
            vector = pooled_layers[0]
        elif model.combine == "concat":
            vector = g.op("Concat", pooled_layers, axis=-1)
        else:
            stacked = g.op(
                "Concat",
                [g.op("Unsqueeze", [p, g.const([0], "axes", np.int64)]) for p in pooled_layers],
                axis=0,
            )
            vector = g.op("ReduceMean", [stacked], axes=[0], keepdims=0)
        if model.normalize:
            norm = g.op("ReduceL2", [vector], axes=[-1], keepdims=1)
            vector = g.op("Div", [vector, g.op("Max", [norm, g.const(1e-12, "tiny")])])
        return {"embeddings": vector}
    dense = model.head.dense
    features = states[-1] if task == "token_classification" else pooled
    logits = g.dense(features, dense.kernel, dense.bias, "head")
    if task == "multi_label_classification":
        probs = g.op("Sigmoid", [logits], "probabilities")
        thresholds = g.const(np.asarray(model.thresholds, np.float32), "thresholds")
        chosen = g.op("GreaterOrEqual", [probs, thresholds])
        predictions = g.op("Cast", [chosen], to=g.onnx.TensorProto.INT32)
        return {"logits": logits, "probabilities": probs, "predictions": predictions}
    probs = g.op("Softmax", [logits], "probabilities", axis=-1)
    best = g.op("Cast", [g.op("ArgMax", [probs], axis=-1, keepdims=0)], to=g.onnx.TensorProto.INT32)
    outputs = {"logits": logits, "probabilities": probs, "predicted_ids": best}
    if task != "token_classification":
        outputs["score"] = g.op("ReduceMax", [probs], axes=[-1], keepdims=0)
    return outputs


def _task_segments(g: _Graph, model) -> str:
    """``segment_ids``, or a tagger's fixed token type (ELECTRA's tagging tasks feed 1)."""
    fixed = getattr(model, "segment_id", 0)
    if not fixed:
        return "segment_ids"
    zeros = g.op("Mul", ["segment_ids", g.const(0, "zero", np.int32)])
    return g.op("Add", [zeros, g.const(fixed, "segment_id", np.int32)])


def build_onnx_model(
    model, metadata: dict[str, Any] | None = None, hidden_layers: Sequence[int] | None = None
):
    """An ``onnx.ModelProto`` computing ``model`` (a task model, or a bare `BertModel` /
    `ElectraModel`) in float32, with ``metadata`` (plus the labels) as metadata properties.
    For a bare encoder, ``hidden_layers`` (indexes of the hidden states, 0 = embeddings) asks
    for one output ``layers`` [batch, sequence, len(hidden_layers), hidden] instead."""
    onnx = require_onnx()
    encoder = getattr(model, "encoder", model)
    if hasattr(model, "ensure_built"):
        model.ensure_built()
    g = _Graph(onnx)
    pooled_only = getattr(model, "task", None) in (
        "sequence_classification",
        "multi_label_classification",
    )
    states, pooled = _encoder(g, encoder, _task_segments(g, model), pooled_only)
    outputs = _head_outputs(g, model, states, pooled, hidden_layers)
    # rename each output's producing node output to the public name
    for public, internal in outputs.items():
        g.nodes.append(g.helper.make_node("Identity", [internal], [public], name=public))
    tensor = onnx.TensorProto
    dims = ["batch", "sequence"]
    inputs = [g.helper.make_tensor_value_info(n, tensor.INT32, dims) for n in INPUT_NAMES]
    per_token = getattr(model, "task", None) == "token_classification"
    outs = [
        g.helper.make_tensor_value_info(n, _output_type(tensor, n), _output_dims(n, per_token))
        for n in outputs
    ]
    graph = g.helper.make_graph(g.nodes, "jbert", inputs, outs, g.initializers)
    proto = g.helper.make_model(
        graph,
        producer_name="jbert_tf2",
        opset_imports=[g.helper.make_opsetid("", OPSET)],
    )
    proto.ir_version = 8  # readable by ONNX Runtime >= 1.14
    info = dict(metadata or {})
    # what ONNX Runtime's transformer optimizer needs to fuse the attention
    info["num_heads"] = encoder.config.num_attention_heads
    info["hidden_size"] = encoder.config.hidden_size
    if getattr(model, "labels", None):
        info["labels"] = json.dumps(model.labels, ensure_ascii=False)
    for key, value in info.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, str(value)
    onnx.checker.check_model(proto)
    return proto


def _output_type(tensor, name: str) -> int:
    return tensor.INT32 if name in ("predicted_ids", "predictions") else tensor.FLOAT


def _output_dims(name: str, per_token: bool) -> list[str]:
    """Symbolic dimensions of an output: batch, the sequence for per-token ones, a width."""
    if name == "sequence_output":
        return ["batch", "sequence", "hidden"]
    if name == "layers":
        return ["batch", "sequence", "layers", "hidden"]
    if name in ("pooled_output", "embeddings"):
        return ["batch", "width"]
    rows = ["batch", "sequence"] if per_token else ["batch"]
    return rows if name in ("predicted_ids", "score") else [*rows, "labels"]
