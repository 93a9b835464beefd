"""Transcript segments as SRT and WebVTT subtitles."""

from __future__ import annotations

from collections.abc import Iterable

from speech_api.engines.base import TranscriptSegment


def _timestamp(seconds: float, separator: str) -> str:
    millis = max(0, round(seconds * 1000))
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


def _cues(segments: Iterable[TranscriptSegment]) -> list[TranscriptSegment]:
    return [s for s in segments if s.text.strip()]


def to_srt(segments: Iterable[TranscriptSegment]) -> str:
    blocks = [
        f"{i}\n{_timestamp(s.start, ',')} --> {_timestamp(s.end, ',')}\n{s.text.strip()}\n"
        for i, s in enumerate(_cues(segments), start=1)
    ]
    return "\n".join(blocks)


def to_vtt(segments: Iterable[TranscriptSegment]) -> str:
    blocks = [
        f"{_timestamp(s.start, '.')} --> {_timestamp(s.end, '.')}\n{s.text.strip()}\n"
        for s in _cues(segments)
    ]
    return "WEBVTT\n\n" + "\n".join(blocks)
