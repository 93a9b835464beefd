"""How a speech job's script is cut into parts (speech_api.text.parts): whole sentences,
nothing lost, under the part size, and even, in a multiple of the workers that take them."""

from __future__ import annotations

import random

import pytest

from devkit.texts import SENTENCES
from speech_api.text import read
from speech_api.text.parts import from_json, split, to_json
from speech_api.text.script import Pause, Words


def prose(chars: int) -> str:
    text, i = "", 0
    while len(text) < chars:
        text += SENTENCES[i % len(SENTENCES)] + " "
        i += 1
    return text.strip()


def words(script) -> list[str]:
    return [t.written for s in script.spans if isinstance(s, Words) for t in s.tokens]


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_parts_keep_every_word_in_order_and_end_at_sentence_ends(workers):
    script = read(prose(12_000), "text")
    parts = split(script, 1000, workers)
    assert [w for p in parts for w in words(p)] == words(script)
    assert all(p.spoken.endswith((".", "?", "!")) for p in parts)
    assert all(len(p.spoken) <= 1000 for p in parts)


@pytest.mark.parametrize("workers", [2, 3, 4])
def test_parts_are_even_and_a_multiple_of_the_workers(workers):
    """Filling parts up to 1,000 characters made 13 of 12,000: on two workers the last one
    ran alone (its worker finished 7 parts' time after the start, 6.5 parts' work each).
    Now the workers, taking the parts in order, finish within half a part of each other."""
    parts = split(read(prose(12_000), "text"), 1000, workers)
    sizes = [len(p.spoken) for p in parts]
    assert len(parts) % workers == 0
    assert max(sizes) - min(sizes) <= 2 * max(len(s) for s in SENTENCES)
    finished = [0] * workers
    for size in sizes:  # each part to the worker free first
        finished[finished.index(min(finished))] += size
    assert max(finished) - min(finished) <= max(sizes) / 2


def test_the_spaces_between_sentences_count_toward_a_part():
    parts = split(read(" ".join(["Hi."] * 30), "text"), 100)
    assert all(len(p.spoken) <= 100 for p in parts) and len(parts) == 2


def test_long_sentences_still_make_a_multiple_of_the_workers():
    sentence = " ".join(["word"] * 79) + " end."  # 399 characters: two fit a part, three do not
    parts = split(read(" ".join([sentence] * 9), "text"), 1000, 2)
    assert sorted(len(p.spoken) for p in parts) == [399, 399, 399, 799, 799, 799]
    parts = split(read(" ".join([sentence] * 12), "text"), 1000, 4)
    assert len(parts) == 8 and all(len(p.spoken) <= 1000 for p in parts)


@pytest.mark.parametrize("seed", range(40))
def test_sentences_of_any_length_are_cut_within_bounds(seed):
    """Sentences of 1 to 120 words, part sizes and worker counts drawn at random: every word
    kept in order, no part over its size, and a multiple of the workers whenever there are
    at least as many sentences as parts."""
    rng = random.Random(seed)
    part_chars, workers = rng.choice([100, 300, 1000]), rng.randint(1, 6)
    text = []
    for _ in range(rng.randint(1, 60)):
        said = [
            rng.choice(["a", "word", "longer", "sentences"]) for _ in range(rng.randint(1, 120))
        ]
        text.append(" ".join(said) + ".")
    script = read(" ".join(text), "text")
    parts = split(script, part_chars, workers)
    assert [w for p in parts for w in words(p)] == words(script)
    assert all(0 < len(p.spoken) <= part_chars for p in parts)
    fits = all(len(t) <= part_chars for t in text)
    if fits and len(parts) < len(text):
        assert len(parts) % workers == 0


def test_a_short_job_is_shared_between_workers_sentence_by_sentence():
    parts = split(read("One sentence. Another one. And a third.", "text"), 1000, 2)
    assert [p.spoken for p in parts] == ["One sentence.", "Another one. And a third."]
    assert len(split(read("Only one sentence here.", "text"), 1000, 4)) == 1


def test_a_sentence_longer_than_a_part_is_cut_at_words():
    text = " ".join(["word"] * 700) + "."  # 3,500 characters, no sentence end before the last
    parts = split(read(text, "text"), 1000, 2)
    assert [w for p in parts for w in words(p)] == text.split()
    assert all(len(p.spoken) <= 1000 for p in parts) and len(parts) == 4


def test_pauses_go_with_the_part_before_them():
    ssml = '<speak><break time="1s"/>First one. <break time="2s"/>Second one.</speak>'
    parts = split(read(ssml, "ssml"), 1000, 2)
    assert [[type(s).__name__ for s in p.spans] for p in parts] == [
        ["Pause", "Words", "Pause"],
        ["Words"],
    ]
    assert [s.seconds for s in parts[0].spans if isinstance(s, Pause)] == [1.0, 2.0]


def test_a_part_round_trips_through_json():
    for part in split(read("Say *this*, then 3 things. And more!", "markdown"), 1000, 2):
        assert from_json(to_json(part)) == part


def test_a_part_keeps_words_joined_across_ssml_elements():
    """A job's parts are stored as JSON: the joins of written words ('"WWW"', "FBI's") must
    survive, or a job's captions split what /tts keeps whole."""
    document = (
        '<speak>He said "<sub alias="World Wide Web">WWW</sub>". The '
        '<say-as interpret-as="characters">FBI</say-as>\'s boss.</speak>'
    )
    (part,) = split(read(document, "ssml"), 1000, 1)
    again = from_json(to_json(part))
    assert again == part
    assert [s.written for s in again.spans if isinstance(s, Words)] == [
        'He said "WWW". The FBI\'s boss.'
    ]
