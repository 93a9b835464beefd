"""The small interfaces every engine adapter implements, and the values they return."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np


@dataclass(frozen=True)
class TranscriptSegment:
    start: float
    end: float
    text: str


@dataclass(frozen=True)
class Transcript:
    text: str
    language: str
    language_probability: float
    duration_s: float
    segments: list[TranscriptSegment] = field(default_factory=list)


@dataclass(frozen=True)
class Speech:
    samples: np.ndarray  # mono float32 in [-1, 1]
    sample_rate: int


class SpeechToText(Protocol):
    name: str
    multilingual: bool

    def transcribe(self, samples: np.ndarray, *, language: str | None) -> Transcript: ...


class TextToSpeech(Protocol):
    engine: str
    model: str
    default_voice: str

    def voices(self) -> list[str]: ...

    def synthesize(self, text: str, *, voice: str, speed: float) -> Speech: ...
