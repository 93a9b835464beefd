"""The hostile review, API Gateway events to the Lambda handlers (handlers.api, in this
process): bodies that claim base64 and are not, paths that climb, null headers, and requests
that cannot finish in API Gateway's 29 s. Transcription routes go through the streaming handler
as in AWS (the Stt function behind STREAM integrations), the rest through the buffered one.
Each case gets the status and error code pinned here, and the handler still answers /health."""

from __future__ import annotations

import base64
import json

import pytest

from devkit.clips import clip
from devkit.events import rest_api_event
from devkit.lambda_context import LocalLambdaContext
from handlers import api as api_handler
from tests.support.audio_files import container_index_bombs

WAV = clip("arctic_a0007.wav").read()
STREAMED = ("/stt", "/v1/audio/transcriptions", "/v1/audio/translations")
GOOD = rest_api_event("POST", "/stt", headers={"Content-Type": "audio/wav"}, body=WAV, binary=True)


def invoke(event: dict) -> tuple[int, str | None]:
    """The status and the error code (None without one) of the handler that serves the
    event's path in AWS."""
    if str(event.get("path", "")).startswith(STREAMED):
        streamed = api_handler.stream_handler(event, LocalLambdaContext())
        status, body = streamed.status, b"".join(streamed.body).decode(errors="replace")
    else:
        response = api_handler.handler(event, LocalLambdaContext())
        status, body = response["statusCode"], response.get("body") or "{}"
    try:
        answer = json.loads(body)
    except ValueError:
        answer = None
    error = answer.get("error") if isinstance(answer, dict) else None
    return status, error["code"] if isinstance(error, dict) else None


CASES = [
    # id, event, status, error code
    (
        "lambda: base64 body that is not base64",
        {**GOOD, "body": "!!!not base64!!!"},
        400,
        "invalid_body",
    ),
    ("lambda: path with ../", rest_api_event("GET", "/../../etc/passwd"), 404, "not_found"),
    (
        "lambda: headers null",
        {**rest_api_event("GET", "/health"), "headers": None, "multiValueHeaders": None},
        200,
        None,
    ),
    (
        "lambda: query language=zz",
        {
            **GOOD,
            "queryStringParameters": {"language": "zz"},
            "multiValueQueryStringParameters": {"language": ["zz"]},
        },
        400,
        "unsupported_language",
    ),
    (
        "lambda: /v1/audio/speech that cannot be ready in 29 s",
        rest_api_event(
            "POST",
            "/v1/audio/speech",
            headers={"Content-Type": "application/json"},
            body=json.dumps(
                {
                    "model": "tts-1",
                    "input": ("Slowly now. " * 400)[:4096],
                    "voice": "alloy",
                    "speed": 0.5,
                }
            ),
        ),
        400,
        "speech_too_long",
    ),
    (
        "lambda: container index bomb to /stt",
        {
            **GOOD,
            "body": base64.b64encode(container_index_bombs()["m4a_stsz_stsc_50M"]).decode(),
        },
        415,
        "unsupported_audio",
    ),
]


@pytest.mark.parametrize("event,status,code", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_api_gateway_events(tiny_lambda, event, status, code):
    assert invoke(event) == (status, code)
    assert invoke(rest_api_event("GET", "/health")) == (200, None)
