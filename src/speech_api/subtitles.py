"""Subtitles: transcript segments, and the timed words of synthesized speech (captions), as SRT
and WebVTT."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from speech_api.engines.base import TranscriptSegment, WordTiming

# Cue limits: short enough to read while it is spoken.
MAX_CUE_WORDS = 7
MAX_CUE_S = 3.5
_SENTENCE_END = (".", "!", "?", "\u2026", "\u3002", "\uff01", "\uff1f")
_CLOSERS = "\"')]\u201d\u2019"


def _timestamp(seconds: float, separator: str) -> str:
    millis = max(0, round(seconds * 1000))
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


# "-->" separates a cue's times; in a cue's text it would start a cue of the text's making.
_ARROW = re.compile(r"-{2,}>")


def cue_text(text: str, *, vtt: bool = False) -> str:
    """A cue's text on one line (a blank line ends a cue, so a line break could start one),
    without the timing arrow; for WebVTT, with &, < and > escaped (its cue text is markup)."""
    line = _ARROW.sub("->", " ".join(text.split()))
    if vtt:
        line = line.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return line


def _cues(segments: Iterable[TranscriptSegment]) -> list[TranscriptSegment]:
    return [s for s in segments if cue_text(s.text)]


def to_srt(segments: Iterable[TranscriptSegment]) -> str:
    blocks = [
        f"{i}\n{_timestamp(s.start, ',')} --> {_timestamp(s.end, ',')}\n{cue_text(s.text)}\n"
        for i, s in enumerate(_cues(segments), start=1)
    ]
    return "\n".join(blocks)


def to_vtt(segments: Iterable[TranscriptSegment]) -> str:
    blocks = [
        f"{_timestamp(s.start, '.')} --> {_timestamp(s.end, '.')}\n{cue_text(s.text, vtt=True)}\n"
        for s in _cues(segments)
    ]
    return "WEBVTT\n\n" + "\n".join(blocks)


def word_cues(
    words: Sequence[WordTiming], *, max_words: int = MAX_CUE_WORDS, max_s: float = MAX_CUE_S
) -> list[TranscriptSegment]:
    """Words grouped into caption cues: a cue ends after a sentence (of two words or
    more), at ``max_words`` words, or before the word that would take it past ``max_s``
    seconds (a single word longer than that, "1/2/2024", is a cue of its own)."""
    cues: list[TranscriptSegment] = []
    group: list[WordTiming] = []

    def close() -> None:
        if group:
            text = " ".join(w.word for w in group)
            cues.append(TranscriptSegment(start=group[0].start, end=group[-1].end, text=text))
            group.clear()

    for word in words:
        if group and word.end - group[0].start > max_s:
            close()
        group.append(word)
        # A sentence end closes the cue, unless the cue would be that one word ("Dr."
        # before a name ends a sentence to the sentence splitter and to espeak alike).
        sentence_end = word.word.rstrip(_CLOSERS).endswith(_SENTENCE_END) and len(group) > 1
        if len(group) >= max_words or sentence_end:
            close()
    close()
    return cues


def captions_srt(words: Sequence[WordTiming]) -> str:
    return to_srt(word_cues(words))


def captions_vtt(words: Sequence[WordTiming]) -> str:
    return to_vtt(word_cues(words))
