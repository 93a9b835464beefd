"""What AWS does after the first byte, and what a direct invoke can send (hardening round 4):
events the adapter cannot read are a 400 JSON answer, not an invocation error; the docs page
never writes the event's path unescaped; an error after a streamed response's first byte is
counted (StreamErrors, per function), logged with its stack, and its trailers carry only the
error's type and message; streamed work on Lambda stops at its budget."""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from dataclasses import replace

import pytest

from devkit.events import http_api_event, rest_api_event
from devkit.lambda_context import LocalLambdaContext
from handlers.api import handler, stream_handler
from speech_api.config import Settings
from speech_api.runtime.aws_lambda import LAMBDA_STREAM_TIME_LIMIT_S, lambda_settings
from speech_api.runtime.lambda_stream import (
    ERROR_BODY_TRAILER,
    ERROR_TYPE_TRAILER,
    STREAM_MARGIN_S,
    AsgiStreamer,
    RuntimeClient,
    StreamedResponse,
    serve,
)
from tests.support.lambda_runtime import RuntimeAPI, lambda_env, start_runtime_client

_REST = rest_api_event("GET", "/health", headers={"Origin": "https://x.example"})
_V2 = http_api_event("GET", "/health")

ODD_EVENTS = {
    "a header value that is a number": ({**_REST, "headers": {"X-N": 5}}, "headers.X-N"),
    "a header value that is null": ({**_REST, "headers": {"X-N": None}}, "headers.X-N"),
    "multi-value headers with a number": (
        {**_REST, "multiValueHeaders": {"X-N": [5]}},
        "multiValueHeaders.X-N",
    ),
    "a JSON object as the body": (
        {**rest_api_event("POST", "/tts"), "body": {"text": "hi"}},
        "body",
    ),
    "a number as the body": ({**rest_api_event("POST", "/tts"), "body": 7}, "body"),
    "no path": ({k: v for k, v in _REST.items() if k != "path"}, "path"),
    "a path that is a number": ({**_REST, "path": 5}, "path"),
    "no httpMethod": ({**_REST, "httpMethod": None}, "httpMethod"),
    "a null requestContext": ({**_REST, "requestContext": None}, "requestContext"),
    "a string as requestContext": ({**_REST, "requestContext": "x"}, "requestContext"),
    "isBase64Encoded as a string": ({**_REST, "isBase64Encoded": "yes"}, "isBase64Encoded"),
    "query values that are numbers": (
        {**_REST, "queryStringParameters": {"a": 1}},
        "queryStringParameters.a",
    ),
    "an HTTP API event without its method": (
        {**_V2, "requestContext": {"http": {}}},
        "requestContext.http.method",
    ),
    "an HTTP API event without rawPath": (
        {k: v for k, v in _V2.items() if k != "rawPath"},
        "rawPath",
    ),
    "an array": ([1, 2, 3], None),
    "a string": ("hello", None),
    "a number": (42, None),
    "null": (None, None),
}


@pytest.fixture
def configured(process_settings):
    process_settings()


@pytest.mark.parametrize("event,param", ODD_EVENTS.values(), ids=ODD_EVENTS)
def test_events_the_adapter_cannot_read_are_a_400_not_an_invocation_error(configured, event, param):
    for entry in (handler, stream_handler):
        response = entry(event, LocalLambdaContext())
        if isinstance(response, StreamedResponse):
            status, body = response.status, b"".join(response.body).decode()
            headers = response.headers
        else:
            status, body, headers = response["statusCode"], response["body"], response["headers"]
        assert status == 400, body
        error = json.loads(body)["error"]
        assert (error["code"], error["param"]) == ("invalid_event", param)
        assert headers["content-type"] == "application/json"
        assert headers["access-control-allow-origin"] == "*"


def test_an_odd_event_through_the_streaming_runtime_is_a_400_response(configured):
    with RuntimeAPI() as runtime:
        client = RuntimeClient(runtime.address)
        loop = threading.Thread(target=serve, args=(client, stream_handler), kwargs={"once": True})
        loop.start()
        kind, result, _ = runtime.invoke(["not", "an", "event"], timeout_s=60)
        loop.join(timeout=60)
    assert kind == "response"
    assert result.metadata["statusCode"] == 400
    assert json.loads(result.payload)["error"]["code"] == "invalid_event"


INJECTED_PATHS = [
    "/x'</script><script>alert(1)</script>/docs",
    '/x"><img src=x onerror=alert(1)>/docs',
    "/prod/../..//docs",
    "/pro d/docs",
]


@pytest.mark.parametrize("outer", INJECTED_PATHS)
def test_the_docs_page_never_writes_the_events_path_unescaped(configured, outer):
    event = rest_api_event("GET", "/docs")
    event["requestContext"] = {**event["requestContext"], "path": outer}
    response = handler(event, LocalLambdaContext())
    assert response["statusCode"] == 200
    page = response["body"]
    assert "alert(1)" not in page and "onerror" not in page
    assert "'/openapi.json'" in page or '"/openapi.json"' in page  # no prefix taken from it


def test_an_error_after_the_first_byte_is_counted_logged_and_its_trailers_carry_no_stack(
    capsys,
):
    def body():
        yield b"first piece"
        raise RuntimeError("the engine fell over\nat /opt/secret/path.py line 3")

    def stream(event, context):
        return StreamedResponse(200, {"content-type": "audio/mpeg"}, body=body())

    with RuntimeAPI() as runtime:
        client = RuntimeClient(runtime.address)
        loop = threading.Thread(target=serve, args=(client, stream), kwargs={"once": True})
        loop.start()
        kind, result, _ = runtime.invoke({"path": "/v1/audio/speech"}, timeout_s=30)
        loop.join(timeout=30)
    assert kind == "response" and result.payload == b"first piece"
    assert result.trailers[ERROR_TYPE_TRAILER] == "RuntimeError"
    error = json.loads(base64.b64decode(result.trailers[ERROR_BODY_TRAILER]))
    assert error == {
        "errorType": "RuntimeError",
        "errorMessage": "the engine fell over at /opt/secret/path.py line 3",
    }
    out, err = capsys.readouterr()
    metrics = [json.loads(line) for line in out.splitlines() if '"StreamErrors"' in line]
    assert len(metrics) == 1
    (declared,) = metrics[0]["_aws"]["CloudWatchMetrics"]
    assert declared["Namespace"] == "SpeechAPI"
    assert declared["Dimensions"] == [["function_name"]]
    assert metrics[0]["StreamErrors"] == 1 and metrics[0]["function_name"]
    assert "Traceback" in err and "the engine fell over" in err


async def endless_app(scope, receive, send):
    """Streams a chunk every 50 ms until it is told its client has gone."""
    import asyncio

    await receive()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    gone = asyncio.ensure_future(receive())
    while not gone.done():
        await send({"type": "http.response.body", "body": b"x" * 100, "more_body": True})
        await asyncio.sleep(0.05)


def test_streamed_work_stops_at_its_budget_and_is_counted(capsys):
    """Lambda never says that the client hung up: the work gets the invocation's time left
    less STREAM_MARGIN_S, then is told its client has gone."""
    streamer = AsgiStreamer(endless_app)

    def stream(event, context):
        return streamer(event, replace(context, deadline_ms=context.deadline_ms))

    with RuntimeAPI(timeout_s=STREAM_MARGIN_S + 2) as runtime:
        client = RuntimeClient(runtime.address)
        loop = threading.Thread(target=serve, args=(client, stream), kwargs={"once": True})
        started = time.monotonic()
        loop.start()
        kind, result, _ = runtime.invoke(rest_api_event("GET", "/stream"), timeout_s=60)
        loop.join(timeout=30)
    elapsed = time.monotonic() - started
    assert kind == "response" and result.payload.startswith(b"x" * 100)
    assert 1.5 < elapsed < 6, elapsed
    assert result.trailers[ERROR_TYPE_TRAILER] == "StreamCutShort"
    assert '"StreamErrors"' in capsys.readouterr().out


def test_streamed_synthesis_on_lambda_has_a_time_limit():
    settings = lambda_settings(Settings(_env_file=None), streamed=True)
    assert settings.tts.stream_time_limit_s == LAMBDA_STREAM_TIME_LIMIT_S
    assert lambda_settings(Settings(_env_file=None)).tts.stream_time_limit_s is None


def test_a_real_synthesis_stream_stops_at_its_budget(s3_endpoint, tmp_path):
    """The Tts function's command under the streaming runtime, with 3 s of budget: Piper
    stops at its next sentence, the stream ends with the error trailers, the error is
    counted, and the runtime takes the next invocation."""
    env = lambda_env(s3_endpoint, MODEL_CACHE_DIR=str(tmp_path / "cache"))
    text = "Every sentence here takes its time to say, one after the other. " * 60
    event = rest_api_event(
        "POST",
        "/v1/audio/speech",
        body=json.dumps({"model": "tts-1", "voice": "alloy", "input": text[:4000]}),
        headers={"Content-Type": "application/json"},
    )
    warm_up = rest_api_event(
        "POST",
        "/v1/audio/speech",
        body=json.dumps({"model": "tts-1", "voice": "alloy", "input": "Hello."}),
        headers={"Content-Type": "application/json"},
    )
    with RuntimeAPI() as runtime:
        proc = start_runtime_client(
            "handlers.api.stream_handler",
            runtime.address,
            env,
            entrypoint=("-m", "speech_api.runtime.lambda_stream"),
        )
        try:
            kind, first, _ = runtime.invoke(warm_up, timeout_s=180)  # Piper loaded
            assert kind == "response" and first.metadata["statusCode"] == 200
            runtime.timeout_s = STREAM_MARGIN_S + 3
            kind, result, _ = runtime.invoke(event, timeout_s=180)
            assert kind == "response"
            assert result.metadata["statusCode"] == 200
            assert result.trailers.get(ERROR_TYPE_TRAILER) == "StreamCutShort", result.trailers
            runtime.timeout_s = 900
            kind, health, _ = runtime.invoke(rest_api_event("GET", "/health"), timeout_s=60)
            assert kind == "response" and health.metadata["statusCode"] == 200
        finally:
            proc.kill()
            output = proc.communicate(timeout=10)[0]
    # 4,000 characters are about 200 s of speech; the stream stopped long before.
    assert len(result.payload) < 200 * 8000, len(result.payload)
    assert re.search(r'"StreamErrors":\s*1', output), output[-2000:]
