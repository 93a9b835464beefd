"""What a narration is made of once its text (plain or SSML) is read: stretches of speech and
pauses, in order. Engines never see markup or written forms: each stretch carries the words
as written (what captions show) beside what is to be said (the spoken form).

Plain text and SSML both become a `Script`, so `/tts`, `/v1/audio/speech` and speech jobs
synthesize them the same way (service/narration.py), and a job splits one at sentence
boundaries into parts (text/parts.py)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace

# Pauses of SSML's break strengths (Polly: weak and medium are a comma's pause, strong a
# sentence's, x-strong a paragraph's), and the pause between paragraphs of plain text.
BREAK_STRENGTHS_S = {
    "none": 0.0,
    "x-weak": 0.0,
    "weak": 0.25,
    "medium": 0.25,
    "strong": 0.5,
    "x-strong": 1.0,
}
PARAGRAPH_PAUSE_S = BREAK_STRENGTHS_S["x-strong"]
SENTENCE_ENDS = (".", "!", "?", "\u2026", ":", ";")


@dataclass(frozen=True)
class Token:
    """One written word (or a few that are said as one: "5 km", "March 15") and what is said
    for it. ``written`` empty: nothing to show (Markdown syntax); ``spoken`` empty: nothing
    to say (an emoji). ``phonemes``: ``spoken`` is ``[[...]]``, phonemes for the engine
    (SSML <phoneme>, the only source of them).

    Piper takes any ``[[...]]`` in its text as phonemes, so a word's spoken form never holds
    "[[" or "]]" (they become "[" and "]"): "[[Main Page]]" in a wiki's text is read as
    words, not fed to the voice as IPA past the check <phoneme> gets.

    ``joined``: written right after the token before it, with no space between (SSML whose
    text meets an element mid-word: '"<sub alias="...">WWW</sub>",' or
    '<say-as interpret-as="characters">FBI</say-as>'s'): captions show them as one word."""

    written: str
    spoken: str
    phonemes: bool = False
    joined: bool = False

    def __post_init__(self) -> None:
        if not self.phonemes and ("[[" in self.spoken or "]]" in self.spoken):
            spoken = _DOUBLE_CLOSE.sub("]", _DOUBLE_OPEN.sub("[", self.spoken))
            object.__setattr__(self, "spoken", spoken)


_DOUBLE_OPEN = re.compile(r"\[{2,}")
_DOUBLE_CLOSE = re.compile(r"\]{2,}")


@dataclass(frozen=True)
class Words:
    """A stretch of speech at one rate (SSML <prosody rate>; 1.0: the request's speed)."""

    tokens: tuple[Token, ...]
    rate: float = 1.0

    @property
    def spoken(self) -> str:
        """What the engine is given: the tokens' spoken forms, with a space between them
        unless one is glued to the one before it (see `glued`)."""
        out, previous = "", None
        for t in self.tokens:
            if t.spoken:
                out += t.spoken if not out or glued(previous, t) else " " + t.spoken
                previous = t
        return out

    @property
    def written(self) -> str:
        return " ".join(word for word, _ in written_words(self.tokens))

    @property
    def has_speech(self) -> bool:
        return any(any(c.isalnum() for c in t.spoken) for t in self.tokens)


def written_words(tokens: Sequence[Token]) -> list[tuple[str, list[int]]]:
    """The written words of ``tokens`` (those joined to the one before are one word with it,
    SSML's '"WWW",'), each with the indexes of the tokens it is made of."""
    words: list[tuple[str, list[int]]] = []
    for index, token in enumerate(tokens):
        if token.written:
            if token.joined and words:
                text, indexes = words[-1]
                words[-1] = (text + token.written, [*indexes, index])
            else:
                words.append((token.written, [index]))
    return words


def glued(previous: Token | None, token: Token) -> bool:
    """Whether ``token``'s spoken form follows ``previous``'s with no space: written so
    ("FBI's" said "F B I's", not "F B I 's", which a voice reads as the letter S), unless
    either is phonemes (a voice takes those only as a block of their own)."""
    return (
        token.joined
        and previous is not None
        and not token.phonemes
        and not previous.phonemes
        and not token.spoken[:1].isspace()
        and not previous.spoken[-1:].isspace()
    )


@dataclass(frozen=True)
class Pause:
    seconds: float


Span = Words | Pause


@dataclass(frozen=True)
class Script:
    spans: tuple[Span, ...]
    language: str = "en"

    @property
    def spoken(self) -> str:
        """Everything said, as one text (what a streamed answer speaks)."""
        return " ".join(s.spoken for s in self.spans if isinstance(s, Words) and s.spoken)

    @property
    def written_chars(self) -> int:
        """Characters of text (markup left out): what length limits and progress count."""
        return sum(len(s.written) for s in self.spans if isinstance(s, Words))

    @property
    def pause_s(self) -> float:
        return sum(s.seconds for s in self.spans if isinstance(s, Pause))

    @property
    def has_speech(self) -> bool:
        return any(isinstance(s, Words) and s.has_speech for s in self.spans)

    @property
    def has_phonemes(self) -> bool:
        return any(isinstance(s, Words) and any(t.phonemes for t in s.tokens) for s in self.spans)


def compact(spans: Iterable[Span]) -> tuple[Span, ...]:
    """Neighbouring stretches at the same rate joined, neighbouring pauses added up, empty
    ones dropped: the fewest engine calls, each with as much context as possible."""
    out: list[Span] = []
    for span in spans:
        if isinstance(span, Words):
            if not span.tokens:
                continue
            last = out[-1] if out else None
            if isinstance(last, Words) and last.rate == span.rate:
                out[-1] = Words(last.tokens + span.tokens, span.rate)
                continue
        elif span.seconds <= 0:
            continue
        elif out and isinstance(out[-1], Pause):
            out[-1] = Pause(out[-1].seconds + span.seconds)
            continue
        out.append(span)
    return tuple(out)


def end_sentence(tokens: list[Token]) -> None:
    """Make the last spoken token end a sentence (a heading, a list item, an SSML <s>), so
    the engine falls in pitch and pauses there; what is written is left as it is."""
    for i in range(len(tokens) - 1, -1, -1):
        token = tokens[i]
        if token.spoken and not token.phonemes:
            if not token.spoken.rstrip("\"')]\u201d\u2019").endswith(SENTENCE_ENDS):
                tokens[i] = replace(token, spoken=token.spoken + ".")
            return
        if token.spoken:
            tokens.append(Token("", "."))
            return


def sentences(words: Words) -> Iterator[Words]:
    """The stretch cut after each token that ends a sentence (what job parts are cut at)."""
    start = 0
    tokens = words.tokens
    for i, token in enumerate(tokens):
        end = token.spoken.rstrip("\"')]\u201d\u2019")
        if end.endswith((".", "!", "?", "\u2026")) and not token.phonemes:
            yield Words(tokens[start : i + 1], words.rate)
            start = i + 1
    if start < len(tokens):
        yield Words(tokens[start:], words.rate)
