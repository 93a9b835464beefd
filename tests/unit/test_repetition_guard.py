"""The trimmed-window guard's repetition check: a short clip read as its sentence twice (seen
once in CI on a 1.8 s synthesized clip) must send the clip to the full window, while ordinary
speech with a repeated word or two must not."""

import pytest

from speech_api.engines.stt.whisper_guard import repeats_a_phrase


@pytest.mark.parametrize(
    "text",
    [
        "Poison caches are not served. Poison caches are not served.",
        "and then we went home and then we went home",
        "Thank you for watching. Thank you for watching. Thank you for watching.",
    ],
)
def test_a_sentence_read_twice_is_a_repetition(text):
    assert repeats_a_phrase(text)


@pytest.mark.parametrize(
    "text",
    [
        "Poisoned caches are not served.",
        "New York, New York, is a song.",
        "no no no, that is not it",
        "I think that I think so.",
        "",
    ],
)
def test_ordinary_speech_is_not(text):
    assert not repeats_a_phrase(text)
