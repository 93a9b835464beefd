"""Bad input through real HTTP: each case gets the right status and error code as JSON, never
a 500, and the server keeps serving."""

import contextlib
import json
import uuid

import httpx
import numpy as np
import pytest

from devkit.clips import clip
from tests.support.audio_files import encode, noise

JSON = {"content-type": "application/json"}
WAV = {"content-type": "audio/wav"}


def wav_bytes(seconds: float, rate: int = 16000) -> bytes:
    return encode(noise(seconds, rate), rate)


MP3 = clip("lj_LJ001-0004.mp3").read()

STT_CASES = [
    # id, request kwargs, status, code, param
    ("empty body", dict(content=b"", headers=WAV), 400, "empty_audio", "file"),
    ("zero-byte file", dict(files={"file": ("a.wav", b"")}), 400, "empty_audio", "file"),
    (
        "random bytes",
        dict(content=np.random.default_rng(0).bytes(20_000), headers=WAV),
        415,
        "unsupported_audio",
        "file",
    ),
    (
        "text named .wav",
        dict(files={"file": ("notes.wav", b"just some text\n" * 100, "audio/wav")}),
        415,
        "unsupported_audio",
        "file",
    ),
    (
        "html as audio",
        dict(content=b"<html><body>hi</body></html>" * 50, headers=WAV),
        415,
        "unsupported_audio",
        "file",
    ),
    (
        "mp3 cut to its first bytes",
        dict(content=MP3[:64], headers={"content-type": "audio/mpeg"}),
        415,
        "unsupported_audio",
        "file",
    ),
    ("61 s of audio", dict(content=wav_bytes(61), headers=WAV), 413, "audio_too_long", "file"),
    ("multipart without file", dict(files={"other": ("a.wav", MP3)}), 400, "missing_file", "file"),
    (
        "multipart with two files",
        dict(files=[("file", ("a.mp3", MP3)), ("file", ("b.mp3", MP3))]),
        400,
        "too_many_files",
        "file",
    ),
    (
        "unknown language",
        dict(content=MP3, headers=WAV, params={"language": "xx"}),
        400,
        "unsupported_language",
        "language",
    ),
]


@pytest.mark.parametrize("case", STT_CASES, ids=[c[0] for c in STT_CASES])
def test_stt_bad_input(live_api, case):
    _, kwargs, status, code, param = case
    r = live_api.post("/stt", **kwargs)
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/json"
    error = r.json()["error"]
    assert (error["code"], error["param"]) == (code, param)
    assert error["message"] and error["type"] == "invalid_request_error"
    assert live_api.get("/health").json()["status"] == "ok"


# A text over 4096 characters, NaN, an unknown field and a JSON array: test_review_json.py.
TTS_CASES = [
    ("not json", dict(content=b"{text: hi", headers=JSON), 400, "invalid_json", None),
    ("empty text", dict(json={"text": ""}), 422, "string_too_short", "text"),
    ("whitespace text", dict(json={"text": " \n\t "}), 422, "string_too_short", "text"),
    ("missing text", dict(json={"voice": "en_US-joe-medium"}), 422, "missing", "text"),
    ("text not a string", dict(json={"text": 42}), 422, "string_type", "text"),
    ("unknown voice", dict(json={"text": "Hi.", "voice": "nobody"}), 400, "unknown_voice", "voice"),
    (
        "unknown format",
        dict(json={"text": "Hi.", "format": "aiff"}),
        422,
        "literal_error",
        "format",
    ),
    ("speed too high", dict(json={"text": "Hi.", "speed": 4.5}), 422, "less_than_equal", "speed"),
    ("speed too low", dict(json={"text": "Hi.", "speed": 0.1}), 422, "greater_than_equal", "speed"),
    (
        "speed not a number",
        dict(json={"text": "Hi.", "speed": "fast"}),
        422,
        "float_type",
        "speed",
    ),
]


@pytest.mark.parametrize("case", TTS_CASES, ids=[c[0] for c in TTS_CASES])
def test_tts_bad_input(live_api, case):
    _, kwargs, status, code, param = case
    r = live_api.post("/tts", **kwargs)
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert (error["code"], error["param"]) == (code, param)
    assert error["message"]
    assert live_api.get("/health").json()["status"] == "ok"


def test_unknown_route_is_a_json_404(live_api):
    r = live_api.get("/nope")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


def test_valid_audio_with_a_wrong_content_type_still_works(live_api):
    r = live_api.post("/stt", content=MP3, headers={"content-type": "image/png"})
    assert r.status_code == 200 and "printed book" in r.json()["text"].lower()


def test_truncated_mp3_transcribes_what_is_there(live_api):
    r = live_api.post("/stt", content=MP3[: len(MP3) // 2], headers={"content-type": "audio/mpeg"})
    assert r.status_code == 200, r.text
    assert "produced the block" in r.json()["text"].lower()
    assert "printed book" not in r.json()["text"].lower()


def test_silence_gives_an_empty_transcript_not_invented_words(live_api):
    silence = encode(np.zeros(48000, np.float32), 16000)
    r = live_api.post("/stt", content=silence, headers=WAV)
    assert r.status_code == 200
    assert r.json()["text"] == "" and r.json()["segments"] == []
    assert r.json()["duration_s"] == pytest.approx(3.0, abs=0.01)


def test_body_over_the_limit_is_refused_by_content_length(make_settings):
    from fastapi.testclient import TestClient

    from speech_api.api import create_app

    with TestClient(create_app(make_settings(max_upload_bytes=1000))) as small:
        r = small.post("/stt", content=b"x" * 5000, headers=WAV)
        assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"
        r = small.post("/stt", files={"file": ("a.mp3", MP3)})
        assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"


def test_chunked_body_over_the_limit_is_refused_without_reading_it_all(make_settings):
    from speech_api.api import create_app
    from tests.support.live_server import LiveServer

    sent = 0

    def endless():
        nonlocal sent
        for _ in range(10_000):  # up to 640 MB if the server kept reading
            sent += 65536
            yield b"\0" * 65536

    limit = 1_000_000
    app = create_app(make_settings(max_upload_bytes=limit))
    with LiveServer(app) as server, httpx.Client(base_url=server.base_url, timeout=30) as c:
        # The server answers and closes while we are still sending: the client may only see
        # the connection end. What matters here is that it stopped reading near the limit.
        with contextlib.suppress(httpx.HTTPError):
            c.post("/stt", content=endless(), headers=WAV)
        assert sent < 10 * limit  # stopped near the limit, not after 640 MB
        assert c.get("/health").status_code == 200


def test_chunked_body_just_over_the_limit_gets_a_413_json_answer(make_settings):
    from speech_api.api import create_app
    from tests.support.live_server import LiveServer

    limit = 1_000_000
    chunk = 10_000

    def body():
        for _ in range(limit // chunk + 1):  # one chunk past the limit, all of it sent
            yield b"\0" * chunk

    app = create_app(make_settings(max_upload_bytes=limit))
    with LiveServer(app) as server, httpx.Client(base_url=server.base_url, timeout=30) as c:
        r = c.post("/stt", content=body(), headers=WAV)
        assert r.status_code == 413
        assert r.json()["error"] == {
            "message": f"The request body is larger than the limit of {limit} bytes. Send "
            "larger files with POST /uploads (a presigned upload straight to storage).",
            "type": "invalid_request_error",
            "code": "payload_too_large",
            "param": "file",
        }


def test_storage_down_gives_503_with_retry_after_and_recovers(make_settings):
    from fastapi.testclient import TestClient

    from speech_api.api import create_app
    from speech_api.runtime.embedded.s3 import prepare_bucket, start_embedded_s3

    s3 = start_embedded_s3()
    settings = make_settings(
        s3={"endpoint_url": s3.endpoint_url, "connect_timeout_s": 0.5, "max_attempts": 1}
    )
    prepare_bucket(settings)
    with TestClient(create_app(settings)) as c:
        text = f"Storage outage {uuid.uuid4().hex[:6]}."
        s3.stop()
        r = c.post("/tts", json={"text": text})
        assert r.status_code == 503
        assert r.json()["error"]["code"] == "storage_unavailable"
        assert int(r.headers["retry-after"]) > 0
        assert c.get("/health").status_code == 200


def test_error_bodies_are_plain_json_objects(live_api):
    r = live_api.post("/tts", json={"text": ""})
    assert set(json.loads(r.content)) == {"error"}
    assert set(r.json()["error"]) == {"message", "type", "code", "param"}


JSON_ROUTES = {
    "/tts": {"text": "Hello."},
    "/v1/audio/speech": {"model": "tts-1", "voice": "alloy", "input": "Hello."},
    "/uploads": {"filename": "talk.wav"},
}


@pytest.mark.parametrize("path", JSON_ROUTES)
@pytest.mark.parametrize("content_type", [None, "application/x-www-form-urlencoded", "text/plain"])
def test_json_without_its_content_type_says_to_send_it(api, path, content_type):
    """curl's -d sends application/x-www-form-urlencoded: the answer names the header to send
    (not the parser's "Input should be a valid dictionary")."""
    import json

    headers = {"content-type": content_type} if content_type else {}
    r = api.post(path, content=json.dumps(JSON_ROUTES[path]), headers=headers)
    assert r.status_code == 415, r.text
    error = r.json()["error"]
    assert error["code"] == "unsupported_media_type"
    assert "Content-Type: application/json" in error["message"]
    assert (content_type or "no Content-Type") in error["message"]


@pytest.mark.parametrize("path", ["/stt", "/v1/audio/transcriptions"])
def test_audio_over_the_clip_limit_says_where_long_recordings_go(api, path):
    form = {"model": "base"} if path.startswith("/v1/") else {}
    r = api.post(path, files={"file": ("long.wav", wav_bytes(61))}, data=form)
    assert r.status_code == 413, r.text
    error = r.json()["error"]
    assert (error["code"], error["param"]) == ("audio_too_long", "file")
    assert error["message"].startswith("The audio is longer than the limit of 60 seconds.")
    assert "POST /uploads" in error["message"] and "speech-api transcribe" in error["message"]
