"""Subtitles: transcript segments, and the timed words of synthesized speech (captions), as SRT
and WebVTT. A segment with a speaker (or a channel) names it: SRT cues start with `A: `, WebVTT
cues are voice spans (`<v A>`), as captioning tools read them."""

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


def who(segment: TranscriptSegment) -> str | None:
    """Who speaks in a segment: its speaker, else its channel, else None."""
    return segment.speaker or segment.channel


def _srt_text(segment: TranscriptSegment) -> str:
    name = who(segment)
    text = cue_text(segment.text)
    return f"{name}: {text}" if name else text


def _vtt_text(segment: TranscriptSegment) -> str:
    name = who(segment)
    text = cue_text(segment.text, vtt=True)
    # A voice span's annotation ends at '>': keep the name from closing it early.
    return f"<v {_vtt_escape(name).replace('>', '')}>{text}" if name else text


def _vtt_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_srt(segments: Iterable[TranscriptSegment]) -> str:
    blocks = [
        f"{i}\n{_timestamp(s.start, ',')} --> {_timestamp(s.end, ',')}\n{_srt_text(s)}\n"
        for i, s in enumerate(_cues(segments), start=1)
    ]
    return "\n".join(blocks)


def to_vtt(segments: Iterable[TranscriptSegment]) -> str:
    blocks = [
        f"{_timestamp(s.start, '.')} --> {_timestamp(s.end, '.')}\n{_vtt_text(s)}\n"
        for s in _cues(segments)
    ]
    return "WEBVTT\n\n" + "\n".join(blocks)


def to_paragraphs(segments: Iterable[TranscriptSegment]) -> str:
    """Plain text, one paragraph per turn (consecutive segments of one speaker or channel),
    each starting with who speaks: `A: ...`."""
    turns: list[tuple[str | None, list[str]]] = []
    for s in _cues(segments):
        name = who(s)
        if turns and turns[-1][0] == name:
            turns[-1][1].append(s.text.strip())
        else:
            turns.append((name, [s.text.strip()]))
    paragraphs = [
        f"{name}: {' '.join(texts)}" if name else " ".join(texts) for name, texts in turns
    ]
    return "\n\n".join(paragraphs) + "\n"


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
