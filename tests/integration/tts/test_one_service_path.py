"""`/tts`, `/v1/audio/speech` and the CLI take one path through the service: the same text
limits, the same refusal of text the engine cannot speak, the same forwarding to the GPU
endpoint when one is configured."""

from __future__ import annotations

import httpx
import pytest
from fastapi.testclient import TestClient

from speech_api.api import create_app
from speech_api.audio import decode_audio
from speech_api.service import SpeechService
from tests.support.live_server import LiveServer
from tests.support.sagemaker import sagemaker_runtime

SPEECH = {"model": "tts-1", "voice": "alloy"}


@pytest.fixture(scope="module")
def short_text_api(make_settings):
    with TestClient(create_app(make_settings(max_text_chars=50))) as c:
        yield c


def test_openai_speech_honours_max_text_chars(short_text_api):
    text = "A sentence of sixty characters, give or take a few letters."
    assert len(text) > 50
    for path, body in (("/v1/audio/speech", {**SPEECH, "input": text}), ("/tts", {"text": text})):
        r = short_text_api.post(path, json=body)
        assert r.status_code == 400, path
        assert r.json()["error"] == {
            "message": "text is longer than 50 characters.",
            "type": "invalid_request_error",
            "code": "text_too_long",
            "param": "text",
        }


class RefusingPhonemizer:
    """The real Piper engine, except that text with a marker raises ValueError the way a
    phonemizer refuses input (no English text makes Piper's own phonemizer do it on demand)."""

    MARKER = "\u27c2"

    def __init__(self, engine):
        self._engine = engine
        self.engine, self.model = engine.engine, engine.model
        self.default_voice = engine.default_voice

    def voices(self):
        return self._engine.voices()

    def _check(self, text):
        if self.MARKER in text:
            raise ValueError(f"no phonemes for {self.MARKER!r}")

    def synthesize(self, text, **kwargs):
        self._check(text)
        return self._engine.synthesize(text, **kwargs)

    def stream(self, text, **kwargs):
        self._check(text)
        yield from self._engine.stream(text, **kwargs)

    def speech_estimate_s(self, text, **kwargs):  # the phonemes are counted up front too
        self._check(text)
        return self._engine.speech_estimate_s(text, **kwargs)

    def __getattr__(self, name):
        return getattr(self._engine, name)


@pytest.fixture(scope="module")
def refusing_api(make_settings):
    settings = make_settings()
    service = SpeechService(settings)
    real = service.models.tts()
    service.models.tts = lambda: RefusingPhonemizer(real)
    with TestClient(create_app(settings, service)) as c:
        yield c


@pytest.mark.parametrize("path,field", [("/v1/audio/speech", "input"), ("/tts", "text")])
def test_text_the_engine_refuses_is_a_400_on_every_route(refusing_api, path, field):
    text = f"Say {RefusingPhonemizer.MARKER} please."
    body = {**SPEECH, field: text} if field == "input" else {field: text}
    r = refusing_api.post(path, json=body)
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert (error["code"], error["param"]) == ("no_speech", "text")
    assert error["message"].startswith("The text could not be synthesized: no phonemes")
    assert refusing_api.post(path, json={**body, field: "Fine."}).status_code == 200


@pytest.mark.parametrize("path,field", [("/v1/audio/speech", "input"), ("/tts", "text")])
def test_nothing_pronounceable_is_no_speech_on_every_route(api, path, field):
    body = {**SPEECH, field: "..."} if field == "input" else {field: "..."}
    r = api.post(path, json=body)
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "no_speech"


@pytest.fixture(scope="module")
def gpu_endpoint(make_settings):
    """The GPU container (this app, with local engines) behind a SageMaker runtime stand-in,
    and a front app configured to forward synthesis to it."""
    calls: list[dict] = []
    container = create_app(make_settings())
    with LiveServer(container) as gpu, LiveServer(sagemaker_runtime(gpu.base_url, calls)) as sm:
        front = make_settings(
            tts={"sagemaker_endpoint": "speech-gpu", "sagemaker_endpoint_url": sm.base_url}
        )
        with pytest.MonkeyPatch.context() as env:
            # SageMaker calls are signed; the stand-in accepts any credentials.
            env.setenv("AWS_ACCESS_KEY_ID", "test")
            env.setenv("AWS_SECRET_ACCESS_KEY", "test")
            with TestClient(create_app(front)) as c:
                yield c, calls


def test_openai_speech_is_forwarded_to_the_gpu_endpoint(gpu_endpoint):
    front, calls = gpu_endpoint
    calls.clear()
    r = front.post(
        "/v1/audio/speech",
        json={**SPEECH, "input": "Forwarded to the GPU.", "response_format": "wav"},
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "audio/wav"
    assert int(r.headers["x-sample-rate"]) == 22050
    assert decode_audio(r.content, max_seconds=60).duration_s > 0.5
    assert [c["endpoint"] for c in calls] == ["speech-gpu"]
    assert calls[0]["body"]["input"] == "Forwarded to the GPU."


def test_tts_is_forwarded_to_the_gpu_endpoint_and_its_url_serves_audio(gpu_endpoint):
    front, calls = gpu_endpoint
    calls.clear()
    r = front.post("/tts", json={"text": "Stored by the GPU endpoint.", "format": "mp3"})
    assert r.status_code == 200, r.text
    assert [c["endpoint"] for c in calls] == ["speech-gpu"]
    audio = httpx.get(r.json()["url"])
    assert audio.status_code == 200 and audio.headers["content-type"] == "audio/mpeg"


def test_the_gpu_endpoints_own_4xx_reaches_the_caller(gpu_endpoint):
    front, _ = gpu_endpoint
    r = front.post("/v1/audio/speech", json={**SPEECH, "voice": "nobody", "input": "Hi."})
    assert r.status_code == 400
    error = r.json()["error"]
    assert (error["code"], error["param"]) == ("unknown_voice", "voice")
    assert "nobody" in error["message"]
    assert error["type"] == "invalid_request_error"  # the app's error, not SageMaker's
