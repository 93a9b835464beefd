"""Speech engines behind small protocols (base.py); one adapter module per engine (stt/, tts/),
each declaring its spec (spec.py), all of them listed in registry.py. The service loads them
through the registry (service/models.py)."""

from speech_api.engines.base import (
    Speech,
    SpeechStream,
    SpeechToText,
    TextToSpeech,
    Transcript,
    TranscriptionOptions,
    TranscriptSegment,
    TranscriptStream,
    WordTiming,
)

__all__ = [
    "Speech",
    "SpeechStream",
    "SpeechToText",
    "TextToSpeech",
    "Transcript",
    "TranscriptSegment",
    "TranscriptStream",
    "TranscriptionOptions",
    "WordTiming",
]
