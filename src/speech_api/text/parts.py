"""A long `Script` cut into parts for a speech job: each part is synthesized on its own (in
parallel, by whichever worker takes it) and the parts' audio is joined in order.

Parts end at sentence ends, so a join falls where the voice pauses anyway and every part has
whole sentences to speak (the voice's intonation needs them). A sentence longer than a part
(200,000 characters without a full stop) is cut at a word; a word longer than a part cannot
occur (text/read refuses words past MAX_WORD_CHARS). Pauses go with the part before them.

Parts travel as JSON (the queue's messages name them; their scripts are stored beside the
job), so `to_json`/`from_json` round-trip a script exactly."""

from __future__ import annotations

from speech_api.text.script import Pause, Script, Span, Token, Words, sentences


def split(script: Script, part_chars: int) -> list[Script]:
    """The script in parts of about ``part_chars`` characters of speech each (a part may
    run over by one sentence's last words, never by more than one word)."""
    parts: list[list[Span]] = [[]]
    size = 0
    for span in script.spans:
        if isinstance(span, Pause):
            parts[-1].append(span)
            continue
        for sentence in sentences(span):
            length = len(sentence.spoken)
            if size and size + length > part_chars:
                parts.append([])
                size = 0
            if length <= part_chars:
                parts[-1].append(sentence)
                size += length
                continue
            for piece in _cut(sentence, part_chars):  # no sentence end within a part's size
                if size:
                    parts.append([])
                    size = 0
                parts[-1].append(piece)
                size += len(piece.spoken)
    return [Script(spans=tuple(_joined(p)), language=script.language) for p in parts if p]


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
