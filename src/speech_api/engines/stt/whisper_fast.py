"""Short clips decoded faster than `WhisperModel.transcribe` does it, with the same results.

Two things the library does not do:

* **Audio-context trimming.** Whisper pads every clip to a 30 s window; CTranslate2's encoder
  takes fewer mel frames, and its cost scales with them. A clip that fits one window (after VAD)
  is encoded as its audio plus a margin (`whisper_batch`). Without a margin the decoder loops
  (it has no silence to end on), so every trimmed result is checked (`whisper_guard`), and the
  clip goes through the stock full-window `transcribe` when it looks wrong.
* **Cross-request batching.** Clips that are waiting while the model is busy are encoded and
  decoded together as one batch, padded to the longest (`whisper_queue`).

Everything else (VAD, prompt, language detection, translation, word timestamps, temperature
fallback) is faster-whisper's own code, called on the trimmed encoding; clips it cannot take
(longer than one window, a sampling temperature) go straight to `WhisperModel.transcribe`.
This module decides which path a clip takes and puts its result together.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import numpy as np
from faster_whisper import WhisperModel
from faster_whisper.transcribe import Segment, TranscriptionInfo, restore_speech_timestamps
from faster_whisper.vad import VadOptions, collect_chunks, get_speech_timestamps

from speech_api.engines.base import TranscriptionOptions, pick_language
from speech_api.engines.stt.whisper_arguments import greedy, vad_options, whisper_arguments
from speech_api.engines.stt.whisper_batch import BatchDecoder, Decoded
from speech_api.engines.stt.whisper_guard import Fallback
from speech_api.engines.stt.whisper_queue import BatchQueue, Job, Stats

log = logging.getLogger(__name__)

SAMPLE_RATE = 16000

Result = tuple[Iterable[Segment], TranscriptionInfo]


class FastWhisper:
    """Trimmed, batched decoding over a loaded `WhisperModel`, with the library's own
    `transcribe` as the fallback."""

    def __init__(
        self,
        model: WhisperModel,
        *,
        beam_size: int,
        vad_filter: bool,
        trim: bool,
        margin_s: float,
        batch_size: int,
        workers: int = 1,
    ):
        self.model = model
        self.beam_size = beam_size
        self.vad_filter = vad_filter
        self.trim = trim
        self.batch_size = batch_size
        self.stats = Stats()
        margin_frames = max(0, round(margin_s * model.frames_per_second))
        self.batches = BatchDecoder(model, trim=trim, margin_frames=margin_frames, stats=self.stats)
        self.queue = BatchQueue(
            self.batches.run,
            batch_size=batch_size,
            margin_frames=margin_frames,
            stats=self.stats,
            workers=workers,
        )

    def transcribe(self, samples: np.ndarray, options: TranscriptionOptions) -> Result:
        """Same contract as `WhisperModel.transcribe` with this engine's options: segments
        (lazy on the stock path) and the clip's info."""
        return self.transcribe_many([samples], options)[0]

    def transcribe_many(
        self, clips: list[np.ndarray], options: TranscriptionOptions, *, chunked: bool = False
    ) -> list[Result]:
        """`transcribe` for several clips at once: they are queued together, so they share
        batches (the long-form path hands over a recording's chunks this way, ``chunked``)."""
        arguments = whisper_arguments(options, beam_size=self.beam_size, vad_filter=self.vad_filter)
        fast = (self.trim or self.batch_size > 1) and greedy(arguments)
        prepared = [
            self._prepare(samples, options, arguments, chunked) if fast else None
            for samples in clips
        ]
        self.queue.submit([p[0] for p in prepared if p is not None])
        return [
            self._stock(samples, options, arguments)
            if p is None
            else self._complete(samples, options, arguments, *p)
            for samples, p in zip(clips, prepared, strict=True)
        ]

    def _prepare(self, samples: np.ndarray, options: TranscriptionOptions, arguments, chunked):
        """(job, VAD speech chunks, samples after VAD) for a clip the trimmed path can take;
        None for one it cannot (longer than one window after VAD, or no audio)."""
        speech_chunks = None
        audio = samples
        if self.vad_filter:
            speech_chunks = get_speech_timestamps(samples, VadOptions(**vad_options(options)))
            chunks, _ = collect_chunks(samples, speech_chunks)
            audio = np.concatenate(chunks, axis=0)
        features = self.model.feature_extractor(audio)
        frames = features.shape[-1] - 1
        if frames <= 0 or frames > self.batches.window:
            return None
        job = Job(options, features[:, :frames], frames, chunked=chunked, arguments=arguments)
        return job, speech_chunks, audio.shape[0]

    def _complete(
        self, samples, options, arguments, job: Job, speech_chunks, speech_samples: int
    ) -> Result:
        try:
            decoded: Decoded = job.future.result()
        except Fallback as exc:
            self.stats.fallback(exc.reason)
            log.info("full-window decode: %s", exc)
            return self._stock(samples, options, arguments)
        except Exception:
            # The library's own path is the reference: a clip the fast path fails on gets it
            # (and if the clip itself is at fault, that path raises the error for it).
            self.stats.fallback("error")
            log.warning("trimmed decode failed; full-window decode instead", exc_info=True)
            return self._stock(samples, options, arguments)
        self.stats.trimmed += 1
        segments: Iterable[Segment] = decoded.segments
        if speech_chunks:
            segments = list(restore_speech_timestamps(segments, speech_chunks, SAMPLE_RATE))
        info = TranscriptionInfo(
            language=decoded.language,
            language_probability=decoded.language_probability,
            duration=samples.shape[0] / SAMPLE_RATE,
            duration_after_vad=speech_samples / SAMPLE_RATE,
            transcription_options=None,
            vad_options=None,
            all_language_probs=None,
        )
        return segments, info

    def _stock(self, samples: np.ndarray, options: TranscriptionOptions, arguments) -> Result:
        """The library's own full-window path, with the options' arguments as they are."""
        language = arguments["language"]
        if language is None and options.languages:
            # The library detects among all languages: rank them here, choose among those
            # allowed, and tell it the choice.
            _, _, ranked = self.model.detect_language(audio=samples)
            language = (pick_language(ranked, options.languages) or ranked[0])[0]
        return self.model.transcribe(samples, **{**arguments, "language": language})
