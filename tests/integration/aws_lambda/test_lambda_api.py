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


@pytest.mark.parametrize("kind", EVENTS)
def test_body_over_lambdas_payload_limit_is_413_naming_uploads(invoke, kind):
    from speech_api.runtime.aws_lambda import LAMBDA_MAX_BODY_BYTES

    # Just over what a 6 MB invoke can carry base64-encoded; the local default allows 25 MB.
    body = b"\0" * (LAMBDA_MAX_BODY_BYTES + 1)
    status, _, error = invoke(
        kind, "POST", "/stt", body=body, binary=True, headers={"Content-Type": "audio/wav"}
    )
    assert status == 413
    assert error["error"]["code"] == "payload_too_large"
    assert f"limit of {LAMBDA_MAX_BODY_BYTES} bytes" in error["error"]["message"]
    assert "POST /uploads" in error["error"]["message"]


@pytest.mark.parametrize("kind", EVENTS)
def test_cors_headers_on_success_and_on_errors(invoke, kind):
    origin = {"Origin": "https://app.example.com"}
    for method, path, kwargs, expected in [
        ("GET", "/health", {}, 200),
        ("POST", "/stt", {"body": b"\x00" * 100, "binary": True}, 415),
        ("GET", "/transcripts/does-not-exist", {}, 404),
    ]:
        headers = {**origin, **kwargs.pop("headers", {})}
        status, response_headers, _ = invoke(kind, method, path, headers=headers, **kwargs)
        assert status == expected, path
        assert response_headers["access-control-allow-origin"] == "*", path


def test_docs_behind_the_stage_ask_for_the_schema_under_the_stage(invoke):
    # The browser is at https://<api>/prod/docs; the event's path is /docs.
    response = handler(rest_api_event("GET", "/docs"), LocalLambdaContext())
    assert response["statusCode"] == 200
    assert "'/prod/openapi.json'" in response["body"] or '"/prod/openapi.json"' in response["body"]
    schema = handler(rest_api_event("GET", "/openapi.json"), LocalLambdaContext())
    assert json.loads(schema["body"])["servers"] == [{"url": "/prod"}]
    # Routes still match: the stage is not part of the app's paths.
    status, _, body = invoke("rest-v1", "GET", "/health")
    assert status == 200 and body["status"] == "ok"


def test_speech_the_gateway_could_not_wait_for_is_refused_before_any_work(invoke):
    # Answered whole (`handler`, awslambdaric: a BUFFERED integration) the speech must be ready
    # within 29 s; streamed (Uvicorn, or the Tts function's streaming runtime behind STREAM
    # integrations: test_lambda_stream.py) the same request is taken.
    text = ("Read slowly, every word of this text takes its time. " * 80)[:4096]
    request = {"model": "tts-1", "voice": "alloy", "input": text, "speed": 0.5}
    status, _, body = invoke(
        "rest-v1",
        "POST",
        "/v1/audio/speech",
        headers={"Content-Type": "application/json"},
        body=json.dumps(request),
    )
    assert status == 400, body
    assert (body["error"]["code"], body["error"]["param"]) == ("speech_too_long", "text")
    assert "Up to 2499 characters fit at speed 0.5" in body["error"]["message"]


def test_a_body_marked_base64_that_is_not_is_a_400_not_an_invocation_error(
    invoke, process_settings
):
    event = rest_api_event(
        "POST",
        "/stt",
        headers={"Content-Type": "audio/wav", "Origin": "https://x.example"},
        body=b"RIFF",
        binary=True,
    )
    response = handler({**event, "body": "!!!not base64!!!"}, LocalLambdaContext())
    assert response["statusCode"] == 400
    assert json.loads(response["body"])["error"]["code"] == "invalid_body"
    assert response["headers"]["access-control-allow-origin"] == "*"
