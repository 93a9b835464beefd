"""Partial text that only grows: which words of the utterance-so-far decodes are stable enough
to send as `delta` events.

A delta can never be taken back, and decoding a growing utterance again revises its last words
("the sin which man" -> "the sin which man thus punished"). A word is sent once two successive
decodes agree on it and on everything before it (local agreement, as in whisper_streaming), so
the text a client builds from deltas rarely contradicts itself. The next decode is told the
words already sent as its prefix, so it continues them rather than revising them. The
`completed` transcript is decoded again, whole and at full quality, and is what counts; the
deltas add its remaining words when it still begins with what they sent.
"""

from __future__ import annotations

import re

_WORD = re.compile(r"[\w']+")


def _key(word: str) -> str:
    """A word as agreement compares it: case and punctuation do not count."""
    return "".join(_WORD.findall(word.lower()))


class Agreement:
    def __init__(self) -> None:
        self.sent: list[str] = []  # words sent so far, as sent
        self._previous: list[str] | None = None  # the last hypothesis beyond `sent`

    @property
    def prefix(self) -> str:
        """The text already sent, which the next partial decode continues."""
        return " ".join(self.sent)

    def update(self, continuation: str) -> str | None:
        """A new decode's words after the prefix: the delta to send (words both this decode
        and the previous one agree on), or None."""
        words = continuation.split()
        previous, self._previous = self._previous, words
        if previous is None:
            return None
        agreed = 0
        for a, b in zip(previous, words, strict=False):
            if not _key(a) or _key(a) != _key(b):
                break
            agreed += 1
        if not agreed:
            return None
        new = words[:agreed]
        self._previous = words[agreed:]
        return self._send(new)

    def finish(self, transcript: str) -> str | None:
        """The rest of the final transcript as one last delta, when it begins with what was
        sent (else None: the deltas stand, and `completed` carries the whole text)."""
        words = transcript.split()
        if len(words) < len(self.sent):
            return None
        if any(_key(a) != _key(b) for a, b in zip(self.sent, words, strict=False)):
            return None
        rest = words[len(self.sent) :]
        return self._send(rest) if rest else None

    def _send(self, words: list[str]) -> str:
        text = " ".join(words)
        delta = (" " + text) if self.sent else text
        self.sent.extend(words)
        return delta
