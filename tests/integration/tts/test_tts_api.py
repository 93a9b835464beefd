"""/tts with each engine: the returned URL serves playable audio to anyone, identical requests
are served from S3 without synthesizing again, and only the public prefix is readable."""

import io
import uuid

import av
import httpx
import pytest


def fetch_anonymously(url: str) -> httpx.Response:
    # No credentials, no signature: what a browser does with the URL.
    return httpx.get(url, timeout=10)


def decoded_duration_and_rate(data: bytes) -> tuple[float, int]:
    with av.open(io.BytesIO(data)) as c:
        stream = c.streams.audio[0]
        samples = sum(f.samples for f in c.decode(stream))
        return samples / stream.rate, stream.rate


@pytest.mark.parametrize("fmt", ["mp3", "wav", "ogg", "opus", "aac", "flac"])
def test_piper_url_serves_audio_of_the_stated_duration(api, fmt):
    text = f"The quick brown fox jumps over the lazy dog, take {uuid.uuid4().hex[:6]}."
    r = api.post("/tts", json={"text": text, "format": fmt})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["engine"] == "piper" and body["voice"] == "en_US-joe-medium"
    assert body["cached"] is False and body["format"] == fmt
    assert body["key"].startswith("public/tts/") and body["url"].endswith(body["key"])

    audio = fetch_anonymously(body["url"])
    assert audio.status_code == 200
    assert audio.headers["content-type"] == body["content_type"]
    duration, rate = decoded_duration_and_rate(audio.content)
    assert rate == body["sample_rate"]
    # AAC (ADTS) cannot mark its encoder priming, so it decodes ~2 frames longer.
    assert duration == pytest.approx(body["duration_s"], abs=0.15 if fmt == "aac" else 0.08)
    assert 1.5 < duration < 8


def test_second_identical_request_is_cached_and_returns_the_same_url(api):
    payload = {"text": f"Cache me if you can, {uuid.uuid4().hex[:6]}.", "format": "wav"}
    first = api.post("/tts", json=payload).json()
    second = api.post("/tts", json=payload).json()
    assert first["cached"] is False and second["cached"] is True
    assert second["url"] == first["url"]
    assert second["duration_s"] == first["duration_s"]
    assert second["sample_rate"] == first["sample_rate"]


def test_default_format_is_mp3(api):
    body = api.post("/tts", json={"text": f"Default {uuid.uuid4().hex[:6]}."}).json()
    assert body["format"] == "mp3" and body["content_type"] == "audio/mpeg"


def test_speed_changes_the_duration(api):
    text = f"Speaking at different speeds, run {uuid.uuid4().hex[:6]}."
    normal = api.post("/tts", json={"text": text, "format": "wav"}).json()
    fast = api.post("/tts", json={"text": text, "format": "wav", "speed": 2.0}).json()
    slow = api.post("/tts", json={"text": text, "format": "wav", "speed": 0.5}).json()
    assert fast["key"] != normal["key"] != slow["key"]
    assert fast["duration_s"] < normal["duration_s"] * 0.7
    assert slow["duration_s"] > normal["duration_s"] * 1.5


def test_pcm_is_stored_raw_with_its_rate(api):
    body = api.post("/tts", json={"text": f"Raw {uuid.uuid4().hex[:6]}.", "format": "pcm"})
    body = body.json()
    audio = fetch_anonymously(body["url"])
    assert audio.status_code == 200 and body["content_type"] == "audio/pcm"
    assert len(audio.content) / 2 / body["sample_rate"] == pytest.approx(
        body["duration_s"], abs=0.01
    )


def test_private_keys_in_the_same_bucket_are_refused_to_anonymous_readers(storage):
    storage.put("uploads/private.wav", b"secret", content_type="audio/wav", metadata={})
    storage.put("transcripts/private.json", b"{}", content_type="application/json", metadata={})
    assert fetch_anonymously(storage.public_url("transcripts/private.json")).status_code == 403
    storage.put("public/tts/visible.txt", b"hello", content_type="text/plain", metadata={})
    assert fetch_anonymously(storage.public_url("uploads/private.wav")).status_code == 403
    assert fetch_anonymously(storage.public_url("public/tts/visible.txt")).status_code == 200


def test_coqui_loads_a_saved_model_and_serves_its_audio(coqui_api):
    text = f"Coqui speaks through the same path, {uuid.uuid4().hex[:6]}."
    r = coqui_api.post("/tts", json={"text": text, "format": "wav"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["engine"] == "coqui" and body["voice"] == "default"
    audio = fetch_anonymously(body["url"])
    assert audio.status_code == 200
    duration, rate = decoded_duration_and_rate(audio.content)
    assert rate == body["sample_rate"] == 22050
    assert duration == pytest.approx(body["duration_s"], abs=0.02) and duration > 0
    again = coqui_api.post("/tts", json={"text": text, "format": "wav"}).json()
    assert again["cached"] is True and again["url"] == body["url"]


def test_coqui_speed_is_applied(coqui_api):
    text = f"Tempo for Coqui {uuid.uuid4().hex[:6]}."
    normal = coqui_api.post("/tts", json={"text": text, "format": "wav"}).json()
    fast = coqui_api.post("/tts", json={"text": text, "format": "wav", "speed": 2.0}).json()
    assert fast["duration_s"] == pytest.approx(normal["duration_s"] / 2, rel=0.1)


def test_coqui_unknown_voice_lists_the_available_one(coqui_api):
    r = coqui_api.post("/tts", json={"text": "Hello.", "voice": "darth"})
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "unknown_voice"
    assert "default" in r.json()["error"]["message"]


def test_openai_voice_names_play_the_coqui_default_voice(coqui_api):
    r = coqui_api.post("/tts", json={"text": "Hello.", "voice": "alloy", "format": "wav"})
    assert r.status_code == 200 and r.json()["voice"] == "default"


@pytest.mark.parametrize("path", ["/tts", "/v1/audio/speech"])
def test_coqui_is_never_handed_more_than_a_bounded_piece(coqui_api, monkeypatch, path):
    from TTS.api import TTS

    from speech_api.engines.tts.sentences import MAX_SENTENCE_CHARS

    handed: list[str] = []
    real_tts = TTS.tts

    def recording(self, text, **kwargs):  # the real engine, watched
        handed.append(text)
        return real_tts(self, text, **kwargs)

    monkeypatch.setattr(TTS, "tts", recording)
    # A fresh word (letters only: a tag of six digits, one draw in sixteen, is read out as
    # a number, and then the text handed over is rightly not the text sent).
    tag = uuid.uuid4().hex[:6].translate(str.maketrans("0123456789", "ghijklmnop"))
    sentence = " ".join(["and then the fox ran on"] * 18) + f" {tag}."
    assert len(sentence) > 2 * MAX_SENTENCE_CHARS
    body = {"text": sentence} if path == "/tts" else {"model": "tts-1", "input": sentence}
    r = coqui_api.post(path, json={**body, "voice": "alloy"})
    assert r.status_code == 200, r.text
    assert len(handed) >= 3 and all(len(t) <= MAX_SENTENCE_CHARS for t in handed)
    assert " ".join(handed) == sentence


def test_coqui_text_that_would_outlast_the_gateway_is_refused_up_front(coqui_api):
    text = ("A long text for a slow engine, said once and then again. " * 80)[:4096]
    r = coqui_api.post("/tts", json={"text": text})
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert (error["code"], error["param"]) == ("speech_too_long", "text")
    # Coqui's time does not depend on speed (it stretches its output): 961 at any speed.
    assert "with coqui" in error["message"] and "Up to 961 characters fit" in error["message"]
