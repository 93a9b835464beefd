"""OpenAI's names, as its SDK and clients written for it send them: models (and their dated
snapshots), voices, and the audio API's format and option names. Each one means something
that runs here: a transcription model the configured Whisper model, a speech model the
configured TTS engine, a voice the voice its alias names."""

from __future__ import annotations

import re
from typing import Literal

from speech_api.formats import OUTPUT_FORMATS

# Names OpenAI clients send. Each transcription model means the configured STT model (or, for
# gpt-4o-*, the same Whisper model: clients pick those names, we answer with what we run); each
# speech model means the configured TTS engine. Dated snapshots (NAME-YYYY-MM-DD) are aliases
# of their family. Diarization models are not served (no speaker labels here).
OPENAI_STT_MODELS = (
    "whisper-1",
    "gpt-transcribe",
    "gpt-4o-transcribe",
    "gpt-4o-mini-transcribe",
    "gpt-live-transcribe",
)
OPENAI_TTS_MODELS = ("tts-1", "tts-1-hd", "gpt-4o-mini-tts")
# Snapshots the SDK names today, listed by /v1/models; other dated names resolve too.
OPENAI_DATED_MODELS = (
    "gpt-4o-mini-transcribe-2025-12-15",
    "gpt-4o-mini-tts-2025-03-20",
    "gpt-4o-mini-tts-2025-12-15",
    "tts-1-1106",
    "tts-1-hd-1106",
)
_DATED = re.compile(r"-(\d{4}-\d{2}-\d{2}|\d{4})$")


def openai_model(name: str, family: tuple[str, ...]) -> bool:
    """Whether `name` is one of OpenAI's model names in `family`, or a dated snapshot of one
    (gpt-4o-mini-tts-2025-03-20, tts-1-1106)."""
    return name in family or _DATED.sub("", name) in family


# OpenAI's built-in voice names; each plays the voice TTS_VOICE_ALIASES maps it to (default:
# the configured default voice).
OPENAI_VOICES = (
    "alloy",
    "ash",
    "ballad",
    "cedar",
    "coral",
    "echo",
    "fable",
    "marin",
    "nova",
    "onyx",
    "sage",
    "shimmer",
    "verse",
)
# The streaming encodings of `/v1/audio/speech` (`stream_format`).
SPEECH_STREAM_FORMATS = ("audio", "sse")
SpeechStreamFormat = Literal[SPEECH_STREAM_FORMATS]  # type: ignore[valid-type]
# `include[]` values of `/v1/audio/transcriptions` that are honoured (with response_format json).
TRANSCRIPTION_INCLUDES = ("logprobs",)
# OpenAI's speech API names the same formats, less the generic "ogg".
SPEECH_FORMATS = tuple(name for name in OUTPUT_FORMATS if name != "ogg")
SpeechFormat = Literal[SPEECH_FORMATS]  # type: ignore[valid-type]
