"""A copy of a Piper voice whose convolutions run on onnxruntime's blocked kernels.

A Piper voice is a VITS model made of 1-D convolutions: on one thread about 70 % of a
sentence's time is spent in them, most of it in the HiFi-GAN decoder that turns frames into
samples. onnxruntime has two ways to run a convolution on CPU: im2col + GEMM, and its blocked
(NCHWc) kernels, which are faster on one thread but which it only picks for 2-D convolutions.
So this copy runs each 1-D convolution as a 2-D one of height 1 (the same weights, with an axis
added), keeps the element-wise operations between two of them in 2-D too (so a chain of them
is not reshaped back and forth), and runs each upsampling ConvTranspose (kernel 2x its
stride, as HiFi-GAN's are) as a convolution of kernel 2 whose outputs are interleaved (its
polyphase form), which the blocked kernels take as well. The arithmetic is the same; only
the order of the sums changes: with the noise off, the copy's samples differ from the
original's by about 2e-5 on en_US-joe-medium. Every copy is checked when it is made (`_check`:
one sentence of phoneme ids, noise off, within MAX_SAMPLE_DIFFERENCE), and a voice whose copy
fails the check or cannot be made is used as it is.

Measured on en_US-joe-medium, 1,500 characters of prose, five rounds each: on one thread
4.64-4.68 s of CPU against 5.28-5.33 s (12 % less); on two threads it is slower (4.8 s
against 4.0 s of wall time: the blocked kernels split these shapes poorly across threads).
So only the speech-job workers, one synthesis per core on one thread each, use it
(TTS_PIPER_BLOCKED_KERNELS, set by JOB_WORKER_ENGINE_SETTINGS).
"""

from __future__ import annotations

from pathlib import Path

from speech_api.engines.tts.piper_model_cache import cached_copy

# Element-wise operations kept in 2-D between two lifted convolutions.
_UNARY = frozenset({"LeakyRelu", "Tanh", "Relu", "Sigmoid"})
_BINARY = frozenset({"Add", "Mul", "Div", "Sub"})
# Output channels below which a convolution stays 1-D: onnxruntime's block is 16 channels
# with AVX-512 (8 with AVX2), and a convolution to fewer is padded to a whole block.
_BLOCK = 16
# The copies' folder in the model cache; a change to the rewrite names a new one.
FOLDER = "piper-blocked-v1"
# The copy is used only if, with the noise off, no sample differs from the original's by more
# than this (audio in [-1, 1]; measured 2e-5 on en_US-joe-medium).
MAX_SAMPLE_DIFFERENCE = 1e-3


def blocked_model(model: Path, cache_dir: Path) -> Path:
    """Path of ``model`` rewritten as the module says, with its ``.onnx.json`` beside it;
    the model itself where the rewrite does not apply or its output would differ."""
    return cached_copy(model, cache_dir, FOLDER, _rewrite, optional=True)


def _rewrite(onnx_model, path: Path) -> None:
    opset = next((o.version for o in onnx_model.opset_import if o.domain in ("", "ai.onnx")), 0)
    if opset < 13:  # Squeeze/Unsqueeze take their axes as inputs from opset 13
        raise ValueError(f"opset {opset}")
    upsamplings = _polyphase(onnx_model.graph)
    convolutions = _lift(onnx_model.graph)
    if not upsamplings + convolutions:
        raise ValueError("no 1-D convolutions")
    _drop_unused_initializers(onnx_model.graph)
    _check(onnx_model, path)


def _attributes(node) -> dict:
    from onnx import helper

    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _polyphase(graph) -> int:
    """Each 1-D ConvTranspose with kernel 2*stride and padding p on both sides as a Conv of
    kernel 2 (padded by one frame each side) to stride*C_out channels, then an interleave:
    output sample m*stride + j - p is phase j's frame m, where phase j weighs frame m-1 by the
    transposed kernel's tap j+stride and frame m by its tap j. Of the (L+1)*stride samples
    the phases make from L frames, the first and last p are the padding."""
    import numpy as np
    from onnx import helper, numpy_helper

    weights = {i.name: i for i in graph.initializer}
    nodes, count = [], 0
    for node in graph.node:
        a = _attributes(node)
        w = weights.get(node.input[1]) if node.op_type == "ConvTranspose" else None
        bias = node.input[2] if len(node.input) > 2 and node.input[2] else None
        stride = a.get("strides", [1])[0]
        pads = a.get("pads", [0, 0])
        if (
            w is None
            or (bias is not None and bias not in weights)
            or len(w.dims) != 3
            or w.dims[2] != 2 * stride
            or a.get("group", 1) != 1
            or a.get("dilations", [1]) != [1]
            or a.get("output_padding", [0]) != [0]
            or a.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET")
            or "output_shape" in a
            or pads[0] != pads[1]
            or not 0 <= pads[0] <= stride
        ):
            nodes.append(node)
            continue
        kernel = numpy_helper.to_array(w)  # [C_in, C_out, 2 * stride]
        c_in, c_out, _ = kernel.shape
        phases = np.empty((stride, c_out, c_in, 2), dtype=kernel.dtype)
        for j in range(stride):
            phases[j, :, :, 0] = kernel[:, :, j + stride].T
            phases[j, :, :, 1] = kernel[:, :, j].T
        y = node.output[0]
        name = f"{y}__polyphase"
        initializers = {
            f"{name}_w": phases.reshape(stride * c_out, c_in, 2),
            f"{name}_phases": np.array([0, stride, c_out, -1], dtype=np.int64),
            f"{name}_joined": np.array([0, c_out, -1], dtype=np.int64),
            f"{name}_start": np.array([pads[0]], dtype=np.int64),
            f"{name}_end": np.array([-pads[0] or np.iinfo(np.int64).max], dtype=np.int64),
            f"{name}_axis": np.array([2], dtype=np.int64),
        }
        inputs = [node.input[0], f"{name}_w"]
        if bias is not None:
            initializers[f"{name}_b"] = np.tile(numpy_helper.to_array(weights[bias]), stride)
            inputs.append(f"{name}_b")
        graph.initializer.extend(numpy_helper.from_array(v, k) for k, v in initializers.items())
        nodes += [
            helper.make_node(
                "Conv", inputs, [f"{name}_z"], name=node.name, kernel_shape=[2], pads=[1, 1]
            ),
            # [1, stride * C_out, L + 1] -> [1, stride, C_out, L + 1] -> [1, C_out, L + 1,
            # stride] -> [1, C_out, (L + 1) * stride], then the padding cut off both ends.
            helper.make_node("Reshape", [f"{name}_z", f"{name}_phases"], [f"{name}_r"]),
            helper.make_node("Transpose", [f"{name}_r"], [f"{name}_t"], perm=[0, 2, 3, 1]),
            helper.make_node("Reshape", [f"{name}_t", f"{name}_joined"], [f"{name}_i"]),
            helper.make_node(
                "Slice",
                [f"{name}_i", f"{name}_start", f"{name}_end", f"{name}_axis"],
                [y],
            ),
        ]
        count += 1
    del graph.node[:]
    graph.node.extend(nodes)
    return count


def _lift(graph) -> int:
    """Each 1-D Conv (constant 3-D weights, at least _BLOCK output channels) as a 2-D Conv of
    height 1. Tensors are kept in 2-D (``lifted``) through element-wise operations whose other
    inputs are lifted too or scalars (one element, rank 0 or 1: they broadcast alike in 1-D
    and 2-D), and squeezed back to 1-D only where something else reads them."""
    import numpy as np
    from onnx import helper, numpy_helper

    weights = {i.name: i for i in graph.initializer}

    def scalar(dims) -> bool:
        return len(dims) <= 1 and int(np.prod(dims)) == 1

    scalars = {name for name, w in weights.items() if scalar(w.dims)}
    for node in graph.node:
        if node.op_type == "Constant":
            value = _attributes(node).get("value")
            if value is not None and scalar(value.dims):
                scalars.add(node.output[0])
    axis = "__height_axis"
    graph.initializer.append(numpy_helper.from_array(np.array([2], dtype=np.int64), axis))
    lifted: dict[str, str] = {}  # 1-D tensor -> its 2-D twin
    lifted_kernels: set[str] = set()
    present = {i.name for i in graph.input} | set(weights)  # 1-D tensors that exist
    nodes, count = [], 0

    def two_d(name: str) -> str:
        if name not in lifted:
            lifted[name] = f"{name}__2d"
            nodes.append(helper.make_node("Unsqueeze", [name, axis], [lifted[name]]))
        return lifted[name]

    def one_d(name: str) -> None:
        if name in lifted and name not in present:
            nodes.append(helper.make_node("Squeeze", [lifted[name], axis], [name]))
            present.add(name)

    for node in graph.node:
        op, inputs, y = node.op_type, list(node.input), node.output[0]
        w = weights.get(inputs[1]) if op == "Conv" and len(inputs) > 1 else None
        # A convolution to fewer channels than a block (the decoder's last, to 1 channel) is
        # slower blocked: its output would be padded to a block.
        if w is not None and len(w.dims) == 3 and w.dims[0] >= _BLOCK:
            kernel = numpy_helper.to_array(w)
            if f"{w.name}__2d" not in lifted_kernels:  # convolutions may share a kernel
                lifted_kernels.add(f"{w.name}__2d")
                graph.initializer.append(
                    numpy_helper.from_array(kernel[:, :, None, :], f"{w.name}__2d")
                )
            a = _attributes(node)
            a["kernel_shape"] = [1, kernel.shape[2]]
            for key in ("dilations", "strides"):
                if key in a:
                    a[key] = [1, a[key][0]]
            if "pads" in a:
                a["pads"] = [0, a["pads"][0], 0, a["pads"][1]]
            nodes.append(
                helper.make_node(
                    "Conv",
                    [two_d(inputs[0]), f"{w.name}__2d", *inputs[2:]],
                    [f"{y}__2d"],
                    name=node.name,
                    **a,
                )
            )
            lifted[y] = f"{y}__2d"
            count += 1
            continue
        if (op in _UNARY and inputs[0] in lifted) or (
            op in _BINARY
            and any(i in lifted for i in inputs)
            and all(i in lifted or i in scalars for i in inputs)
        ):
            nodes.append(
                helper.make_node(
                    op,
                    [lifted.get(i, i) for i in inputs],
                    [f"{y}__2d"],
                    name=node.name,
                    **_attributes(node),
                )
            )
            lifted[y] = f"{y}__2d"
            continue
        for name in inputs:
            one_d(name)
        nodes.append(node)
        present.update(node.output)
    for output in graph.output:
        one_d(output.name)
    del graph.node[:]
    graph.node.extend(nodes)
    return count


def _drop_unused_initializers(graph) -> None:
    used = {name for node in graph.node for name in node.input}
    kept = [i for i in graph.initializer if i.name in used]
    del graph.initializer[:]
    graph.initializer.extend(kept)


def _check(onnx_model, path: Path) -> None:
    """Both models on the same phoneme ids with the noise off (scales 0, 1, 0): the copy is
    kept only if its samples are the original's within MAX_SAMPLE_DIFFERENCE."""
    import numpy as np
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.log_severity_level = 3  # the original's unused initializers are not news

    def samples(model) -> np.ndarray:
        session = onnxruntime.InferenceSession(
            model, sess_options=options, providers=["CPUExecutionProvider"]
        )
        names = {i.name for i in session.get_inputs()}
        ids = np.array([[1, *range(20, 60), 2]], dtype=np.int64)
        feeds = {
            "input": ids,
            "input_lengths": np.array([ids.shape[1]], dtype=np.int64),
            "scales": np.array([0.0, 1.0, 0.0], dtype=np.float32),
        }
        if "sid" in names:
            feeds["sid"] = np.array([0], dtype=np.int64)
        return session.run(None, feeds)[0].ravel()

    try:
        original, rewritten = samples(str(path)), samples(onnx_model.SerializeToString())
    except Exception as exc:  # a voice with other inputs, or a graph onnxruntime refuses
        raise ValueError(f"the rewritten voice cannot be checked: {exc}") from exc
    if original.shape != rewritten.shape:
        raise ValueError(f"{rewritten.shape} samples, not {original.shape}")
    difference = float(np.abs(original - rewritten).max())
    if difference > MAX_SAMPLE_DIFFERENCE:
        raise ValueError(f"samples differ by {difference}")
