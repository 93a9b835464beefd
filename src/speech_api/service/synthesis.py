"""Text to speech: stored under a public URL (`/tts`) or streamed (`/v1/audio/speech`, the
CLI), on this process's engine. `SpeechService` chooses at start-up between this and the GPU
endpoint (`remote_synthesis`), which follow one `Synthesizer` protocol."""

from __future__ import annotations

import base64
import itertools
import threading
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from typing import Protocol

from speech_api.config import Settings
from speech_api.engines import Speech, SpeechStream, TextToSpeech, registry
from speech_api.engines.base import StreamProgress
from speech_api.errors import (
    InvalidRequestError,
    SpeechAPIError,
    SpeechTooLongError,
    SynthesisTimeLimitError,
    UnknownVoiceError,
)
from speech_api.formats import OUTPUT_FORMATS
from speech_api.machine import usable_cores
from speech_api.openai_names import OPENAI_TTS_MODELS, OPENAI_VOICES, openai_model
from speech_api.schemas import SpeechRequest, TTSRequest, TTSResponse
from speech_api.service import narration
from speech_api.service.models import ModelManager
from speech_api.subtitles import captions_srt, captions_vtt
from speech_api.text import Script, Words, read, voice_language
from speech_api.tts_cache import TTSCache
from speech_api.work_limits import WorkLimit, limited, work_limit


class Synthesizer(Protocol):
    """Where speech is made: here (`LocalSynthesis`) or on the GPU endpoint (`SageMakerTTS`).
    Requests arrive with their text already checked (`checked_text`)."""

    def synthesize(self, request: TTSRequest) -> TTSResponse:
        """Speak the text into the bucket's public prefix; its public URL."""
        ...

    def speech(self, request: SpeechRequest) -> SpeechStream:
        """OpenAI's speech request: the encoded audio."""
        ...


def tts_model_names(settings: Settings) -> list[str]:
    return [*OPENAI_TTS_MODELS, settings.tts.engine]


class LocalSynthesis:
    def __init__(self, settings: Settings, models: ModelManager, cache: TTSCache):
        self.settings = settings
        self.models = models
        self.cache = cache

    def engine(self) -> TextToSpeech:
        return self.models.tts()

    def script(self, engine: TextToSpeech, voice: str, text: str, text_type: str) -> Script:
        """The text read as this voice will say it (speech_api.text), checked against what
        the engine can do (400 otherwise)."""
        script = read(text, text_type, language=voice_language(voice, engine.model))
        narration.check_engine(self.models.tts_spec(), engine, script, voice)
        return script

    @cached_property
    def _whole_speech(self) -> threading.BoundedSemaphore:
        """Speech made whole before the answer (/tts) holds all its audio until it is encoded:
        16 at once, sentence by sentence through the engine's slots, held 16 texts' audio
        together (three bursts took RSS from 426 to 1,200 MB). So at most this many are made
        at once (TTS_MAX_CONCURRENT, default one per core); the others wait for a turn, their
        text only, within their time limit."""
        return threading.BoundedSemaphore(self.settings.tts.max_concurrent or usable_cores())

    @contextmanager
    def _whole_speech_slot(self, limit: WorkLimit):
        left = limit.left_s()
        if not self._whole_speech.acquire(timeout=max(0.0, left) if left is not None else None):
            raise SynthesisTimeLimitError(
                f"No synthesis slot came free within {self.settings.tts.time_limit_s:g} s "
                "(TTS_TIME_LIMIT_S): the server is busy. Retry shortly."
            )
        try:
            yield
        finally:
            self._whole_speech.release()

    def synthesize(self, request: TTSRequest) -> TTSResponse:
        """Content-addressed, so the same request is a cache hit."""
        text = request.text
        fmt = request.format or self.settings.tts.default_format
        engine = self.engine()
        self._check_speed(request.speed)
        if request.captions:
            self._refuse_captions()
        voice = self.resolve_voice(engine, request.voice)
        script = self.script(engine, voice, text, request.text_type)
        audio_s = self._check_speech(engine, script, voice, request.speed, streamed=False)
        key = self.cache.key(
            text=text,
            engine=engine.engine,
            voice=voice,
            model=engine.model,
            fmt=fmt,
            speed=request.speed,
            text_type=request.text_type,
        )
        common = {
            "url": self.cache.url(key),
            "key": key,
            "format": fmt,
            "content_type": OUTPUT_FORMATS[fmt].content_type,
            "engine": engine.engine,
            "voice": voice,
        }
        if request.captions:
            common["captions"] = self.cache.caption_urls(key)
        cached = self.cache.get(key)
        # Audio stored without captions is made again with them (an engine that samples noise
        # speaks a little differently each run: the words must be timed on the audio served).
        words = self.cache.get_words(key) if cached and request.captions else None
        if cached is not None and (words is not None or not request.captions):
            return TTSResponse(
                **common,
                duration_s=cached.duration_s,
                sample_rate=cached.sample_rate,
                cached=True,
                words=words,
            )
        from speech_api.audio import encode_audio  # PyAV: only where audio is made

        with (
            self._work_limit(audio_s, request.speed, streamed=False) as limit,
            self._whole_speech_slot(limit),
        ):
            speech = _spoken(
                narration.speak,
                engine,
                script,
                voice=voice,
                speed=request.speed,
                speeds=self.models.tts_spec().speeds,
                words=request.captions,
            )
            encoded = encode_audio(speech.samples, speech.sample_rate, fmt)
            timed = speech.words
            del speech  # only the encoded audio (and the words) go on
        if request.captions:
            words = [
                {"word": w.word, "start": round(w.start, 3), "end": round(w.end, 3)} for w in timed
            ]
            self.cache.put_captions(
                key,
                words,
                srt=captions_srt(timed),
                vtt=captions_vtt(timed),
                encoded=encoded,
            )
        self.cache.put(key, encoded, engine=engine.engine, voice=voice)
        return TTSResponse(
            **common,
            duration_s=encoded.duration_s,
            sample_rate=encoded.sample_rate,
            cached=False,
            words=words,
        )

    def _refuse_captions(self) -> None:
        spec = self.models.tts_spec()
        if not spec.captions:
            able = [e.name for e in registry.TTS_ENGINES if e.captions]
            raise InvalidRequestError(
                f"captions: the {spec.name} engine cannot time the words it speaks "
                f"({', '.join(able)} can: TTS_ENGINE={able[0]}). Leave captions out.",
                param="captions",
                code="captions_unsupported",
            )

    def speech(self, request: SpeechRequest) -> SpeechStream:
        if request.model != self.settings.tts.engine and not openai_model(
            request.model, OPENAI_TTS_MODELS
        ):
            raise InvalidRequestError(
                f"Unknown model '{request.model}'. Available: "
                f"{', '.join(tts_model_names(self.settings))}.",
                param="model",
                code="model_not_found",
            )
        engine = self.engine()
        streamed = self.settings.streamed_responses
        self._check_speed(request.speed)
        voice = self.resolve_voice(engine, request.voice)
        script = self.script(engine, voice, request.input, "text")
        audio_s = self._check_speech(engine, script, voice, request.speed, streamed=streamed)
        with self._work_limit(audio_s, request.speed, streamed=streamed) as limit:
            return self._stream(
                engine, script, voice, request.response_format, request.speed, limit
            )

    def speak(
        self, text: str, *, voice: str | None, fmt: str, speed: float, text_type: str = "text"
    ) -> SpeechStream:
        """Speech in any output format (the CLI's `-o FILE`), with no time limit."""
        engine = self.engine()
        voice = self.resolve_voice(engine, voice)
        script = self.script(engine, voice, text, text_type)
        return self._stream(engine, script, voice, fmt, speed)

    def _stream(
        self,
        engine: TextToSpeech,
        script: Script,
        voice: str,
        fmt: str,
        speed: float,
        limit: WorkLimit | None = None,
    ) -> SpeechStream:
        speeds = self.models.tts_spec().speeds
        pieces = narration.stream(engine, script, voice=voice, speed=speed, speeds=speeds)
        # The first sentence is synthesized before answering, so the sample rate is known and
        # a failure is still a clean error rather than a broken stream.
        first = _spoken(next, pieces, None)
        from speech_api.audio import StreamEncoder  # PyAV: only where audio is made

        encoder = StreamEncoder(fmt, first.sample_rate)
        progress = StreamProgress()

        def chunks() -> Iterator[bytes]:
            for piece in itertools.chain([first], pieces):
                chunk = encoder.feed(piece.samples)
                progress.audio_s += len(piece.samples) / piece.sample_rate
                yield chunk
            yield encoder.close()

        media_type = OUTPUT_FORMATS[fmt].content_type
        # Each later sentence is made under this request's limits, from whichever thread.
        return SpeechStream(
            media_type,
            encoder.sample_rate,
            limited(chunks(), limit),
            voice=voice,
            progress=progress,
        )

    def _check_speed(self, speed: float) -> None:
        """Refuse, before any work, a speed the engine does not make."""
        spec = self.models.tts_spec()
        if not spec.speaks_at(speed):
            low, high = spec.speeds
            raise InvalidRequestError(
                f"speed: the {spec.name} engine speaks at {low:g} to {high:g}, not {speed:g}.",
                param="speed",
                code="invalid_value",
            )

    def _estimate(
        self, engine: TextToSpeech, script: Script, voice: str, speed: float
    ) -> tuple[float, float]:
        """(seconds of speech, seconds of synthesis) the script takes: by its characters (the
        engine's cost figures, each stretch at its own speed, pauses as audio that costs
        nothing to make), or by what it expands to where the engine can count that (its
        spec's `counts_speech`) and it says more: digits, symbols and other scripts are read
        out in full (300 characters of Chinese make 238 s of speech in an English voice)."""
        spec = self.models.tts_spec()
        audio_s, work_s = narration.estimate_s(spec, script, speed)
        if spec.counts_speech:
            try:
                spoken_s = script.pause_s + sum(
                    engine.speech_estimate_s(  # type: ignore[attr-defined]  (counts_speech)
                        span.spoken,
                        voice=voice,
                        speed=narration.span_speed(speed, span, spec.speeds),
                    )
                    for span in script.spans
                    if isinstance(span, Words) and span.has_speech
                )
            except ValueError as exc:  # the phonemizer refused the text: the input's fault
                raise InvalidRequestError(
                    f"The text could not be synthesized: {exc}", param="text", code="no_speech"
                ) from exc
            if spoken_s > audio_s:
                work_s *= spoken_s / audio_s if audio_s > 0 else 1.0
                audio_s = spoken_s
        return audio_s, work_s

    def max_speech_s(self, speed: float) -> float:
        """The most speech one request may make (TTS_MAX_SPEECH_S at speed 1)."""
        return self.settings.tts.max_speech_s / speed

    def _check_speech(
        self, engine: TextToSpeech, script: Script, voice: str, speed: float, *, streamed: bool
    ) -> float:
        """Refuse, before any work, speech longer than TTS_MAX_SPEECH_S (pauses included), and
        speech that would not be ready within TTS_TIME_LIMIT_S (the gateway would answer 504
        after the work was spent; a streamed answer starts with its first sentence and has no
        such bound). Returns the estimated seconds of speech."""
        spec = self.models.tts_spec()
        limit = self.settings.tts.time_limit_s
        audio_s, work_s = self._estimate(engine, script, voice, speed)
        most = self.max_speech_s(speed)
        if audio_s > most:
            raise SpeechTooLongError(
                f"This text ({script.written_chars} characters) makes about {audio_s:.0f} s of "
                f"speech at speed {speed:g} (numbers, symbols and other scripts are read out in "
                f"full, pauses count); one request may make at most {most:.0f} s "
                "(TTS_MAX_SPEECH_S). Split the text into several requests or use POST /tts/jobs.",
                param="text",
            )
        if streamed or work_s <= limit:
            return audio_s
        fits = spec.cost.chars_within(speed, limit)
        faster = spec.cost.work_follows_speed and speed < 1
        chars = len(script.spoken)
        raise SpeechTooLongError(
            f"This text ({chars} characters, about {audio_s:.0f} s of speech at speed "
            f"{speed:g}) would take about {work_s:.0f} s to synthesize with {spec.name}; here "
            f"speech must be ready within {limit:g} s (TTS_TIME_LIMIT_S; API Gateway ends "
            f"requests at 29 s). Up to {fits} characters fit at speed {speed:g}: split the "
            "text into several requests or use POST /tts/jobs"
            + (", or use a faster speed." if faster else "."),
            param="text",
        )

    @contextmanager
    def _work_limit(self, audio_s: float, speed: float, *, streamed: bool):
        """What bounds the synthesis as it runs, whatever the estimate said: the speech made
        (TTS_MAX_SPEECH_S), and the time (TTS_TIME_LIMIT_S when the answer waits for all of it;
        TTS_STREAM_TIME_LIMIT_S, where set, for a stream). Out of time, the text is blamed
        (400) only when it made far more speech than estimated; otherwise the server was too
        busy (503)."""
        tts = self.settings.tts
        limit_s = tts.stream_time_limit_s if streamed else tts.time_limit_s
        most = self.max_speech_s(speed)
        running: list[WorkLimit] = []
        setting = "TTS_STREAM_TIME_LIMIT_S" if streamed else "TTS_TIME_LIMIT_S"

        def over_time() -> SpeechAPIError:
            made = running[0].audio_s if running else 0.0
            if made > 1.5 * audio_s + 5:
                return SpeechTooLongError(
                    f"Synthesizing this text took longer than {limit_s:g} s ({setting}) and was "
                    f"stopped: it made {made:.0f} s of speech by then, more than the "
                    f"{audio_s:.0f} s estimated from it (numbers, symbols and other scripts are "
                    "read out in full). Split the text into several requests.",
                    param="text",
                )
            return SynthesisTimeLimitError(
                f"The speech was not ready within {limit_s:g} s ({setting}): the server is "
                f"busy ({made:.0f} of about {audio_s:.0f} s of speech made). Retry shortly."
            )

        def over_audio(made_s: float) -> SpeechTooLongError:
            return SpeechTooLongError(
                f"This text makes more than {most:.0f} s of speech at speed {speed:g} (the "
                f"most one request may make, TTS_MAX_SPEECH_S; {made_s:.0f} s made when it "
                "was stopped). Split the text into several requests.",
                param="text",
            )

        with work_limit(
            time_limit_s=limit_s, over_time=over_time, max_audio_s=most, over_audio=over_audio
        ) as limit:
            running.append(limit)
            yield limit

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
        engine = self.engine()
        installed = engine.voices()
        table = self.voice_aliases(engine)
        unavailable = {a: v for a, v in table.items() if v not in installed}
        return {
            "voices": installed,
            "default": engine.default_voice,
            "aliases": {a: v for a, v in table.items() if v in installed},
            "unavailable": unavailable,
            "notes": [
                *shared_voice_notes(table, installed),
                *(install_hint(engine.engine, v) for v in dict.fromkeys(unavailable.values())),
            ],
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
                f"Installed: {', '.join(installed)}. {install_hint(engine.engine, table[voice])}",
                param="voice",
                code="voice_not_installed",
            )
        usable = [*installed, *(a for a, v in table.items() if v in installed)]
        raise UnknownVoiceError(
            f"Unknown voice '{voice}'. Available: {', '.join(usable)}.", param="voice"
        )


def shared_voice_notes(table: dict[str, str], installed: list[str]) -> list[str]:
    """Say so when OpenAI's voice names play one voice between them: a caller choosing
    `nova` over `onyx` should not expect two different speakers."""
    sharing: dict[str, list[str]] = {}
    for alias in OPENAI_VOICES:
        if table.get(alias) in installed:
            sharing.setdefault(table[alias], []).append(alias)
    return [
        f"OpenAI's voice names {', '.join(names)} all play the one voice {voice}. "
        "TTS_VOICE_ALIASES maps them to other installed voices (alias=voice,...)."
        for voice, names in sharing.items()
        if len(names) > 1
    ]


def install_hint(engine: str, voice: str) -> str:
    """How to install a configured voice that is missing (the images do it at build time), as
    the engine's spec says."""
    try:
        how = registry.tts_engine(engine).voice_install
    except KeyError:  # an engine served from elsewhere (a GPU endpoint)
        how = ""
    if not how:
        return f"Install the voice {voice} for the {engine} engine, or change its alias."
    return how.format(voice=voice)


def checked_text(text: str, max_chars: int) -> str:
    """Text as engines can take it (`speakable_text`), refused past ``max_chars``: checked
    here, before the request goes to whichever synthesizer, local or remote."""
    text = speakable_text(text)
    if len(text) > max_chars:
        raise InvalidRequestError(
            f"text is longer than {max_chars} characters.", param="text", code="text_too_long"
        )
    return text


def refuse_instructions(request: SpeechRequest) -> None:
    if request.instructions and request.instructions.strip():
        raise InvalidRequestError(
            "instructions is not supported: the speech engines here cannot follow style "
            "instructions. Leave it out.",
            param="instructions",
            code="unsupported_parameter",
        )


def speakable_text(text: str) -> str:
    """Text as engines can take it: control characters (NUL, escape, ...) become spaces,
    whitespace collapses within lines; line breaks stay, one blank line at most (they are
    Markdown's structure: paragraphs, headings, list items). Raises when nothing is left."""
    lines = [
        " ".join("".join(" " if unicodedata.category(c) == "Cc" else c for c in line).split())
        for line in text.splitlines()
    ]
    cleaned = "\n".join(
        line for i, line in enumerate(lines) if line or (i and lines[i - 1])
    ).strip()
    if not cleaned:
        raise InvalidRequestError("The text has nothing to speak.", param="text", code="no_speech")
    return cleaned


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
