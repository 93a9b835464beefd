"""The official `openai` SDK's streaming, parameters, models and voices against a real Uvicorn
server: transcription deltas as segments decode, speech as base64 audio events, every
parameter honoured or refused by name, every listed model retrievable, voices as configured."""

from __future__ import annotations

import base64
import io
import json
import math

import av
import httpx
import openai
import pytest

from devkit.clips import clip
from speech_api.api import create_app
from tests.support.live_server import API_KEY, LiveServer

CLIP = clip("ls_2412-153948-0000.flac")  # 11.7 s, several segments


@pytest.fixture(scope="module")
def openai_url(make_settings):
    """This module's server: tiny.en by default, voices configured."""
    settings = make_settings(
        api_key=API_KEY,
        stt={"model": "tiny.en"},
        # marin plays the installed voice; `es` (the Spanish voice) is not installed here.
        tts={"voice_aliases": "marin=en_US-joe-medium", "spanish_voice": "es_MX-claude-high"},
    )
    with LiveServer(create_app(settings)) as live:
        yield live.base_url


def auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {API_KEY}"}


def test_transcription_stream_yields_segment_deltas_then_the_full_text(openai_client):
    with open(CLIP.path, "rb") as f:
        events = list(
            openai_client.audio.transcriptions.create(model="whisper-1", file=f, stream=True)
        )
    types = [e.type for e in events]
    assert types[-1] == "transcript.text.done" and set(types[:-1]) == {"transcript.text.delta"}
    deltas = [e.delta for e in events[:-1]]
    assert len(deltas) >= 2  # one per decoded segment, not one block at the end
    done = events[-1]
    assert "".join(deltas) == done.text
    assert "nothing of my antecedents" in done.text.lower()
    # The SDK types usage as tokens; the server sends OpenAI's duration usage for Whisper.
    assert done.to_dict()["usage"] == {"type": "duration", "seconds": math.ceil(CLIP.duration_s)}


def test_streamed_and_whole_transcripts_agree(openai_client):
    with open(CLIP.path, "rb") as f:
        whole = openai_client.audio.transcriptions.create(model="whisper-1", file=f)
    with open(CLIP.path, "rb") as f:
        verbose = openai_client.audio.transcriptions.create(
            model="whisper-1", file=f, response_format="verbose_json"
        )
    with open(CLIP.path, "rb") as f:
        events = list(
            openai_client.audio.transcriptions.create(model="whisper-1", file=f, stream=True)
        )
    assert events[-1].text == whole.text
    # One delta per decoded segment: the stream follows the decoder.
    assert [e.delta.strip() for e in events[:-1]] == [s.text for s in verbose.segments if s.text]


def test_stream_with_logprobs_gives_one_per_word(openai_client):
    with open(clip("arctic_a0008.wav").path, "rb") as f:
        events = list(
            openai_client.audio.transcriptions.create(
                model="gpt-4o-mini-transcribe", file=f, stream=True, include=["logprobs"]
            )
        )
    done = events[-1]
    tokens = [lp.token for lp in done.logprobs]
    assert "your letter came just in time" in " ".join(tokens).lower()
    assert all(lp.logprob <= 0 for lp in done.logprobs)
    assert sum(len(e.logprobs) for e in events[:-1]) == len(done.logprobs)


def test_json_has_duration_usage_and_logprobs(openai_client):
    with open(clip("arctic_a0008.wav").path, "rb") as f:
        result = openai_client.audio.transcriptions.create(
            model="gpt-4o-transcribe", file=f, include=["logprobs"]
        )
    assert result.usage.type == "duration"
    assert result.usage.seconds == math.ceil(clip("arctic_a0008.wav").duration_s)
    words = [lp.token.strip(".,").lower() for lp in result.logprobs]
    assert words[words.index("your") :][:3] == ["your", "letter", "came"]
    assert all(-20 < lp.logprob <= 0 for lp in result.logprobs)
    assert bytes(int(b) for b in result.logprobs[0].bytes).decode() == result.logprobs[0].token


def test_verbose_json_and_translations_report_usage(openai_client):
    with open(clip("arctic_a0008.wav").path, "rb") as f:
        verbose = openai_client.audio.transcriptions.create(
            model="whisper-1", file=f, response_format="verbose_json"
        )
    assert verbose.usage.type == "duration" and verbose.usage.seconds >= 1


@pytest.mark.parametrize(
    "extra,param",
    [
        ({"include": ["logprobs"], "response_format": "text"}, "include"),
        ({"include": ["segments"]}, "include"),
        ({"chunking_strategy": {"type": "server_vad"}}, "chunking_strategy"),
        ({"stream": True, "response_format": "srt"}, "stream"),
        ({"response_format": "diarized_json"}, "response_format"),
        ({"extra_body": {"known_speaker_names[]": ["ann"]}}, "known_speaker_names"),
        (
            {"extra_body": {"known_speaker_references[]": ["data:audio/wav;base64,AA=="]}},
            "known_speaker_references",
        ),
    ],
)
def test_parameters_not_honoured_are_a_400_naming_them(openai_client, extra, param):
    with (
        open(clip("arctic_a0008.wav").path, "rb") as f,
        pytest.raises(openai.BadRequestError) as exc,
    ):
        openai_client.audio.transcriptions.create(model="whisper-1", file=f, **extra)
    assert exc.value.body["param"] == param, exc.value.body


def test_chunking_strategy_auto_is_accepted(openai_client):
    with open(clip("arctic_a0008.wav").path, "rb") as f:
        result = openai_client.audio.transcriptions.create(
            model="whisper-1", file=f, chunking_strategy="auto"
        )
    assert "your letter came" in result.text.lower()


def sse_events(lines) -> list[dict]:
    return [json.loads(line[len("data: ") :]) for line in lines if line.startswith("data: ")]


def decode(data: bytes) -> tuple[float, int]:
    with av.open(io.BytesIO(data)) as c:
        stream = c.streams.audio[0]
        return sum(f.samples for f in c.decode(stream)) / stream.rate, stream.rate


TEXT = "The first sentence is short. The second one follows it. And a third ends the answer."


def test_speech_sse_streams_base64_audio_events(openai_client):
    with openai_client.audio.speech.with_streaming_response.create(
        model="gpt-4o-mini-tts", voice="marin", input=TEXT, stream_format="sse"
    ) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        events = sse_events(response.iter_lines())
    assert [e["type"] for e in events[:-1]] == ["speech.audio.delta"] * (len(events) - 1)
    assert len(events) >= 4  # a delta per sentence at least, then done
    assert events[-1]["type"] == "speech.audio.done"
    assert set(events[-1]["usage"]) == {"input_tokens", "output_tokens", "total_tokens"}
    streamed = b"".join(base64.b64decode(e["audio"]) for e in events[:-1])

    whole = openai_client.audio.speech.create(model="tts-1", voice="alloy", input=TEXT).content
    # Piper samples noise, so two runs differ in their samples: same format, rate and length.
    (s_duration, s_rate), (w_duration, w_rate) = decode(streamed), decode(whole)
    assert s_rate == w_rate == 22050
    assert s_duration == pytest.approx(w_duration, rel=0.15)
    assert streamed[:3] == whole[:3]  # both MP3 (ID3 or frame sync)


def test_speech_sse_wav_decodes_like_the_plain_call(openai_client):
    response = openai_client.audio.speech.create(
        model="tts-1-hd",
        voice="alloy",
        input="Hello there.",
        response_format="wav",
        stream_format="sse",
    )
    events = sse_events(response.text.splitlines())
    audio = b"".join(base64.b64decode(e["audio"]) for e in events if "audio" in e)
    duration, rate = decode(audio)
    assert rate == 22050 and 0.5 < duration < 3


@pytest.mark.parametrize(
    "extra,param",
    [
        ({"instructions": "Speak like a pirate."}, "instructions"),
        ({"stream_format": "chunks"}, "stream_format"),
        ({"extra_body": {"volume": 2}}, "volume"),
    ],
)
def test_speech_parameters_not_honoured_are_a_400_naming_them(openai_client, extra, param):
    with pytest.raises(openai.BadRequestError) as exc:
        openai_client.audio.speech.create(model="tts-1", voice="alloy", input="Hi.", **extra)
    assert exc.value.body["param"] == param, exc.value.body


def test_every_listed_model_is_retrievable(openai_client):
    ids = [m.id for m in openai_client.models.list()]
    assert {"whisper-1", "gpt-4o-transcribe", "gpt-4o-mini-transcribe", "tts-1"} <= set(ids)
    assert {"tiny.en", "base"} <= set(ids)  # the bundled models, installed beside the default
    for model_id in ids:
        assert openai_client.models.retrieve(model_id).id == model_id
    assert (
        openai_client.models.retrieve("gpt-4o-mini-tts-2025-03-20").id
        == "gpt-4o-mini-tts-2025-03-20"
    )
    with pytest.raises(openai.NotFoundError):
        openai_client.models.retrieve("gpt-5-audio")


def test_installed_model_is_selectable_without_configuration(openai_client):
    # The server is configured with tiny.en only; base is installed, so it can be named.
    with open(clip("pico_es_arenas.wav").path, "rb") as f:
        result = openai_client.audio.transcriptions.create(model="base", file=f, language="es")
    assert "arenas" in result.text.lower()


def test_dated_speech_model_names_are_aliases(openai_client):
    response = openai_client.audio.speech.create(
        model="gpt-4o-mini-tts-2025-12-15", voice="cedar", input="Dated.", response_format="wav"
    )
    assert decode(response.content)[1] == 22050


def test_voices_list_what_is_installed_and_what_is_not(openai_url):
    voices = httpx.get(f"{openai_url}/v1/audio/voices", headers=auth()).json()
    assert voices["voices"] == ["en_US-joe-medium"]
    assert voices["aliases"]["marin"] == voices["aliases"]["cedar"] == "en_US-joe-medium"
    assert voices["unavailable"] == {"es": "es_MX-claude-high"}


def test_a_configured_voice_that_is_not_installed_is_refused_by_name(openai_client):
    with pytest.raises(openai.BadRequestError) as exc:
        openai_client.audio.speech.create(model="tts-1", voice="es", input="Hola.")
    assert exc.value.code == "voice_not_installed"
    assert "es_MX-claude-high" in exc.value.message and "en_US-joe-medium" in exc.value.message
