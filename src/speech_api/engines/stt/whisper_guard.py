"""The guard on a trimmed decode: what makes a result look wrong, so that its clip goes through
faster-whisper's full-window `transcribe` instead (see `whisper_fast`).

Without a margin of silence after the speech the decoder loops (it has nothing to end on), and
a margin does not always suffice: every trimmed result is checked against the library's own
fallback criteria (compression ratio, average log-probability), a no-speech verdict, a repeated
phrase, too many tokens per second of audio, a timestamp past the audio's end, and a decode
that did not finish in one window.

A decode that goes wrong usually runs away: it repeats itself until the decoder's length limit
(224 tokens, half of Whisper's 448-token context, as in the library). CTranslate2's `generate`
has no per-step hook, so two bounds are set before it starts:

- no timestamp past the audio (`late_timestamps`): the tokens for a time more than
  `END_TOLERANCE_S` after the clip's end are suppressed. A runaway usually reads its clip again
  as a new segment placed after the speech (in the margin of silence and beyond); Whisper's
  timestamps only move forward, so with nowhere left to put a segment the decoder ends instead.
  A result with such a timestamp was rejected anyway (`check_timing`): the decoder is stopped
  from making it rather than judged after it;
- a token budget bounded by the clip's length (`token_budget`): a loop within one segment,
  which needs no timestamp, stops there and is judged at once (`check_budget`) instead of
  after 224 tokens.
"""

from __future__ import annotations

import math

from faster_whisper.transcribe import get_compression_ratio

from speech_api.engines.stt.whisper_arguments import LIBRARY_DEFAULTS

COMPRESSION_RATIO_THRESHOLD = LIBRARY_DEFAULTS["compression_ratio_threshold"]
LOG_PROB_THRESHOLD = LIBRARY_DEFAULTS["log_prob_threshold"]
NO_SPEECH_THRESHOLD = LIBRARY_DEFAULTS["no_speech_threshold"]
LANGUAGE_THRESHOLD = LIBRARY_DEFAULTS["language_detection_threshold"]
# Real speech stays far below this (English ~3-5 tokens/s, Spanish ~6-8); a repetition loop
# fills the 448-token budget on a few seconds of audio.
MAX_TOKENS_PER_SECOND = 20.0
# The token budget of a trimmed decode (text and timestamp tokens together): this many per second
# of speech, plus a constant for a short clip's few words and its timestamps. Measured on the dev
# clips and their 104 harder variants (devkit/hard_clips.py), real speech took at most 5.5 tokens
# a second in English and 4.8 in Spanish, timestamps included; a runaway reaches the budget
# having repeated itself once, and stops there. The retry (a wider margin, which ends nearly
# every runaway) gets the looser budget, so that speech denser than any measured (a language
# Whisper's tokenizer splits finely) is decoded there rather than sent to the full window.
# How it is measured: docs/performance.md (the tail).
BUDGET_TOKENS_PER_SECOND = 8.0
RETRY_TOKENS_PER_SECOND = MAX_TOKENS_PER_SECOND
BUDGET_EXTRA_TOKENS = 10
# The reason given when the decoder hears no speech (the library skips such a window).
NO_SPEECH = "no speech in the trimmed window"
# A segment may end this far past the audio (Whisper rounds to 20 ms and overshoots a little).
END_TOLERANCE_S = 0.5
# Whisper's timestamp tokens: <|0.00|> to <|30.00|>, one per 20 ms.
TIMESTAMP_TOKENS = 1501


class Fallback(Exception):
    """The trimmed decode looked wrong; the clip goes through the full window."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason} ({detail})" if detail else reason)
        self.reason = reason


def token_budget(duration_s: float, cap: int, *, retry: bool = False) -> int:
    """The most tokens a trimmed decode of ``duration_s`` seconds of speech may generate (text and
    timestamps), at most ``cap`` (the library's own limit); ``retry``: the second try's."""
    rate = RETRY_TOKENS_PER_SECOND if retry else BUDGET_TOKENS_PER_SECOND
    wanted = math.ceil(rate * max(duration_s, 1.0)) + BUDGET_EXTRA_TOKENS
    return max(1, min(cap, wanted))


def late_timestamps(duration_s: float, timestamp_begin: int, precision: float) -> list[int]:
    """The timestamp tokens a decode of ``duration_s`` seconds of audio may not generate: those
    for a time more than `END_TOLERANCE_S` after its end (``timestamp_begin`` is the token of
    0.00 s, ``precision`` the seconds between two; Whisper has 1,501 of them, to 30.00 s)."""
    first = math.floor(round((duration_s + END_TOLERANCE_S) / precision, 6)) + 1
    return list(range(timestamp_begin + first, timestamp_begin + TIMESTAMP_TOKENS))


def generate_max_length(prompt_length: int, budget: int) -> int:
    """CTranslate2's `max_length` for a Whisper `generate` that may produce ``budget`` tokens
    after a prompt of ``prompt_length`` tokens. Its Whisper generates at most
    ``min(max_length // 2, max_length - prompt_length + 1)`` tokens (read in its whisper.cc:
    half the context, as OpenAI's `sample_len`); this inverts that."""
    return max(2 * budget, prompt_length - 1 + budget)


def check_budget(generated: int, budget: int) -> None:
    """A decode that used its whole budget never found the end of the speech: a runaway (or
    speech far denser than any measured), judged now rather than after the library's 224."""
    if generated >= budget:
        raise Fallback("token budget", f"{generated} tokens, the budget for this clip")


def check_text(
    text: str, *, text_tokens: int, avg_logprob: float, no_speech: float, duration_s: float
) -> float:
    """Raise `Fallback` when the decoded text looks wrong; else its compression ratio."""
    compression_ratio = get_compression_ratio(text)
    if no_speech > NO_SPEECH_THRESHOLD and avg_logprob < LOG_PROB_THRESHOLD:
        raise Fallback(NO_SPEECH)
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
    segments: list[dict],
    *,
    seek: int,
    frames: int,
    duration_s: float,
    chunked: bool,
    clamp_late: bool = False,
) -> None:
    """A decode that stopped early or placed a timestamp past the audio falls back; a long
    recording's chunk keeps it, clamped (its skipped speech is found and decoded on its own,
    see `long_form`). With ``clamp_late`` (the retry, with 5 s of silence after the speech) a
    last segment that ends in that silence is clamped too, as long as every segment starts
    inside the audio: on the clips where the retry still does this, the library's full window
    does the same and keeps it. Segments are faster-whisper's dicts, changed in place."""
    if chunked:
        for s in segments:  # clamped, never emptied: a segment keeps its words
            s["end"] = min(s["end"], duration_s)
            s["start"] = min(s["start"], max(0.0, s["end"] - 0.02))
        return
    if seek < frames:
        raise Fallback("decode stopped before the end of the audio")
    late = [s for s in segments if s["end"] > duration_s + END_TOLERANCE_S]
    if late and not (clamp_late and all(s["start"] < duration_s for s in segments)):
        raise Fallback("a timestamp past the end of the audio")
    for s in late:
        s["end"] = duration_s


def repeats_a_phrase(text: str, min_words: int = 3, echo_words: int = 5) -> bool:
    """The same run of ``min_words`` or more words twice in a row: the short-loop failure of a
    trimmed window (a 2 s clip read as its sentence twice, with a plausible compression ratio
    and rate). Or an echo: a run of ``echo_words`` or more said twice with a word or two between
    (the sentence read again from its second word), the two covering half the text or more, as
    on a reverberant 4 s clip that came back as "not at this particular case tom apologize to
    quit more now that this particular case tom apologize to quit more". Real speech that does
    either is rare, and costs only a second decode."""
    words = ["".join(c for c in w.lower() if c.isalnum()) for w in text.split()]
    words = [w for w in words if w]
    n = len(words)
    for size in range(min_words, n // 2 + 1):
        for start in range(n - 2 * size + 1):
            if words[start : start + size] == words[start + size : start + 2 * size]:
                return True
    for size in range(max(echo_words, -(-n // 4)), n // 2 + 1):
        seen: dict[tuple[str, ...], int] = {}
        for start in range(n - size + 1):
            run = tuple(words[start : start + size])
            if run in seen and start >= seen[run] + size:
                return True
            seen.setdefault(run, start)
    return False
