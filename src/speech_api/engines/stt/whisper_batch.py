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
from speech_api.engines.stt.whisper_arguments import batch_key, decoding
from speech_api.engines.stt.whisper_guard import LANGUAGE_THRESHOLD, check_text, check_timing
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
        trim: bool,
        margin_frames: int,
        stats: Stats | None = None,
    ):
        self.model = model
        self.trim = trim
        self.margin_frames = margin_frames
        self.window = model.feature_extractor.nb_max_frames  # 3000 frames = 30 s
        self.stats = stats or Stats()
        self._suppress: dict[tuple, list[int]] = {}  # suppress_tokens -> the token ids

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
        arguments = [decoding(j.arguments) for j in jobs]
        tokenizers = [
            Tokenizer(
                model.hf_tokenizer, model.model.is_multilingual, task=a["task"], language=lang
            )
            for a, (lang, _) in zip(arguments, languages, strict=True)
        ]
        prompts = []
        for args, tokenizer in zip(arguments, tokenizers, strict=True):
            text = args["initial_prompt"]
            previous = tokenizer.encode(" " + text.strip()) if text else []
            prompts.append(model.get_prompt(tokenizer, previous, hotwords=args["hotwords"]))

        # CTranslate2 wants <|startoftranscript|> at one position across a batch, and one
        # set of decoding arguments: group by them.
        groups: dict[tuple, list[int]] = defaultdict(list)
        for i, prompt in enumerate(prompts):
            groups[(prompt.index(tokenizers[i].sot), batch_key(jobs[i].arguments))].append(i)
        results: list = [None] * len(jobs)
        for members in groups.values():
            view = encoded if len(members) == len(jobs) else _rows(rows, members)
            args = arguments[members[0]]
            out = model.model.generate(
                view,
                [prompts[i] for i in members],
                beam_size=args["beam_size"],
                patience=args["patience"],
                length_penalty=args["length_penalty"],
                repetition_penalty=args["repetition_penalty"],
                no_repeat_ngram_size=args["no_repeat_ngram_size"],
                max_length=model.max_length,
                return_scores=True,
                return_no_speech_prob=True,
                suppress_blank=args["suppress_blank"],
                suppress_tokens=self._suppressed(tokenizers[members[0]], args["suppress_tokens"]),
                max_initial_timestamp_index=round(
                    args["max_initial_timestamp"] / model.time_precision
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

    def _suppressed(self, tokenizer: Tokenizer, tokens: list[int]) -> list[int]:
        key = tuple(tokens)
        if key not in self._suppress:
            self._suppress[key] = get_suppressed_tokens(tokenizer, list(tokens))
        return self._suppress[key]

    def _languages(self, jobs: list[Job], encoded, n_mels: int) -> list[tuple[str, float]]:
        """Each clip's (language, probability): given, or detected on its trimmed encoding."""
        model = self.model.model
        given = [decoding(j.arguments)["language"] for j in jobs]
        detected = model.detect_language(encoded) if None in given else []
        languages = []
        for i, job in enumerate(jobs):
            if given[i] is not None:
                languages.append((given[i], 1.0))
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
        args = decoding(job.arguments)
        words = args["word_timestamps"]
        if words:
            model.add_word_timestamps(
                [current],
                tokenizer,
                _rows(rows, [index]),
                job.frames,
                args["prepend_punctuations"],
                args["append_punctuations"],
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
