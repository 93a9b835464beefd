"""The streaming runtime (speech_api.runtime.lambda_stream) serves the Tts and Stt functions'
routes as API Gateway's STREAM integrations need: each response posted to the Runtime API in
Lambda's streaming mode (chunked), as JSON metadata, 8 NUL bytes and the payload, the audio
passed on sentence by sentence as the real Piper engine makes it, transcript deltas as Whisper
decodes each segment; errors before the first byte are the app's JSON errors in the metadata's
status, errors after it go in the documented trailers."""

from __future__ import annotations

import base64
import io
import json
import threading

import av
import pytest

from devkit.clips import joined_recording
from devkit.events import multipart, rest_api_event
from speech_api.runtime.lambda_stream import (
    ERROR_BODY_TRAILER,
    ERROR_TYPE_TRAILER,
    PRELUDE_CONTENT_TYPE,
    InvocationContext,
    RuntimeClient,
    StreamedResponse,
    serve,
)
from tests.support.lambda_runtime import (
    RuntimeAPI,
    Streamed,
    lambda_env,
    start_runtime_client,
)

STREAM_ENTRYPOINT = ("-m", "speech_api.runtime.lambda_stream")
SENTENCES = [
    "The first sentence is short.",
    "The second one follows it closely.",
    "A third sentence carries the story along.",
    "The fourth keeps the listener waiting.",
    "The fifth is nearly the last one.",
    "And a sixth ends the answer here.",
]
TEXT = " ".join(SENTENCES)
# TTS_TIME_LIMIT_S here: tight, so that TEXT (about 1 s of Piper's estimated work for 10 s of
# speech) is "too long" for an answer that must arrive whole.
LIMIT_S = "0.5"


def speech_event(**body) -> dict:
    return rest_api_event(
        "POST",
        "/v1/audio/speech",
        body=json.dumps({"model": "tts-1", "voice": "alloy", **body}),
        headers={"Content-Type": "application/json", "Origin": "https://example.com"},
    )


def streamed(runtime: RuntimeAPI, event: dict) -> Streamed:
    kind, result, _ = runtime.invoke(event)
    assert kind == "response" and isinstance(result, Streamed), result
    # The Runtime API's streaming mode, as AWS documents it for custom runtimes.
    assert result.headers["Lambda-Runtime-Function-Response-Mode"] == "streaming"
    assert result.headers["Transfer-Encoding"] == "chunked"
    assert result.headers["Content-Type"] == PRELUDE_CONTENT_TYPE
    return result


def duration_s(data: bytes) -> float:
    with av.open(io.BytesIO(data)) as c:
        stream = c.streams.audio[0]
        return sum(f.samples for f in c.decode(stream)) / stream.rate


@pytest.fixture(scope="module")
def stream_runtime(s3_endpoint, make_settings, tmp_path_factory):
    """The Tts function's command under the streaming runtime (make_settings: the bucket)."""
    env = lambda_env(
        s3_endpoint,
        MODEL_CACHE_DIR=str(tmp_path_factory.mktemp("cache")),
        TTS_TIME_LIMIT_S=LIMIT_S,
    )
    with RuntimeAPI() as runtime:
        proc = start_runtime_client(
            "handlers.api.stream_handler", runtime.address, env, entrypoint=STREAM_ENTRYPOINT
        )
        try:
            yield runtime
        finally:
            proc.kill()
            output = proc.communicate(timeout=10)[0]
            # Powertools still runs around the handler: one cold start, one warm container.
            assert output.replace(" ", "").count('"ColdStart":[1.0]') == 1, output


@pytest.fixture(scope="module")
def stored(stream_runtime) -> dict:
    """POST /tts through the stream: a JSON answer like any other, once the audio is stored."""
    result = streamed(
        stream_runtime,
        rest_api_event(
            "POST",
            "/tts",
            body=json.dumps({"text": SENTENCES[0]}),
            headers={"Content-Type": "application/json"},
        ),
    )
    assert result.metadata["statusCode"] == 200, result.payload
    assert result.metadata["headers"]["content-type"] == "application/json"
    return json.loads(result.payload)


def test_speech_streams_its_first_audio_after_the_first_sentence(stream_runtime, stored):
    result = streamed(stream_runtime, speech_event(input=TEXT))
    meta = result.metadata
    assert meta["statusCode"] == 200
    assert meta["headers"]["content-type"] == "audio/mpeg"
    assert meta["headers"]["access-control-allow-origin"] in ("*", "https://example.com")
    assert set(meta) == {"statusCode", "headers", "multiValueHeaders", "cookies"}
    assert not result.trailers
    times = result.payload_times()
    assert len(times) >= len(SENTENCES)  # a chunk per sentence, not one block at the end
    first, last = times[0] - result.dispatched_at, times[-1] - result.dispatched_at
    assert first < last / 2, (first, last)
    # Raw bytes (no base64 in STREAM mode) that decode to the whole text's speech.
    seconds = duration_s(result.payload)
    assert 0.05 * len(TEXT) * 0.5 < seconds < 0.05 * len(TEXT) * 1.6, seconds


def test_speech_sse_events_arrive_as_they_are_made(stream_runtime, stored):
    result = streamed(stream_runtime, speech_event(input=TEXT, stream_format="sse"))
    assert result.metadata["statusCode"] == 200
    assert result.metadata["headers"]["content-type"].startswith("text/event-stream")
    lines = result.payload.decode().splitlines()
    events = [json.loads(line[len("data: ") :]) for line in lines if line.startswith("data: ")]
    assert [e["type"] for e in events[:-1]] == ["speech.audio.delta"] * (len(events) - 1)
    assert events[-1]["type"] == "speech.audio.done" and len(events) > len(SENTENCES)
    times = result.payload_times()
    assert times[0] - result.dispatched_at < (times[-1] - result.dispatched_at) / 2
    audio = b"".join(base64.b64decode(e["audio"]) for e in events[:-1])
    assert duration_s(audio) > 0.05 * len(TEXT) * 0.5


def multipart_event(path: str, fields: dict[str, str], filename: str, data: bytes) -> dict:
    boundary = "speech-api-test-boundary"
    parts = [(k, None, v.encode()) for k, v in fields.items()] + [("file", filename, data)]
    return rest_api_event(
        "POST",
        path,
        body=multipart(boundary, parts),
        binary=True,
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )


def test_transcript_deltas_arrive_as_segments_decode(stream_runtime):
    """`stream=true` through the Stt function's STREAM integration: each segment's delta is
    its own chunk, passed on as Whisper decodes, then the full text. 50 s of speech (the
    limit is 60 s) spans two of Whisper's 30 s windows: the first window's deltas must reach
    the client well before the second window is decoded."""
    recording = joined_recording(min_s=50.0)
    assert 50 <= recording.duration_s <= 60
    event = multipart_event(
        "/v1/audio/transcriptions", {"model": "whisper-1", "stream": "true"}, "talk.flac",
        recording.flac(),
    )  # fmt: skip
    result = streamed(stream_runtime, event)
    assert result.metadata["statusCode"] == 200, result.payload
    assert result.metadata["headers"]["content-type"].startswith("text/event-stream")
    lines = result.payload.decode().splitlines()
    events = [json.loads(line[len("data: ") :]) for line in lines if line.startswith("data: ")]
    types = [e["type"] for e in events]
    assert types[-1] == "transcript.text.done" and set(types[:-1]) == {"transcript.text.delta"}
    assert len(events) >= 4  # segments from both windows, then the text
    assert "".join(e["delta"] for e in events[:-1]) == events[-1]["text"]
    words = set(recording.reference.lower().split())
    heard = set(events[-1]["text"].lower().replace(",", "").replace(".", "").split())
    assert len(words & heard) > 0.7 * len(words)
    times = [t - result.dispatched_at for t in result.payload_times()]
    assert len(times) >= len(events) - 1
    # Not one block at the end: the first window's deltas leave while the second one decodes
    # (here about 2.4 s and 3.2 s after the event was handed out).
    assert times[-1] - times[0] > 0.2 and times[0] < 0.9 * times[-1], times


def test_an_error_before_the_audio_is_the_apps_json_error_in_the_metadata(stream_runtime):
    result = streamed(stream_runtime, speech_event(input="Hello.", voice="no-such-voice"))
    assert result.metadata["statusCode"] == 400
    assert result.metadata["headers"]["content-type"] == "application/json"
    error = json.loads(result.payload)["error"]
    assert error["param"] == "voice" and "no-such-voice" in error["message"]
    assert not result.trailers


def test_long_speech_is_not_refused_when_streamed(stream_runtime, stored, s3_endpoint, tmp_path):
    """TEXT's estimate is over TTS_TIME_LIMIT_S here. Answered whole (awslambdaric, as behind
    a BUFFERED integration) it is refused before any work; streamed it is served."""
    text = TEXT
    result = streamed(stream_runtime, speech_event(input=text, response_format="wav"))
    assert result.metadata["statusCode"] == 200, result.payload
    assert duration_s(result.payload) > 1

    env = lambda_env(s3_endpoint, MODEL_CACHE_DIR=str(tmp_path / "cache"), TTS_TIME_LIMIT_S=LIMIT_S)
    with RuntimeAPI() as runtime:
        proc = start_runtime_client("handlers.api.handler", runtime.address, env)
        try:
            kind, whole, _ = runtime.invoke(speech_event(input=text, response_format="wav"))
        finally:
            proc.kill()
            proc.communicate(timeout=10)
    assert kind == "response" and whole["statusCode"] == 400
    assert json.loads(whole["body"])["error"]["code"] == "speech_too_long"
    # The stored path answers only after all the work: it keeps its limit when streamed too.
    refused = streamed(
        stream_runtime,
        rest_api_event(
            "POST",
            "/tts",
            body=json.dumps({"text": text}),
            headers={"Content-Type": "application/json"},
        ),
    )
    assert refused.metadata["statusCode"] == 400
    assert json.loads(refused.payload)["error"]["code"] == "speech_too_long"


def test_an_error_mid_stream_ends_it_with_the_error_trailers():
    """No model needed: a handler whose body fails after its first piece."""

    def body():
        yield b"first piece"
        raise RuntimeError("the engine fell over")

    def handler(event, context: InvocationContext) -> StreamedResponse:
        assert context.aws_request_id and context.get_remaining_time_in_millis() > 0
        return StreamedResponse(200, {"content-type": "audio/mpeg"}, body=body())

    with RuntimeAPI() as runtime:
        client = RuntimeClient(runtime.address)
        loop = threading.Thread(target=serve, args=(client, handler), kwargs={"once": True})
        loop.start()
        kind, result, _ = runtime.invoke({"path": "/v1/audio/speech"}, timeout_s=30)
        loop.join(timeout=30)
    assert kind == "response" and result.metadata["statusCode"] == 200
    assert result.payload == b"first piece"
    assert result.trailers[ERROR_TYPE_TRAILER] == "RuntimeError"
    error = json.loads(base64.b64decode(result.trailers[ERROR_BODY_TRAILER]))
    assert error["errorType"] == "RuntimeError"
    assert error["errorMessage"] == "the engine fell over"


def test_a_handler_that_raises_reports_an_invocation_error():
    def handler(event, context):
        raise ValueError("bad event")

    with RuntimeAPI() as runtime:
        client = RuntimeClient(runtime.address)
        loop = threading.Thread(target=serve, args=(client, handler), kwargs={"once": True})
        loop.start()
        kind, error, _ = runtime.invoke({}, timeout_s=30)
        loop.join(timeout=30)
    assert kind == "error"
    assert error["errorType"] == "ValueError" and error["errorMessage"] == "bad event"
