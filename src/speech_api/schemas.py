"""Request and response bodies of the HTTP API (they define the OpenAPI schema at /docs)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from speech_api.engines import registry
from speech_api.formats import AudioFormat
from speech_api.openai_names import SpeechFormat, SpeechStreamFormat

# The longest text one request may speak (OpenAI's limit too). MAX_TEXT_CHARS may lower it.
MAX_TEXT_CHARS = 4096
# A callback URL travels as the upload's S3 user metadata, which holds 2 KB in all.
MAX_CALLBACK_URL_CHARS = 1000
# Vocabulary hints (`keywords[]` of /v1/audio/transcriptions): how many, and how long each.
# What reaches Whisper is also bounded by its context (half of it, 223 tokens; checked there).
MAX_KEYWORDS = 100
MAX_KEYWORD_CHARS = 100

# The engines that can time the words they speak.
_CAPTIONS = " or ".join(spec.name for spec in registry.TTS_ENGINES if spec.captions)

SpeechText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_TEXT_CHARS)
]


class TTSRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: SpeechText = Field(
        description=f"Text to speak, 1..{MAX_TEXT_CHARS} characters after trimming."
    )
    voice: str | None = Field(None, description="Voice name; the engine's default when absent.")
    format: AudioFormat | None = Field(None, description="Audio format (default mp3).")
    # strict: a JSON number only (true or "2" are not speeds).
    speed: float = Field(
        1.0, ge=0.25, le=4.0, allow_inf_nan=False, strict=True, description="0.25..4.0"
    )
    captions: bool = Field(
        False,
        strict=True,
        description="Also time every word: `words` in the response, and SRT and WebVTT "
        f"captions stored beside the audio ({_CAPTIONS} only).",
    )


class SpeechRequest(BaseModel):
    """OpenAI's `audio.speech.create` body. A field OpenAI has and this service cannot honour
    is a 400 naming it, never dropped silently."""

    model_config = ConfigDict(extra="forbid")

    model: str = Field(
        description="tts-1, tts-1-hd, gpt-4o-mini-tts (dated snapshots too) or the engine name"
    )
    input: str = Field(min_length=1, max_length=MAX_TEXT_CHARS)
    voice: str = Field(description="An installed voice, or an alias (OpenAI's names, `es`)")
    response_format: SpeechFormat = "mp3"
    # strict: a JSON number only (true or "2" are not speeds), as on /tts.
    speed: float = Field(1.0, ge=0.25, le=4.0, allow_inf_nan=False, strict=True)
    stream_format: SpeechStreamFormat = Field(
        "audio", description="audio: the encoded bytes; sse: speech.audio.delta events"
    )
    instructions: str | None = Field(
        None,
        description="Style instructions: refused (400) when not empty; no engine here "
        "can follow them",
    )


class SpokenWord(BaseModel):
    word: str = Field(description="The word as written in the text.")
    start: float = Field(description="Seconds from the start of the audio.")
    end: float


class CaptionFiles(BaseModel):
    srt: str
    vtt: str


class TTSResponse(BaseModel):
    url: str = Field(description="Public URL that serves the audio to an anonymous GET.")
    key: str
    format: AudioFormat
    content_type: str
    duration_s: float
    sample_rate: int
    engine: str
    voice: str
    cached: bool = Field(description="True when identical audio already existed.")
    words: list[SpokenWord] | None = Field(
        None, description="With captions: each word of the text and when it is spoken."
    )
    captions: CaptionFiles | None = Field(
        None, description="With captions: public URLs of the SRT and WebVTT files."
    )


class Segment(BaseModel):
    start: float
    end: float
    text: str


class TranscriptionResponse(BaseModel):
    text: str
    language: str
    language_probability: float
    duration_s: float
    segments: list[Segment]
    model: str


class HealthResponse(BaseModel):
    status: str
    version: str
    stt_model: str
    tts_engine: str
    loaded_models: list[str]


class ErrorBody(BaseModel):
    message: str
    type: str
    code: str
    param: str | None = None


class ErrorResponse(BaseModel):
    error: ErrorBody


class UploadRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    filename: str = Field(max_length=255, description="The client's file name (informational).")
    content_type: str | None = Field(
        None,
        max_length=100,
        description="Audio MIME type, e.g. audio/wav; from the filename's extension when absent.",
    )
    language: str | None = Field(None, max_length=16, description="Language hint for Whisper.")
    callback_url: str | None = Field(
        None,
        max_length=MAX_CALLBACK_URL_CHARS,
        description="POSTed a JSON message when the transcript is done or has failed: https "
        "to a public address (or http to localhost when the server allows it).",
    )


class PresignedForm(BaseModel):
    url: str
    fields: dict[str, str]


class UploadResponse(BaseModel):
    id: str
    key: str
    upload: PresignedForm = Field(description="POST these fields plus `file` to `url`.")
    expires_in: int
    transcript_url: str


class StoredTranscript(TranscriptionResponse):
    id: str
    source_key: str
    etag: str
    created_at: str


class TranscriptProgress(BaseModel):
    audio_s_done: float
    # Known once the recording is decoded (before its first word is transcribed).
    audio_s_total: float | None = None


class PendingTranscript(BaseModel):
    """An upload not transcribed yet: `pending` while it waits for the worker, `processing`
    with its progress (updated every few seconds) while the worker runs."""

    id: str
    status: Literal["pending", "processing"] = "pending"
    progress: TranscriptProgress | None = None
    attempt: int | None = None
    updated_at: str | None = None
