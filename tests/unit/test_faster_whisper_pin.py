"""The trimmed decoder (engines/whisper_batch.py) calls faster-whisper's private methods, so
pyproject pins the minor version they were read from: the installed and locked versions must
satisfy the pin, and the private methods must still take the arguments we pass."""

import inspect
import tomllib
from importlib.metadata import version
from pathlib import Path

from faster_whisper import WhisperModel
from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]


def pinned() -> Requirement:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return next(
        Requirement(r) for r in project["dependencies"] if Requirement(r).name == "faster-whisper"
    )


def test_the_pin_allows_one_minor_version():
    specifier = pinned().specifier
    lower = next((Version(s.version) for s in specifier if s.operator == ">="), None)
    assert lower is not None, f"faster-whisper {specifier} has no lower bound"
    major, minor = lower.release[:2]
    assert specifier.contains(f"{major}.{minor}.99"), specifier
    assert not specifier.contains(f"{major}.{minor + 1}.0"), f"{specifier}: no upper bound"


def test_the_installed_and_locked_faster_whisper_satisfy_the_pin():
    specifier = pinned().specifier
    assert specifier.contains(version("faster-whisper")), version("faster-whisper")
    locked = next(
        line.split("==")[1].strip()
        for line in (ROOT / "requirements.lock").read_text().splitlines()
        if line.startswith("faster-whisper==")
    )
    assert specifier.contains(locked), f"requirements.lock has faster-whisper {locked}"


def test_the_private_methods_take_the_arguments_the_trimmed_decoder_passes():
    """Bound exactly as whisper_batch calls them: a renamed or added parameter fails here,
    not on the first request after an upgrade."""
    split = inspect.signature(WhisperModel._split_segments_by_timestamps)
    split.bind(
        None,
        tokenizer=None,
        tokens=[],
        time_offset=0.0,
        segment_size=1,
        segment_duration=0.02,
        seek=0,
    )
    words = inspect.signature(WhisperModel.add_word_timestamps)
    words.bind(None, [[]], None, None, 1, "", "", last_speech_timestamp=0.0)
    inspect.signature(WhisperModel.get_prompt).bind(None, None, [], hotwords=None)
    defaults = inspect.signature(WhisperModel.transcribe).parameters
    for name in (
        "compression_ratio_threshold",
        "log_prob_threshold",
        "no_speech_threshold",
        "language_detection_threshold",
        "max_initial_timestamp",
        "prepend_punctuations",
        "append_punctuations",
    ):
        assert defaults[name].default is not inspect.Parameter.empty, name
    for attribute in ("hf_tokenizer", "frames_per_second", "max_length", "time_precision"):
        assert f"self.{attribute} =" in inspect.getsource(WhisperModel.__init__), attribute
