"""GE2E speaker encoder (resemblyzer's pretrained weights), run with NumPy alone.

`resemblyzer==0.1.4` (Apache-2.0) ships a pretrained GE2E speaker encoder inside its wheel
(`resemblyzer/pretrained.pt`, 17 MB): a 3-layer LSTM (40 -> 256) over 40-band mel frames
(25 ms windows every 10 ms at 16 kHz), a Linear(256, 256) and a ReLU on the last layer's final
hidden state, L2-normalized: one 256-dim vector per stretch of speech, close (cosine) for the
same voice. Its own `VoiceEncoder` needs torch, librosa and webrtcvad; the images that
transcribe carry none of them, so this adapter reads the weights from the package's `.pt`
without torch (`torch_checkpoint`), computes the same mel frames as librosa's
`melspectrogram` (checked against it by the tests) and runs the LSTM in NumPy. The package is
installed without its dependencies; only its weights file is used, nothing downloads.

The encoder was trained on 1.6 s partials; `embed` takes any number of equal-length stretches
at once (a batch: the LSTM steps are matrix products over the whole batch).
"""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path

import numpy as np

from speech_api.engines.speakers.torch_checkpoint import load_checkpoint

SAMPLE_RATE = 16_000
N_FFT = 400  # 25 ms
HOP = 160  # 10 ms
N_MELS = 40
# Resemblyzer normalizes each utterance to this level (raising quiet ones only) before its
# mel frames: the frames are power, not log, so the level matters to the network.
TARGET_DBFS = -30.0
PACKAGE = "resemblyzer"
WEIGHTS_FILE = "pretrained.pt"
DIMENSIONS = 256


def packaged_weights() -> Path | None:
    """resemblyzer's `pretrained.pt`, found without importing the package (its __init__
    imports torch)."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / WEIGHTS_FILE
    return path if path.is_file() else None


class GE2EEncoder:
    """`SpeakerEncoder`: speech (16 kHz mono float32) -> L2-normalized 256-dim embeddings.

    The network runs in onnxruntime (already in every image, for Silero VAD and the light TTS
    engine): its LSTM kernel does the step loop in C++ and its thread count is set here
    (``threads``),
    where NumPy's BLAS picks its own and, on a busy machine, spins them against CTranslate2's
    (measured here: 12x slower with two BLAS threads on two loaded cores). The graph is built
    in memory from the checkpoint's tensors; nothing is written or downloaded."""

    name = "ge2e"
    sample_rate = SAMPLE_RATE
    dimensions = DIMENSIONS

    def __init__(self, weights: Path | None = None, threads: int = 0):
        import onnxruntime as ort

        path = weights or packaged_weights()
        if path is None:
            raise FileNotFoundError(
                f"The speaker encoder's weights were not found: install {PACKAGE}==0.1.4 "
                "(its wheel carries them; `pip install --no-deps` is enough)."
            )
        state = load_checkpoint(path)["model_state"]
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads  # 0: onnxruntime's default, one per core
        options.inter_op_num_threads = 1
        # Idle threads sleep rather than spin: Whisper's threads share these cores.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3
        self._session = ort.InferenceSession(
            onnx_graph(state), options, providers=["CPUExecutionProvider"]
        )
        self.weights_path = path

    def embed(self, batch: np.ndarray) -> np.ndarray:
        """Embeddings of a batch of equal-length stretches of speech, shape (n, samples) ->
        (n, 256); a 1-D array is one stretch."""
        batch = np.asarray(batch, dtype=np.float32)
        if batch.ndim == 1:
            batch = batch[None, :]
        if batch.shape[0] == 0:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        mels = mel_frames(normalize_level(batch))
        # ONNX's LSTM takes (steps, batch, features).
        (raw,) = self._session.run(None, {"mels": np.ascontiguousarray(mels.transpose(1, 0, 2))})
        norms = np.linalg.norm(raw, axis=1, keepdims=True)
        return (raw / np.maximum(norms, 1e-8)).astype(np.float32)


def onnx_graph(state: dict[str, np.ndarray]) -> bytes:
    """The encoder as an ONNX model: three LSTM nodes, then Linear + ReLU on the last layer's
    final hidden state (the normalization is done by the caller)."""
    from onnx import TensorProto, helper, numpy_helper

    def gates(w: np.ndarray) -> np.ndarray:
        # PyTorch orders an LSTM's gates input, forget, cell, output; ONNX input, output,
        # forget, cell.
        i, f, g, o = np.split(w, 4, axis=0)
        return np.concatenate([i, o, f, g], axis=0).astype(np.float32)

    tensors, nodes, previous = [], [], "mels"
    for layer in range(3):
        w = gates(state[f"lstm.weight_ih_l{layer}"])[None]
        r = gates(state[f"lstm.weight_hh_l{layer}"])[None]
        b = np.concatenate(
            [gates(state[f"lstm.bias_ih_l{layer}"]), gates(state[f"lstm.bias_hh_l{layer}"])]
        )[None]
        names = [f"w{layer}", f"r{layer}", f"b{layer}"]
        tensors += [numpy_helper.from_array(a, n) for a, n in zip((w, r, b), names, strict=True)]
        nodes.append(
            helper.make_node(
                "LSTM", [previous, *names], [f"y{layer}", f"h{layer}"], hidden_size=DIMENSIONS
            )
        )
        # y: (steps, directions=1, batch, hidden) -> (steps, batch, hidden)
        nodes.append(helper.make_node("Squeeze", [f"y{layer}", "axis1"], [f"seq{layer}"]))
        previous = f"seq{layer}"
    tensors += [
        numpy_helper.from_array(np.array([1], dtype=np.int64), "axis1"),
        numpy_helper.from_array(np.array([0], dtype=np.int64), "axis0"),
        numpy_helper.from_array(state["linear.weight"].T.astype(np.float32).copy(), "linear_w"),
        numpy_helper.from_array(state["linear.bias"].astype(np.float32), "linear_b"),
    ]
    nodes += [
        helper.make_node("Squeeze", ["h2", "axis0"], ["last"]),
        helper.make_node("MatMul", ["last", "linear_w"], ["projected"]),
        helper.make_node("Add", ["projected", "linear_b"], ["biased"]),
        helper.make_node("Relu", ["biased"], ["embedding"]),
    ]
    graph = helper.make_graph(
        nodes,
        "ge2e",
        [helper.make_tensor_value_info("mels", TensorProto.FLOAT, ["steps", "batch", N_MELS])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["batch", DIMENSIONS])],
        tensors,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8  # what onnxruntime 1.x reads
    return model.SerializeToString()


def normalize_level(batch: np.ndarray, target_dbfs: float = TARGET_DBFS) -> np.ndarray:
    """Each row raised to ``target_dbfs`` RMS when quieter (resemblyzer's preprocessing, which
    never lowers a loud one)."""
    rms = np.sqrt(np.mean(np.square(batch, dtype=np.float64), axis=-1, keepdims=True))
    current = 20 * np.log10(np.maximum(rms, 1e-9))
    gain = np.where(current < target_dbfs, 10 ** ((target_dbfs - current) / 20), 1.0)
    return (batch * gain).astype(np.float32)


def mel_frames(batch: np.ndarray) -> np.ndarray:
    """librosa.feature.melspectrogram(y, sr=16000, n_fft=400, hop_length=160, n_mels=40)
    transposed, for each row: (n, samples) -> (n, 1 + samples // 160, 40) power mel frames
    (centered frames, zero padding, periodic Hann window, Slaney mel filters)."""
    pad = N_FFT // 2
    padded = np.pad(batch, ((0, 0), (pad, pad)))
    frames = 1 + (padded.shape[1] - N_FFT) // HOP
    windows = np.lib.stride_tricks.sliding_window_view(padded, N_FFT, axis=1)[:, ::HOP][:, :frames]
    spectrum = np.fft.rfft(windows * _hann(), axis=-1)
    power = (spectrum.real**2 + spectrum.imag**2).astype(np.float32)
    return power @ _mel_filters().T


@cache
def _hann() -> np.ndarray:
    n = np.arange(N_FFT)
    return (0.5 - 0.5 * np.cos(2 * np.pi * n / N_FFT)).astype(np.float32)


def _hz_to_mel(hz: np.ndarray) -> np.ndarray:
    """Slaney's scale: linear below 1 kHz, logarithmic above (librosa's default)."""
    hz = np.asarray(hz, dtype=np.float64)
    linear = hz / (200.0 / 3)
    log_part = 15.0 + np.log(np.maximum(hz, 1e-10) / 1000.0) / (np.log(6.4) / 27.0)
    return np.where(hz >= 1000.0, log_part, linear)


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    mel = np.asarray(mel, dtype=np.float64)
    linear = mel * (200.0 / 3)
    log_part = 1000.0 * np.exp((np.log(6.4) / 27.0) * (mel - 15.0))
    return np.where(mel >= 15.0, log_part, linear)


@cache
def _mel_filters() -> np.ndarray:
    """librosa.filters.mel(sr=16000, n_fft=400, n_mels=40): triangles on Slaney's scale,
    area-normalized ("slaney" norm). Shape (40, 201)."""
    fft_freqs = np.linspace(0, SAMPLE_RATE / 2, 1 + N_FFT // 2)
    mel_points = _mel_to_hz(np.linspace(_hz_to_mel(0.0), _hz_to_mel(SAMPLE_RATE / 2), N_MELS + 2))
    spacing = np.diff(mel_points)
    ramps = mel_points[:, None] - fft_freqs[None, :]
    lower = -ramps[:-2] / spacing[:-1, None]
    upper = ramps[2:] / spacing[1:, None]
    weights = np.maximum(0, np.minimum(lower, upper))
    weights *= (2.0 / (mel_points[2:] - mel_points[:-2]))[:, None]
    return weights.astype(np.float32)
