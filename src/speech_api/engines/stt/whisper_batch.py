"""One batch of clips through a loaded `WhisperModel`'s parts: encoded together (trimmed to the
longest clip plus a margin, not padded to Whisper's 30 s window), languages detected, decoded
with faster-whisper's own per-window steps, each result checked by `whisper_guard`.

Language detection uses the trimmed encoding too, unless its top language scores at or below
the library's detection threshold (0.5): then the full window decides, as in the library.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import ctranslate2
import numpy as np
from faster_whisper import WhisperModel
from faster_whisper.tokenizer import Tokenizer
from faster_whisper.transcribe import Segment, Word, get_suppressed_tokens

from speech_api.engines.base import pick_language
from speech_api.engines.stt.whisper_guard import (
    LANGUAGE_THRESHOLD,
    LIBRARY_DEFAULTS,
    check_text,
    check_timing,
)
from speech_api.engines.stt.whisper_queue import Job, Stats


@dataclass
class Decoded:
    """A trimmed decode that passed the guard: segments before VAD timestamps are restored."""

    segments: list[Segment]
    language: str
    language_probability: float


class BatchDecoder:
    def __init__(
        self,
        model: WhisperModel,
        *,
        beam_size: int,
        trim: bool,
        margin_frames: int,
        stats: Stats | None = None,
    ):
        self.model = model
        self.beam_size = beam_size
        self.trim = trim
        self.margin_frames = margin_frames
        self.window = model.feature_extractor.nb_max_frames  # 3000 frames = 30 s
        self.stats = stats or Stats()
        self._suppress = None

    def run(self, jobs: list[Job]) -> None:
        """Decode the jobs as one batch, setting each job's future to its `Decoded` (or to
        its own error, `whisper_guard.Fallback` included). Raises when the batch as a whole
        fails."""
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

        languages = self._languages(jobs, encoded, mel.shape[1])
        tokenizers = [
            Tokenizer(
                model.hf_tokenizer, model.model.is_multilingual, task=j.options.task, language=lang
            )
            for j, (lang, _) in zip(jobs, languages, strict=True)
        ]
        if self._suppress is None:
            self._suppress = get_suppressed_tokens(tokenizers[0], [-1])
        prompts = []
        for job, tokenizer in zip(jobs, tokenizers, strict=True):
            text = job.options.prompt
            previous = tokenizer.encode(" " + text.strip()) if text else []
            prompts.append(model.get_prompt(tokenizer, previous, hotwords=job.options.hotwords))

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
                    LIBRARY_DEFAULTS["max_initial_timestamp"] / model.time_precision
                ),
            )
            for i, result in zip(members, out, strict=True):
                results[i] = result

        for i, job in enumerate(jobs):
            try:
                job.future.set_result(
                    self._finish(job, results[i], tokenizers[i], languages[i], rows, i)
                )
            except Exception as exc:  # this clip's own failure (or Fallback)
                job.future.set_exception(exc)

    def _languages(self, jobs: list[Job], encoded, n_mels: int) -> list[tuple[str, float]]:
        """Each clip's (language, probability): given, or detected on its trimmed encoding."""
        model = self.model.model
        unknown = any(j.options.language is None for j in jobs)
        detected = model.detect_language(encoded) if unknown else []
        languages = []
        for i, job in enumerate(jobs):
            if job.options.language is not None:
                languages.append((job.options.language, 1.0))
                continue
            allowed = job.options.languages
            language, probability = _pick(detected[i], allowed)
            if probability <= LANGUAGE_THRESHOLD:
                # Unsure on the trimmed encoding (a short clip can swing to another language):
                # ask the full window, as the library does.
                self.stats.full_window_language += 1
                full = np.zeros((1, n_mels, self.window), dtype=np.float32)
                full[0, :, : job.frames] = job.features
                view = ctranslate2.StorageView.from_array(full)
                language, probability = _pick(model.detect_language(model.encode(view))[0], allowed)
            languages.append((language, float(probability)))
        return languages

    def _finish(self, job: Job, result, tokenizer, language, rows, index) -> Decoded:
        """The library's per-window steps on one clip's decode, and the guard."""
        model = self.model
        tokens = result.sequences_ids[0]
        avg_logprob = result.scores[0] * len(tokens) / (len(tokens) + 1)
        text = tokenizer.decode(tokens).strip()
        duration = job.frames / model.frames_per_second
        no_speech = result.no_speech_prob
        compression_ratio = check_text(
            text,
            text_tokens=sum(1 for t in tokens if t < tokenizer.eot),
            avg_logprob=avg_logprob,
            no_speech=no_speech,
            duration_s=duration,
        )
        # Private in faster-whisper (pyproject pins the minor version; a test checks it).
        current, seek, _ = model._split_segments_by_timestamps(
            tokenizer=tokenizer,
            tokens=tokens,
            time_offset=0.0,
            segment_size=job.frames,
            segment_duration=duration,
            seek=0,
        )
        check_timing(
            current, seek=seek, frames=job.frames, duration_s=duration, chunked=job.chunked
        )
        words = job.options.word_timestamps
        if words:
            model.add_word_timestamps(
                [current],
                tokenizer,
                _rows(rows, [index]),
                job.frames,
                LIBRARY_DEFAULTS["prepend_punctuations"],
                LIBRARY_DEFAULTS["append_punctuations"],
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
                    words=[Word(**w) for w in s["words"]] if words else None,
                )
            )
        return Decoded(segments, language[0], language[1])


def _rows(rows: np.ndarray, members: list[int]) -> ctranslate2.StorageView:
    return ctranslate2.StorageView.from_array(np.ascontiguousarray(rows[members]))


def _pick(ranked: list[tuple[str, float]], allowed: tuple[str, ...]) -> tuple[str, float]:
    # CTranslate2 ranks tokens such as "<|en|>".
    codes = [(token[2:-2], prob) for token, prob in ranked]
    return pick_language(codes, allowed) or codes[0]
