"""What the API does, independent of HTTP: transcribe audio, synthesize speech to a public URL
or as a stream, locally or on the GPU endpoint. Every entry point (the /stt, /tts and /v1
routes, the upload worker, the CLI) calls this one class."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import tempfile
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from speech_api.audio import StreamEncoder, decode_audio, decode_file, encode_audio
from speech_api.config import Settings
from speech_api.engines import (
    ModelManager,
    Speech,
    SpeechToText,
    TextToSpeech,
    Transcript,
    TranscriptStream,
)
from speech_api.errors import (
    EmptyAudioError,
    InvalidRequestError,
    SpeechTooLongError,
    UnknownVoiceError,
)
from speech_api.formats import (
    OPENAI_DATED_MODELS,
    OPENAI_STT_MODELS,
    OPENAI_TTS_MODELS,
    OPENAI_VOICES,
    OUTPUT_FORMATS,
    synthesis_chars_within,
    synthesis_estimate_s,
)
from speech_api.schemas import SpeechRequest, TTSRequest, TTSResponse
from speech_api.storage import ObjectStorage

# Bump when the synthesis pipeline changes audibly, so cached objects are not reused.
_TTS_CACHE_VERSION = 1

WHISPER_ALIAS = OPENAI_STT_MODELS[0]
_DATED = re.compile(r"-(\d{4}-\d{2}-\d{2}|\d{4})$")


def openai_model(name: str, family: tuple[str, ...]) -> bool:
    """Whether `name` is one of OpenAI's model names in `family`, or a dated snapshot of one
    (gpt-4o-mini-tts-2025-03-20, tts-1-1106)."""
    return name in family or _DATED.sub("", name) in family


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

    def stt_models(self) -> list[str]:
        """Every name a transcription request may use: OpenAI's (aliases of the default
        model), then the configured and installed models."""
        return [*OPENAI_STT_MODELS, *self.models.stt_names()]

    def tts_models(self) -> list[str]:
        return [*OPENAI_TTS_MODELS, self.settings.tts.engine]

    def model_ids(self) -> list[str]:
        """What /v1/models lists; each one resolves."""
        return list(dict.fromkeys([*self.stt_models(), *self.tts_models(), *OPENAI_DATED_MODELS]))

    def has_model(self, name: str) -> bool:
        """Whether a request may name this model (listed, or a dated OpenAI snapshot)."""
        return (
            name in self.model_ids()
            or openai_model(name, OPENAI_STT_MODELS)
            or openai_model(name, OPENAI_TTS_MODELS)
        )

    def stt_engine(self, model: str | None = None) -> SpeechToText:
        """The engine for a model name callers may use: a configured or installed name, or
        one of OpenAI's (or nothing) for the default."""
        if not model or openai_model(model, OPENAI_STT_MODELS):
            return self.models.stt()
        available = self.models.stt_names()
        if model not in available:
            raise InvalidRequestError(
                f"Unknown model '{model}'. Available: {', '.join(self.stt_models())}.",
                param="model",
                code="model_not_found",
            )
        return self.models.stt(model)

    def _check_tts_model(self, model: str) -> None:
        if model == self.settings.tts.engine or openai_model(model, OPENAI_TTS_MODELS):
            return
        raise InvalidRequestError(
            f"Unknown model '{model}'. Available: {', '.join(self.tts_models())}.",
            param="model",
            code="model_not_found",
        )

    def transcribe(
        self, data: bytes, options: TranscriptionOptions = TranscriptionOptions()
    ) -> Transcript:
        engine, samples = self._stt_input(data, options)
        return engine.transcribe(samples, **self._stt_kwargs(options))

    def transcribe_stream(
        self, data: bytes, options: TranscriptionOptions = TranscriptionOptions()
    ) -> TranscriptStream:
        """Decoding starts here (language detection included, so its errors are still clean
        4xx); each segment is decoded as the returned iterator is advanced."""
        engine, samples = self._stt_input(data, options)
        return engine.transcribe_stream(samples, **self._stt_kwargs(options))

    @contextmanager
    def transcribe_recording(
        self,
        source: Path,
        options: TranscriptionOptions = TranscriptionOptions(),
        *,
        max_seconds: float | None = None,
        on_progress: Callable[[float, float], None] | None = None,
        work_dir: Path | None = None,
        check_length: Callable[[float], None] | None = None,
    ) -> Iterator[TranscriptStream]:
        """A recording file of any length up to ``max_seconds`` (default: the long-audio
        limit), the asynchronous paths' way in (upload worker, CLI). The file is decoded to
        16 kHz PCM in a temporary folder first (its length is then known, and memory stays
        flat); the stream decodes as it is consumed, inside this context.
        ``on_progress(seconds done, seconds in all)`` is called once the length is known, then
        as each stretch of audio is transcribed. ``work_dir``: where the PCM goes (default:
        the system's temporary folder). ``check_length(seconds)`` may refuse the decoded
        recording (by raising) before any of it is transcribed."""
        engine = self.stt_engine(options.model)
        limit = self.settings.long_audio_max_seconds if max_seconds is None else max_seconds
        with tempfile.TemporaryDirectory(prefix="speech-api-", dir=work_dir) as work:
            audio = decode_file(source, Path(work) / "audio.pcm", max_seconds=limit)
            if check_length is not None:
                check_length(audio.duration_s)
            report = None
            if on_progress is not None:
                on_progress(0.0, round(audio.duration_s, 3))

                def report(done_s: float) -> None:
                    on_progress(round(done_s, 3), round(audio.duration_s, 3))

            yield engine.transcribe_long(audio, **self._stt_kwargs(options), on_progress=report)

    def _stt_input(self, data: bytes, options: TranscriptionOptions):
        if not data:
            raise EmptyAudioError("The request contains no audio.", param="file")
        engine = self.stt_engine(options.model)
        audio = decode_audio(data, max_seconds=self.settings.max_audio_seconds)
        return engine, audio.samples

    @staticmethod
    def _stt_kwargs(options: TranscriptionOptions) -> dict:
        return {
            "language": normalize_language(options.language),
            "task": options.task,
            "prompt": options.prompt,
            "temperature": options.temperature,
            "word_timestamps": options.word_timestamps,
        }

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
        self._check_time(engine.engine, text, request.speed, streamed=False)
        voice = self.resolve_voice(engine, request.voice)
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
        if request.instructions and request.instructions.strip():
            raise InvalidRequestError(
                "instructions is not supported: the speech engines here cannot follow style "
                "instructions. Leave it out.",
                param="instructions",
                code="unsupported_parameter",
            )
        text = self._checked_text(request.input)
        if self.remote_tts:
            data, media_type, rate = self._sagemaker.speech(request)
            return SpeechStream(media_type, rate or 0, iter([data]))
        self._check_tts_model(request.model)
        engine = self.tts_engine()
        self._check_time(
            engine.engine, text, request.speed, streamed=self.settings.streamed_responses
        )
        voice = self.resolve_voice(engine, request.voice)
        return self._stream(engine, text, voice, request.response_format, request.speed)

    def speak(
        self, text: str, *, voice: str | None = None, fmt: str = "mp3", speed: float = 1.0
    ) -> SpeechStream:
        """Speech in any output format with the local engine (the CLI's `-o FILE`)."""
        text = self._checked_text(text)
        engine = self.tts_engine()
        return self._stream(engine, text, self.resolve_voice(engine, voice), fmt, speed)

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

    def _check_time(self, engine: str, text: str, speed: float, *, streamed: bool) -> None:
        """Refuse, before any work, speech that would not be ready within TTS_TIME_LIMIT_S
        (the gateway would answer 504 after the work was spent). A streamed answer starts
        with its first sentence and has no such bound."""
        limit = self.settings.tts.time_limit_s
        audio_s, work_s = synthesis_estimate_s(engine, len(text), speed)
        if streamed or work_s <= limit:
            return
        fits = synthesis_chars_within(engine, speed, limit)
        raise SpeechTooLongError(
            f"This text ({len(text)} characters, about {audio_s:.0f} s of speech at speed "
            f"{speed:g}) would take about {work_s:.0f} s to synthesize with {engine}; here "
            f"speech must be ready within {limit:g} s (TTS_TIME_LIMIT_S; API Gateway ends "
            f"requests at 29 s). Up to {fits} characters fit at speed {speed:g}: split the "
            "text into several requests"
            + (", or use a faster speed." if engine == "piper" and speed < 1 else "."),
            param="text",
        )

    def _checked_text(self, text: str) -> str:
        text = speakable_text(text)
        if len(text) > self.settings.max_text_chars:
            raise InvalidRequestError(
                f"text is longer than {self.settings.max_text_chars} characters.",
                param="text",
                code="text_too_long",
            )
        return text

    def voice_aliases(self, engine: TextToSpeech) -> dict[str, str]:
        """Alias -> voice, as configured: OpenAI's names play the default voice unless
        TTS_VOICE_ALIASES says otherwise; `es` plays TTS_SPANISH_VOICE."""
        tts = self.settings.tts
        table = dict.fromkeys(OPENAI_VOICES, engine.default_voice)
        if tts.spanish_voice:
            table["es"] = tts.spanish_voice
        table.update(tts.voice_alias_map())
        return table

    def voices(self) -> dict:
        """What `GET /v1/audio/voices` shows: the installed voices, the aliases that play one
        of them, and the configured aliases whose voice is not installed."""
        engine = self.tts_engine()
        installed = engine.voices()
        table = self.voice_aliases(engine)
        return {
            "voices": installed,
            "default": engine.default_voice,
            "aliases": {a: v for a, v in table.items() if v in installed},
            "unavailable": {a: v for a, v in table.items() if v not in installed},
        }

    def resolve_voice(self, engine: TextToSpeech, voice: str | None) -> str:
        """An installed voice for a requested name (a voice, an alias, or None for the
        default). A missing voice is a 400 naming what is there; never a substitute."""
        installed = engine.voices()
        if not voice:
            return engine.default_voice
        if voice in installed:
            return voice
        table = self.voice_aliases(engine)
        if voice in table:
            if table[voice] in installed:
                return table[voice]
            raise UnknownVoiceError(
                f"Voice '{voice}' is configured as '{table[voice]}', which is not installed. "
                f"Installed: {', '.join(installed)}.",
                param="voice",
                code="voice_not_installed",
            )
        usable = [*installed, *(a for a, v in table.items() if v in installed)]
        raise UnknownVoiceError(
            f"Unknown voice '{voice}'. Available: {', '.join(usable)}.", param="voice"
        )


def speech_events(stream: SpeechStream) -> Iterator[dict]:
    """OpenAI's `stream_format=sse`: a `speech.audio.delta` (base64) per encoded chunk, then
    `speech.audio.done`. Its usage is in tokens, which nothing here counts: zeros."""
    for chunk in stream.chunks:
        if chunk:
            yield {"type": "speech.audio.delta", "audio": base64.b64encode(chunk).decode("ascii")}
    yield {
        "type": "speech.audio.done",
        "usage": {"input_tokens": 0, "output_tokens": 0, "total_tokens": 0},
    }


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
