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

# --- How long speech takes to make, per engine ------------------------------------------
# A request whose synthesis cannot finish within TTS_TIME_LIMIT_S is refused before any work
# (400 speech_too_long) rather than answered by the gateway's 504 after the work was spent.
# Seconds of speech per character of text at speed 1: Piper en_US-joe-medium made 205 s of
# audio from 4,096 characters here (0.05); Tacotron2-DDC on LJSpeech speaks about 15
# characters a second (0.065; the corpus's 24 h for 13,100 clips of ~100-character text).
TTS_SPEECH_S_PER_CHAR = {"piper": 0.05, "coqui": 0.065}
# Seconds of synthesis per second of speech, on 2 CPU cores (a 3,008 MB Lambda has about 1.7
# vCPUs): Piper measured 0.03-0.1 (205 s of audio in 16 s at speed 1, 660 s in 63 s at 0.25);
# Coqui Tacotron2-DDC + HiFiGAN 0.2-0.4 with one torch thread. The upper figures: a request is
# refused when it might not finish, not only when it certainly would not.
TTS_SYNTHESIS_RTF = {"piper": 0.1, "coqui": 0.4}


def synthesis_estimate_s(engine: str, chars: int, speed: float) -> tuple[float, float]:
    """(seconds of speech, seconds of synthesis) a text of ``chars`` characters takes. Piper
    makes slower speech by synthesizing longer phonemes (its time follows the audio); Coqui
    synthesizes at its own pace and stretches the result (its time does not depend on speed)."""
    audio_s = chars * TTS_SPEECH_S_PER_CHAR.get(engine, 0.065) / speed
    rtf = TTS_SYNTHESIS_RTF.get(engine, 0.4)
    work_s = audio_s * rtf if engine == "piper" else chars * TTS_SPEECH_S_PER_CHAR[engine] * rtf
    return audio_s, work_s


def synthesis_chars_within(engine: str, speed: float, limit_s: float) -> int:
    """The most characters whose synthesis fits in ``limit_s`` at ``speed``."""
    _, per_char = synthesis_estimate_s(engine, 1, speed)
    return int(limit_s / per_char)


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
