"""Speech engines behind small protocols; one adapter module per engine, imported lazily by the
model manager."""

from speech_api.engines.base import (
    Speech,
    SpeechStream,
    SpeechToText,
    TextToSpeech,
    Transcript,
    TranscriptionOptions,
    TranscriptSegment,
    TranscriptStream,
    VoiceActivity,
    WordTiming,
)
from speech_api.engines.manager import ModelManager

__all__ = [
    "ModelManager",
    "Speech",
    "SpeechStream",
    "SpeechToText",
    "TextToSpeech",
    "Transcript",
    "TranscriptSegment",
    "TranscriptStream",
    "TranscriptionOptions",
    "VoiceActivity",
    "WordTiming",
]
