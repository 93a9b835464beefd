"""Speech engines behind small protocols; one adapter module per engine, imported lazily by the
model manager."""

from speech_api.engines.base import (
    Speech,
    SpeechToText,
    TextToSpeech,
    Transcript,
    TranscriptSegment,
    TranscriptStream,
    WordTiming,
)
from speech_api.engines.manager import ModelManager

__all__ = [
    "ModelManager",
    "Speech",
    "SpeechToText",
    "TextToSpeech",
    "Transcript",
    "TranscriptSegment",
    "TranscriptStream",
    "WordTiming",
]
