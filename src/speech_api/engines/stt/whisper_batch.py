"""One batch of clips through a loaded `WhisperModel`'s parts: encoded together (trimmed to the
longest clip plus a margin, not padded to Whisper's 30 s window), languages detected, decoded
with faster-whisper's own per-window steps, each result checked by `whisper_guard`.

Language detection uses the trimmed encoding too, unless its top language scores at or below
the library's detection threshold (0.5): then the full window decides, as in the library.

Each decode is bounded by its clip's length: it may place no timestamp past the audio
(`whisper_guard.late_timestamps`), which ends most runaways where the speech ends, and it has a
token budget (`whisper_guard.token_budget`): a runaway stops there, and holds its batch-mates no
longer than that. A clip the guard rejects is decoded once more, at once, with a wider margin
of silence (`retry_margin_frames`); only if that fails too does it go to the library's full
window (`whisper_fast`). So a clip that goes wrong pays for
two short trimmed decodes rather than a 224-token runaway and the full window.

A decode that stops before the end of its clip is continued from where it stopped, as the
library continues into its next window (with the text so far as the prompt): a clip whose
voice or level changes half-way gets its second half decoded, trimmed, instead of the full
window for all of it.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from concurrent.futures import Future
from dataclasses import dataclass

import ctranslate2
import numpy as np
from faster_whisper import WhisperModel
from faster_whisper.tokenizer import Tokenizer
from faster_whisper.transcribe import Segment, Word, get_suppressed_tokens

from speech_api.engines.base import pick_language
from speech_api.engines.stt.whisper_arguments import batch_key, decoding
from speech_api.engines.stt.whisper_guard import (
    LANGUAGE_THRESHOLD,
    NO_SPEECH,
    Fallback,
    check_budget,
    check_text,
    check_timing,
    generate_max_length,
    late_timestamps,
    token_budget,
)
from speech_api.engines.stt.whisper_queue import Job, Stats

# The retry's margin: 5 s of silence after the speech. Measured on the harder variants of the
# dev clips (devkit/hard_clips.py), most clips that loop, overshoot or stop early with the 2 s
# margin decode cleanly with 5 s, and a clip plus 5 s is still far from the 30 s window.
RETRY_MARGIN_FRAMES = 500
# Windows one clip may take (the first and its continuations) before it goes to the library.
MAX_WINDOWS = 4
# A decode that stops this close to its clip's end has left nothing to say (less than a word):
# the rest is not decoded as a window of its own.
MIN_CONTINUATION_FRAMES = 20


@dataclass
class Decoded:
    """A trimmed decode that passed the guard: segments before VAD timestamps are restored."""

    segments: list[Segment]
    language: str
    language_probability: float


@dataclass
class _Carry:
    """What a decode starts from when it is not a clip's first: the language already chosen,
    and for a continuation the tokens before it (the library's `condition_on_previous_text`)
    and how many windows the clip has taken."""

    language: tuple[str, float]
    previous: list[int] | None = None
    windows: int = 1


class BatchDecoder:
    def __init__(
        self,
        model: WhisperModel,
        *,
        trim: bool,
        margin_frames: int,
        stats: Stats | None = None,
        retry_margin_frames: int | None = None,
    ):
        self.model = model
        self.trim = trim
        self.margin_frames = margin_frames
        self.retry_margin_frames = (
            max(RETRY_MARGIN_FRAMES, 2 * margin_frames)
            if retry_margin_frames is None
            else retry_margin_frames
        )
        self.window = model.feature_extractor.nb_max_frames  # 3000 frames = 30 s
        self.stats = stats or Stats()
        self._suppress: dict[tuple, list[int]] = {}  # suppress_tokens -> the token ids

    def run(self, jobs: list[Job]) -> None:
        """Decode the jobs as one batch, setting each job's future to its `Decoded` (or to
        its own error, `whisper_guard.Fallback` included). A clip the guard rejects is decoded
        again with the wider margin first; the others' results are set before that. Raises
        when the batch as a whole fails."""
        rejected = self._decode(jobs, self.margin_frames, {})
        margin = self.retry_margin_frames
        if rejected and self.trim and margin > self.margin_frames:
            # Not when the wider window would be the full one: that is the library's decode.
            again = [r for r in rejected if r[0].frames + margin < self.window]
            for _, exc, _ in again:
                self.stats.retried[exc.reason] += 1
            kept = [r for r in rejected if r[0].frames + margin >= self.window]
            rejected = kept + self._decode(
                [job for job, _, _ in again],
                margin,
                {id(job): _Carry(language) for job, _, language in again},
                retry=True,
            )
        for job, exc, _ in rejected:
            job.future.set_exception(exc)

    def _decode(
        self,
        jobs: list[Job],
        margin_frames: int,
        carries: dict[int, _Carry],
        *,
        retry: bool = False,
    ) -> list[tuple[Job, Fallback, tuple[str, float]]]:
        """One encode + generate of the jobs with this margin (and their continuations): each
        job's future is set to its result or its own error, except the guard's rejections,
        returned with the language used. ``carries`` holds, by job id, what a job's decode
        starts from when it is not its clip's first; ``retry``: the jobs' second try."""
        if not jobs:
            return []
        model = self.model
        length = max(j.frames for j in jobs)
        length = min(self.window, length + margin_frames) if self.trim else self.window
        mel = np.zeros((len(jobs), jobs[0].features.shape[0], length), dtype=np.float32)
        for i, job in enumerate(jobs):
            mel[i, :, : job.frames] = job.features
        # On a GPU the encoding is copied back so that each clip's rows can be sliced out.
        to_cpu = model.model.device == "cuda"
        encoded = model.model.encode(ctranslate2.StorageView.from_array(mel), to_cpu=to_cpu)
        rows = np.asarray(encoded)

        languages = self._languages(jobs, encoded, mel.shape[1], carries)
        arguments = [decoding(j.arguments) for j in jobs]
        tokenizers = [
            Tokenizer(
                model.hf_tokenizer, model.model.is_multilingual, task=a["task"], language=lang
            )
            for a, (lang, _) in zip(arguments, languages, strict=True)
        ]
        prompts = []
        for job, args, tokenizer in zip(jobs, arguments, tokenizers, strict=True):
            carry = carries.get(id(job))
            if carry is not None and carry.previous is not None:
                previous = carry.previous
            else:
                previous = _prompt_tokens(tokenizer, args)
            prompts.append(model.get_prompt(tokenizer, previous, hotwords=args["hotwords"]))

        # CTranslate2 wants <|startoftranscript|> at one position across a batch, and one
        # set of decoding arguments: group by them.
        groups: dict[tuple, list[int]] = defaultdict(list)
        for i, prompt in enumerate(prompts):
            groups[(prompt.index(tokenizers[i].sot), batch_key(jobs[i].arguments))].append(i)
        results: list = [None] * len(jobs)
        # Under the library's own limit (half the context, or what the prompt leaves of it),
        # each clip's budget; a group runs to its largest.
        budgets = [
            token_budget(
                j.frames / model.frames_per_second,
                min(model.max_length // 2, model.max_length - len(prompt) + 1),
                retry=retry,
            )
            for j, prompt in zip(jobs, prompts, strict=True)
        ]
        for members in groups.values():
            view = encoded if len(members) == len(jobs) else _rows(rows, members)
            args = arguments[members[0]]
            max_length = min(
                model.max_length,
                generate_max_length(len(prompts[members[0]]), max(budgets[i] for i in members)),
            )
            out = model.model.generate(
                view,
                [prompts[i] for i in members],
                beam_size=args["beam_size"],
                patience=args["patience"],
                length_penalty=args["length_penalty"],
                repetition_penalty=args["repetition_penalty"],
                no_repeat_ngram_size=args["no_repeat_ngram_size"],
                max_length=max_length,
                return_scores=True,
                return_no_speech_prob=True,
                suppress_blank=args["suppress_blank"],
                suppress_tokens=[
                    *self._suppressed(tokenizers[members[0]], args["suppress_tokens"]),
                    # No segment past the audio (the group's longest clip): a runaway ends.
                    *late_timestamps(
                        max(jobs[i].frames for i in members) / model.frames_per_second,
                        tokenizers[members[0]].timestamp_begin,
                        model.time_precision,
                    ),
                ],
                max_initial_timestamp_index=round(
                    args["max_initial_timestamp"] / model.time_precision
                ),
            )
            for i, result in zip(members, out, strict=True):
                results[i] = result

        rejected = []
        continued: list[tuple[Job, Decoded, Job]] = []
        for i, job in enumerate(jobs):
            carry = carries.get(id(job))
            windows = carry.windows if carry else 1
            try:
                decoded, stop = self._finish(
                    job,
                    results[i],
                    tokenizers[i],
                    languages[i],
                    rows,
                    i,
                    budgets[i],
                    continues=windows < MAX_WINDOWS,
                    retry=retry,
                )
            except Fallback as exc:
                rejected.append((job, exc, languages[i]))
            except Exception as exc:  # this clip's own failure
                job.future.set_exception(exc)
            else:
                if stop is None:
                    job.future.set_result(decoded)
                    continue
                # Stopped early: the rest of the clip is the library's next window.
                rest = dataclasses.replace(
                    job,
                    features=job.features[:, stop:],
                    frames=job.frames - stop,
                    future=Future(),
                )
                if carry is not None and carry.previous is not None:
                    before = carry.previous
                else:
                    before = _prompt_tokens(tokenizers[i], arguments[i])
                carries[id(rest)] = _Carry(
                    languages[i],
                    before + [t for seg in decoded.segments for t in seg.tokens],
                    windows + 1,
                )
                continued.append((job, decoded, rest))
        if continued:
            self.stats.continued += len(continued)
            failed = {
                id(rest): (exc, language)
                for rest, exc, language in self._decode(
                    [rest for _, _, rest in continued], margin_frames, carries, retry=retry
                )
            }
            for job, decoded, rest in continued:
                if id(rest) in failed and failed[id(rest)][0].reason == NO_SPEECH:
                    # The library skips a window with no speech in it: the clip ends here.
                    job.future.set_result(decoded)
                elif id(rest) in failed:
                    rejected.append((job, *failed[id(rest)]))
                elif rest.future.exception() is not None:
                    job.future.set_exception(rest.future.exception())
                else:
                    stop = job.frames - rest.frames
                    job.future.set_result(
                        _joined(decoded, rest.future.result(), stop, model.frames_per_second)
                    )
        return rejected

    def _suppressed(self, tokenizer: Tokenizer, tokens: list[int]) -> list[int]:
        key = tuple(tokens)
        if key not in self._suppress:
            self._suppress[key] = get_suppressed_tokens(tokenizer, list(tokens))
        return self._suppress[key]

    def _languages(
        self, jobs: list[Job], encoded, n_mels: int, carries: dict[int, _Carry]
    ) -> list[tuple[str, float]]:
        """Each clip's (language, probability): given, known from an earlier decode, or
        detected on its trimmed encoding."""
        model = self.model.model
        given = [decoding(j.arguments)["language"] for j in jobs]
        unknown = any(g is None and id(j) not in carries for g, j in zip(given, jobs, strict=True))
        detected = model.detect_language(encoded) if unknown else []
        languages = []
        for i, job in enumerate(jobs):
            if given[i] is not None:
                languages.append((given[i], 1.0))
                continue
            if id(job) in carries:
                languages.append(carries[id(job)].language)
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

    def _finish(
        self,
        job: Job,
        result,
        tokenizer,
        language,
        rows,
        index,
        budget,
        *,
        continues: bool,
        retry: bool,
    ) -> tuple[Decoded, int | None]:
        """The library's per-window steps on one clip's decode, and the guard: the result, and
        the frame the decode stopped at when it stopped before the end and ``continues`` (the
        rest is decoded as a window of its own), else None."""
        model = self.model
        tokens = result.sequences_ids[0]
        try:
            check_budget(len(tokens), budget)
        except Fallback:
            self.stats.budget_stops.append((len(tokens), budget))
            raise
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
        current, seek, single_timestamp_ending = model._split_segments_by_timestamps(
            tokenizer=tokenizer,
            tokens=tokens,
            time_offset=0.0,
            segment_size=job.frames,
            segment_duration=duration,
            seek=0,
        )
        # Stopped within a fifth of a second of the end: nothing is left to say.
        near_end = job.frames - seek < MIN_CONTINUATION_FRAMES
        continued = continues and seek > 0 and not near_end and not job.chunked
        check_timing(
            current,
            seek=job.frames if continued or near_end else seek,
            frames=job.frames,
            duration_s=duration,
            chunked=job.chunked,
            clamp_late=retry,
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
            if continued and not single_timestamp_ending:
                # As the library does: the next window starts after the last word.
                last = max((w["end"] for s in current for w in s["words"]), default=0.0)
                if last > 0:
                    seek = round(last * model.frames_per_second)
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
        decoded = Decoded(segments, language[0], language[1])
        if continued and 0 < seek <= job.frames - MIN_CONTINUATION_FRAMES:
            return decoded, seek
        return decoded, None


def _joined(first: Decoded, rest: Decoded, stop: int, frames_per_second: float) -> Decoded:
    """A clip's result from its first window and the continuation that starts at frame
    ``stop``, on the first's clock."""
    offset_s = stop / frames_per_second
    shifted = [
        dataclasses.replace(
            s,
            id=len(first.segments) + n,
            seek=s.seek + stop,
            start=s.start + offset_s,
            end=s.end + offset_s,
            words=[
                dataclasses.replace(w, start=w.start + offset_s, end=w.end + offset_s)
                for w in s.words
            ]
            if s.words
            else s.words,
        )
        for n, s in enumerate(rest.segments, start=1)
    ]
    return Decoded(first.segments + shifted, first.language, first.language_probability)


def _prompt_tokens(tokenizer: Tokenizer, arguments: dict) -> list[int]:
    """The tokens of the caller's prompt (``initial_prompt``), as the library encodes it."""
    text = arguments["initial_prompt"]
    return tokenizer.encode(" " + text.strip()) if text else []


def _rows(rows: np.ndarray, members: list[int]) -> ctranslate2.StorageView:
    return ctranslate2.StorageView.from_array(np.ascontiguousarray(rows[members]))


def _pick(ranked: list[tuple[str, float]], allowed: tuple[str, ...]) -> tuple[str, float]:
    # CTranslate2 ranks tokens such as "<|en|>".
    codes = [(token[2:-2], prob) for token, prob in ranked]
    return pick_language(codes, allowed) or codes[0]
