"""Word timings for synthesized speech, from Piper's phoneme alignments (what captions are
made of: subtitles.py groups the timed words into cues).

A Piper voice loaded with alignments reports how many audio samples each phoneme took. To
time the words of the input text, each written word is phonemized on its own (the voice's
own phonemizer, so the same phoneme set), and that reference sequence is aligned with the
phonemes the voice actually spoke (edit distance over phonemes, spaces and punctuation left
out). A word lasts from the start of its first spoken phoneme to the end of its last.

Aligning phonemes rather than counting words keeps the mapping right where the counts of
written and spoken words differ: "42" is spoken as two words and "$3.50" as five, espeak
runs some words together ("in the end" is spoken as two words), reads "e.g." as one, and
splits a piece into two chunks at "Dr." (each word still gets the phonemes it was spoken
with). What degrades, and how:

- A token with no letter or digit ("-", an em dash) is not spoken: it joins the word before
  it (the next one at the start), so the captions keep the text as written.
- A written word none of whose phonemes were spoken (espeak dropped it) gets a zero-length
  timing where the previous word ended, so it stays in the captions in order.
- Spoken phonemes with no written counterpart (a context-only pronunciation) count towards
  the written word they sit beside within the same spoken word, and are left out otherwise.
- A chunk without alignments (the model lacks the output, or Piper could not map its phoneme
  ids back) has its phonemes spread evenly over its audio: its words are timed roughly.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable, Sequence
from typing import Protocol

from speech_api.engines.base import WordTiming

# The voice's phonemizer: text -> phonemes grouped by sentence (PiperVoice.phonemize).
Phonemize = Callable[[str], Sequence[Sequence[str]]]


class PhonemeSpan(Protocol):
    phoneme: str
    num_samples: int


class AlignedChunk(Protocol):
    """What word timing reads from a Piper ``AudioChunk`` synthesized with alignments."""

    sample_rate: int
    audio_float_array: Sequence[float]
    phonemes: list[str]
    phoneme_alignments: Sequence[PhonemeSpan] | None


def word_timings(
    pieces: Iterable[tuple[str, Sequence[AlignedChunk]]],
    phonemize: Phonemize,
    *,
    scale: float = 1.0,
    silence_s: float = 0.0,
) -> list[WordTiming]:
    """Timings of the words of consecutive pieces of text, each with the chunks Piper
    synthesized from it, on the timeline of their audio played one after another.

    ``silence_s``: silence inserted after every chunk (Piper's library inserts none; its
    command line's ``--sentence-silence`` does). ``scale``: multiplies every time, for audio
    whose tempo changed after synthesis (``1 / speed``); Piper's own ``length_scale`` needs
    none, its alignments already count the samples it produced.
    """
    words: list[WordTiming] = []
    offset_s = 0.0
    for text, chunks in pieces:
        words += piece_word_timings(text, chunks, phonemize, offset_s=offset_s, scale=scale)
        offset_s += sum(len(c.audio_float_array) / c.sample_rate + silence_s for c in chunks)
    return words


def piece_word_timings(
    text: str,
    chunks: Sequence[AlignedChunk],
    phonemize: Phonemize,
    *,
    offset_s: float = 0.0,
    scale: float = 1.0,
) -> list[WordTiming]:
    """Timings of the words of ``text`` (split at whitespace, as written) in the audio of
    ``chunks`` (every chunk Piper synthesized from that text, in order, played back to back),
    shifted by ``offset_s`` (seconds of unscaled audio before it) and multiplied by ``scale``.
    """
    written = written_words(text)
    spoken = _spoken_phonemes(chunks)
    reference = [(i, p) for i, word in enumerate(written) for p in _phonemes_of(word, phonemize)]
    labels = _label(spoken, reference)

    spans: list[list[float]] = [[] for _ in written]
    for (_, start, end, _), label in zip(spoken, labels, strict=True):
        if label is not None:
            spans[label] += [start, end]
    timings = []
    last_end = 0.0
    for word, span in zip(written, spans, strict=True):
        start, end = (min(span), max(span)) if span else (last_end, last_end)
        last_end = end
        timings.append(
            WordTiming(word=word, start=(offset_s + start) * scale, end=(offset_s + end) * scale)
        )
    return timings


def written_words(text: str) -> list[str]:
    """The words of ``text`` as written; a token with no letter or digit joins a neighbour."""
    words: list[str] = []
    pending = ""
    for token in text.split():
        if not any(c.isalnum() for c in token):
            if words:
                words[-1] += " " + token
            else:
                pending += token + " "
            continue
        words.append(pending + token)
        pending = ""
    if pending and words:
        words[-1] += " " + pending.strip()
    elif pending:
        words.append(pending.strip())
    return words


def _is_separator(phoneme: str) -> bool:
    """Spaces and punctuation: the phoneme stream's word and clause boundaries."""
    return all(c.isspace() or unicodedata.category(c).startswith("P") for c in phoneme)


def _phonemes_of(word: str, phonemize: Phonemize) -> list[str]:
    return [p for sentence in phonemize(word) for p in sentence if not _is_separator(p)]


def _spoken_phonemes(chunks: Sequence[AlignedChunk]) -> list[tuple[str, float, float, int]]:
    """(phoneme, start s, end s, spoken word number) of every phoneme that is no boundary."""
    spoken = []
    chunk_start = 0.0
    word = 0
    for chunk in chunks:
        rate = chunk.sample_rate
        duration = len(chunk.audio_float_array) / rate
        if chunk.phoneme_alignments is not None:
            # Piper's spans include the start (^) and end ($) markers: they cover the audio.
            spans = [(a.phoneme, int(a.num_samples) / rate) for a in chunk.phoneme_alignments]
        else:
            step = duration / max(1, len(chunk.phonemes))
            spans = [(p, step) for p in chunk.phonemes]
        at = chunk_start
        for phoneme, length in spans:
            if _is_separator(phoneme) or phoneme in ("^", "$"):
                word += 1
            else:
                spoken.append((phoneme, at, at + length, word))
            at += length
        chunk_start += duration
        word += 1
    return spoken


def _label(
    spoken: list[tuple[str, float, float, int]], reference: list[tuple[int, str]]
) -> list[int | None]:
    """For each spoken phoneme, the number of the written word it belongs to (or None)."""
    pairs = _align([s[0] for s in spoken], [r[1] for r in reference])
    labels: list[int | None] = [None] * len(spoken)
    for s, r in pairs:
        labels[s] = reference[r][0]
    # Unpaired spoken phonemes take the label of a paired neighbour in the same spoken word.
    for order in (range(len(spoken)), range(len(spoken) - 1, -1, -1)):
        previous = None
        for k in order:
            if labels[k] is None and previous is not None and spoken[previous][3] == spoken[k][3]:
                labels[k] = labels[previous]
            if labels[k] is not None:
                previous = k
    return labels


def _align(spoken: Sequence[str], reference: Sequence[str]) -> list[tuple[int, int]]:
    """Index pairs (spoken, reference) of a least-edits alignment (Levenshtein, with
    substitutions paired). Both sequences are the same text's phonemes, so they run nearly
    diagonal: only a band around the diagonal is searched."""
    n, m = len(spoken), len(reference)
    if not n or not m:
        return []
    band = abs(n - m) + 16
    inf = n + m + 1
    # cost[i][j]: edits to align spoken[:i] with reference[:j]; move: 0 diag, 1 up, 2 left.
    cost = [[inf] * (m + 1) for _ in range(n + 1)]
    move = [[0] * (m + 1) for _ in range(n + 1)]
    cost[0][0] = 0
    for j in range(1, min(m, band) + 1):
        cost[0][j], move[0][j] = j, 2
    for i in range(1, n + 1):
        centre = i * m // n
        row, above, moves = cost[i], cost[i - 1], move[i]
        if i <= band:
            row[0], moves[0] = i, 1
        for j in range(max(1, centre - band), min(m, centre + band) + 1):
            diag = above[j - 1] + (spoken[i - 1] != reference[j - 1])
            up = above[j] + 1
            left = row[j - 1] + 1
            if diag <= up and diag <= left:
                row[j] = diag
            elif up <= left:
                row[j], moves[j] = up, 1
            else:
                row[j], moves[j] = left, 2
    pairs = []
    i, j = n, m
    while i > 0 and j > 0:
        step = move[i][j]
        if step == 0:
            pairs.append((i - 1, j - 1))
            i, j = i - 1, j - 1
        elif step == 1:
            i -= 1
        else:
            j -= 1
    return pairs[::-1]
