"""Mapping Piper's phoneme alignments to the written words (engines/tts/piper_word_timing.py)
on made-up chunks: 100 samples a second, every phoneme 10 samples (0.1 s) unless said
otherwise."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from speech_api.engines.base import WordTiming
from speech_api.engines.tts.piper_word_timing import piece_word_timings, word_timings, written_words
from speech_api.subtitles import word_cues

RATE = 100


@dataclass
class Span:
    phoneme: str
    num_samples: int


@dataclass
class Chunk:
    sample_rate: int
    audio_float_array: np.ndarray
    phonemes: list[str]
    phoneme_alignments: list[Span] | None


def chunk(spoken: str, *, aligned: bool = True, lengths: dict[int, int] | None = None) -> Chunk:
    """A chunk that spoke ``spoken`` (one character a phoneme), between Piper's ^ and $."""
    spans = [Span(p, (lengths or {}).get(i, 10)) for i, p in enumerate(["^", *spoken, "$"])]
    total = sum(s.num_samples for s in spans)
    return Chunk(RATE, np.zeros(total, np.float32), list(spoken), spans if aligned else None)


def phonemizer(lexicon: dict[str, str]):
    """A voice's phonemize() over a lexicon: a word's phonemes, one character each."""

    def phonemize(text: str) -> list[list[str]]:
        tokens = [t.strip(".,!?;:\"'()—-").lower() for t in text.split()]
        return [list(" ".join(lexicon[t] for t in tokens if t))]

    return phonemize


def spans(timings: list[WordTiming]) -> list[tuple[str, float, float]]:
    return [(w.word, round(w.start, 3), round(w.end, 3)) for w in timings]


def test_each_word_lasts_from_its_first_to_its_last_phoneme():
    # ^ a b , _ c d . $ : "ab" 0.1-0.3, the comma and space pause, "cd" 0.5-0.7.
    timings = piece_word_timings(
        "Ab, cd.", [chunk("ab, cd.")], phonemizer({"ab": "ab", "cd": "cd"})
    )
    assert spans(timings) == [("Ab,", 0.1, 0.3), ("cd.", 0.5, 0.7)]


def test_a_number_spoken_as_two_words_stays_one_written_word():
    lexicon = {"is": "iz", "42": "fo tu", "ok": "ok"}
    timings = piece_word_timings("is 42 ok", [chunk("iz fo tu ok")], phonemizer(lexicon))
    assert spans(timings) == [("is", 0.1, 0.3), ("42", 0.4, 0.9), ("ok", 1.0, 1.2)]


def test_words_espeak_ran_together_are_split_inside_the_spoken_word():
    # "in the end" spoken "inðiʲ end": three written words, two spoken ones; the merged one
    # differs from the words said alone ("ðə") and still splits where "the" begins.
    lexicon = {"in": "in", "the": "ðə", "end": "end"}
    timings = piece_word_timings("in the end", [chunk("inðiʲ end")], phonemizer(lexicon))
    assert spans(timings) == [("in", 0.1, 0.3), ("the", 0.3, 0.6), ("end", 0.7, 1.0)]


def test_a_token_with_no_letters_joins_the_word_before_it():
    assert written_words("well — fine - ok !") == ["well —", "fine -", "ok !"]
    assert written_words("— yes") == ["— yes"]
    timings = piece_word_timings("ab — cd", [chunk("ab; cd")], phonemizer({"ab": "ab", "cd": "cd"}))
    assert spans(timings) == [("ab —", 0.1, 0.3), ("cd", 0.5, 0.7)]


def test_a_word_espeak_did_not_speak_keeps_its_place_with_no_length():
    lexicon = {"ab": "ab", "zz": "zz", "cd": "cd"}
    timings = piece_word_timings("ab zz cd", [chunk("ab cd")], phonemizer(lexicon))
    assert spans(timings) == [("ab", 0.1, 0.3), ("zz", 0.3, 0.3), ("cd", 0.4, 0.6)]


def test_a_piece_espeak_split_in_two_chunks_runs_on_across_them():
    # "Dr. Smith": espeak ends a sentence after "Dr.", so one piece gives two chunks.
    lexicon = {"dr": "daktɚ", "smith": "smiθ"}
    chunks = [chunk("daktɚ."), chunk("smiθ")]  # 8 and 6 spans: 0.8 s and 0.6 s
    timings = piece_word_timings("Dr. Smith", chunks, phonemizer(lexicon))
    assert spans(timings) == [("Dr.", 0.1, 0.6), ("Smith", 0.9, 1.3)]


def test_pieces_follow_each_other_with_silence_and_a_tempo_scale():
    lexicon = {"ab": "ab", "cd": "cd"}
    pieces = [("ab", [chunk("ab")]), ("cd", [chunk("cd")])]  # 0.4 s each
    assert spans(word_timings(pieces, phonemizer(lexicon))) == [
        ("ab", 0.1, 0.3),
        ("cd", 0.5, 0.7),
    ]
    assert spans(word_timings(pieces, phonemizer(lexicon), silence_s=0.2, scale=0.5)) == [
        ("ab", 0.05, 0.15),
        ("cd", 0.35, 0.45),
    ]


def test_durations_come_from_the_alignments():
    timings = piece_word_timings(
        "ab cd", [chunk("ab cd", lengths={2: 30, 3: 50})], phonemizer({"ab": "ab", "cd": "cd"})
    )
    assert spans(timings) == [("ab", 0.1, 0.5), ("cd", 1.0, 1.2)]


def test_a_chunk_without_alignments_spreads_its_phonemes_evenly():
    unaligned = chunk("ab cd", aligned=False)  # 0.7 s of audio, five phonemes: 0.14 s each
    timings = piece_word_timings("ab cd", [unaligned], phonemizer({"ab": "ab", "cd": "cd"}))
    assert spans(timings) == [("ab", 0.0, 0.28), ("cd", 0.42, 0.7)]


def words(*spec: tuple[str, float, float]) -> list[WordTiming]:
    return [WordTiming(word=w, start=s, end=e) for w, s, e in spec]


def test_cues_break_at_sentence_ends_but_not_after_a_lone_abbreviation():
    cues = word_cues(
        words(
            ("Hello", 0, 0.4),
            ("there.", 0.5, 0.9),
            ("Dr.", 1, 1.3),
            ("Who", 1.4, 1.6),
            ("came?", 1.7, 2.0),
            ("Yes!", 2.1, 2.4),
        )
    )
    assert [(c.text, c.start, c.end) for c in cues] == [
        ("Hello there.", 0, 0.9),
        ("Dr. Who came?", 1, 2.0),
        ("Yes!", 2.1, 2.4),
    ]


@pytest.mark.parametrize(
    ("max_words", "max_s", "expected"),
    [(3, 10.0, ["a b c", "d e"]), (7, 1.0, ["a b", "c d", "e"])],
)
def test_cues_stay_within_their_word_count_and_length(max_words, max_s, expected):
    timed = words(*((w, i * 0.5, i * 0.5 + 0.4) for i, w in enumerate("abcde")))
    assert [c.text for c in word_cues(timed, max_words=max_words, max_s=max_s)] == expected
