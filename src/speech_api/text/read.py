"""A request's text, plain or SSML, read into the `Script` every synthesis path speaks.

Plain text: Markdown becomes structure (text/markdown.py), paragraphs are separated by a
pause, each word gets its spoken form (text/normalize.py). SSML: text/ssml.py. Either way
the result is bounded: silence (breaks and paragraph pauses) adds at most
`max_silence_s(chars)`, so neither 50,000 <break time="10s"/> nor 100,000 one-letter
paragraphs can make hours of nothing."""

from __future__ import annotations

import re
import unicodedata

from speech_api.errors import InvalidRequestError
from speech_api.text import markdown, normalize, ssml
from speech_api.text.script import PARAGRAPH_PAUSE_S, Pause, Script, Span, Words, compact
from speech_api.text.script import end_sentence as _end_sentence

TEXT_TYPES = ("text", "ssml")
# The longest word said as one (the spoken form's whitespace-free runs; English's longest
# dictionary words are under 50 letters). Longer "words" (a pasted blob, 200,000 characters
# without a space) are refused: a voice would spell them out letter by letter for hours.
MAX_WORD_CHARS = 100
# The most a text may be said in (its spoken form, in characters): three times the longest
# job text, about nine hours of speech (a job's audio runs about 0.054 s a character). Prose
# is said in about as many characters as it is written, a table of figures in up to six
# times as many ("1,234,567" is 56), a hostile text in more (a 200,000-character URL, "slash
# a slash a ...", was 800,000: twelve hours of one job). Each part of a job stays bounded
# (text/parts.py); this bounds the job.
MAX_SPOKEN_CHARS = 600_000
# Silence a text may add: 10 minutes, or as long as its speech would take (about 0.05 s of
# speech a character), whichever is more.
MIN_SILENCE_BOUND_S = 600.0
SILENCE_S_PER_CHAR = 0.05
_LANGUAGE = re.compile(r"^([a-z]{2,3})(?:[_-]|$)", re.IGNORECASE)


def max_silence_s(chars: int) -> float:
    return max(MIN_SILENCE_BOUND_S, chars * SILENCE_S_PER_CHAR)


def voice_language(voice: str, model: str = "") -> str:
    """The language a voice speaks, from its name (en_US-joe-medium, es_ES-...;
    tts_models/en/...): what the spoken form is written in. English when unknown."""
    match = _LANGUAGE.match(voice)
    if match:
        return match.group(1).lower()
    for part in model.split("/"):
        if re.fullmatch(r"[a-z]{2}", part):
            return part
    return "en"


def read(text: str, text_type: str = "text", *, language: str = "en") -> Script:
    """The script of ``text``; InvalidRequestError (400) when it is invalid SSML, has
    nothing to say, or would be mostly silence."""
    bound = max_silence_s(len(text))
    if text_type == "ssml":
        script = ssml.parse(text, language=language, max_pause_s=bound)
    else:
        script = read_plain(text, language=language)
    if script.pause_s > bound:
        raise ssml.too_much_silence(script.pause_s, len(text), bound)
    if not script.has_speech:
        raise InvalidRequestError("The text has nothing to speak.", param="text", code="no_speech")
    _check_words(script)
    spoken = sum(len(s.spoken) + 1 for s in script.spans if isinstance(s, Words))
    if spoken > MAX_SPOKEN_CHARS:
        raise InvalidRequestError(
            f"The text would be said in about {spoken:,} characters (numbers, symbols and URLs "
            f"are said in words); at most {MAX_SPOKEN_CHARS:,} (about nine hours of speech). "
            "Split it into several jobs.",
            param="text",
            code="text_too_long",
        )
    return script


def _check_words(script: Script) -> None:
    for span in script.spans:
        if not isinstance(span, Words):
            continue
        for token in span.tokens:
            if len(token.spoken) <= MAX_WORD_CHARS:
                continue
            longest = max(token.spoken.split(), key=len, default="")
            if len(longest) > MAX_WORD_CHARS:
                raise InvalidRequestError(
                    f"The text has a word of {len(longest)} characters ('{longest[:20]}...'); "
                    f"words may be at most {MAX_WORD_CHARS} characters long (longer ones "
                    "would be spelled out letter by letter). Put spaces in it, or leave it out.",
                    param="text",
                    code="word_too_long",
                )


def read_plain(text: str, *, language: str = "en") -> Script:
    spans: list[Span] = []
    for paragraph in markdown.paragraphs(_printable(text)):
        tokens = []
        for unit in paragraph:
            if not any(ch.isalnum() for ch in unit.text):
                # A line of symbols is a scene break ("~", "⁂", "§", "* * *"), not words:
                # espeak named them ("tilde") or the spoken form did ("about").
                continue
            unit_tokens = normalize.tokens(unit.text, language)
            if unit.sentence:
                _end_sentence(unit_tokens)
            tokens += unit_tokens
        if tokens:
            if spans:
                spans.append(Pause(PARAGRAPH_PAUSE_S))
            spans.append(Words(tuple(tokens)))
    return Script(spans=compact(spans), language=language)


def _printable(text: str) -> str:
    """Control characters (NUL, escape, ...) as spaces; line ends kept (they are structure)."""
    return "".join(
        " " if unicodedata.category(ch) == "Cc" and ch not in "\n\r\t" else ch for ch in text
    )
