"""What the API does, independent of HTTP: transcribe audio, synthesize speech to a public URL
or as a stream, locally or on the GPU endpoint. Every entry point (the /stt, /tts and /v1
routes, the upload worker, the CLI) calls this one class."""

from __future__ import annotations

import hashlib
import hmac
import json
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property

from speech_api.audio import StreamEncoder, decode_audio, encode_audio
from speech_api.config import Settings
from speech_api.engines import ModelManager, Speech, SpeechToText, TextToSpeech, Transcript
from speech_api.errors import EmptyAudioError, InvalidRequestError, UnknownVoiceError
from speech_api.formats import OUTPUT_FORMATS
from speech_api.schemas import SpeechRequest, TTSRequest, TTSResponse
from speech_api.storage import ObjectStorage

# Bump when the synthesis pipeline changes audibly, so cached objects are not reused.
_TTS_CACHE_VERSION = 1

# Names OpenAI clients send. Whisper's maps to the configured STT model; each voice plays the
# configured default voice; the TTS model names all mean the configured engine.
WHISPER_ALIAS = "whisper-1"
OPENAI_VOICES = (
    "alloy",
    "ash",
    "ballad",
    "coral",
    "echo",
    "fable",
    "nova",
    "onyx",
    "sage",
    "shimmer",
    "verse",
)
OPENAI_TTS_MODELS = ("tts-1", "tts-1-hd", "gpt-4o-mini-tts")


@dataclass(frozen=True)
class TranscriptionOptions:
    task: str = "transcribe"  # or "translate" (to English)
    model: str | None = None  # a configured model name or whisper-1; None: the default
    language: str | None = None
    prompt: str | None = None
    temperature: float | None = None
    word_timestamps: bool = False


@dataclass
class SpeechStream:
    """Encoded audio, produced sentence by sentence as the iterator is advanced (each step is
    blocking model work: advance it off the event loop)."""

    media_type: str
    sample_rate: int
    chunks: Iterator[bytes]


def tts_object_key(
    prefix: str,
    *,
    text: str,
    engine: str,
    voice: str,
    model: str,
    fmt: str,
    speed: float,
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
    return f"{prefix}tts/{digest}.{OUTPUT_FORMATS[fmt].extension}"


class SpeechService:
    def __init__(
        self,
        settings: Settings,
        storage: ObjectStorage | None = None,
        models: ModelManager | None = None,
    ):
        self.settings = settings
        self.storage = storage or ObjectStorage(settings)
        self.models = models or ModelManager(settings)

    # --- speech to text ---------------------------------------------------------------------

    def stt_engine(self, model: str | None = None) -> SpeechToText:
        """The engine for a model name callers may use: a configured name, or whisper-1 (or
        nothing) for the default."""
        if model in (None, "", WHISPER_ALIAS):
            return self.models.stt()
        available = self.models.stt_names()
        if model not in available:
            raise InvalidRequestError(
                f"Unknown model '{model}'. Available: {', '.join([WHISPER_ALIAS, *available])}.",
                param="model",
                code="model_not_found",
            )
        return self.models.stt(model)

    def transcribe(
        self, data: bytes, options: TranscriptionOptions = TranscriptionOptions()
    ) -> Transcript:
        if not data:
            raise EmptyAudioError("The request contains no audio.", param="file")
        engine = self.stt_engine(options.model)
        audio = decode_audio(data, max_seconds=self.settings.max_audio_seconds)
        return engine.transcribe(
            audio.samples,
            language=normalize_language(options.language),
            task=options.task,
            prompt=options.prompt,
            temperature=options.temperature,
            word_timestamps=options.word_timestamps,
        )

    # --- text to speech ---------------------------------------------------------------------

    @property
    def remote_tts(self) -> bool:
        return bool(self.settings.tts.sagemaker_endpoint)

    @cached_property
    def _sagemaker(self):
        from speech_api.engines.sagemaker import SageMakerTTS

        return SageMakerTTS(self.settings)

    def tts_engine(self) -> TextToSpeech:
        return self.models.tts()

    def synthesize(self, request: TTSRequest) -> TTSResponse:
        """Speak the text into the bucket's public prefix (content-addressed, so the same
        request is a cache hit) and return its public URL."""
        text = self._checked_text(request.text)
        if self.remote_tts:
            return self._sagemaker.synthesize(request)
        fmt = request.format or self.settings.tts.default_format
        engine = self.tts_engine()
        voice = self._checked_voice(engine, request.voice or engine.default_voice)
        key = tts_object_key(
            self.settings.public_prefix,
            text=text,
            engine=engine.engine,
            voice=voice,
            model=engine.model,
            fmt=fmt,
            speed=request.speed,
        )
        common = {
            "url": self.storage.public_url(key),
            "key": key,
            "format": fmt,
            "content_type": OUTPUT_FORMATS[fmt].content_type,
            "engine": engine.engine,
            "voice": voice,
        }

        existing = self.storage.stat(key)
        if existing is not None and self._trusted(key, existing.etag, existing.metadata):
            return TTSResponse(
                **common,
                duration_s=float(existing.metadata["duration-s"]),
                sample_rate=int(existing.metadata["sample-rate"]),
                cached=True,
            )

        speech = _spoken(engine.synthesize, text, voice=voice, speed=request.speed)
        encoded = encode_audio(speech.samples, speech.sample_rate, fmt)
        metadata = {
            "duration-s": f"{encoded.duration_s}",
            "sample-rate": f"{encoded.sample_rate}",
            "engine": engine.engine,
            "voice": voice,
        }
        # A single PutObject's ETag is the MD5 of its bytes: signing it binds the signature
        # to exactly these bytes.
        etag = hashlib.md5(encoded.data, usedforsecurity=False).hexdigest()
        if (signature := self._cache_signature(key, etag, metadata)) is not None:
            metadata["signature"] = signature
        self.storage.put(key, encoded.data, content_type=encoded.content_type, metadata=metadata)
        return TTSResponse(
            **common, duration_s=encoded.duration_s, sample_rate=encoded.sample_rate, cached=False
        )

    def _cache_signature(self, key: str, etag: str, metadata: dict[str, str]) -> str | None:
        secret = self.settings.tts.cache_secret
        if secret is None:
            return None
        signed = "\n".join([key, etag, metadata["duration-s"], metadata["sample-rate"]])
        return hmac.new(
            secret.get_secret_value().encode(), signed.encode(), hashlib.sha256
        ).hexdigest()

    def _trusted(self, key: str, etag: str, metadata: dict[str, str]) -> bool:
        """Whether a stored object is audio this service wrote: with a cache secret, its
        signature must match its ETag and the figures we would report; otherwise (AWS, where
        only the TTS role may write there) its metadata must be ours."""
        if "duration-s" not in metadata or "sample-rate" not in metadata:
            return False
        expected = self._cache_signature(key, etag, metadata)
        return expected is None or hmac.compare_digest(expected, metadata.get("signature", ""))

    def speech(self, request: SpeechRequest) -> SpeechStream:
        """OpenAI's speech request: audio streamed back (from the GPU endpoint, whole)."""
        text = self._checked_text(request.input)
        if self.remote_tts:
            data, media_type, rate = self._sagemaker.speech(request)
            return SpeechStream(media_type, rate or 0, iter([data]))
        engine = self.tts_engine()
        known_models = {*OPENAI_TTS_MODELS, engine.engine, engine.model}
        if request.model not in known_models:
            raise InvalidRequestError(
                f"Unknown model '{request.model}'. Available: {', '.join(sorted(known_models))}.",
                param="model",
                code="model_not_found",
            )
        if request.voice in OPENAI_VOICES:
            voice = engine.default_voice
        else:
            voice = self._checked_voice(engine, request.voice, aliases=OPENAI_VOICES)
        return self._stream(engine, text, voice, request.response_format, request.speed)

    def speak(
        self, text: str, *, voice: str | None = None, fmt: str = "mp3", speed: float = 1.0
    ) -> SpeechStream:
        """Speech in any output format with the local engine (the CLI's `-o FILE`)."""
        text = self._checked_text(text)
        engine = self.tts_engine()
        voice = self._checked_voice(engine, voice or engine.default_voice)
        return self._stream(engine, text, voice, fmt, speed)

    def _stream(
        self, engine: TextToSpeech, text: str, voice: str, fmt: str, speed: float
    ) -> SpeechStream:
        pieces = engine.stream(text, voice=voice, speed=speed)
        # The first sentence is synthesized before answering, so the sample rate is known and
        # a failure is still a clean error rather than a broken stream.
        first = _spoken(next, pieces, None)
        encoder = StreamEncoder(fmt, first.sample_rate)

        def chunks() -> Iterator[bytes]:
            yield encoder.feed(first.samples)
            for piece in pieces:
                yield encoder.feed(piece.samples)
            yield encoder.close()

        media_type = OUTPUT_FORMATS[fmt].content_type
        return SpeechStream(media_type, encoder.sample_rate, chunks())

    def _checked_text(self, text: str) -> str:
        text = speakable_text(text)
        if len(text) > self.settings.max_text_chars:
            raise InvalidRequestError(
                f"text is longer than {self.settings.max_text_chars} characters.",
                param="text",
                code="text_too_long",
            )
        return text

    @staticmethod
    def _checked_voice(engine: TextToSpeech, voice: str, *, aliases: tuple[str, ...] = ()) -> str:
        if voice not in engine.voices():
            raise UnknownVoiceError(
                f"Unknown voice '{voice}'. Available: {', '.join([*aliases, *engine.voices()])}.",
                param="voice",
            )
        return voice


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


def _spoken(synthesize, *args, **kwargs) -> Speech:
    """Run a synthesis step; text the phonemizer refuses, or that yields no sound at all, is
    the input's fault (400), not a server error."""
    try:
        speech = synthesize(*args, **kwargs)
    except ValueError as exc:
        raise InvalidRequestError(
            f"The text could not be synthesized: {exc}", param="text", code="no_speech"
        ) from exc
    if speech is None or len(speech.samples) == 0:
        raise InvalidRequestError(
            "The text produced no speech (nothing pronounceable).",
            param="text",
            code="no_speech",
        )
    return speech
