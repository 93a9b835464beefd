"""What an engine declares about itself, so that nothing else has to know it by name.

Each adapter module (engines/stt/<name>.py, engines/tts/<name>.py) declares one spec, and
engines/registry.py lists them. The model manager loads through the
spec; the settings (TTS_ENGINE's choices and each engine's own variables), the synthesis time
check, the image build's model step, the CDK stack's context checks, the bench and the
playground read it. A spec is checked when it is made: one that misses a figure, or gives one
that cannot be right, fails at import, not at the first request that needs it.

Adapter modules stay import-light (heavy libraries are imported inside `load` and `prefetch`):
the light Lambda layer (no numpy, torch or onnxruntime) and the CDK app read the registry too.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from pydantic import BaseModel, ConfigDict

KINDS = ("stt", "tts", "speakers")
_NAME = re.compile(r"[a-z][a-z0-9]*")
_FLAG = re.compile(r"--[a-z][a-z0-9-]*")
_ENV_NAME = re.compile(r"[A-Z][A-Z0-9_]*")


class EngineSettings(BaseModel):
    """Base of every engine's own settings (and of the settings groups, config.py). Frozen, so
    hashable: loaded models are cached by the settings that made them."""

    model_config = ConfigDict(frozen=True)

    def summary(self) -> str:
        """What a person needs to know of these settings in one phrase (serve's banner)."""
        return ""


@dataclass(frozen=True)
class SynthesisCost:
    """How long a TTS engine takes, for the check that refuses up front a synthesis that could
    not finish within TTS_TIME_LIMIT_S (the gateway would answer 504 after the work was spent).
    Upper figures, measured on 2 CPU cores (a 3,008 MB Lambda has about 1.7 vCPUs): a request
    is refused when it might not finish, not only when it certainly would not."""

    # Seconds of speech per character of text, at speed 1.
    speech_s_per_char: float
    # Seconds of synthesis per second of speech (at speed 1).
    synthesis_rtf: float
    # True: slower speech takes longer to make (the engine stretches what it synthesizes);
    # False: the engine makes speed-1 speech at its own pace and the tempo changes afterwards.
    work_follows_speed: bool

    def __post_init__(self) -> None:
        for name in ("speech_s_per_char", "synthesis_rtf"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"SynthesisCost.{name} must be a positive number, not {value!r}")
        if not isinstance(self.work_follows_speed, bool):
            raise ValueError("SynthesisCost.work_follows_speed must be True or False")

    def estimate_s(self, chars: int, speed: float) -> tuple[float, float]:
        """(seconds of speech, seconds of synthesis) for a text of ``chars`` characters."""
        audio_s = chars * self.speech_s_per_char / speed
        made_s = audio_s if self.work_follows_speed else chars * self.speech_s_per_char
        return audio_s, made_s * self.synthesis_rtf

    def chars_within(self, speed: float, limit_s: float) -> int:
        """The most characters whose synthesis fits in ``limit_s`` at ``speed``."""
        _, per_char = self.estimate_s(1, speed)
        return int(limit_s / per_char)


@dataclass(frozen=True)
class Prefetch:
    """How an image build puts the engine's models in place, so that nothing downloads at run
    time (``python -m speech_api.runtime.prefetch``): the command-line options it takes (flag
    -> default), and ``run(dest, **values)``, which fills the folder ``dest`` and returns a
    line saying what it did (or None when there was nothing to do). Values arrive under the
    flag's name in Python (``--stt-model`` -> ``stt_model``)."""

    options: Mapping[str, str]
    run: Callable[..., str | None]

    def __post_init__(self) -> None:
        object.__setattr__(self, "options", MappingProxyType(dict(self.options)))
        for flag in self.options:
            if not _FLAG.fullmatch(flag):
                raise ValueError(f"prefetch option {flag!r} is not a --long-flag")
        if not callable(self.run):
            raise ValueError("Prefetch.run must be callable")


@dataclass(frozen=True, kw_only=True)
class EngineSpec:
    """One engine: what it is called, what configures it, what it needs installed and put in
    its image, and how to load it."""

    # The name TTS_ENGINE (or a request's `model`) uses; lower case letters and digits.
    name: str
    kind: str  # "stt", "tts" or "speakers"
    # Its own settings: a frozen model, every attribute documented. A TTS engine's settings
    # are read from TTS_<NAME>_<ATTRIBUTE> (config.py).
    settings: type[EngineSettings]
    # The pip extra (pyproject.toml) its libraries or default model come in; "" for none.
    extra: str
    # Whether it needs torch, which images install only where an engine needs it (the Lambda
    # image without torch serves every function but a torch engine's Tts).
    needs_torch: bool
    # The loaded engine, from its settings and what every engine of its kind is given (see
    # `SpeechToTextSpec.load`, `TextToSpeechSpec.load`). Imports its libraries itself.
    load: Callable[..., Any]
    prefetch: Prefetch | None = None
    # Image build arguments (Dockerfile ARG -> default) the engine's image step reads; the
    # CDK stack takes each from the context key of the same name in lower case.
    image_args: Mapping[str, str] = field(default_factory=dict)
    # Environment the engine needs to run on a GPU (the GPU endpoint's containers).
    gpu_env: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME.fullmatch(self.name):
            raise ValueError(f"engine name {self.name!r}: lower case letters and digits only")
        if self.kind not in KINDS:
            raise ValueError(f"{self.name}: kind must be one of {KINDS}, not {self.kind!r}")
        if not (isinstance(self.settings, type) and issubclass(self.settings, EngineSettings)):
            raise ValueError(f"{self.name}: settings must be an EngineSettings class")
        if not isinstance(self.extra, str) or not isinstance(self.needs_torch, bool):
            raise ValueError(f"{self.name}: extra (str) and needs_torch (bool) are required")
        if not callable(self.load):
            raise ValueError(f"{self.name}: load must be callable")
        if self.prefetch is not None and not isinstance(self.prefetch, Prefetch):
            raise ValueError(f"{self.name}: prefetch must be a Prefetch or None")
        for what in ("image_args", "gpu_env"):
            table = dict(getattr(self, what))
            for key, value in table.items():
                if not (_ENV_NAME.fullmatch(key) and isinstance(value, str)):
                    raise ValueError(f"{self.name}: {what} {key!r}={value!r} is not NAME=str")
            object.__setattr__(self, what, MappingProxyType(table))


@dataclass(frozen=True, kw_only=True)
class SpeechToTextSpec(EngineSpec):
    """A speech-to-text engine. ``load(settings, cache_dir: Path) -> SpeechToText``."""

    kind: str = "stt"
    # Language codes it can transcribe (ISO 639-1, as Whisper names them): what an upload's
    # language is checked against before any model loads.
    languages: frozenset[str]
    # Model names usable without configuration (their weights are installed packages).
    installed_models: Callable[[], list[str]] = list

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.kind != "stt":
            raise ValueError(f"{self.name}: a SpeechToTextSpec has kind 'stt'")
        if not self.languages or not all(isinstance(c, str) for c in self.languages):
            raise ValueError(f"{self.name}: languages must name at least one language code")


@dataclass(frozen=True, kw_only=True)
class TextToSpeechSpec(EngineSpec):
    """A text-to-speech engine. ``load(settings, *, cache_dir: Path, max_concurrent: int) ->
    TextToSpeech`` (max_concurrent: TTS_MAX_CONCURRENT, sentences at once; 0: the engine's
    own choice)."""

    kind: str = "tts"
    cost: SynthesisCost
    # Whether it can time the words it speaks (captions, `words`).
    captions: bool
    # Whether it speaks phonemes given in IPA (SSML <phoneme ph>): its engine then has
    # ``unknown_phonemes(phonemes, voice) -> list[str]``, those the voice has no symbol for.
    # Without it, a document with <phoneme> is refused (400 naming the engines that can).
    phonemes: bool
    # The speeds it makes (slowest, fastest), 1 included.
    speeds: tuple[float, float]
    # Whether the loaded engine can say how long a text's speech will be from what the text
    # expands to (`speech_estimate_s(text, *, voice, speed) -> seconds`, e.g. from its
    # phonemes): digits, symbols and other scripts make far more speech than their characters
    # suggest, and the up-front checks (TTS_MAX_SPEECH_S, TTS_TIME_LIMIT_S) then use it.
    counts_speech: bool = False
    # How to install a voice that is configured but missing ("{voice}" stands for its name),
    # said where the voice is asked for; empty: a generic hint.
    voice_install: str = ""

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.kind != "tts":
            raise ValueError(f"{self.name}: a TextToSpeechSpec has kind 'tts'")
        if not isinstance(self.cost, SynthesisCost):
            raise ValueError(f"{self.name}: cost must be a SynthesisCost")
        if not isinstance(self.captions, bool):
            raise ValueError(f"{self.name}: captions must be True or False")
        if not isinstance(self.phonemes, bool):
            raise ValueError(f"{self.name}: phonemes must be True or False")
        if not isinstance(self.counts_speech, bool):
            raise ValueError(f"{self.name}: counts_speech must be True or False")
        if self.voice_install and "{voice}" not in self.voice_install:
            raise ValueError(f"{self.name}: voice_install must name the {{voice}}")
        low, high = self.speeds
        if not 0 < low <= 1 <= high:
            raise ValueError(f"{self.name}: speeds {self.speeds} must include 1")

    def speaks_at(self, speed: float) -> bool:
        low, high = self.speeds
        return low <= speed <= high


@dataclass(frozen=True, kw_only=True)
class SpeakerEncoderSpec(EngineSpec):
    """A speaker encoder (diarization, named speakers). ``load(settings, cache_dir: Path) ->
    SpeakerEncoder`` (engines/base.py); loaded only for requests that ask for speakers."""

    kind: str = "speakers"
    # What `embed` takes (mono float32 at this rate) and the length of what it returns.
    sample_rate: int
    dimensions: int

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.kind != "speakers":
            raise ValueError(f"{self.name}: a SpeakerEncoderSpec has kind 'speakers'")
        for what in ("sample_rate", "dimensions"):
            value = getattr(self, what)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"{self.name}: {what} must be a positive integer, not {value!r}")


def prefetch_value_name(flag: str) -> str:
    """The keyword a Prefetch option's value arrives under: ``--stt-model`` -> stt_model."""
    return flag.removeprefix("--").replace("-", "_")


__all__ = [
    "EngineSettings",
    "EngineSpec",
    "Prefetch",
    "SpeakerEncoderSpec",
    "SpeechToTextSpec",
    "SynthesisCost",
    "TextToSpeechSpec",
    "prefetch_value_name",
]
