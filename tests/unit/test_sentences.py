import pytest

from speech_api.engines.tts.sentences import MAX_SENTENCE_CHARS, bounded_sentences


def test_sentences_that_fit_are_kept_whole():
    text = 'He said "Stop." Then he left! Did she? Yes… (Quite.) Fine'
    assert list(bounded_sentences(text)) == [
        'He said "Stop."',
        "Then he left!",
        "Did she?",
        "Yes…",
        "(Quite.)",
        "Fine",
    ]


def test_a_long_sentence_is_cut_at_clause_boundaries_first():
    clause = "the quick brown fox jumps over the lazy dog"
    text = ", ".join([clause] * 40) + "."
    pieces = list(bounded_sentences(text))
    assert all(len(p) <= MAX_SENTENCE_CHARS for p in pieces)
    assert all(p.endswith((",", ".")) for p in pieces)  # each ends where a clause does
    assert " ".join(pieces) == text  # nothing lost, nothing added


def test_no_punctuation_cuts_at_spaces_and_one_endless_word_at_the_limit():
    words = ("and then " * 300).strip()
    pieces = list(bounded_sentences(words))
    assert all(len(p) <= MAX_SENTENCE_CHARS for p in pieces)
    assert " ".join(pieces) == words
    blob = "x" * 1000
    step = MAX_SENTENCE_CHARS
    assert list(bounded_sentences(blob)) == [blob[i : i + step] for i in range(0, 1000, step)]


@pytest.mark.parametrize("limit", [20, MAX_SENTENCE_CHARS])
def test_every_piece_respects_the_limit_whatever_the_text(limit):
    text = "Wait — what? " + "a, b; c: d \u2013 e " * 60 + "longwordwithoutanyspaces" * 10
    pieces = list(bounded_sentences(text, limit))
    assert pieces and all(0 < len(p) <= limit for p in pieces)
