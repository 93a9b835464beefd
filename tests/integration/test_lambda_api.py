"""handlers.api.handler with API Gateway REST (v1) and HTTP API (v2) events: the same app,
binary audio bodies arriving base64-encoded, errors as JSON."""

import json

import httpx
import pytest

from devkit.clips import clip
from devkit.events import http_api_event, rest_api_event
from devkit.lambda_context import LocalLambdaContext
from handlers.api import handler

EVENTS = {"rest-v1": rest_api_event, "http-v2": http_api_event}


@pytest.fixture
def invoke(process_settings):
    process_settings()

    def call(kind: str, method: str, path: str, **kwargs) -> tuple[int, dict, dict]:
        response = handler(EVENTS[kind](method, path, **kwargs), LocalLambdaContext())
        headers = {k.lower(): v for k, v in response.get("headers", {}).items()}
        body = response["body"]
        return response["statusCode"], headers, json.loads(body) if body else {}

    return call


@pytest.mark.parametrize("kind", EVENTS)
def test_health(invoke, kind):
    status, headers, body = invoke(kind, "GET", "/health")
    assert status == 200 and body["status"] == "ok"
    assert headers["content-type"] == "application/json"


@pytest.mark.parametrize("kind", EVENTS)
def test_tts_returns_a_url_that_serves_audio(invoke, kind):
    status, _, body = invoke(
        kind,
        "POST",
        "/tts",
        headers={"Content-Type": "application/json"},
        body=json.dumps({"text": f"Hello from Lambda via {kind}.", "format": "wav"}),
    )
    assert status == 200, body
    audio = httpx.get(body["url"])
    assert audio.status_code == 200 and audio.content[:4] == b"RIFF"


@pytest.mark.parametrize("kind", EVENTS)
def test_stt_receives_the_exact_bytes_of_a_base64_body(invoke, kind):
    c = clip("arctic_a0008.wav")
    status, _, body = invoke(
        kind,
        "POST",
        "/stt",
        headers={"Content-Type": "audio/wav"},
        body=c.read(),
        binary=True,
        query={"language": "en"},
    )
    assert status == 200, body
    assert "your letter came just in time" in body["text"].lower()
    assert body["duration_s"] == pytest.approx(c.duration_s, abs=0.05)


@pytest.mark.parametrize("kind", EVENTS)
def test_bad_input_is_a_json_4xx(invoke, kind):
    status, _, body = invoke(
        kind,
        "POST",
        "/stt",
        headers={"Content-Type": "audio/wav"},
        body=b"definitely not audio" * 10,
        binary=True,
    )
    assert status == 415 and body["error"]["code"] == "unsupported_audio"
    status, _, body = invoke(
        kind,
        "POST",
        "/tts",
        headers={"Content-Type": "application/json"},
        body=json.dumps({"text": ""}),
    )
    assert status == 422 and body["error"]["param"] == "text"
