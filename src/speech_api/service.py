"""What the API does, independent of HTTP: synthesize to a public URL, transcribe bytes."""

from __future__ import annotations

import hashlib
import json
import unicodedata
from functools import cached_property, partial

from starlette.concurrency import run_in_threadpool

from speech_api.audio import OUTPUT_FORMATS, decode_audio, encode_audio
from speech_api.config import Settings
from speech_api.engines import (
    SpeechToText,
    TextToSpeech,
    Transcript,
    get_stt_engine,
    get_tts_engine,
)
from speech_api.errors import EmptyAudioError, InvalidRequestError, UnknownVoiceError
from speech_api.schemas import TranscriptionResponse, TTSRequest, TTSResponse
from speech_api.storage import ObjectStorage

# Bump when the synthesis pipeline changes audibly, so cached objects are not reused.
_TTS_CACHE_VERSION = 1


def tts_object_key(
    prefix: str,
    *,
    text: str,
    engine: str,
    voice: str,
    model: str,
    fmt: str,
    speed: float,
    extension: str,
) -> str:
    """A content-addressed key: everything that changes the audio goes into the hash, and no
    user text ever appears in the key itself."""
    material = json.dumps(
        {
            "v": _TTS_CACHE_VERSION,
            "text": text,
            "engine": engine,
            "voice": voice,
            "model": model,
            "format": fmt,
            "speed": round(speed, 4),
        },
        sort_keys=True,
        ensure_ascii=False,
    )
    digest = hashlib.sha256(material.encode("utf-8")).hexdigest()
    return f"{prefix}tts/{digest}.{extension}"


class SpeechService:
    def __init__(self, settings: Settings, storage: ObjectStorage | None = None):
        self.settings = settings
        self.storage = storage or ObjectStorage(settings)

    async def run(self, fn, /, *args, **kwargs):
        """Run blocking work (model inference, S3 calls) off the event loop. No global lock:
        CTranslate2 queues concurrent transcriptions itself, and cache hits never wait
        behind inference."""
        return await run_in_threadpool(partial(fn, *args, **kwargs))

    def stt_engine(self) -> SpeechToText:
        return get_stt_engine(self.settings.stt, self.settings.model_cache_dir)

    def tts_engine(self) -> TextToSpeech:
        return get_tts_engine(self.settings.tts, self.settings.model_cache_dir)

    def transcribe_audio(self, data: bytes, *, language: str | None = None) -> Transcript:
        if not data:
            raise EmptyAudioError("The request contains no audio.", param="file")
        audio = decode_audio(data, max_seconds=self.settings.max_audio_seconds)
        return self.stt_engine().transcribe(audio.samples, language=normalize_language(language))

    def transcribe(self, data: bytes, *, language: str | None = None) -> TranscriptionResponse:
        result = self.transcribe_audio(data, language=language)
        return TranscriptionResponse(
            text=result.text,
            language=result.language,
            language_probability=result.language_probability,
            duration_s=result.duration_s,
            segments=[{"start": s.start, "end": s.end, "text": s.text} for s in result.segments],
            model=self.settings.stt.model,
        )

    @cached_property
    def remote_tts(self):
        from speech_api.remote import SageMakerTTS

        return SageMakerTTS(self.settings, self.settings.tts.sagemaker_endpoint)

    def synthesize(self, request: TTSRequest) -> TTSResponse:
        if self.settings.tts.sagemaker_endpoint:
            return self.remote_tts.synthesize(request)
        text = speakable_text(request.text)
        if len(text) > self.settings.max_text_chars:
            raise InvalidRequestError(
                f"text is longer than {self.settings.max_text_chars} characters.",
                param="text",
                code="text_too_long",
            )
        fmt = request.format or self.settings.tts.default_format
        engine = self.tts_engine()
        voice = request.voice or engine.default_voice
        if voice not in engine.voices():
            raise UnknownVoiceError(
                f"Unknown voice '{voice}'. Available: {', '.join(engine.voices())}.",
                param="voice",
            )
        key = tts_object_key(
            self.settings.public_prefix,
            text=text,
            engine=engine.engine,
            voice=voice,
            model=engine.model,
            fmt=fmt,
            speed=request.speed,
            extension=OUTPUT_FORMATS[fmt].extension,
        )
        common = {
            "url": self.storage.public_url(key),
            "key": key,
            "format": fmt,
            "content_type": OUTPUT_FORMATS[fmt].content_type,
            "engine": engine.engine,
            "voice": voice,
        }

        existing = self.storage.head(key)
        if existing is not None and "duration-s" in existing:
            return TTSResponse(
                **common,
                duration_s=float(existing["duration-s"]),
                sample_rate=int(existing["sample-rate"]),
                cached=True,
            )

        speech = synthesize_or_refuse(engine, text, voice=voice, speed=request.speed)
        if len(speech.samples) == 0:
            raise InvalidRequestError(
                "The text produced no speech (nothing pronounceable).",
                param="text",
                code="no_speech",
            )
        encoded = encode_audio(speech.samples, speech.sample_rate, fmt)
        self.storage.put(
            key,
            encoded.data,
            content_type=encoded.content_type,
            metadata={
                "duration-s": f"{encoded.duration_s}",
                "sample-rate": f"{encoded.sample_rate}",
                "engine": engine.engine,
                "voice": voice,
            },
        )
        return TTSResponse(
            **common, duration_s=encoded.duration_s, sample_rate=encoded.sample_rate, cached=False
        )


def normalize_language(language: str | None) -> str | None:
    if language is None:
        return None
    language = language.strip().lower()
    return language or None


def speakable_text(text: str) -> str:
    """Text as engines can take it: control characters (NUL, escape, ...) become spaces,
    whitespace collapses. Raises when nothing is left to say."""
    cleaned = " ".join(
        "".join(" " if unicodedata.category(ch) == "Cc" else ch for ch in text).split()
    )
    if not cleaned:
        raise InvalidRequestError("The text has nothing to speak.", param="text", code="no_speech")
    return cleaned


def synthesize_or_refuse(engine: TextToSpeech, text: str, *, voice: str, speed: float):
    try:
        return engine.synthesize(text, voice=voice, speed=speed)
    except ValueError as exc:  # the phonemizer refused this text: the input's fault
        raise InvalidRequestError(
            f"The text could not be synthesized: {exc}", param="text", code="no_speech"
        ) from exc
