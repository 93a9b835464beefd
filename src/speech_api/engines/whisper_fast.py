"""Short clips decoded faster than `WhisperModel.transcribe` does it, with the same results.

Two things the library does not do:

* **Audio-context trimming.** Whisper pads every clip to a 30 s window; CTranslate2's encoder
  takes fewer mel frames, and its cost scales with them. A clip that fits one window (after VAD)
  is encoded as its audio plus a margin. Without a margin the decoder loops (it has no silence
  to end on), so every trimmed result is checked, and the clip goes through the stock
  full-window `transcribe` when it looks wrong: the library's own fallback criteria (compression
  ratio, average log-probability), a no-speech verdict, too many tokens per second of audio, a
  timestamp past the audio's end, or a decode that did not finish in one window.
* **Cross-request batching.** Clips that are waiting while the model is busy are encoded and
  decoded together as one batch (padded to the longest). A clip that arrives when the model is
  idle starts at once: nobody waits for company.

Language detection uses the trimmed encoding too, unless its top language scores at or below
the library's detection threshold (0.5): then the full window decides, as in the library.

Everything else (VAD, prompt, language detection, translation, word timestamps, temperature
fallback) is faster-whisper's own code, called on the trimmed encoding; clips it cannot take
(longer than one window, a sampling temperature) go straight to `WhisperModel.transcribe`.
"""

from __future__ import annotations

import inspect
import logging
import threading
from collections import defaultdict, deque
from collections.abc import Iterable
from concurrent.futures import Future
from dataclasses import dataclass, field

import ctranslate2
import numpy as np
from faster_whisper import WhisperModel
from faster_whisper.tokenizer import Tokenizer
from faster_whisper.transcribe import (
    Segment,
    TranscriptionInfo,
    Word,
    get_compression_ratio,
    get_suppressed_tokens,
    restore_speech_timestamps,
)
from faster_whisper.vad import VadOptions, collect_chunks, get_speech_timestamps

log = logging.getLogger(__name__)

SAMPLE_RATE = 16000
# faster-whisper's defaults, which `WhisperModel.transcribe` applies to every call we make.
_DEFAULTS = {
    name: p.default for name, p in inspect.signature(WhisperModel.transcribe).parameters.items()
}
COMPRESSION_RATIO_THRESHOLD = _DEFAULTS["compression_ratio_threshold"]
LOG_PROB_THRESHOLD = _DEFAULTS["log_prob_threshold"]
NO_SPEECH_THRESHOLD = _DEFAULTS["no_speech_threshold"]
LANGUAGE_THRESHOLD = _DEFAULTS["language_detection_threshold"]
# Guard: real speech stays far below this (English ~3-5 tokens/s, Spanish ~6-8); a repetition
# loop fills the 448-token budget on a few seconds of audio.
MAX_TOKENS_PER_SECOND = 20.0
# A segment may end this far past the audio (Whisper rounds to 20 ms and overshoots a little).
END_TOLERANCE_S = 0.5


@dataclass(frozen=True)
class DecodeRequest:
    """What one call asks for; the same arguments `WhisperEngine.transcribe` takes."""

    language: str | None
    task: str = "transcribe"
    prompt: str | None = None
    temperature: float | None = None
    word_timestamps: bool = False
    # The long-form path checks each chunk's result against its voice activity and decodes
    # skipped speech again: there, a decode that stops early is kept (the rest is found and
    # decoded on its own) and a last timestamp past the audio is clamped to its end, instead
    # of sending the chunk through the full window.
    chunked: bool = False


@dataclass
class _Job:
    request: DecodeRequest
    features: np.ndarray  # (n_mels, frames) of the speech, no padding
    frames: int
    future: Future = field(default_factory=Future)


@dataclass
class _Decoded:
    """A trimmed decode that passed the guard: segments before VAD timestamps are restored."""

    segments: list[Segment]
    language: str
    language_probability: float


@dataclass
class Stats:
    """Counters for logs, tests and the bench: how many clips took which path."""

    trimmed: int = 0
    full_window_language: int = 0  # detections redone on the full window
    fallbacks: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    # Sizes of the latest batches run (bounded: a server runs for months).
    batches: deque[int] = field(default_factory=lambda: deque(maxlen=1000))

    def fallback(self, reason: str) -> None:
        self.fallbacks[reason] += 1


class _Fallback(Exception):
    """The trimmed decode looked wrong; the clip goes through the full window."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason} ({detail})" if detail else reason)
        self.reason = reason


class FastWhisper:
    """Trimmed, batched decoding over a loaded `WhisperModel`'s parts."""

    def __init__(
        self,
        model: WhisperModel,
        *,
        beam_size: int,
        vad_filter: bool,
        trim: bool,
        margin_s: float,
        batch_size: int,
    ):
        self.model = model
        self.beam_size = beam_size
        self.vad_filter = vad_filter
        self.trim = trim
        self.margin_frames = max(0, round(margin_s * model.frames_per_second))
        self.batch_size = batch_size
        self.window = model.feature_extractor.nb_max_frames  # 3000 frames = 30 s
        self.stats = Stats()
        self._suppress = None
        self._queue: list[_Job] = []
        self._cond = threading.Condition()
        self._worker: threading.Thread | None = None

    # --- entry point ------------------------------------------------------------------------

    def transcribe(
        self, samples: np.ndarray, request: DecodeRequest
    ) -> tuple[Iterable[Segment], TranscriptionInfo]:
        """Same contract as `WhisperModel.transcribe` with this engine's options: segments
        (lazy on the stock path) and the clip's info."""
        return self.transcribe_many([samples], request)[0]

    def transcribe_many(
        self, clips: list[np.ndarray], request: DecodeRequest
    ) -> list[tuple[Iterable[Segment], TranscriptionInfo]]:
        """`transcribe` for several clips at once: they are queued together, so they share
        batches (the long-form path hands over a recording's chunks this way)."""
        fast = (self.trim or self.batch_size > 1) and (request.temperature or 0.0) <= 0
        prepared = [self._prepare(samples, request) if fast else None for samples in clips]
        self._submit([p[0] for p in prepared if p is not None])
        return [
            self._stock(samples, request) if p is None else self._complete(samples, request, *p)
            for samples, p in zip(clips, prepared, strict=True)
        ]

    def _prepare(self, samples: np.ndarray, request: DecodeRequest):
        """(job, VAD speech chunks, seconds after VAD) for a clip the trimmed path can take;
        None for one it cannot (longer than one window after VAD, or no audio)."""
        speech_chunks = None
        audio = samples
        if self.vad_filter:
            speech_chunks = get_speech_timestamps(samples, VadOptions())
            chunks, _ = collect_chunks(samples, speech_chunks)
            audio = np.concatenate(chunks, axis=0)
        features = self.model.feature_extractor(audio)
        frames = features.shape[-1] - 1
        if frames <= 0 or frames > self.window:
            return None
        return _Job(request, features[:, :frames], frames), speech_chunks, audio.shape[0]

    def _complete(self, samples, request, job: _Job, speech_chunks, speech_samples: int):
        try:
            decoded: _Decoded = job.future.result()
        except _Fallback as exc:
            self.stats.fallback(exc.reason)
            log.info("full-window decode: %s", exc)
            return self._stock(samples, request)
        except Exception:
            # The library's own path is the reference: a clip the fast path fails on gets it
            # (and if the clip itself is at fault, that path raises the error for it).
            self.stats.fallback("error")
            log.warning("trimmed decode failed; full-window decode instead", exc_info=True)
            return self._stock(samples, request)
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

    def _stock(self, samples: np.ndarray, request: DecodeRequest):
        options = {}
        if request.temperature is not None:
            options["temperature"] = request.temperature
        return self.model.transcribe(
            samples,
            language=request.language,
            task=request.task,
            beam_size=self.beam_size,
            vad_filter=self.vad_filter,
            initial_prompt=request.prompt or None,
            word_timestamps=request.word_timestamps,
            **options,
        )

    # --- batching ---------------------------------------------------------------------------

    def _submit(self, jobs: list[_Job]) -> None:
        if not jobs:
            return
        with self._cond:
            if self._worker is None:
                self._worker = threading.Thread(
                    target=self._loop, name="whisper-batches", daemon=True
                )
                self._worker.start()
            self._queue.extend(jobs)
            self._cond.notify()

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._queue:
                    self._cond.wait()
                batch = self._take_batch()
            self.stats.batches.append(len(batch))
            self._run_isolated(batch)

    # A batch is padded to its longest clip: clips join the oldest waiting one only while the
    # padded frames stay within this factor of the frames they need (encoder work is linear in
    # frames, so a 3 s clip padded to 17 s would cost more than batching saves).
    max_padding = 1.5

    def _take_batch(self) -> list[_Job]:
        """The oldest waiting clip (so none starves; a request's clip before a recording's
        chunks), with the waiting clips closest to it in length. Called under the lock."""
        # A request's own clip goes before a long recording's chunks: a recording queues a
        # block of them at once, and `/stt` must not wait behind minutes of someone's audio.
        first = next((j for j in self._queue if not j.request.chunked), self._queue[0])
        rest = sorted(
            (j for j in self._queue if j is not first), key=lambda j: abs(j.frames - first.frames)
        )
        batch, need, longest = [first], first.frames + self.margin_frames, first.frames
        for job in rest:
            if len(batch) >= self.batch_size:
                break
            new_longest = max(longest, job.frames)
            new_need = need + job.frames + self.margin_frames
            if (len(batch) + 1) * (new_longest + self.margin_frames) > self.max_padding * new_need:
                continue
            batch.append(job)
            need, longest = new_need, new_longest
        taken = {id(j) for j in batch}
        self._queue[:] = [j for j in self._queue if id(j) not in taken]
        return batch

    def _run_isolated(self, batch: list[_Job]) -> None:
        """Run a batch; if it fails as a whole, run its clips one by one, so that one bad
        clip fails only its own request."""
        try:
            self._run(batch)
        except Exception as exc:
            if len(batch) == 1:
                if not batch[0].future.done():
                    batch[0].future.set_exception(exc)
                return
            log.warning("batch of %d failed (%s); retrying one by one", len(batch), exc)
            for job in batch:
                if not job.future.done():
                    self._run_isolated([job])

    # --- one batch --------------------------------------------------------------------------

    def _run(self, jobs: list[_Job]) -> None:
        model = self.model
        length = max(j.frames for j in jobs)
        length = min(self.window, length + self.margin_frames) if self.trim else self.window
        mel = np.zeros((len(jobs), jobs[0].features.shape[0], length), dtype=np.float32)
        for i, job in enumerate(jobs):
            mel[i, :, : job.frames] = job.features
        # On a GPU the encoding is copied back so that each clip's rows can be sliced out.
        to_cpu = model.model.device == "cuda"
        encoded = model.model.encode(ctranslate2.StorageView.from_array(mel), to_cpu=to_cpu)
        rows = np.asarray(encoded)

        languages: list[tuple[str, float]] = []
        detect = [i for i, j in enumerate(jobs) if j.request.language is None]
        detected = model.model.detect_language(encoded) if detect else []
        for i, job in enumerate(jobs):
            if job.request.language is not None:
                languages.append((job.request.language, 1.0))
                continue
            token, probability = detected[i][0]
            if probability <= LANGUAGE_THRESHOLD:
                # Unsure on the trimmed encoding (a short clip can swing to another language):
                # ask the full window, as the library does.
                self.stats.full_window_language += 1
                full = np.zeros((1, mel.shape[1], self.window), dtype=np.float32)
                full[0, :, : job.frames] = job.features
                view = ctranslate2.StorageView.from_array(full)
                token, probability = model.model.detect_language(model.model.encode(view))[0][0]
            languages.append((token[2:-2], float(probability)))

        tokenizers = [
            Tokenizer(
                model.hf_tokenizer, model.model.is_multilingual, task=j.request.task, language=lang
            )
            for j, (lang, _) in zip(jobs, languages, strict=True)
        ]
        if self._suppress is None:
            self._suppress = get_suppressed_tokens(tokenizers[0], [-1])
        prompts = []
        for job, tokenizer in zip(jobs, tokenizers, strict=True):
            text = job.request.prompt
            previous = tokenizer.encode(" " + text.strip()) if text else []
            prompts.append(model.get_prompt(tokenizer, previous))

        # CTranslate2 wants <|startoftranscript|> at one position across a batch: group by it.
        groups: dict[int, list[int]] = defaultdict(list)
        for i, prompt in enumerate(prompts):
            groups[prompt.index(tokenizers[i].sot)].append(i)
        results: list = [None] * len(jobs)
        for members in groups.values():
            view = encoded if len(members) == len(jobs) else _rows(rows, members)
            out = model.model.generate(
                view,
                [prompts[i] for i in members],
                beam_size=self.beam_size,
                patience=1,
                length_penalty=1,
                repetition_penalty=1,
                no_repeat_ngram_size=0,
                max_length=model.max_length,
                return_scores=True,
                return_no_speech_prob=True,
                suppress_blank=True,
                suppress_tokens=self._suppress,
                max_initial_timestamp_index=round(
                    _DEFAULTS["max_initial_timestamp"] / model.time_precision
                ),
            )
            for i, result in zip(members, out, strict=True):
                results[i] = result

        for i, job in enumerate(jobs):
            try:
                job.future.set_result(
                    self._finish(job, results[i], tokenizers[i], languages[i], rows, i)
                )
            except Exception as exc:  # this clip's own failure (or _Fallback)
                job.future.set_exception(exc)

    def _finish(self, job, result, tokenizer, language, rows, index) -> _Decoded:
        """The library's per-window steps on one clip's decode, and the guard."""
        model = self.model
        tokens = result.sequences_ids[0]
        avg_logprob = result.scores[0] * len(tokens) / (len(tokens) + 1)
        text = tokenizer.decode(tokens).strip()
        compression_ratio = get_compression_ratio(text)
        no_speech = result.no_speech_prob
        silent = no_speech > NO_SPEECH_THRESHOLD and avg_logprob < LOG_PROB_THRESHOLD
        if silent:
            raise _Fallback("no speech in the trimmed window")
        if compression_ratio > COMPRESSION_RATIO_THRESHOLD:
            raise _Fallback("compression ratio", f"{compression_ratio:.2f}")
        if avg_logprob < LOG_PROB_THRESHOLD:
            raise _Fallback("average log-probability", f"{avg_logprob:.2f}")
        if _repeats_a_phrase(text):
            raise _Fallback("a repeated phrase", text)
        duration = job.frames / model.frames_per_second
        text_tokens = [t for t in tokens if t < tokenizer.eot]
        if len(text_tokens) > MAX_TOKENS_PER_SECOND * max(duration, 1.0):
            raise _Fallback(
                "tokens per second", f"{len(text_tokens)} tokens for {duration:.1f} s of audio"
            )

        current, seek, _ = model._split_segments_by_timestamps(
            tokenizer=tokenizer,
            tokens=tokens,
            time_offset=0.0,
            segment_size=job.frames,
            segment_duration=duration,
            seek=0,
        )
        if job.request.chunked:
            for s in current:  # clamped, never emptied: a segment keeps its words
                s["end"] = min(s["end"], duration)
                s["start"] = min(s["start"], max(0.0, s["end"] - 0.02))
        else:
            if seek < job.frames:
                raise _Fallback("decode stopped before the end of the audio")
            if any(s["end"] > duration + END_TOLERANCE_S for s in current):
                raise _Fallback("a timestamp past the end of the audio")
        if job.request.word_timestamps:
            model.add_word_timestamps(
                [current],
                tokenizer,
                _rows(rows, [index]),
                job.frames,
                _DEFAULTS["prepend_punctuations"],
                _DEFAULTS["append_punctuations"],
                last_speech_timestamp=0.0,
            )
        segments = []
        for s in current:
            segment_text = tokenizer.decode(s["tokens"])
            if s["start"] == s["end"] or not segment_text.strip():
                continue
            segments.append(
                Segment(
                    id=len(segments) + 1,
                    seek=0,
                    start=s["start"],
                    end=s["end"],
                    text=segment_text,
                    tokens=s["tokens"],
                    temperature=0.0,
                    avg_logprob=avg_logprob,
                    compression_ratio=compression_ratio,
                    no_speech_prob=no_speech,
                    words=[Word(**w) for w in s["words"]] if job.request.word_timestamps else None,
                )
            )
        return _Decoded(segments, language[0], language[1])


def _repeats_a_phrase(text: str, min_words: int = 3) -> bool:
    """The same run of ``min_words`` or more words twice in a row: the short-loop failure of a
    trimmed window (a 2 s clip read as its sentence twice, with a plausible compression ratio
    and rate). Real speech that does this is rare, and costs only a full-window decode."""
    words = ["".join(c for c in w.lower() if c.isalnum()) for w in text.split()]
    words = [w for w in words if w]
    n = len(words)
    for size in range(min_words, n // 2 + 1):
        for start in range(n - 2 * size + 1):
            if words[start : start + size] == words[start + size : start + 2 * size]:
                return True
    return False


def _rows(rows: np.ndarray, members: list[int]) -> ctranslate2.StorageView:
    return ctranslate2.StorageView.from_array(np.ascontiguousarray(rows[members]))
