"""The GE2E speaker encoder as the images run it: resemblyzer's weights read without torch,
mel frames computed without librosa, the network in onnxruntime; checked against the
reference implementations (torch, librosa; both in the dev environment only) and on real
voices."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from devkit.clips import clip
from speech_api.audio import decode_audio
from speech_api.engines.speakers.ge2e_encoder import (
    GE2EEncoder,
    mel_frames,
    normalize_level,
    packaged_weights,
)
from speech_api.engines.speakers.torch_checkpoint import CheckpointError, load_checkpoint


@pytest.fixture(scope="module")
def encoder() -> GE2EEncoder:
    return GE2EEncoder()


def speech(name: str) -> np.ndarray:
    return decode_audio(clip(name).read(), max_seconds=60).samples


def test_the_weights_come_from_the_installed_package_and_read_as_torch_reads_them():
    import torch

    path = packaged_weights()
    assert path is not None and path.parent.name == "resemblyzer"
    ours = load_checkpoint(path)["model_state"]
    theirs = torch.load(path, map_location="cpu", weights_only=False)["model_state"]
    assert set(ours) == set(theirs)
    for name, tensor in theirs.items():
        assert np.array_equal(ours[name], tensor.numpy()), name


def test_a_checkpoint_that_would_run_code_is_refused(tmp_path):
    class Payload:
        def __reduce__(self):
            import os

            return (os.system, ("echo owned",))

    path = tmp_path / "evil.pt"
    with open(path, "wb") as fh:
        for part in (0x1950A86A20F9469CFC6C, 1001, {}, {"model_state": Payload()}, []):
            pickle.dump(part, fh, protocol=2)
    with pytest.raises(CheckpointError, match=r"posix\.system|os\.system"):
        load_checkpoint(path)
    (tmp_path / "notes.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError):
        load_checkpoint(tmp_path / "notes.pt")


def test_mel_frames_match_librosa():
    import librosa

    samples = speech("ls_1221-135766-0002.wav")[:25_600]
    reference = librosa.feature.melspectrogram(
        y=samples, sr=16_000, n_fft=400, hop_length=160, n_mels=40
    ).T
    ours = mel_frames(samples[None])[0]
    assert ours.shape == reference.shape == (161, 40)
    assert np.abs(ours - reference).max() <= 1e-5 * reference.max()


def test_embeddings_match_the_torch_network(encoder):
    import torch

    state = torch.load(encoder.weights_path, map_location="cpu", weights_only=False)
    state = state["model_state"]
    lstm = torch.nn.LSTM(40, 256, 3, batch_first=True)
    linear = torch.nn.Linear(256, 256)
    lstm.load_state_dict({k[5:]: v for k, v in state.items() if k.startswith("lstm.")})
    linear.load_state_dict({k[7:]: v for k, v in state.items() if k.startswith("linear.")})
    samples = speech("lj_LJ001-0001.wav")
    batch = np.stack([samples[i : i + 25_600] for i in range(0, 96_000, 12_800)])
    with torch.no_grad():
        mels = torch.from_numpy(mel_frames(normalize_level(batch)))
        _, (hidden, _) = lstm(mels)
        expected = torch.relu(linear(hidden[-1]))
        expected = (expected / expected.norm(dim=1, keepdim=True)).numpy()
    ours = encoder.embed(batch)
    assert ours.shape == (len(batch), 256)
    assert np.abs(ours - expected).max() < 1e-4


def test_one_voice_is_close_to_itself_and_far_from_others(encoder):
    def voice(name: str) -> np.ndarray:
        samples = speech(name)
        windows = np.stack(
            [samples[i : i + 25_600] for i in range(0, len(samples) - 25_600, 12_800)]
        )
        mean = encoder.embed(windows).mean(axis=0)
        return mean / np.linalg.norm(mean)

    lj_a, lj_b = voice("lj_LJ001-0001.wav"), voice("lj_LJ001-0003.flac")
    aew_a, aew_b = voice("arctic_aew_a0001.wav"), voice("arctic_aew_a0002.wav")
    assert lj_a @ lj_b > 0.85 and aew_a @ aew_b > 0.8
    assert lj_a @ aew_a < 0.7 and lj_b @ aew_b < 0.7
