"""A long `Script` cut into parts for a speech job: each part is synthesized on its own (in
parallel, by whichever worker takes it) and the parts' audio is joined in order.

Parts end at sentence ends, so a join falls where the voice pauses anyway and every part has
whole sentences to speak (the voice's intonation needs them). A sentence longer than a part
(200,000 characters without a full stop) is cut at a word, and a word said in more than a part
(a long number read digit by digit) between its spoken words; no spoken word is longer than
a part (text/read refuses them past MAX_WORD_CHARS). Pauses go with the part before them.

Parts travel as JSON (the queue's messages name them; their scripts are stored beside the
job), so `to_json`/`from_json` round-trip a script exactly."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from speech_api.text.script import Pause, Script, Span, Token, Words, sentences


def split(script: Script, part_chars: int, workers: int = 1) -> list[Script]:
    """The script cut at sentence ends into parts of at most ``part_chars`` characters of
    speech each (a sentence longer than that is cut at words first, and a word said in more
    than a part between its spoken words), as many as a multiple of ``workers`` when there
    are enough sentences, the largest as small as sentence ends allow.

    Parts matter because a job takes as long as its slowest worker: 12,000 characters in
    parts filled up to 1,000 each were 13 parts, and on two workers the thirteenth ran alone
    while the other waited (7 rounds for 6.5 rounds of work). So the number of parts is fixed
    first (enough to hold the text at PART_FILL of ``part_chars`` each, rounded up to a
    multiple of ``workers``, who take the parts in order; more if sentences do not fit), and
    the sentences are then shared among that many parts: evenly, each to the part its middle
    falls in (_even), or where that leaves a part empty or too large (long sentences), with
    the largest part as small as it can be (_partition)."""
    leading, units = _units(script, part_chars)
    if not units:
        return [script] if leading else []
    # What a sentence adds to a part's spoken text: itself and the space before the next
    # (a sentence with nothing to say, an emoji's, adds nothing).
    weights = [len(u.words.spoken) + 1 if u.words.spoken else 0 for u in units]

    def fit(bounds: list[tuple[int, int]] | None) -> bool:  # the last space is not spoken
        return bounds is not None and all(sum(weights[a:b]) <= part_chars + 1 for a, b in bounds)

    count = math.ceil(sum(weights) / (part_chars * PART_FILL))
    while True:
        count = min(len(units), max(1, math.ceil(count / workers)) * workers)
        bounds = _even(weights, count)
        if not fit(bounds):
            bounds = _partition(weights, count)
        if count == len(units) or fit(bounds):
            break
        count += workers
    parts = []
    for number, (start, end) in enumerate(bounds):
        spans: list[Span] = list(leading) if number == 0 else []
        for unit in units[start:end]:
            spans += [unit.words, *unit.pauses]
        parts.append(Script(spans=tuple(_joined(spans)), language=script.language))
    return parts


# Parts aim at this share of part_chars (see split).
PART_FILL = 0.9


@dataclass
class _Unit:
    """A sentence (or a piece of one longer than a part), the least a part holds, with the
    pauses that follow it."""

    words: Words
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
                units += [_Unit(piece) for piece in _cut(sentence, part_chars)]
    return leading, units


def _even(weights: list[int], count: int) -> list[tuple[int, int]] | None:
    """``weights`` (in order) in ``count`` runs of about equal weight, each item in the run
    its middle falls in; None if a run would be empty."""
    target = sum(weights) / count or 1.0
    runs: list[tuple[int, int]] = []
    start, done = 0, 0
    for i, weight in enumerate(weights):
        run = min(count - 1, int((done + weight / 2) // target))
        if run > len(runs):  # this item starts the next run
            if run != len(runs) + 1 or i == start:
                return None
            runs.append((start, i))
            start = i
        done += weight
    runs.append((start, len(weights)))
    return runs if len(runs) == count else None


def _partition(weights: list[int], count: int) -> list[tuple[int, int]]:
    """``weights`` (in order) in exactly ``count`` runs (count <= len(weights)), as
    (start, end) pairs, the heaviest run as light as it can be: the least bound under which
    filling runs in order needs at most ``count`` of them (a binary search), then, if that
    took fewer (large sentences), the heaviest runs of several sentences halved (the later
    of two alike: small parts last leave the workers less to wait for)."""

    def filled(bound: int) -> list[tuple[int, int]]:
        runs, start, total = [], 0, 0
        for i, weight in enumerate(weights):
            if i > start and total + weight > bound:
                runs.append((start, i))
                start, total = i, 0
            total += weight
        return [*runs, (start, len(weights))]

    low, high = max(weights), sum(weights)
    while low < high:
        middle = (low + high) // 2
        if len(filled(middle)) <= count:
            high = middle
        else:
            low = middle + 1
    runs = filled(low)
    while len(runs) < count:
        i = max(
            (j for j, (a, b) in enumerate(runs) if b - a > 1),
            key=lambda j: (sum(weights[runs[j][0] : runs[j][1]]), j),  # the later of equals
        )
        a, b = runs[i]
        cut = min(range(a + 1, b), key=lambda c: abs(sum(weights[a:c]) - sum(weights[c:b])))
        runs[i : i + 1] = [(a, cut), (cut, b)]
    return runs


def _cut(words: Words, part_chars: int) -> list[Words]:
    pieces: list[list[Token]] = [[]]
    size = 0
    for token in (piece for t in words.tokens for piece in _pieces(t, part_chars)):
        length = len(token.spoken) + 1
        if size and size + length > part_chars:
            pieces.append([])
            size = 0
        pieces[-1].append(token)
        size += length
    return [Words(tuple(p), words.rate) for p in pieces if p]


def _pieces(token: Token, part_chars: int) -> list[Token]:
    """A token said in more than a part (one written word can be many spoken ones: a long
    number read digit by digit, a URL) as pieces of whole spoken words, each within a part;
    the first shows the written word. Without this one part could hold all of it."""
    if token.phonemes or len(token.spoken) < part_chars:
        return [token]
    pieces, current = [], ""
    for word in token.spoken.split():
        if current and len(current) + 1 + len(word) >= part_chars:
            pieces.append(current)
            current = ""
        current = f"{current} {word}" if current else word
    pieces.append(current)
    return [
        Token(token.written, spoken, joined=token.joined) if i == 0 else Token("", spoken)
        for i, spoken in enumerate(pieces)
    ]


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
            else {
                "rate": s.rate,
                "tokens": [_token_json(t) for t in s.tokens],
            }
            for s in script.spans
        ],
    }


def from_json(data: dict) -> Script:
    spans: list[Span] = []
    for span in data["spans"]:
        if "pause" in span:
            spans.append(Pause(float(span["pause"])))
        else:
            tokens = tuple(_token(*t) for t in span["tokens"])
            spans.append(Words(tokens, float(span["rate"])))
    return Script(spans=tuple(spans), language=str(data["language"]))


def _token_json(token: Token) -> list:
    flags = [token.phonemes, token.joined]
    while flags and not flags[-1]:
        flags.pop()
    return [token.written, token.spoken, *flags]


def _token(written: str, spoken: str, *flags: bool) -> Token:
    # [written, spoken, phonemes?, joined?], trailing False flags left out. A part stored
    # before tokens said whether they are phonemes ([written, spoken]): its phoneme tokens
    # are known by their form, as they were then.
    phonemes = bool(flags[0]) if flags else spoken.startswith("[[") and spoken.endswith("]]")
    joined = bool(flags[1]) if len(flags) > 1 else False
    return Token(str(written), str(spoken), phonemes=phonemes, joined=joined)
