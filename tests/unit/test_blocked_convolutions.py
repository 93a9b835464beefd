"""The graph rewrite of engines/tts/piper_blocked_model.py on small graphs built here: an
upsampling ConvTranspose in its polyphase form and 1-D convolutions lifted to 2-D give the
samples onnxruntime gives for the original graph, for the strides and paddings VITS voices
use and for the edges of the rule (no padding, padding equal to the stride)."""

from __future__ import annotations

import numpy as np
import onnxruntime
import pytest
from onnx import TensorProto, helper, numpy_helper

from speech_api.engines.tts.piper_blocked_model import _BLOCK, _lift, _polyphase

RNG = np.random.default_rng(7)


def run(model, x: np.ndarray) -> np.ndarray:
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    session = onnxruntime.InferenceSession(
        model.SerializeToString(), sess_options=options, providers=["CPUExecutionProvider"]
    )
    return session.run(None, {"x": x})[0]


def decoder_stage(stride: int, pad: int, c_in: int = 24, c_out: int = _BLOCK):
    """x -> LeakyRelu -> ConvTranspose (kernel 2*stride) -> Conv (dilated) + residual add ->
    Div by a constant -> Tanh: the shape of one HiFi-GAN upsampling stage."""
    weights = [
        numpy_helper.from_array(RNG.normal(size=(c_in, c_out, 2 * stride)).astype("f4"), "up_w"),
        numpy_helper.from_array(RNG.normal(size=c_out).astype("f4"), "up_b"),
        numpy_helper.from_array(0.1 * RNG.normal(size=(c_out, c_out, 3)).astype("f4"), "res_w"),
        numpy_helper.from_array(RNG.normal(size=c_out).astype("f4"), "res_b"),
        numpy_helper.from_array(np.array(3.0, dtype="f4"), "three"),
    ]
    nodes = [
        helper.make_node("LeakyRelu", ["x"], ["a"], alpha=0.1),
        helper.make_node(
            "ConvTranspose",
            ["a", "up_w", "up_b"],
            ["u"],
            kernel_shape=[2 * stride],
            strides=[stride],
            pads=[pad, pad],
        ),
        helper.make_node(
            "Conv", ["u", "res_w", "res_b"], ["r"], kernel_shape=[3], dilations=[2], pads=[2, 2]
        ),
        helper.make_node("Add", ["r", "u"], ["s"]),
        helper.make_node("Div", ["s", "three"], ["d"]),
        helper.make_node("Tanh", ["d"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes,
        "stage",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, c_in, None])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, c_out, None])],
        weights,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 15)])


@pytest.mark.parametrize(
    ("stride", "pad"), [(8, 4), (4, 2), (5, 2), (4, 0), (3, 3)], ids=lambda v: str(v)
)
def test_a_rewritten_stage_gives_the_original_samples(stride, pad):
    model = decoder_stage(stride, pad)
    x = RNG.normal(size=(1, 24, 37)).astype("f4")
    expected = run(model, x)

    assert _polyphase(model.graph) == 1
    assert _lift(model.graph) == 2  # the residual conv and the upsampling's phases
    ops = [n.op_type for n in model.graph.node]
    assert "ConvTranspose" not in ops
    # The residual conv, its add, the division and the tanh stay 2-D: one step down to 1-D
    # for the interleave and one for the output, one step up after each.
    assert ops.count("Squeeze") == ops.count("Unsqueeze") == 2
    weights = {w.name: w for w in model.graph.initializer}
    assert [len(weights[n.input[1]].dims) for n in model.graph.node if n.op_type == "Conv"] == [
        4,
        4,
    ]
    got = run(model, x)

    assert got.shape == expected.shape == (1, _BLOCK, 37 * stride + stride - 2 * pad)
    np.testing.assert_allclose(got, expected, atol=1e-4, rtol=1e-4)


def test_what_the_rewrite_cannot_keep_equal_is_left_alone():
    """A ConvTranspose whose kernel is not twice its stride keeps its form; a convolution to
    fewer channels than a block stays 1-D."""
    model = decoder_stage(4, 2)
    up = model.graph.node[1]
    next(a for a in up.attribute if a.name == "strides").ints[:] = [3]  # stride 3, kernel 8
    model.graph.initializer[2].CopyFrom(
        numpy_helper.from_array(RNG.normal(size=(8, _BLOCK, 3)).astype("f4"), "res_w")
    )
    model.graph.initializer[3].CopyFrom(
        numpy_helper.from_array(RNG.normal(size=8).astype("f4"), "res_b")
    )
    model.graph.node[3].input[1] = "r"  # the residual add now adds r to itself (8 channels)
    x = RNG.normal(size=(1, 24, 11)).astype("f4")
    expected = run(model, x)

    assert _polyphase(model.graph) == 0
    assert _lift(model.graph) == 0
    np.testing.assert_allclose(run(model, x), expected, atol=1e-5)


def test_a_computed_bias_or_a_one_element_tensor_of_higher_rank_is_left_alone():
    """A ConvTranspose whose bias a node computes keeps its form (its weights are not all
    constants); an operand of one element but rank 4 is not a scalar (it would broadcast the
    sum to 4-D): the add after the lifted convolution is done in 1-D, as written."""
    model = decoder_stage(4, 2)
    graph = model.graph
    bias = next(i for i in graph.initializer if i.name == "up_b")
    graph.node.insert(0, helper.make_node("Constant", [], ["up_b_computed"], value=bias))
    graph.node[2].input[2] = "up_b_computed"
    graph.initializer.append(numpy_helper.from_array(np.ones((1, 1, 1, 1), "f4"), "one_4d"))
    graph.node[4].input[1] = "one_4d"  # Add(r, one_4d): a 4-D result
    graph.output[0].type.tensor_type.shape.Clear()
    x = RNG.normal(size=(1, 24, 9)).astype("f4")
    expected = run(model, x)

    assert _polyphase(graph) == 0
    assert _lift(graph) == 1
    got = run(model, x)
    assert got.shape == expected.shape == (1, 1, _BLOCK, 36)
    np.testing.assert_allclose(got, expected, atol=1e-4, rtol=1e-4)
