"""Speech engines behind small protocols; one adapter module per engine, imported lazily."""

from speech_api.engines.base import (
    Speech,
    SpeechToText,
    TextToSpeech,
    Transcript,
    TranscriptSegment,
)
from speech_api.engines.registry import get_stt_engine, get_tts_engine, loaded_models

__all__ = [
    "Speech",
    "SpeechToText",
    "TextToSpeech",
    "Transcript",
    "TranscriptSegment",
    "get_stt_engine",
    "get_tts_engine",
    "loaded_models",
]
