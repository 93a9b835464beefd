"""A live session's state machine, driven without a socket or a model: audio with scripted VAD
probabilities goes in; server events and decode work come out."""

from __future__ import annotations

import numpy as np
import pytest

from speech_api.realtime.partials import Agreement
from speech_api.realtime.protocol import SessionConfig, TurnDetection
from speech_api.realtime.session import Final, Limits, Partial, Session, Speculate
from speech_api.realtime.vad import FRAME

RATE = 16000


def feed(session: Session, seconds: float, speech: bool, chunk_s: float = 0.1):
    """Append `seconds` of audio, all speech (VAD 0.9) or all silence (0.02), in chunks.
    The samples carry their own position (sample i has value i), so a test can tell which
    audio an item holds."""
    events, work = [], []
    frames = round(seconds * RATE / FRAME)
    step = max(1, round(chunk_s * RATE / FRAME))
    for first in range(0, frames, step):
        n = min(step, frames - first)
        start = session._buffer.end + session._dropped
        samples = np.arange(start, start + n * FRAME, dtype=np.float32)
        session.append(samples, np.full(n, 0.9 if speech else 0.02, dtype=np.float32))
        e, w = session.take()
        events += e
        work += w
    return events, work


def types(events):
    return [e["type"] for e in events]


def test_a_turn_starts_with_prefix_padding_and_ends_after_the_silence_duration():
    session = Session(SessionConfig(), partials=False)
    events, work = feed(session, 1.0, speech=False)
    assert events == [] and work == []
    events, _ = feed(session, 2.0, speech=True)
    assert types(events) == ["input_audio_buffer.speech_started"]
    started = events[0]
    # Speech began at 1.0 s; the item starts 300 ms (prefix_padding_ms) earlier.
    assert started["audio_start_ms"] == pytest.approx(700, abs=40)
    events, work = feed(session, 0.4, speech=False)  # shorter than silence_duration_ms
    assert "input_audio_buffer.speech_stopped" not in types(events)
    events, more = feed(session, 0.3, speech=False)
    work += more
    assert types(events) == [
        "input_audio_buffer.speech_stopped",
        "input_audio_buffer.committed",
        "conversation.item.added",
    ]
    stopped, committed, added = events
    assert stopped["item_id"] == committed["item_id"] == added["item"]["id"]
    assert stopped["item_id"] == started["item_id"]
    assert committed["previous_item_id"] is None
    # The item ends 100 ms into the pause: the turn's audio, not the silence after it.
    assert stopped["audio_end_ms"] == pytest.approx(3100, abs=40)
    final = next(w for w in work if isinstance(w, Final))
    assert final.audio[0] == pytest.approx(started["audio_start_ms"] * 16, abs=1)
    assert len(final.audio) == pytest.approx(2.4 * RATE, abs=2 * FRAME)


def test_a_short_pause_keeps_the_turn_and_its_speculative_decode_is_dropped():
    session = Session(SessionConfig(), partials=False)
    feed(session, 1.0, speech=True)
    _, work = feed(session, 0.3, speech=False)
    speculated = [w for w in work if isinstance(w, Speculate)]
    assert len(speculated) == 1  # the pause passed 200 ms: its turn is decoded ahead
    events, _ = feed(session, 1.0, speech=True)
    assert "input_audio_buffer.speech_stopped" not in types(events)
    _, work = feed(session, 0.7, speech=False)
    final = next(w for w in work if isinstance(w, Final))
    second = [w for w in work if isinstance(w, Speculate)]
    # The turn went on after the first pause: its commit matches the second speculation.
    assert final.key != speculated[0].key
    assert [s.key for s in second] == [final.key]


def test_turns_follow_each_other_with_previous_item_ids():
    session = Session(SessionConfig(), partials=False)
    ids = []
    for _ in range(3):
        feed(session, 1.0, speech=True)
        events, _ = feed(session, 1.0, speech=False)
        committed = next(e for e in events if e["type"] == "input_audio_buffer.committed")
        ids.append((committed["previous_item_id"], committed["item_id"]))
    assert ids[0][0] is None
    assert ids[1][0] == ids[0][1] and ids[2][0] == ids[1][1]
    assert len({i for _, i in ids}) == 3


def test_manual_commit_without_turn_detection():
    session = Session(SessionConfig(turn_detection=None), partials=False)
    events, _ = feed(session, 2.0, speech=True)
    assert events == []  # no VAD events without turn detection
    session.commit()
    events, work = session.take()
    assert types(events) == ["input_audio_buffer.committed", "conversation.item.added"]
    (final,) = work
    assert len(final.audio) == pytest.approx(2.0 * RATE, abs=FRAME)


def test_committing_too_little_audio_is_openais_commit_empty_error():
    session = Session(SessionConfig(turn_detection=None), partials=False)
    session.commit("evt_1")
    (error,), work = session.take()
    assert work == []
    assert error["type"] == "error"
    assert error["error"]["code"] == "input_audio_buffer_commit_empty"
    assert error["error"]["event_id"] == "evt_1"
    assert "Expected at least 100ms" in error["error"]["message"]


def test_clear_drops_the_turn_in_progress():
    session = Session(SessionConfig(), partials=False)
    feed(session, 1.0, speech=True)
    session.clear()
    events, _ = session.take()
    assert types(events) == ["input_audio_buffer.cleared"]
    events, work = feed(session, 1.0, speech=False)
    assert events == [] and work == []  # the cleared turn is never committed


def test_a_turn_longer_than_the_limit_is_cut_and_goes_on_as_a_new_item():
    session = Session(SessionConfig(), limits=Limits(max_utterance_s=5.0), partials=False)
    events, work = feed(session, 12.0, speech=True)
    finals = [w for w in work if isinstance(w, Final)]
    assert len(finals) == 2
    assert all(len(f.audio) <= 5.0 * RATE for f in finals)
    starts = [e for e in events if e["type"] == "input_audio_buffer.speech_started"]
    assert len(starts) == 3  # the original turn and one per cut
    # No audio is lost or repeated at a cut.
    assert finals[1].audio[0] == finals[0].audio[-1] + 1


def test_a_full_buffer_says_so_once_and_keeps_what_fits():
    session = Session(SessionConfig(turn_detection=None), limits=Limits(max_buffer_s=2.0))
    events, _ = feed(session, 3.0, speech=True)
    errors = [e for e in events if e["type"] == "error"]
    assert [e["error"]["code"] for e in errors] == ["input_audio_buffer_full"]
    session.commit()
    _, work = session.take()
    final = next(w for w in work if isinstance(w, Final))
    assert len(final.audio) == 2 * RATE


def test_partials_wait_for_a_second_of_speech_then_one_at_a_time():
    session = Session(SessionConfig())
    _, work = feed(session, 0.5, speech=True)
    assert work == []
    _, work = feed(session, 0.7, speech=True)
    partials = [w for w in work if isinstance(w, Partial)]
    assert len(partials) == 1  # one in flight: no second until it is done
    _, work = feed(session, 2.0, speech=True)
    assert not any(isinstance(w, Partial) for w in work)
    session.partial_done(partials[0], "hello there")
    events, work = session.take()
    assert events == []  # one decode is not yet agreement
    (second,) = work
    session.partial_done(second, "hello there friend")
    events, _ = session.take()
    assert [e["delta"] for e in events] == ["hello there"]


def test_a_partial_from_a_committed_turn_is_ignored():
    session = Session(SessionConfig())
    _, work = feed(session, 1.5, speech=True)
    partial = next(w for w in work if isinstance(w, Partial))
    feed(session, 1.0, speech=False)  # commits the turn
    session.partial_done(partial, "late words")
    session.partial_done(partial, "late words")
    events, _ = session.take()
    assert not any(e["type"].endswith(".delta") for e in events)


def test_completed_adds_the_words_the_deltas_did_not_send():
    session = Session(SessionConfig())
    _, work = feed(session, 1.5, speech=True)
    first = next(w for w in work if isinstance(w, Partial))
    session.partial_done(first, "God as a")
    _, work = feed(session, 1.0, speech=True)
    second = next(w for w in work if isinstance(w, Partial))
    session.partial_done(second, "God as a direct")
    _, work = feed(session, 1.0, speech=False)
    final = next(w for w in work if isinstance(w, Final))
    session.take()
    session.final_done(final, "God, as a direct consequence.", 2.5)
    events, _ = session.take()
    assert types(events) == [
        "conversation.item.input_audio_transcription.delta",
        "conversation.item.input_audio_transcription.completed",
        "conversation.item.done",
    ]
    assert events[0]["delta"] == " direct consequence."
    assert events[1]["transcript"] == "God, as a direct consequence."
    assert events[1]["usage"] == {"type": "duration", "seconds": 2.5}
    assert events[2]["item"]["content"][0]["transcript"] == "God, as a direct consequence."


def test_agreement_sends_only_words_two_decodes_share():
    agreement = Agreement()
    assert agreement.update("the sin which may") is None
    assert agreement.update("the sin which man thus") == "the sin which"
    assert agreement.prefix == "the sin which"
    # The next decode continues after the prefix.
    assert agreement.update("man thus punished") == " man thus"
    assert agreement.update("punished, had given") == " punished,"
    assert agreement.finish("The sin which man thus punished, had given her") == " had given her"
    assert agreement.finish("Something else entirely") is None


def test_beta_sessions_announce_items_the_beta_way():
    session = Session(SessionConfig(turn_detection=TurnDetection()), dialect="beta")
    feed(session, 1.0, speech=True)
    events, _ = feed(session, 1.0, speech=False)
    created = next(e for e in events if e["type"] == "conversation.item.created")
    assert created["item"]["object"] == "realtime.item"
    assert created["item"]["content"] == [{"type": "input_audio", "transcript": None}]


def test_a_failed_transcription_names_its_item_and_the_error():
    session = Session(SessionConfig(turn_detection=None), partials=False)
    feed(session, 1.0, speech=True)
    session.commit()
    _, (final,) = session.take()
    error = {"type": "server_error", "code": "model_unavailable", "message": "x", "param": None}
    session.final_failed(final, error)
    (failed,), _ = session.take()
    assert failed["type"] == "conversation.item.input_audio_transcription.failed"
    assert failed["item_id"] == final.item_id and failed["content_index"] == 0
    assert failed["error"] == error
