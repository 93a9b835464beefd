"""The service layer: what the API does, with no HTTP in it."""

from speech_api.engines import SpeechStream, TranscriptionOptions
from speech_api.service.speech import SpeechService
from speech_api.service.synthesis import speech_events
from speech_api.service.transcripts import (
    render_transcript,
    transcript_events,
    transcription_response,
)
from speech_api.service.upload_jobs import UploadService

__all__ = [
    "SpeechService",
    "SpeechStream",
    "TranscriptionOptions",
    "UploadService",
    "render_transcript",
    "speech_events",
    "transcript_events",
    "transcription_response",
]
