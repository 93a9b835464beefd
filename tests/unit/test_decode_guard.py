"""The guard's budget and timing rules on their own (engines/stt/whisper_guard.py): the budget grows
with the clip and never passes the library's limit, a decode that uses it all is a runaway, and
the retry keeps a last segment that ends in its silence while a segment starting past the audio
still sends the clip on, and a sentence echoed back is a repetition."""

import pytest

from speech_api.engines.stt.whisper_guard import (
    Fallback,
    check_budget,
    check_timing,
    late_timestamps,
    repeats_a_phrase,
    token_budget,
)


def test_the_budget_grows_with_the_clip_and_stops_at_the_librarys_limit():
    assert token_budget(0.3, 224) == token_budget(1.0, 224) == 18
    assert token_budget(5.67, 224) == 56
    assert token_budget(10.6, 224) == 95
    assert token_budget(30.0, 224) == 224
    assert token_budget(10.6, 80) == 80  # a long prompt leaves less
    # The retry's is looser (speech denser than any measured is decoded there).
    assert token_budget(5.67, 224, retry=True) == 124


def test_the_timestamps_suppressed_are_those_past_the_audio_and_its_tolerance():
    begin = 50363  # <|0.00|> in the English-only vocabulary
    late = late_timestamps(4.92, begin, 0.02)
    # 4.92 s + 0.5 s: <|5.42|> may end a segment, <|5.44|> to <|30.00|> may not.
    assert late[0] == begin + 272 and late[-1] == begin + 1500
    assert late == list(range(begin + 272, begin + 1501))
    assert late_timestamps(30.0, begin, 0.02) == []  # a full window keeps them all


def test_a_decode_that_uses_its_whole_budget_is_a_runaway():
    check_budget(55, 56)
    with pytest.raises(Fallback) as caught:
        check_budget(56, 56)
    assert caught.value.reason == "token budget"


def segments(*spans):
    return [{"start": a, "end": b, "tokens": []} for a, b in spans]


def test_a_timestamp_past_the_end_sends_the_first_try_on():
    with pytest.raises(Fallback) as caught:
        check_timing(
            segments((0.0, 3.0), (3.0, 7.0)), seek=500, frames=500, duration_s=5.0, chunked=False
        )
    assert caught.value.reason == "a timestamp past the end of the audio"


def test_the_retry_clamps_a_last_segment_that_ends_in_its_silence():
    found = segments((0.0, 3.0), (3.0, 7.0))
    check_timing(found, seek=500, frames=500, duration_s=5.0, chunked=False, clamp_late=True)
    assert [(s["start"], s["end"]) for s in found] == [(0.0, 3.0), (3.0, 5.0)]


def test_the_retry_still_refuses_a_segment_that_starts_past_the_audio():
    with pytest.raises(Fallback):
        check_timing(
            segments((0.0, 4.8), (5.6, 7.0)),
            seek=500,
            frames=500,
            duration_s=5.0,
            chunked=False,
            clamp_late=True,
        )


def test_an_early_stop_not_continued_sends_the_clip_on():
    with pytest.raises(Fallback) as caught:
        check_timing(segments((0.0, 3.0)), seek=300, frames=500, duration_s=5.0, chunked=False)
    assert caught.value.reason == "decode stopped before the end of the audio"


def test_a_sentence_echoed_with_a_word_between_is_a_repetition():
    # Whisper base on a reverberant 4 s clip, the retry's margin not yet given.
    echoed = (
        "Not at this particular caddy's Tom, apologize to quit more. "
        "Now that this particular caddy's Tom apologize to quit more."
    )
    assert repeats_a_phrase(echoed)


@pytest.mark.parametrize(
    "text",
    [
        # A phrase said twice in a longer stretch of speech: a speaker's own repetition.
        "We hold these truths to be self-evident, and we hold these truths to be "
        "worth the cost of defending them, whatever the cost, for all of us and our children.",
        "The cat sat on the mat and then the dog sat on the mat.",
    ],
)
def test_a_phrase_repeated_within_longer_speech_is_not(text):
    assert not repeats_a_phrase(text)
