"""Long recordings: VAD-chunked, batched, with the skipped speech found and decoded again.

Whisper's own long-form paths lose whole stretches of speech. On recordings made of real clips
joined with short gaps, `WhisperModel.transcribe` and faster-whisper's batched pipeline both
return sentences, sometimes whole utterances, as nothing. The cause is the decoder ending a
window early: it emits end-of-text (or a final lone timestamp, which the library reads as
"the rest of this window is silence") when the voice, level or microphone changes abruptly,
and everything after that point in the 30 s window is skipped. The longer the window, the
more utterances it holds and the more there is to lose.

So here:

* The audio is read block by block (bounded memory: a 2 h recording lives in a PCM file, not
  in RAM), voice activity is detected per block, and speech is cut at pauses into chunks of at
  most `chunk_s` seconds (15 s: few utterances per window, and still whole sentences).
* The chunks of a block are queued together on the engine's batching decoder, so they share
  batches, and each is encoded trimmed to its length (see `whisper_fast`).
* Every chunk's result is checked against its own voice activity: speech the decoder left
  without any segment (a second or more) is decoded again on its own and put in its place.
* The language is detected once, on the first chunk, and kept for the whole recording (the
  library does the same: one language per file).
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
from faster_whisper.transcribe import Segment
from faster_whisper.vad import VadOptions, get_speech_timestamps

from speech_api.audio import AudioSource
from speech_api.engines.base import TranscriptionOptions, pick_language
from speech_api.engines.stt.whisper_fast import SAMPLE_RATE, FastWhisper
from speech_api.engines.stt.whisper_guard import LANGUAGE_THRESHOLD

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LongFormOptions:
    # Longest chunk handed to the decoder (seconds of audio, pauses included).
    chunk_s: float = 15.0
    # Audio read and voice-detected at once: bounds memory, sets the progress granularity.
    block_s: float = 240.0
    # Pauses this long or longer may separate chunks.
    min_silence_ms: int = 300
    speech_pad_ms: int = 200
    # Speech at least this long with no segment over it was skipped: decode it again.
    min_uncovered_s: float = 1.0
    # A segment covers its timestamps widened by this much (Whisper's timestamps are coarse).
    coverage_slack_s: float = 0.5
    # Speech the language is detected on (in 30 s windows, until one is sure).
    language_s: float = 90.0


@dataclass
class LongFormStats:
    chunks: int = 0
    redecoded: int = 0  # skipped stretches decoded again
    recovered_words: int = 0


@dataclass(frozen=True)
class _Chunk:
    start: int  # samples, absolute
    end: int
    regions: tuple[tuple[int, int], ...]  # voice activity inside, absolute samples


class LongFormTranscriber:
    def __init__(self, decoder: FastWhisper, options: LongFormOptions = LongFormOptions()):
        self.decoder = decoder
        self.options = options
        self.stats = LongFormStats()

    def transcribe(
        self,
        audio: AudioSource,
        options: TranscriptionOptions,
        on_progress: Callable[[float], None] | None = None,
    ) -> tuple[str, float, Iterator[Segment]]:
        """(language, its probability, segments). The language is known when this returns
        (given, or detected on the first stretches of speech); the segments are decoded as
        they are consumed, a block at a time, calling `on_progress(seconds done)`."""
        blocks = self._blocks(audio)
        planned: list[tuple[list[_Chunk], float]] = []  # blocks read to detect the language
        language, probability = options.language, 1.0
        if language is None:
            language, probability = self._detect_language(audio, blocks, planned, options.languages)
            options = dataclasses.replace(options, language=language)

        # A block's chunks go to the decoder a batch's worth at a time, so progress moves
        # every few seconds of work rather than once a block.
        group = max(1, self.decoder.batch_size)

        def segments() -> Iterator[Segment]:
            for chunks, done_s in itertools.chain(planned, blocks):
                for i in range(0, len(chunks), group):
                    part = chunks[i : i + group]
                    yield from self._decode(audio, part, options)
                    if on_progress is not None and i + group < len(chunks):
                        on_progress(part[-1].end / SAMPLE_RATE)
                if on_progress is not None:
                    on_progress(done_s)

        return language, probability, _numbered(segments())

    def _detect_language(
        self, audio, blocks, planned: list, allowed: tuple[str, ...]
    ) -> tuple[str, float]:
        """One language per recording, as the library does, but from speech: up to
        `language_s` of it (a music or noise intro is not what the recording is in), each
        30 s window tried until one is sure, else the majority; only among ``allowed`` when
        given. The blocks read for this are appended to ``planned``."""
        wanted = int(self.options.language_s * SAMPLE_RATE)
        speech: list[np.ndarray] = []
        gathered = 0
        for block in blocks:
            planned.append(block)
            for chunk in block[0]:
                take = min(chunk.end - chunk.start, wanted - gathered)
                speech.append(audio.read(chunk.start, chunk.start + take))
                gathered += take
                if gathered >= wanted:
                    break
            if gathered >= wanted:
                break
        if not speech:  # no speech at all: what the first window sounds like
            speech = [audio.read(0, 30 * SAMPLE_RATE)]
        samples = np.concatenate(speech)
        window = 30 * SAMPLE_RATE
        language, probability, ranked = self.decoder.model.detect_language(
            audio=samples,
            language_detection_segments=max(1, -(-len(samples) // window)),
            language_detection_threshold=LANGUAGE_THRESHOLD,
        )
        if allowed:
            language, probability = pick_language(ranked, allowed) or (language, probability)
        return language, float(probability)

    # --- planning ---------------------------------------------------------------------------

    def _blocks(self, audio: AudioSource) -> Iterator[tuple[list[_Chunk], float]]:
        """Chunks block by block, with the seconds of audio they complete. Speech that runs
        into a block's end is left for the next block, so no chunk is cut mid-utterance."""
        opts = self.options
        block = int(opts.block_s * SAMPLE_RATE)
        hold = int((opts.min_silence_ms / 1000 + opts.speech_pad_ms / 1000) * SAMPLE_RATE)
        pos, total = 0, audio.samples
        pending: list[_Chunk] = []
        while pos < total:
            end = min(total, pos + block)
            chunks = self._plan(audio.read(pos, end), pos)
            next_pos = end
            if end < total and chunks and chunks[-1].end >= end - hold and chunks[-1].start > pos:
                next_pos = chunks.pop().start
            pending += chunks
            done_s = next_pos / SAMPLE_RATE
            if pending or next_pos >= total:
                yield pending, min(done_s, total / SAMPLE_RATE)
                pending = []
            pos = next_pos

    def _plan(self, samples: np.ndarray, offset: int) -> list[_Chunk]:
        """Voice activity packed into chunks of at most `chunk_s`, cut at pauses."""
        opts = self.options
        regions = get_speech_timestamps(
            samples,
            VadOptions(
                min_silence_duration_ms=opts.min_silence_ms,
                speech_pad_ms=opts.speech_pad_ms,
                max_speech_duration_s=opts.chunk_s,
            ),
        )
        limit = int(opts.chunk_s * SAMPLE_RATE)
        chunks: list[_Chunk] = []
        current: list[tuple[int, int]] = []
        for r in regions:
            region = (offset + r["start"], offset + r["end"])
            if current and region[1] - current[0][0] > limit:
                chunks.append(_Chunk(current[0][0], current[-1][1], tuple(current)))
                current = []
            current.append(region)
        if current:
            chunks.append(_Chunk(current[0][0], current[-1][1], tuple(current)))
        return chunks

    # --- decoding ---------------------------------------------------------------------------

    def _decode(self, audio: AudioSource, chunks: list[_Chunk], options) -> list[Segment]:
        """The chunks' segments on the recording's clock, in order, with any speech the
        decoder skipped decoded on its own and put in its place. All chunks are queued at
        once (they share batches), and so are all skipped stretches."""
        if not chunks:
            return []
        self.stats.chunks += len(chunks)
        results = self.decoder.transcribe_many(
            [audio.read(c.start, c.end) for c in chunks], options, chunked=True
        )
        return self._place(audio, chunks, [list(segments) for segments, _ in results], options)

    def _place(self, audio, chunks: list[_Chunk], decoded: list[list[Segment]], options):
        placed = [
            _shifted(s, chunk.start / SAMPLE_RATE)
            for chunk, segments in zip(chunks, decoded, strict=True)
            for s in segments
        ]
        # A chunk the decoder found no words in at all (even on the full window it falls
        # back to) is music or noise to it: decoding its pieces again would only cost time.
        gaps = [
            gap
            for chunk, segments in zip(chunks, decoded, strict=True)
            if any(s.text.strip() for s in segments)
            for gap in self._uncovered(
                chunk, [_shifted(s, chunk.start / SAMPLE_RATE) for s in segments]
            )
        ]
        if gaps:
            self.stats.redecoded += len(gaps)
            results = self.decoder.transcribe_many(
                [audio.read(a, b) for a, b in gaps], options, chunked=True
            )
            for (a, _), (found, _) in zip(gaps, results, strict=True):
                recovered = [
                    s
                    for s in (_shifted(s, a / SAMPLE_RATE) for s in found)
                    if s.text.strip() and not _repeats_neighbours(s, placed)
                ]
                self.stats.recovered_words += sum(len(s.text.split()) for s in recovered)
                if recovered:
                    log.info(
                        "recovered skipped speech at %.1f s: %r",
                        a / SAMPLE_RATE,
                        " ".join(s.text.strip() for s in recovered)[:80],
                    )
                placed += recovered
        return sorted(placed, key=lambda s: s.start)

    def _uncovered(self, chunk: _Chunk, segments: list[Segment]) -> list[tuple[int, int]]:
        """Voice activity with no segment over it, as (start, end) samples, each at least
        `min_uncovered_s` long."""
        slack = self.options.coverage_slack_s
        covered = sorted(
            (int((s.start - slack) * SAMPLE_RATE), int((s.end + slack) * SAMPLE_RATE))
            for s in segments
            if s.text.strip()
        )
        minimum = int(self.options.min_uncovered_s * SAMPLE_RATE)
        gaps = []
        for start, end in chunk.regions:
            cursor = start
            for a, b in covered:
                if b <= cursor or a >= end:
                    continue
                if a - cursor >= minimum:
                    gaps.append((cursor, a))
                cursor = max(cursor, b)
            if end - cursor >= minimum:
                gaps.append((cursor, end))
        return gaps


def _shifted(segment: Segment, offset_s: float) -> Segment:
    words = segment.words
    if words:
        words = [
            dataclasses.replace(w, start=w.start + offset_s, end=w.end + offset_s) for w in words
        ]
    return dataclasses.replace(
        segment, start=segment.start + offset_s, end=segment.end + offset_s, words=words
    )


def _numbered(segments: Iterator[Segment]) -> Iterator[Segment]:
    for i, segment in enumerate(segments, start=1):
        yield dataclasses.replace(segment, id=i)


def _words(text: str) -> list[str]:
    return [w for w in ("".join(c for c in t.lower() if c.isalnum()) for t in text.split()) if w]


def _repeats_neighbours(recovered: Segment, placed: list[Segment]) -> bool:
    """Whether a recovered stretch only repeats what the segments around it already say
    (their timestamps ended early, so their last words looked uncovered)."""
    words = _words(recovered.text)
    if not words:
        return True
    before = [s for s in placed if s.end <= recovered.start + 1.0]
    after = [s for s in placed if s.start >= recovered.end - 1.0]
    around = _words(" ".join(s.text for s in before[-1:] + after[:1]))
    n = len(words)
    return any(around[i : i + n] == words for i in range(len(around) - n + 1))
