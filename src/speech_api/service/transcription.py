"""Speech to text: a clip in memory (`/stt`, `/v1/audio/transcriptions`), whole or as its
segments are decoded, or a recording file of any length (upload worker, CLI)."""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from speech_api.config import Settings
from speech_api.engines import (
    SpeechToText,
    Transcript,
    TranscriptionOptions,
    TranscriptStream,
)
from speech_api.errors import (
    AudioTooLongError,
    EmptyAudioError,
    InvalidRequestError,
    SpeechAPIError,
    TranscriptionTimeLimitError,
    UnsupportedLanguageError,
)
from speech_api.openai_names import OPENAI_STT_MODELS, openai_model
from speech_api.service.models import ModelManager
from speech_api.service.speakers import (
    MAX_IDENTIFIED_CHANNELS,
    SpeakerLabels,
    check_speaker_options,
    merge_channels,
)
from speech_api.service.upload_limits import DIARIZATION_TIME_FACTOR
from speech_api.work_limits import limited, work_limit


class Transcription:
    def __init__(self, settings: Settings, models: ModelManager):
        self.settings = settings
        self.models = models
        self.speakers = SpeakerLabels(settings, models)

    def model_names(self) -> list[str]:
        """Every name a transcription request may use: OpenAI's (aliases of the default
        model), then the configured and installed models."""
        return [*OPENAI_STT_MODELS, *self.models.stt_names()]

    def engine(self, model: str | None = None) -> SpeechToText:
        """The engine for a model name callers may use: a configured or installed name, or
        one of OpenAI's (or nothing) for the default."""
        if not model or openai_model(model, OPENAI_STT_MODELS):
            return self.models.stt()
        if model not in self.models.stt_names():
            raise InvalidRequestError(
                f"Unknown model '{model}'. Available: {', '.join(self.model_names())}.",
                param="model",
                code="model_not_found",
            )
        return self.models.stt(model)

    def transcribe(
        self, data: bytes, options: TranscriptionOptions = TranscriptionOptions()
    ) -> Transcript:
        check_speaker_options(options)
        # References first: a bad one is refused before the recording is transcribed.
        references = self.speakers.references(options) if options.diarize else []
        engine, samples = self._input(data, options)
        with self._time_limit():
            english = self.english_probability(engine, samples, options)
            if options.diarize:  # speakers are assigned word by word
                transcript = engine.transcribe(samples, replace(options, word_timestamps=True))
            else:
                transcript = engine.transcribe(samples, options)
        if english is not None:
            transcript = dataclasses.replace(transcript, language_probability=english)
        if not options.diarize:
            return transcript
        from speech_api.audio import ArrayAudio

        return self.speakers.label(transcript, ArrayAudio(samples), options, references)

    def transcribe_stream(
        self, data: bytes, options: TranscriptionOptions = TranscriptionOptions()
    ) -> TranscriptStream:
        """Decoding starts here (language detection included, so its errors are still clean
        4xx); each segment is decoded as the returned iterator is advanced, within the same
        time limit. With speakers,
        the whole clip is transcribed and labelled first (speakers are found over all of it)."""
        if options.diarize:
            result = self.transcribe(data, options)
            return TranscriptStream(
                language=result.language,
                language_probability=result.language_probability,
                duration_s=result.duration_s,
                segments=iter(result.segments),
                task=result.task,
                model=result.model,
            )
        check_speaker_options(options)
        engine, samples = self._input(data, options)
        with self._time_limit() as limit:
            english = self.english_probability(engine, samples, options)
            stream = engine.transcribe_stream(samples, options)
        if english is not None:
            stream.language_probability = english
        stream.segments = limited(stream.segments, limit, check=True)
        return stream

    def _time_limit(self):
        """STT_TIME_LIMIT_S on the decoding, checked at each decoder call (work_limits)."""
        limit_s = self.settings.stt.time_limit_s

        def over_time() -> TranscriptionTimeLimitError:
            return TranscriptionTimeLimitError(
                f"Transcribing this audio took longer than {limit_s:g} s (STT_TIME_LIMIT_S) "
                "and was stopped: noise or music can make Whisper decode every window at "
                "every temperature, and a busy server is slower. Retry later, or send long "
                "or difficult recordings to POST /uploads."
            )

        return work_limit(time_limit_s=limit_s, over_time=over_time)

    def english_probability(self, engine, samples, options: TranscriptionOptions) -> float | None:
        """For an English-only model (tiny.en) given no language: how likely the clip is
        English, by an installed multilingual model (engines/stt/language_check.py). Speech in
        another language is refused, naming the model that can transcribe it: the English-only
        model would write invented English and call it English with probability 1.0. None
        where there is nothing to check (no speech), or no multilingual model to check with."""
        if getattr(engine, "multilingual", True) or options.language or options.languages:
            return None
        if options.task != "transcribe":  # translation: refused by the engine, saying why
            return None
        checker = self._multilingual_engine()
        if checker is None:
            return None
        from speech_api.engines.stt.language_check import is_not_english, spoken_language

        detected = spoken_language(checker, samples)
        if detected is None:  # no speech: nothing to refuse (an empty transcript follows)
            return None
        language, probability, english = detected
        if is_not_english(detected):
            raise UnsupportedLanguageError(
                f"This audio does not sound like English (probability {english:.2f}; most "
                f"likely '{language}', {probability:.2f}, by Whisper {checker.name}), and the "
                f"model {engine.name} transcribes English only: it would write invented "
                f"English. Use model={checker.name}, or pass language=en to transcribe it as "
                "English anyway.",
                param="language",
            )
        return round(english, 4)

    def _multilingual_engine(self) -> SpeechToText | None:
        """The first configured or installed model that knows languages (`base`)."""
        for name in self.models.stt_names():
            if name.endswith(".en"):
                continue
            try:
                engine = self.models.stt(name)
            except SpeechAPIError:
                continue
            if getattr(engine, "multilingual", False):
                return engine
        return None

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
        check_speaker_options(options)
        engine = self.engine(options.model)
        limit = self.settings.long_audio_max_seconds if max_seconds is None else max_seconds
        # The time a recording costs: more with speakers, once per channel with channels.
        factor = DIARIZATION_TIME_FACTOR if options.diarize else 1.0
        limit /= factor
        references = self.speakers.references(options)
        from speech_api.audio import decode_channels, decode_file  # PyAV: where audio is read

        with tempfile.TemporaryDirectory(prefix="speech-api-", dir=work_dir) as work:
            if options.channel_identification:
                channels = decode_channels(
                    source, Path(work), max_seconds=limit, max_channels=MAX_IDENTIFIED_CHANNELS
                )
            else:
                channels = [decode_file(source, Path(work) / "audio.pcm", max_seconds=limit)]
            duration = channels[0].duration_s
            total = round(duration * len(channels), 3)  # each channel is transcribed
            if total > limit:  # two channels of a recording under the limit: twice the work
                raise AudioTooLongError.over(limit / len(channels), param="file", seconds=duration)
            if check_length is not None:
                check_length(total * factor)
            reports: list = [None] * len(channels)
            if on_progress is not None:
                on_progress(0.0, total)
                reports = [
                    lambda done_s, c=c: on_progress(round(c * duration + done_s, 3), total)
                    for c in range(len(channels))
                ]
            if options.diarize:
                stream = engine.transcribe_long(
                    channels[0], replace(options, word_timestamps=True), on_progress=reports[0]
                )
                yield self.speakers.label_stream(stream, channels[0], options, references)
            elif options.channel_identification:
                streams = [
                    engine.transcribe_long(audio, options, on_progress=report)
                    for audio, report in zip(channels, reports, strict=True)
                ]
                yield _merged_stream(streams)
            else:
                yield engine.transcribe_long(channels[0], options, on_progress=reports[0])

    def _input(self, data: bytes, options: TranscriptionOptions):
        if not data:
            raise EmptyAudioError("The request contains no audio.", param="file")
        from speech_api.audio import decode_audio  # PyAV: only where audio is read

        engine = self.engine(options.model)
        try:
            audio = decode_audio(data, max_seconds=self.settings.max_audio_seconds)
        except AudioTooLongError as exc:
            raise exc.for_clips() from exc
        return engine, audio.samples


def _merged_stream(streams: list[TranscriptStream]) -> TranscriptStream:
    """One stream over the channels' streams: its segments, each tagged with its channel and
    in time order, come once every channel is decoded."""
    first = max(streams, key=lambda s: s.language_probability)

    def segments() -> Iterator:
        yield from merge_channels(streams, None).segments

    return replace(first, segments=segments(), duration_s=max(s.duration_s for s in streams))
