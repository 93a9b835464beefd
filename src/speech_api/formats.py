"""Every list and limit the API exposes, defined once.

The Pydantic schemas (and so the OpenAPI document), the CDK stack's gateway request models,
the CLI's choices, the encoder and the upload validation all derive from these tables.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

# The longest text one request may speak (OpenAI's limit too). MAX_TEXT_CHARS may lower it.
MAX_TEXT_CHARS = 4096
# The longest piece of text an engine synthesizes at once: longer sentences are cut at a clause
# boundary or a space (engines/sentences.py). Piper's memory grows by about 1.2 MB per character
# of a sentence (250 characters +0.29 GB, 1,000 +1.2 GB, measured here), Tacotron's attention
# with it. At 150 a served process still peaked +306 MB on one long /tts (freed pieces are not
# all reused by the next); 100 keeps it well under that and most sentences whole.
MAX_SENTENCE_CHARS = 100

# Vocabulary hints (`keywords[]` of /v1/audio/transcriptions): how many, and how long each.
# What reaches Whisper is also bounded by its context (half of it, 223 tokens; checked there).
MAX_KEYWORDS = 100
MAX_KEYWORD_CHARS = 100

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


# What decoded input may declare. Real recordings run from 8 kHz telephony to 192 kHz studio
# masters with at most 7.1 channels; beyond that a header is lying, and believing it is how a
# tiny file makes the resampler allocate gigabytes (a 1 Hz WAV resampled to 16 kHz).
SOURCE_SAMPLE_RATES = (4_000, 192_000)
MAX_SOURCE_CHANNELS = 8
# Decoding may take this long plus a share of the audio's length limit (normal clips decode
# at 100x real time or more here); past it the file is refused, not decoded to the end.
DECODE_BASE_S = 2.0
DECODE_S_PER_AUDIO_S = 0.1
# Memory one decode may allocate beyond its input (speech_api.decoder caps its process at this).
# Real files need a few MB (a 4 h AAC track's MP4 index is about 20 MB); containers whose
# tables declare tens of millions of entries ask FFmpeg for gigabytes on open.
DECODE_MEMORY_MB = 128


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
# OpenAI's speech API names the same formats, less the generic "ogg".
SPEECH_FORMATS = tuple(name for name in OUTPUT_FORMATS if name != "ogg")
SpeechFormat = Literal[SPEECH_FORMATS]  # type: ignore[valid-type]

# Transcript renderings (`response_format`) and the file extension each is saved with.
TRANSCRIPT_FORMATS: dict[str, str] = {
    "json": "json",
    "text": "txt",
    "srt": "srt",
    "vtt": "vtt",
    "verbose_json": "json",
    # OpenAI's speaker-labelled segments (gpt-4o-transcribe-diarize's format).
    "diarized_json": "json",
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

# Whisper's language codes (multilingual models; English-only models take "en" alone). Checked
# against faster-whisper's own list by the tests; kept here so the light API function can
# validate an upload's language without importing the engine.
_WHISPER_CODES = """
af am ar as az ba be bg bn bo br bs ca cs cy da de el en es et eu fa fi fo fr gl gu ha haw
he hi hr ht hu hy id is it ja jw ka kk km kn ko la lb ln lo lt lv mg mi mk ml mn mr ms mt my
ne nl nn no oc pa pl ps pt ro ru sa sd si sk sl sn so sq sr su sv sw ta te tg th tk tl tr tt
uk ur uz vi yi yo zh yue
"""
WHISPER_LANGUAGES = frozenset(_WHISPER_CODES.split())

# Names OpenAI clients send. Each transcription model means the configured STT model (or, for
# gpt-4o-*, the same Whisper model: clients pick those names, we answer with what we run); each
# speech model means the configured TTS engine. Dated snapshots (NAME-YYYY-MM-DD) are aliases
# of their family. The diarization model is the same Whisper model with speaker labels
# (speech_api.diarization).
OPENAI_DIARIZE_MODEL = "gpt-4o-transcribe-diarize"
OPENAI_STT_MODELS = (
    "whisper-1",
    "gpt-transcribe",
    "gpt-4o-transcribe",
    "gpt-4o-mini-transcribe",
    OPENAI_DIARIZE_MODEL,
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
# Speaker labels (diarization): at most this many speakers, as Amazon Transcribe.
MAX_SPEAKERS = 30
# `include[]` values of `/v1/audio/transcriptions` that are honoured (with response_format json).
TRANSCRIPTION_INCLUDES = ("logprobs",)

# --- Long recordings: the upload worker and `speech-api transcribe` --------------------------
# Synchronous /stt keeps MAX_AUDIO_SECONDS (API Gateway's 29 s); the asynchronous paths take
# any length up to a limit derived from the time the worker has.
#
# Seconds of worker time per second of audio, with Whisper `base` int8 on 2 CPU cores: `make
# bench` measured 0.056 on joined dev clips (README, Performance); this leaves about a 2x
# margin for speech-dense audio and full-window fallbacks. Lambda gives a function about one
# vCPU per 1,769 MB, so a worker of at least 3,538 MB runs at this rate or faster.
LONG_AUDIO_RTF = 0.12
# Speaker labels cost Whisper's word timings and the speaker encoder on top (docs/speakers.md:
# the target is at most 30 % more): a diarized recording counts as this much more audio
# against the worker's time, and its length limit is that much shorter.
DIARIZATION_TIME_FACTOR = 1.3
# A recording is accepted when its estimated time, this fixed allowance (cold start: image,
# model load; download and decoding) included, fills at most this share of the time left.
LONG_AUDIO_OVERHEAD_S = 60.0
LONG_AUDIO_TIME_SHARE = 0.75
# A worker that dies mid-file (timeout, out of memory, killed) is retried; after this many
# attempts the file gets its .error.json and its message goes to the dead-letter queue.
MAX_WORKER_ATTEMPTS = 3
# Progress records (transcripts/<id>.progress.json) are rewritten at most this often.
PROGRESS_INTERVAL_S = 10.0
# A callback URL travels as the upload's S3 user metadata, which holds 2 KB in all.
MAX_CALLBACK_URL_CHARS = 1000
# A callback is tried this many times (waiting 1 s, then 2 s), each within CALLBACK_TIMEOUT_S.
CALLBACK_ATTEMPTS = 3


# A running worker checks a decoded recording against the time its invocation has left; by
# then the cold start, the download and the decoding are behind it, and what remains besides
# transcribing (loading the model on first use, writing four objects) takes this long.
WORKER_FINISH_S = 10.0


def long_audio_limit_s(time_s: float, rtf: float = LONG_AUDIO_RTF) -> int:
    """The longest recording (seconds of audio) a worker with ``time_s`` seconds can finish,
    with margin, cold start, download and decoding included: what the CDK stack sets as
    LONG_AUDIO_MAX_SECONDS from the worker's timeout."""
    return max(0, int((time_s - LONG_AUDIO_OVERHEAD_S) * LONG_AUDIO_TIME_SHARE / rtf))


def worker_audio_limit_s(time_left_s: float, rtf: float = LONG_AUDIO_RTF) -> int:
    """The longest decoded recording a running worker can still transcribe in ``time_left_s``
    (no fixed allowance for work already done: a 10 s clip fits in an invocation with 60 s
    left). A longer one waits for a delivery with more time, which is not a failure."""
    return max(0, int((time_left_s - WORKER_FINISH_S) * LONG_AUDIO_TIME_SHARE / rtf))


def min_worker_timeout_s(rtf: float = LONG_AUDIO_RTF, audio_s: float = 60.0) -> int:
    """The shortest worker timeout that accepts ``audio_s`` of audio (default: a minute, what
    /stt takes; the upload path exists for what it does not): shorter fails at synth."""
    return int(-(-(audio_s * rtf / LONG_AUDIO_TIME_SHARE + LONG_AUDIO_OVERHEAD_S) // 1))
