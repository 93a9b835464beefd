"""From speakers found in windows of audio to a speaker on every segment of the transcript.

Each word takes the speaker of the windows that cover it (weighted by how much of the word
each covers, the nearest window's centre breaking ties; a word no window covers takes the
nearest window's speaker). A lone short run of words between two runs of one speaker is that
speaker's (a window straddling a turn, not a turn of its own). Then every Whisper segment whose
words change speaker is split at the change (resegmentation at word level), so a segment never
holds two voices; its text is re-joined from its words.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import replace

from speech_api.diarization.windows import SAMPLE_RATE, Window
from speech_api.engines.base import TranscriptSegment, WordTiming

# Languages written without spaces between words: their words are joined as they are.
_UNSPACED = frozenset({"zh", "ja", "th", "lo", "km", "my", "yue", "bo"})


class Timeline:
    """Who speaks when: windows of audio (sorted by start) and the speaker found in each."""

    def __init__(self, windows: Sequence[Window], labels):
        self.windows = list(windows)
        self.labels = [int(label) for label in labels]
        self._starts = [w.start for w in self.windows]
        self._longest = max((w.end - w.start for w in self.windows), default=0)

    def speaker(self, start_s: float, end_s: float) -> int | None:
        """The speaker of the windows covering [start_s, end_s] (weighted by overlap, the
        nearest centre breaking ties), else of the nearest window; None without windows."""
        if not self.windows:
            return None
        a, b = int(start_s * SAMPLE_RATE), int(end_s * SAMPLE_RATE)
        middle = (start_s + end_s) / 2
        scores: dict[int, float] = {}
        nearest: dict[int, float] = {}
        lo = bisect.bisect_left(self._starts, a - self._longest)
        hi = bisect.bisect_right(self._starts, b)
        for i in range(lo, hi):
            w = self.windows[i]
            overlap = min(w.end, b) - max(w.start, a)
            if overlap < 0 or (overlap == 0 and a != b):
                continue
            label = self.labels[i]
            scores[label] = scores.get(label, 0.0) + max(overlap, 1)
            distance = abs(w.center_s - middle)
            nearest[label] = min(nearest.get(label, distance), distance)
        if scores:
            return max(scores, key=lambda k: (scores[k], -nearest[k]))
        # Outside every window: the closest one before or after.
        i = bisect.bisect_left(self._starts, a)
        candidates = [k for k in (i - 1, i) if 0 <= k < len(self.windows)]
        closest = min(candidates, key=lambda k: abs(self.windows[k].center_s - middle))
        return self.labels[closest]


def smooth(labels: list[int], words: Sequence[WordTiming], max_island_s: float) -> list[int]:
    """A run of words shorter than ``max_island_s`` between two runs of one other speaker
    takes that speaker."""
    out = list(labels)
    runs = _runs(out)
    for k in range(1, len(runs) - 1):
        (_, _, before), (i, j, label), (_, _, after) = runs[k - 1], runs[k], runs[k + 1]
        if before == after != label and words[j - 1].end - words[i].start < max_island_s:
            out[i:j] = [before] * (j - i)
    return out


def _runs(labels: list[int]) -> list[tuple[int, int, int]]:
    runs: list[tuple[int, int, int]] = []
    start = 0
    for i in range(1, len(labels) + 1):
        if i == len(labels) or labels[i] != labels[start]:
            runs.append((start, i, labels[start]))
            start = i
    return runs


def assign_speakers(
    segments: Sequence[TranscriptSegment],
    timeline: Timeline,
    names: dict[int, str],
    *,
    language: str | None = None,
    max_island_s: float = 0.6,
) -> list[TranscriptSegment]:
    """The segments with a speaker each (``names``: cluster -> label), split where the
    speaker changes inside one, renumbered from 1."""
    words = [w for s in segments for w in s.words]
    word_labels = [timeline.speaker(w.start, w.end) for w in words]
    known = [label for label in word_labels if label is not None]
    if known:
        fallback = known[0]
        word_labels = [fallback if label is None else label for label in word_labels]
        word_labels = smooth(word_labels, words, max_island_s)
    out: list[TranscriptSegment] = []
    cursor = 0
    for segment in segments:
        count = len(segment.words)
        own = word_labels[cursor : cursor + count]
        cursor += count
        if not own:
            label = timeline.speaker(segment.start, segment.end)
            out.append(replace(segment, speaker=names.get(label) if label is not None else None))
            continue
        for i, j, label in _runs(own):
            part = segment.words[i:j]
            whole = i == 0 and j == count
            out.append(
                replace(
                    segment,
                    start=segment.start if whole else part[0].start,
                    end=segment.end if whole else part[-1].end,
                    text=segment.text if whole else _join(part, language),
                    tokens=segment.tokens if whole else (),
                    words=tuple(part),
                    speaker=names[label],
                )
            )
    return [replace(s, id=i) for i, s in enumerate(out, start=1)]


def _join(words: Sequence[WordTiming], language: str | None) -> str:
    separator = "" if language in _UNSPACED else " "
    return separator.join(w.word for w in words).strip()


def speaker_names(order: Sequence[int], known: dict[int, str] | None = None) -> dict[int, str]:
    """Labels for clusters in order of first appearance: a known speaker's name where the
    cluster matched one, else "A", "B", ... (the letters counting only unnamed speakers);
    past "Z", "AA", "AB", ..."""
    known = known or {}
    names: dict[int, str] = {}
    letters = 0
    for cluster in order:
        if cluster in names:
            continue
        if cluster in known:
            names[cluster] = known[cluster]
        else:
            names[cluster] = _letters(letters)
            letters += 1
    return names


def _letters(index: int) -> str:
    out = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        out = chr(ord("A") + rest) + out
    return out
