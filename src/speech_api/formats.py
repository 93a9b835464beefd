"""The audio and transcript formats the API speaks, defined once: output audio (container,
codec, media type), transcript renderings and their file extensions, and the audio types an
upload may declare.

The Pydantic schemas (and so the OpenAPI document), the CDK stack's gateway request models,
the CLI's choices, the encoder and the upload validation all derive from these tables.
(OpenAI's names for models, voices and formats: openai_names.py.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class OutputFormat:
    name: str
    container: str
    codec: str
    content_type: str
    sample_format: str
    # Codecs such as Opus only run at fixed rates; None keeps the engine's rate.
    sample_rate: int | None = None

    @property
    def extension(self) -> str:
        return self.name


OUTPUT_FORMATS: dict[str, OutputFormat] = {
    f.name: f
    for f in (
        OutputFormat("mp3", "mp3", "libmp3lame", "audio/mpeg", "s16p"),
        OutputFormat("wav", "wav", "pcm_s16le", "audio/wav", "s16"),
        OutputFormat("ogg", "ogg", "libopus", "audio/ogg", "s16", 48_000),
        OutputFormat("opus", "ogg", "libopus", "audio/ogg", "s16", 48_000),
        OutputFormat("aac", "adts", "aac", "audio/aac", "fltp"),
        OutputFormat("flac", "flac", "flac", "audio/flac", "s16"),
        # Raw 16-bit little-endian mono; the sample rate travels out of band (a header).
        OutputFormat("pcm", "", "", "audio/pcm", "s16"),
    )
}
# Literal[tuple] is Literal[a, b, ...]: the schema's enum is the table's keys.
AudioFormat = Literal[tuple(OUTPUT_FORMATS)]  # type: ignore[valid-type]
# Transcript renderings (`response_format`) and the file extension each is saved with.
TRANSCRIPT_FORMATS: dict[str, str] = {
    "json": "json",
    "text": "txt",
    "srt": "srt",
    "vtt": "vtt",
    "verbose_json": "json",
}
TranscriptFormat = Literal[tuple(TRANSCRIPT_FORMATS)]  # type: ignore[valid-type]
# SubRip's media type: text, though not text/*. Lambda responses carry it as text (Mangum's
# text types), or API Gateway would hand clients the base64 of a binary-looking body.
SRT_MEDIA_TYPE = "application/x-subrip"
# Media types outside text/* and JSON that the app answers with, all text.
TEXT_MEDIA_TYPES = (SRT_MEDIA_TYPE,)
# What the upload worker stores beside transcripts/<id>.json (and GET /transcripts/{id} serves).
STORED_TRANSCRIPT_FORMATS = ("json", "text", "srt", "vtt")
StoredTranscriptFormat = Literal[STORED_TRANSCRIPT_FORMATS]  # type: ignore[valid-type]

# Content types a presigned upload may declare, and the extension its key gets.
UPLOAD_TYPES: dict[str, str] = {
    "audio/wav": "wav",
    "audio/x-wav": "wav",
    "audio/wave": "wav",
    "audio/mpeg": "mp3",
    "audio/mp3": "mp3",
    "audio/flac": "flac",
    "audio/x-flac": "flac",
    "audio/ogg": "ogg",
    "audio/opus": "opus",
    "audio/webm": "webm",
    "video/webm": "webm",
    "audio/mp4": "m4a",
    "audio/x-m4a": "m4a",
    "audio/m4a": "m4a",
    "video/mp4": "mp4",
    "audio/aac": "aac",
    "audio/aiff": "aiff",
    "audio/x-aiff": "aiff",
}
