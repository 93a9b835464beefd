"""How a speech job's script is cut into parts (speech_api.text.parts): whole sentences,
nothing lost, under the part size, and even, in a multiple of the workers that take them."""

from __future__ import annotations

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
    ran alone. Now no worker is left with one part more than the others."""
    parts = split(read(prose(12_000), "text"), 1000, workers)
    sizes = [len(p.spoken) for p in parts]
    assert len(parts) % workers == 0
    assert max(sizes) - min(sizes) <= 2 * max(len(s) for s in SENTENCES)


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
