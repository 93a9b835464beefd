"""The guard on a trimmed decode: what makes a result look wrong, so that its clip goes through
faster-whisper's full-window `transcribe` instead (see `whisper_fast`).

Without a margin of silence after the speech the decoder loops (it has nothing to end on), and
a margin does not always suffice: every trimmed result is checked against the library's own
fallback criteria (compression ratio, average log-probability), a no-speech verdict, a repeated
phrase, too many tokens per second of audio, a timestamp past the audio's end, and a decode
that did not finish in one window.
"""

from __future__ import annotations

from faster_whisper.transcribe import get_compression_ratio

from speech_api.engines.stt.whisper_arguments import LIBRARY_DEFAULTS

COMPRESSION_RATIO_THRESHOLD = LIBRARY_DEFAULTS["compression_ratio_threshold"]
LOG_PROB_THRESHOLD = LIBRARY_DEFAULTS["log_prob_threshold"]
NO_SPEECH_THRESHOLD = LIBRARY_DEFAULTS["no_speech_threshold"]
LANGUAGE_THRESHOLD = LIBRARY_DEFAULTS["language_detection_threshold"]
# Real speech stays far below this (English ~3-5 tokens/s, Spanish ~6-8); a repetition loop
# fills the 448-token budget on a few seconds of audio.
MAX_TOKENS_PER_SECOND = 20.0
# A segment may end this far past the audio (Whisper rounds to 20 ms and overshoots a little).
END_TOLERANCE_S = 0.5


class Fallback(Exception):
    """The trimmed decode looked wrong; the clip goes through the full window."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason} ({detail})" if detail else reason)
        self.reason = reason


def check_text(
    text: str, *, text_tokens: int, avg_logprob: float, no_speech: float, duration_s: float
) -> float:
    """Raise `Fallback` when the decoded text looks wrong; else its compression ratio."""
    compression_ratio = get_compression_ratio(text)
    if no_speech > NO_SPEECH_THRESHOLD and avg_logprob < LOG_PROB_THRESHOLD:
        raise Fallback("no speech in the trimmed window")
    if compression_ratio > COMPRESSION_RATIO_THRESHOLD:
        raise Fallback("compression ratio", f"{compression_ratio:.2f}")
    if avg_logprob < LOG_PROB_THRESHOLD:
        raise Fallback("average log-probability", f"{avg_logprob:.2f}")
    if repeats_a_phrase(text):
        raise Fallback("a repeated phrase", text)
    if text_tokens > MAX_TOKENS_PER_SECOND * max(duration_s, 1.0):
        raise Fallback("tokens per second", f"{text_tokens} tokens for {duration_s:.1f} s of audio")
    return compression_ratio


def check_timing(
    segments: list[dict], *, seek: int, frames: int, duration_s: float, chunked: bool
) -> None:
    """A decode that stopped early or placed a timestamp past the audio falls back; a long
    recording's chunk keeps it, clamped (its skipped speech is found and decoded on its own,
    see `long_form`). Segments are faster-whisper's dicts, changed in place."""
    if chunked:
        for s in segments:  # clamped, never emptied: a segment keeps its words
            s["end"] = min(s["end"], duration_s)
            s["start"] = min(s["start"], max(0.0, s["end"] - 0.02))
        return
    if seek < frames:
        raise Fallback("decode stopped before the end of the audio")
    if any(s["end"] > duration_s + END_TOLERANCE_S for s in segments):
        raise Fallback("a timestamp past the end of the audio")


def repeats_a_phrase(text: str, min_words: int = 3) -> bool:
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
