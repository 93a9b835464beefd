"""A long `Script` cut into parts for a speech job: each part is synthesized on its own (in
parallel, by whichever worker takes it) and the parts' audio is joined in order.

Parts end at sentence ends, so a join falls where the voice pauses anyway and every part has
whole sentences to speak (the voice's intonation needs them). A sentence longer than a part
(200,000 characters without a full stop) is cut at a word; a word longer than a part cannot
occur (text/read refuses words past MAX_WORD_CHARS). Pauses go with the part before them.

Parts travel as JSON (the queue's messages name them; their scripts are stored beside the
job), so `to_json`/`from_json` round-trip a script exactly."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from speech_api.text.script import Pause, Script, Span, Token, Words, sentences


def split(script: Script, part_chars: int, workers: int = 1) -> list[Script]:
    """The script in parts of at most ``part_chars`` characters of speech each (a sentence
    longer than that is cut at words; a part may run over by one word), as even as sentence
    ends allow, and as many as a multiple of ``workers``.

    Even parts matter because a job takes as long as its slowest worker: 12,000 characters in
    parts filled up to 1,000 each were 13 parts, and on two workers the thirteenth ran alone
    while the other waited (7 rounds for 6.5 rounds of work). So the number of parts is fixed
    first (enough to keep each under ``part_chars``, rounded up to a multiple of ``workers``,
    who take them in order), and each sentence goes to the part its middle falls in: parts
    of one target size each, give or take half a sentence. They aim at PART_FILL of
    ``part_chars`` so that half a sentence more still fits."""
    leading, units = _units(script, part_chars)
    if not units:
        return [script] if leading else []
    sizes = [len(unit.words.spoken) for unit in units]
    count = max(1, math.ceil(sum(sizes) / (part_chars * PART_FILL)))
    count = min(len(units), math.ceil(count / workers) * workers)
    target = sum(sizes) / count or 1.0  # or: nothing to say (emoji only)
    parts: list[list[Span]] = [list(leading)]
    size = done = bucket = 0
    for unit, length in zip(units, sizes, strict=True):
        middle = min(count - 1, int((done + length / 2) // target))
        if size and (middle != bucket or size + length > part_chars or unit.cut):
            parts.append([])
            size = 0
        bucket = middle
        parts[-1] += [unit.words, *unit.pauses]
        size += length
        done += length
    return [Script(spans=tuple(_joined(p)), language=script.language) for p in parts]


# Parts aim at this share of part_chars (see split).
PART_FILL = 0.9


@dataclass
class _Unit:
    """A sentence (or, ``cut``, a piece of one longer than a part: each piece is a part of
    its own), the least a part holds, with the pauses that follow it."""

    words: Words
    cut: bool = False
    pauses: list[Pause] = field(default_factory=list)


def _units(script: Script, part_chars: int) -> tuple[list[Pause], list[_Unit]]:
    """The pauses before the first sentence, and the sentences."""
    leading: list[Pause] = []
    units: list[_Unit] = []
    for span in script.spans:
        if isinstance(span, Pause):
            (units[-1].pauses if units else leading).append(span)
            continue
        for sentence in sentences(span):
            if len(sentence.spoken) <= part_chars:
                units.append(_Unit(sentence))
            else:  # no sentence end within a part's size
                units += [_Unit(piece, cut=True) for piece in _cut(sentence, part_chars)]
    return leading, units


def _cut(words: Words, part_chars: int) -> list[Words]:
    pieces: list[list[Token]] = [[]]
    size = 0
    for token in words.tokens:
        length = len(token.spoken) + 1
        if size and size + length > part_chars:
            pieces.append([])
            size = 0
        pieces[-1].append(token)
        size += length
    return [Words(tuple(p), words.rate) for p in pieces if p]


def _joined(spans: list[Span]) -> list[Span]:
    """Neighbouring sentences at one rate as one stretch again (one engine call)."""
    out: list[Span] = []
    for span in spans:
        last = out[-1] if out else None
        if isinstance(span, Words) and isinstance(last, Words) and last.rate == span.rate:
            out[-1] = Words(last.tokens + span.tokens, span.rate)
            continue
        out.append(span)
    return out


def to_json(script: Script) -> dict:
    return {
        "language": script.language,
        "spans": [
            {"pause": s.seconds}
            if isinstance(s, Pause)
            else {"rate": s.rate, "tokens": [[t.written, t.spoken] for t in s.tokens]}
            for s in script.spans
        ],
    }


def from_json(data: dict) -> Script:
    spans: list[Span] = []
    for span in data["spans"]:
        if "pause" in span:
            spans.append(Pause(float(span["pause"])))
        else:
            tokens = tuple(Token(str(w), str(s)) for w, s in span["tokens"])
            spans.append(Words(tokens, float(span["rate"])))
    return Script(spans=tuple(spans), language=str(data["language"]))
