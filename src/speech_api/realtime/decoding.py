"""How a live session's audio is decoded: cheaply for partial text, at full quality for the
`completed` transcript.

- Partials: the utterance so far through the loaded Whisper model's parts, trimmed to its
  audio plus a 1 s margin (not padded to the 30 s window), greedy (beam 1), no timestamps, no
  temperature fallback, and at most a few tokens per second of audio, so a decode that loops
  costs little; the words already sent as deltas are its forced prefix, so only the new words
  are generated. A result that looks wrong (no speech, a repeated phrase, the token budget
  used up) gives no delta.
- Finals: `SpeechToText.transcribe`, the same call `/v1/audio/transcriptions` makes (VAD,
  beam 5, trimmed and batched with other requests' clips, full-window fallback), so a live
  transcript is as good as an uploaded one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from speech_api.engines import SpeechToText, TranscriptionOptions
from speech_api.engines.base import pick_language
from speech_api.engines.stt.whisper_guard import repeats_a_phrase
from speech_api.errors import InvalidRequestError
from speech_api.realtime.protocol import ProtocolError, TranscriptionConfig
from speech_api.service.transcription_request import REALTIME, TranscriptionRequest

# Zero frames after the audio: without them the decoder has no silence to stop at.
MARGIN_FRAMES = 100
# Token budget per second of new audio (English speech runs at 3-5; a loop fills any budget).
TOKENS_PER_SECOND = 6
NO_SPEECH = 0.6


def transcription_options(config: TranscriptionConfig, param: str) -> TranscriptionOptions:
    """The session's transcription settings through the one model every entry point uses
    (service/transcription_request.py), or `ProtocolError` naming what is out of bounds."""
    fields = {
        "model": config.model,
        "language": config.language,
        "prompt": config.prompt,
        "keywords": list(config.keywords) or None,
        "languages": list(config.languages) or None,
    }
    try:
        return TranscriptionRequest.parse(fields, REALTIME).options()
    except InvalidRequestError as exc:
        raise ProtocolError(
            exc.message, code=exc.code, param=f"{param}.{exc.param}" if exc.param else param
        ) from exc


@dataclass(frozen=True)
class PartialText:
    text: str | None  # the words after the prefix; None when the decode looked wrong
    language: str


class PartialDecoder:
    """Greedy, trimmed decoding of an utterance so far, on a loaded faster-whisper model."""

    def __init__(self, model):
        self.model = model  # faster_whisper.WhisperModel
        self.window = model.feature_extractor.nb_max_frames
        self.multilingual = bool(model.model.is_multilingual)
        self._suppress: list[int] | None = None

    @classmethod
    def for_engine(cls, engine: SpeechToText) -> PartialDecoder | None:
        """The partial decoder of a Whisper engine; None for an engine without one (its
        sessions get no deltas before `completed`)."""
        decoder = getattr(engine, "decoder", None)
        model = getattr(decoder, "model", None)
        if model is None or not hasattr(model, "feature_extractor"):
            return None
        cached = getattr(engine, "_partial_decoder", None)
        if cached is None:
            cached = cls(model)
            engine._partial_decoder = cached  # type: ignore[attr-defined]
        return cached

    def __call__(
        self, audio: np.ndarray, options: TranscriptionOptions, prefix: str = ""
    ) -> PartialText:
        import ctranslate2
        from faster_whisper.tokenizer import Tokenizer
        from faster_whisper.transcribe import get_suppressed_tokens

        model = self.model
        features = model.feature_extractor(audio)
        frames = min(features.shape[-1] - 1, self.window)
        length = min(self.window, frames + MARGIN_FRAMES)
        mel = np.zeros((1, features.shape[0], length), dtype=np.float32)
        mel[0, :, :frames] = features[:, :frames]
        encoded = model.model.encode(
            ctranslate2.StorageView.from_array(mel), to_cpu=model.model.device == "cuda"
        )
        language = options.language or ("en" if not self.multilingual else None)
        if language is None:
            ranked = [(t[2:-2], p) for t, p in model.model.detect_language(encoded)[0]]
            language = (pick_language(ranked, options.languages) or ranked[0])[0]
        tokenizer = Tokenizer(
            model.hf_tokenizer, self.multilingual, task="transcribe", language=language
        )
        if self._suppress is None:
            self._suppress = get_suppressed_tokens(tokenizer, [-1])
        previous = tokenizer.encode(" " + options.prompt.strip()) if options.prompt else []
        prompt = model.get_prompt(
            tokenizer,
            previous,
            without_timestamps=True,
            prefix=prefix or None,
            hotwords=options.hotwords,
        )
        prefix_tokens = len(tokenizer.encode(" " + prefix.strip())) if prefix else 0
        budget = int(TOKENS_PER_SECOND * len(audio) / 16000) + 8 - prefix_tokens
        if budget <= 0:
            return PartialText(None, language)  # the prefix already says more than the audio
        result = model.model.generate(
            encoded,
            [prompt],
            beam_size=1,
            max_length=_max_length(len(prompt), prefix_tokens, budget, model.max_length),
            return_scores=True,
            return_no_speech_prob=True,
            suppress_blank=not prefix,
            suppress_tokens=self._suppress,
        )[0]
        # The result repeats the forced prefix, then the new tokens.
        tokens = [t for t in result.sequences_ids[0] if t < tokenizer.eot][prefix_tokens:]
        if len(tokens) >= budget:
            return PartialText(None, language)  # used up its budget: a loop, most likely
        if result.no_speech_prob > NO_SPEECH and not prefix:
            return PartialText("", language)
        text = tokenizer.decode(tokens).strip()
        if repeats_a_phrase(f"{prefix} {text}"):
            return PartialText(None, language)
        return PartialText(text, language)


def _max_length(prompt: int, prefix: int, new: int, cap: int) -> int:
    """CTranslate2's `max_length` for a Whisper decode that may return `prefix + new`
    tokens. Measured on ctranslate2 4.8 (the lock's pin; a test decodes through it): results
    hold at most min(max_length - (prompt - prefix) + 1, (max_length - 1) // 2) tokens."""
    wanted = prefix + new
    return min(cap, max(wanted + (prompt - prefix) - 1, 2 * wanted + 1))
