"""Text cut into pieces no longer than MAX_SENTENCE_CHARS before it reaches a TTS engine.

Engines synthesize a sentence at a time, and their memory grows with the sentence: Piper
(onnxruntime) about 1.2 MB per character, so 2,048 characters without a full stop cost
2.3 GB and 38 s in one piece. Sentences are kept whole when they fit; a longer one is cut at
its last clause boundary (, ; : dashes, brackets) that fits, else at a space, else (one
unbroken "word") at the limit.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

# The longest piece of text an engine synthesizes at once: longer sentences are cut at a clause
# boundary or a space (engines/sentences.py). Piper's memory grows by about 1.2 MB per character
# of a sentence (250 characters +0.29 GB, 1,000 +1.2 GB, measured here), Tacotron's attention
# with it. At 150 a served process still peaked +306 MB on one long /tts (freed pieces are not
# all reused by the next); 100 keeps it well under that and most sentences whole.
MAX_SENTENCE_CHARS = 100

# A sentence ends at . ! ? and the ellipsis (and CJK full stops), with any closing quotes or
# brackets. (\u escapes: the characters themselves look like ASCII punctuation.)
_END = r"[.!?\u2026\u3002\uff01\uff1f]"
_SENTENCE_END = re.compile(rf"(?:(?<={_END})|(?<={_END}[\"'\u201d\u2019)\]]))\s+")
# Places to cut inside a sentence, best first: after clause punctuation (, ; : and their CJK
# forms, closing brackets, em and en dashes), or around a free-standing dash.
_CLAUSE_CUT = re.compile(r"(?<=[,;:\uff0c\uff1b\uff1a)\]\u2014\u2013])\s+|\s+[\u2014\u2013-]+\s+")
_SPACE = re.compile(r"\s+")


def bounded_sentences(text: str, max_chars: int = MAX_SENTENCE_CHARS) -> Iterator[str]:
    """The text's sentences, each cut into pieces of at most ``max_chars`` characters."""
    for sentence in _SENTENCE_END.split(text):
        sentence = sentence.strip()
        if sentence:
            yield from _cut(sentence, max_chars)


def _cut(sentence: str, max_chars: int) -> Iterator[str]:
    while len(sentence) > max_chars:
        window = sentence[: max_chars + 1]
        cut = _last_cut(_CLAUSE_CUT, window) or _last_cut(_SPACE, window)
        if cut is None:
            head, sentence = sentence[:max_chars], sentence[max_chars:]
        else:
            head, sentence = sentence[: cut[0]], sentence[cut[1] :]
        if head.strip():
            yield head.strip()
        sentence = sentence.strip()
    if sentence:
        yield sentence


def _last_cut(pattern: re.Pattern, window: str) -> tuple[int, int] | None:
    """(end of the head, start of the rest) of the last cut in ``window`` that leaves a
    head of at least a quarter of the window (no one-word pieces when a clause is long)."""
    best = None
    for match in pattern.finditer(window):
        if match.start() >= len(window) // 4 and match.start() < len(window):
            best = (match.start(), match.end())
    return best
