"""Live transcription over a real WebSocket with real Whisper: the OpenAI SDK's realtime client
and a plain WebSocket client, server VAD and client commits, 24 kHz PCM and G.711, partial
text while the speaker is still talking, OpenAI's model names, API keys."""

from __future__ import annotations

import asyncio
import base64
import time

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from devkit.clips import clip
from devkit.wer import corpus_wer, normalize
from speech_api.audio.pcm import PCM24K, PCMA, PCMU, encode_stream
from tests.support.realtime import (
    Collector,
    RealtimeServer,
    clip_audio,
    configure,
    receive,
    receive_until,
    send,
    session,
    stream,
)

LONG = clip("ls_1221-135766-0001.wav")  # 16.7 s, one sentence
SHORT = clip("lj_LJ001-0006.mp3")  # 5.7 s
KEY = "sk-live-test"


@pytest.fixture(scope="module")
def server(make_settings):
    with RealtimeServer(make_settings(stt={"model": "tiny.en"}, api_key=KEY)) as s:
        yield s


def auth() -> dict:
    return {"additional_headers": {"Authorization": f"Bearer {KEY}"}}


def test_the_openai_sdk_transcribes_a_clip_with_server_vad(server):
    from openai import AsyncOpenAI

    pcm = encode_stream(clip_audio(SHORT), 16000, PCM24K)

    async def run() -> list:
        client = AsyncOpenAI(base_url=f"{server.base_url}/v1", api_key=KEY)
        events = []
        async with client.realtime.connect(extra_query={"intent": "transcription"}) as conn:
            await conn.session.update(
                session={
                    "type": "transcription",
                    "audio": {
                        "input": {
                            "format": {"type": "audio/pcm", "rate": 24000},
                            "transcription": {"model": "gpt-4o-transcribe", "language": "en"},
                            "turn_detection": {"type": "server_vad", "silence_duration_ms": 500},
                        }
                    },
                }
            )
            step = 4800  # 100 ms of 24 kHz PCM16
            for at in range(0, len(pcm), step):
                await conn.input_audio_buffer.append(
                    audio=base64.b64encode(pcm[at : at + step]).decode()
                )
            async for event in conn:
                events.append(event)
                if event.type == "conversation.item.input_audio_transcription.completed":
                    return events
        return events

    events = asyncio.run(asyncio.wait_for(run(), 180))
    kinds = [e.type for e in events]
    assert kinds[:2] == ["session.created", "session.updated"]
    for kind in (
        "input_audio_buffer.speech_started",
        "input_audio_buffer.speech_stopped",
        "input_audio_buffer.committed",
        "conversation.item.added",
    ):
        assert kind in kinds
    assert kinds.index("input_audio_buffer.speech_stopped") < kinds.index(
        "conversation.item.input_audio_transcription.completed"
    )
    completed = events[-1]
    # The SDK parsed our events into its own types (no stray fields, the right shapes).
    assert type(completed).__name__ == "ConversationItemInputAudioTranscriptionCompletedEvent"
    assert completed.usage.type == "duration"
    assert corpus_wer([SHORT.text], [completed.transcript]) <= 0.15
    assert completed.item_id == next(e for e in events if e.type.endswith("committed")).item_id


def test_partial_text_arrives_while_the_speaker_is_still_talking(server):
    audio = clip_audio(LONG)
    with session(server.ws_url, **auth()) as ws:
        configure(ws, transcription={"model": "whisper-1", "language": "en"})
        events = Collector(ws)
        started = time.monotonic()
        last_append = stream(ws, audio, pace=1.0)
        events.wait_for("conversation.item.input_audio_transcription.completed")
    deltas = events.of("conversation.item.input_audio_transcription.delta")
    during = [t for t, _ in deltas if t < last_append]
    # Deltas came while audio was still being sent, through the sentence, not in one burst.
    assert len(during) >= 5, [round(t - started, 1) for t, _ in deltas]
    assert during[0] - started < 5.0
    assert during[-1] - during[0] > 0.5 * LONG.duration_s
    # What they spelled out is the start of the sentence, words the reference has.
    partial = "".join(e["delta"] for _, e in deltas)
    reference = normalize(LONG.text).split()
    said = normalize(partial).split()
    assert len(said) >= 10
    assert corpus_wer([" ".join(reference[: len(said)])], [" ".join(said)]) <= 0.25
    ((_, completed),) = events.of("conversation.item.input_audio_transcription.completed")
    assert corpus_wer([LONG.text], [completed["transcript"]]) <= 0.15


@pytest.mark.parametrize("fmt", [PCMU, PCMA], ids=["pcmu", "pcma"])
def test_telephony_audio_with_client_commits(server, fmt):
    with session(server.ws_url, **auth()) as ws:
        chosen = configure(
            ws,
            format={"type": fmt.name},
            transcription={"model": "gpt-live-transcribe"},
            turn_detection=None,
        )
        assert chosen["audio"]["input"]["turn_detection"] is None
        assert chosen["audio"]["input"]["format"] == {"type": fmt.name}
        stream(ws, clip_audio(SHORT, tail_s=0.3), fmt, pace=0)
        send(ws, "input_audio_buffer.commit", event_id="commit-1")
        events = receive_until(ws, "conversation.item.input_audio_transcription.completed")
    kinds = [e["type"] for e in events]
    assert "input_audio_buffer.speech_started" not in kinds  # the client decides turns
    assert kinds.index("input_audio_buffer.committed") < kinds.index("conversation.item.added")
    assert corpus_wer([SHORT.text], [events[-1]["transcript"]]) <= 0.2


def test_the_beta_dialect_older_sdks_speak(server):
    headers = {"Authorization": f"Bearer {KEY}", "OpenAI-Beta": "realtime=v1"}
    with session(server.ws_url, additional_headers=headers) as ws:
        send(
            ws,
            "transcription_session.update",
            session={
                "input_audio_format": "pcm16",
                "input_audio_transcription": {"model": "whisper-1", "language": "en"},
                "turn_detection": {"type": "server_vad", "silence_duration_ms": 400},
            },
        )
        updated = receive(ws)
        assert updated["type"] == "transcription_session.updated"
        assert updated["session"]["input_audio_format"] == "pcm16"
        assert updated["session"]["turn_detection"]["silence_duration_ms"] == 400
        stream(ws, clip_audio(SHORT), pace=0)
        events = receive_until(ws, "conversation.item.input_audio_transcription.completed")
    kinds = [e["type"] for e in events]
    assert "conversation.item.created" in kinds and "conversation.item.added" not in kinds
    assert corpus_wer([SHORT.text], [events[-1]["transcript"]]) <= 0.2


def test_two_turns_in_one_session_each_get_their_transcript(server):
    first, second = clip("ls_1089-134686-0001.wav"), SHORT
    with session(server.ws_url, **auth()) as ws:
        configure(ws, transcription={"language": "en"})
        import numpy as np

        stream(ws, np.concatenate([clip_audio(first), clip_audio(second)]), pace=0)
        events = receive_until(ws, "conversation.item.input_audio_transcription.completed")
        events += receive_until(ws, "conversation.item.input_audio_transcription.completed")
    completed = [e for e in events if e["type"].endswith("transcription.completed")]
    committed = [e for e in events if e["type"] == "input_audio_buffer.committed"]
    assert [c["item_id"] for c in committed] == [c["item_id"] for c in completed]
    assert committed[1]["previous_item_id"] == committed[0]["item_id"]
    assert corpus_wer([first.text, second.text], [c["transcript"] for c in completed]) <= 0.15


def test_an_unknown_model_is_refused_by_name_and_the_session_goes_on(server):
    with session(server.ws_url, **auth()) as ws:
        send(
            ws,
            "session.update",
            event_id="u1",
            session={
                "type": "transcription",
                "audio": {"input": {"transcription": {"model": "whisper-9"}}},
            },
        )
        error = receive(ws)
        assert error["type"] == "error"
        assert error["error"]["code"] == "model_not_found"
        assert error["error"]["param"] == "session.audio.input.transcription.model"
        assert error["error"]["event_id"] == "u1"
        assert "whisper-9" in error["error"]["message"]
        chosen = configure(ws, transcription={"model": "tiny.en", "language": "en"})
        assert chosen["audio"]["input"]["transcription"]["model"] == "tiny.en"
        send(
            ws,
            "session.update",
            session={
                "type": "transcription",
                "audio": {"input": {"transcription": {"language": "de"}}},
            },
        )
        error = receive(ws)
        assert error["error"]["code"] == "unsupported_language"
        assert error["error"]["param"] == "session.audio.input.transcription.language"


def test_keys_from_the_header_or_the_browser_subprotocol(server):
    with pytest.raises(InvalidStatus) as refused:
        connect(server.ws_url, open_timeout=10)
    assert refused.value.response.status_code == 401
    assert b"invalid_api_key" in refused.value.response.body
    with pytest.raises(InvalidStatus):
        connect(server.ws_url, additional_headers={"Authorization": "Bearer wrong"})
    protocols = ["realtime", f"openai-insecure-api-key.{KEY}"]
    with connect(server.ws_url, subprotocols=protocols) as ws:
        assert ws.subprotocol == "realtime"
        assert receive(ws)["type"] == "session.created"


def test_other_intents_are_refused_before_the_upgrade(server):
    url = server.ws_url.replace("intent=transcription", "intent=conversation")
    with pytest.raises(InvalidStatus) as refused:
        connect(url, **auth())
    assert refused.value.response.status_code == 400
    assert b"intent" in refused.value.response.body
