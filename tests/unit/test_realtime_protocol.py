"""Client events as OpenAI's Realtime reference defines them, and what this server answers to
the ones it refuses: OpenAI's error shape, a code, and the parameter named."""

from __future__ import annotations

import json

import pytest

from speech_api.audio.pcm import PCM24K, PCMA, PCMU
from speech_api.realtime.protocol import (
    Append,
    ProtocolError,
    SessionConfig,
    TurnDetection,
    apply_update,
    parse_event,
    session_object,
)


def refused(event) -> ProtocolError:
    text = event if isinstance(event, str) else json.dumps(event)
    with pytest.raises(ProtocolError) as info:
        ev = parse_event(text)
        apply_update(SessionConfig(), ev)
    return info.value


def update(session: dict, config: SessionConfig | None = None) -> SessionConfig:
    event = parse_event(json.dumps({"type": "session.update", "session": session}))
    return apply_update(config or SessionConfig(), event)


def beta_update(session: dict, config: SessionConfig | None = None) -> SessionConfig:
    event = parse_event(json.dumps({"type": "transcription_session.update", "session": session}))
    return apply_update(config or SessionConfig(), event)


def test_the_ga_session_update_sets_format_transcription_and_vad():
    config = update(
        {
            "type": "transcription",
            "audio": {
                "input": {
                    "format": {"type": "audio/pcmu"},
                    "transcription": {"model": "gpt-4o-transcribe", "language": "en"},
                    "turn_detection": {
                        "type": "server_vad",
                        "threshold": 0.6,
                        "prefix_padding_ms": 200,
                        "silence_duration_ms": 700,
                    },
                    "noise_reduction": None,
                }
            },
        }
    )
    assert config.format is PCMU
    assert config.transcription.model == "gpt-4o-transcribe"
    assert config.transcription.language == "en"
    assert config.turn_detection == TurnDetection(0.6, 200, 700)


def test_fields_left_out_stay_and_null_turn_detection_turns_vad_off():
    first = update(
        {"type": "transcription", "audio": {"input": {"transcription": {"language": "es"}}}}
    )
    second = update({"type": "transcription", "audio": {"input": {"turn_detection": None}}}, first)
    assert second.transcription.language == "es"
    assert second.format is PCM24K
    assert second.turn_detection is None
    third = update(
        {
            "type": "transcription",
            "audio": {"input": {"turn_detection": {"type": "server_vad", "threshold": 0.7}}},
        },
        second,
    )
    assert third.turn_detection == TurnDetection(threshold=0.7)


def test_the_beta_update_that_older_sdks_and_speaches_send():
    config = beta_update(
        {
            "input_audio_format": "g711_alaw",
            "input_audio_transcription": {"model": "whisper-1", "language": "en", "prompt": "x"},
            "turn_detection": {"type": "server_vad", "silence_duration_ms": 300},
            "input_audio_noise_reduction": None,
        }
    )
    assert config.format is PCMA
    assert config.transcription.prompt == "x"
    assert config.turn_detection.silence_duration_ms == 300


@pytest.mark.parametrize(
    "text,code,param",
    [
        ("{not json", "invalid_json", None),
        ("[1, 2]", "invalid_type", None),
        ('{"audio": "AAAA"}', "missing_required_parameter", "type"),
        ('{"type": "hello.world"}', "invalid_value", "type"),
        ('{"type": "response.create"}', "unsupported_event", "type"),
        ('{"type": "input_audio_buffer.append"}', "missing_required_parameter", "audio"),
        ('{"type": "input_audio_buffer.append", "audio": 5}', "invalid_type", "audio"),
        ('{"type": "input_audio_buffer.commit", "extra": 1}', "unknown_parameter", "extra"),
    ],
)
def test_malformed_events_are_named(text, code, param):
    error = refused(text)
    assert (error.code, error.param) == (code, param)
    assert error.error()["type"] == "invalid_request_error"


@pytest.mark.parametrize(
    "session,code,param",
    [
        ({"type": "realtime"}, "invalid_value", "session.type"),
        (
            {"type": "transcription", "audio": {"input": {"format": {"type": "audio/wav"}}}},
            "invalid_value",
            "session.audio.input.format.type",
        ),
        (
            {
                "type": "transcription",
                "audio": {"input": {"format": {"type": "audio/pcm", "rate": 16000}}},
            },
            "invalid_value",
            "session.audio.input.format.rate",
        ),
        (
            {
                "type": "transcription",
                "audio": {"input": {"noise_reduction": {"type": "near_field"}}},
            },
            "unsupported_parameter",
            "session.audio.input.noise_reduction",
        ),
        (
            {
                "type": "transcription",
                "audio": {"input": {"turn_detection": {"type": "semantic_vad"}}},
            },
            "invalid_value",
            "session.audio.input.turn_detection.type",
        ),
        (
            {
                "type": "transcription",
                "audio": {"input": {"turn_detection": {"type": "server_vad", "threshold": 2}}},
            },
            "decimal_above_max_value",
            "session.audio.input.turn_detection.threshold",
        ),
        (
            {"type": "transcription", "audio": {"input": {"transcription": {"delay": "low"}}}},
            "unsupported_parameter",
            "session.audio.input.transcription.delay",
        ),
        (
            {"type": "transcription", "include": ["item.input_audio_transcription.logprobs"]},
            "unsupported_parameter",
            "session.include",
        ),
        (
            {"type": "transcription", "audio": {"input": {"transcriptions": {}}}},
            "unknown_parameter",
            "session.audio.input.transcriptions",
        ),
    ],
)
def test_session_updates_that_cannot_be_honoured_name_the_field(session, code, param):
    error = refused({"type": "session.update", "event_id": "evt_9", "session": session})
    assert (error.code, error.param) == (code, param)
    assert error.event_id == "evt_9"


def test_an_append_parses_without_decoding_its_audio():
    event = parse_event('{"type": "input_audio_buffer.append", "audio": "AAAA", "event_id": "e"}')
    assert isinstance(event, Append) and event.audio == "AAAA"


def test_session_objects_in_both_dialects():
    config = SessionConfig(format=PCMU)
    ga = session_object(config, session_id="sess_1", expires_at=10, dialect="ga")
    assert ga["type"] == "transcription"
    assert ga["audio"]["input"]["format"] == {"type": "audio/pcmu"}
    assert ga["audio"]["input"]["turn_detection"]["type"] == "server_vad"
    beta = session_object(config, session_id="sess_1", expires_at=10, dialect="beta")
    assert beta["input_audio_format"] == "g711_ulaw"
    assert beta["object"] == "realtime.transcription_session"
