"""Text to speech: `POST /tts` (stored, public URL) and SageMaker's `POST /invocations`."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator, Iterator

from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response, StreamingResponse
from pydantic import ValidationError

from speech_api.api.deps import SpeechDep, offload
from speech_api.api.middleware import ClientTooSlow, StreamStopped
from speech_api.errors import InvalidRequestError, SpeechAPIError
from speech_api.schemas import SpeechRequest, TTSRequest, TTSResponse
from speech_api.service import SpeechStream

router = APIRouter(tags=["speech"])
log = logging.getLogger(__name__)


@router.post("/tts", response_model=TTSResponse)
async def tts(body: TTSRequest, service: SpeechDep) -> TTSResponse:
    """Synthesize speech, store it under the public prefix and return its URL."""
    return await offload(service.synthesize, body)


class PlaybackPace:
    """A streamed speech response must be read at least as fast as it plays, after a grace
    period (STREAM_READ_GRACE_S): the time the stream spends waiting for its client to take
    bytes may not pass the grace plus the seconds of audio sent. A player reading in real
    time never falls behind; a client reading 4 KB/s of 44 KB/s PCM is cut after about the
    grace, and its slot is freed (a send that blocks entirely is SEND_TIMEOUT_S's case)."""

    def __init__(self, stream: SpeechStream, grace_s: float | None):
        self.progress = stream.progress
        self.grace_s = grace_s
        self.waited_s = 0.0

    def waited(self, seconds: float) -> None:
        if self.progress is None or self.grace_s is None:
            return
        self.waited_s += seconds
        if self.waited_s > self.grace_s + self.progress.audio_s:
            raise ClientTooSlow(
                f"waited {self.waited_s:.1f} s on a client that took "
                f"{self.progress.audio_s:.1f} s of audio"
            )


async def _chunks(stream: SpeechStream, pace: PlaybackPace | None = None) -> AsyncIterator[bytes]:
    # Each sentence is synthesized and encoded on the thread pool, not the event loop.
    while True:
        try:
            chunk = await offload(next, stream.chunks, None)
        except SpeechAPIError as exc:
            # After the 200: the body is cut (the client sees it incomplete), the reason logged.
            log.warning("speech stream stopped after its first byte: %s: %s", exc.code, exc)
            raise StreamStopped(exc.code) from exc
        if chunk is None:
            return
        handed = time.monotonic()
        yield chunk  # resumed once the chunk is sent: the wait is the client's
        if pace is not None:
            pace.waited(time.monotonic() - handed)


def stream_response(stream: SpeechStream, grace_s: float | None = None) -> StreamingResponse:
    headers = {"X-Sample-Rate": str(stream.sample_rate)}
    body = _chunks(stream, PlaybackPace(stream, grace_s))
    return StreamingResponse(body, media_type=stream.media_type, headers=headers)


def _sse(data: dict) -> bytes:
    return f"data: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


async def _events(events: Iterator[dict], pace: PlaybackPace | None = None) -> AsyncIterator[bytes]:
    # Each event is model work (a decoded segment, a synthesized sentence): off the loop. A
    # failure after the 200 went out can only be an event: OpenAI's `{"error": ...}`, which
    # its SDK raises as APIError.
    while True:
        try:
            event = await offload(next, events, None)
        except SpeechAPIError as exc:
            yield _sse({"error": exc.to_dict()})
            return
        except Exception:
            log.exception("streamed response failed")
            yield _sse({"error": SpeechAPIError("The stream failed.").to_dict()})
            return
        if event is None:
            return
        handed = time.monotonic()
        yield _sse(event)
        if pace is not None:
            pace.waited(time.monotonic() - handed)


def sse_response(events: Iterator[dict], pace: PlaybackPace | None = None) -> StreamingResponse:
    """Server-sent events, one `data:` line of JSON each, as OpenAI streams them."""
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    body = _events(events, pace)
    return StreamingResponse(body, media_type="text/event-stream", headers=headers)


@router.post("/invocations", include_in_schema=False)
async def invocations(request: Request, service: SpeechDep) -> Response:
    """The GPU endpoint's one route. A `/tts` body answers its JSON; an OpenAI speech body
    (it has `input`) answers the whole audio, with the sample rate in SageMaker's custom
    attributes."""
    try:
        body = await request.json()
    except ValueError as exc:
        raise InvalidRequestError(
            "The request body is not valid JSON.", code="invalid_json"
        ) from exc
    try:
        if isinstance(body, dict) and "input" in body:
            stream = await offload(service.speech, SpeechRequest.model_validate(body))
            # Whole, before answering: an error is still a clean JSON error.
            audio = b"".join(await offload(list, stream.chunks))
            return Response(
                audio,
                media_type=stream.media_type,
                headers={"X-Amzn-SageMaker-Custom-Attributes": f"sample-rate={stream.sample_rate}"},
            )
        result = await offload(service.synthesize, TTSRequest.model_validate(body))
    except ValidationError as exc:
        raise RequestValidationError(exc.errors()) from exc
    return Response(result.model_dump_json(), media_type="application/json")
