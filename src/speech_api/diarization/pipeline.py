"""Who said what: a transcript's segments labelled with their speakers.

1. Speech is found with Silero VAD (faster-whisper's copy), a block of audio at a time, where
   the transcript has segments.
2. Each stretch of speech is cut into 1.6 s windows and embedded by the speaker encoder
   (`windows`), whatever encoder the model manager loaded.
3. The windows are clustered into speakers (`clustering`), within the caller's
   ``min_speakers``/``max_speakers``.
4. Clusters that sound like a known speaker's reference clip take that speaker's name
   (`references`); the rest are "A", "B", ... in order of first appearance.
5. Every word takes its windows' speaker, and segments are split where the speaker changes
   (`labels`).

Memory is bounded by the windows' embeddings (256 floats per 0.8 s of speech: 1.2 MB an hour)
and the clustering's point cap; audio is read a block or a batch of windows at a time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from speech_api.audio import AudioSource
from speech_api.diarization.clustering import ClusterOptions, centroids, cluster
from speech_api.diarization.labels import Timeline, assign_speakers, speaker_names
from speech_api.diarization.references import match_references
from speech_api.diarization.windows import SAMPLE_RATE, embed_windows, plan_windows
from speech_api.engines.base import SpeakerEncoder, TranscriptSegment

# Voice activity for diarization: pauses of 200 ms split stretches (turns often change there),
# with little padding (padding would hand one speaker's window the next one's first syllable).
_VAD = {"threshold": 0.5, "min_silence_duration_ms": 200, "speech_pad_ms": 30}


@dataclass(frozen=True)
class DiarizationOptions:
    window_s: float = 1.6
    hop_s: float = 0.8
    min_window_s: float = 0.5
    threshold: float = 0.65
    min_speakers: int | None = None
    max_speakers: int | None = None
    # A run of words shorter than this between two runs of one speaker is that speaker's.
    max_island_s: float = 0.6
    # A cluster is a known speaker when its centroid is at least this similar to the
    # speaker's reference clip.
    match_threshold: float = 0.8
    block_s: float = 240.0


@dataclass
class Diarization:
    segments: list[TranscriptSegment]
    speakers: list[str]  # labels in order of first appearance


def speech_regions(
    audio: AudioSource,
    block_s: float = 240.0,
    spans: Sequence[tuple[float, float]] | None = None,
) -> list[tuple[int, int]]:
    """Stretches of speech, (start, end) in samples, read ``block_s`` at a time; only within
    ``spans`` (seconds) when given (where the transcript has words: an hour with a few minutes
    of talk is not searched end to end again)."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    block = int(block_s * SAMPLE_RATE)
    edge = 2 * 512  # VAD frames
    if spans is None:
        ranges = [(0, audio.samples)]
    else:
        ranges = [
            (max(0, int(a * SAMPLE_RATE)), min(audio.samples, int(b * SAMPLE_RATE)))
            for a, b in spans
        ]
    regions: list[tuple[int, int]] = []
    for first, last in ranges:
        for offset in range(first, last, block):
            samples = audio.read(offset, min(last, offset + block))
            for r in get_speech_timestamps(samples, VadOptions(**_VAD)):
                start, end = offset + r["start"], offset + r["end"]
                if regions and regions[-1][1] >= start - edge:
                    # Speech running across a block's or a span's edge.
                    regions[-1] = (regions[-1][0], max(end, regions[-1][1]))
                else:
                    regions.append((start, end))
    return regions


def transcript_spans(
    segments: Sequence[TranscriptSegment], margin_s: float = 1.0
) -> list[tuple[float, float]]:
    """Where the segments are, widened by ``margin_s`` (their timestamps are coarse) and
    merged where they touch."""
    spans: list[tuple[float, float]] = []
    for s in sorted((s for s in segments if s.text.strip()), key=lambda s: s.start):
        a, b = max(0.0, s.start - margin_s), s.end + margin_s
        if spans and a <= spans[-1][1]:
            spans[-1] = (spans[-1][0], max(b, spans[-1][1]))
        else:
            spans.append((a, b))
    return spans


def diarize(
    segments: Sequence[TranscriptSegment],
    audio: AudioSource,
    encoder: SpeakerEncoder,
    options: DiarizationOptions = DiarizationOptions(),
    *,
    language: str | None = None,
    references: Sequence[tuple[str, np.ndarray]] = (),
    regions: Sequence[tuple[int, int]] | None = None,
) -> Diarization:
    """``segments`` (with word timings) labelled with their speakers. ``references``: known
    speakers' names and reference embeddings."""
    if regions is None:
        regions = speech_regions(audio, options.block_s, transcript_spans(segments))
    windows = plan_windows(
        regions, window_s=options.window_s, hop_s=options.hop_s, min_window_s=options.min_window_s
    )
    if not any(s.text.strip() for s in segments):
        return Diarization(list(segments), [])
    if not windows:  # words, but no stretch of speech long enough to tell voices: one voice
        return Diarization([replace(s, speaker="A") for s in segments], ["A"])
    embeddings = embed_windows(audio, windows, encoder)
    bounds = ClusterOptions(
        threshold=options.threshold,
        min_speakers=options.min_speakers or 1,
        max_speakers=options.max_speakers or ClusterOptions.max_speakers,
    )
    labels = cluster(embeddings, [w.region for w in windows], bounds)
    known: dict[int, str] = {}
    if references:
        names = [name for name, _ in references]
        vectors = np.stack([vector for _, vector in references])
        matches = match_references(centroids(embeddings, labels), vectors, options.match_threshold)
        known = {c: names[r] for c, r in matches.items()}
    timeline = Timeline(windows, labels)
    # Names in order of first appearance in the transcript (not in the audio's windows).
    provisional = assign_speakers(
        segments,
        timeline,
        {int(k): str(k) for k in set(labels)},
        language=language,
        max_island_s=options.max_island_s,
    )
    order = [int(s.speaker) for s in provisional if s.speaker is not None]
    names = speaker_names(order, known)
    labelled = [
        s if s.speaker is None else replace(s, speaker=names[int(s.speaker)]) for s in provisional
    ]
    speakers = list(dict.fromkeys(s.speaker for s in labelled if s.speaker is not None))
    return Diarization(labelled, speakers)
