"""Text to speech: `POST /tts` (stored, public URL) and SageMaker's `POST /invocations`."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Iterator

from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response, StreamingResponse
from pydantic import ValidationError

from speech_api.api.deps import SpeechDep, offload
from speech_api.api.middleware import StreamStopped, register_playback
from speech_api.errors import InvalidRequestError, SpeechAPIError
from speech_api.schemas import SpeechRequest, TTSRequest, TTSResponse
from speech_api.service import SpeechStream

router = APIRouter(tags=["speech"])
log = logging.getLogger(__name__)


@router.post("/tts", response_model=TTSResponse)
async def tts(body: TTSRequest, service: SpeechDep) -> TTSResponse:
    """Synthesize speech, store it under the public prefix and return its URL."""
    return await offload(service.synthesize, body)


async def _chunks(stream: SpeechStream) -> AsyncIterator[bytes]:
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
        yield chunk


def paced(request: Request, stream: SpeechStream, grace_s: float | None) -> SpeechStream:
    """The stream, to be read at least as fast as its audio plays after ``grace_s``
    (STREAM_READ_GRACE_S): a client that falls further behind is cut and its slot freed
    (api/middleware.py). A player reading in real time never is; a client reading 4 KB/s of
    44 KB/s PCM is cut after about the grace plus what the connection's buffers held."""
    register_playback(request.scope.setdefault("state", {}), stream.progress, grace_s)
    return stream


def stream_response(stream: SpeechStream) -> StreamingResponse:
    headers = {"X-Sample-Rate": str(stream.sample_rate)}
    if stream.voice:  # the voice that speaks, where the request named an alias (`alloy`)
        headers["X-Voice"] = stream.voice
    return StreamingResponse(_chunks(stream), media_type=stream.media_type, headers=headers)


def _sse(data: dict) -> bytes:
    return f"data: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


async def _events(events: Iterator[dict]) -> AsyncIterator[bytes]:
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
        yield _sse(event)


def sse_response(events: Iterator[dict]) -> StreamingResponse:
    """Server-sent events, one `data:` line of JSON each, as OpenAI streams them."""
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(_events(events), media_type="text/event-stream", headers=headers)


@router.post("/invocations", include_in_schema=False)
async def invocations(request: Request, service: SpeechDep) -> Response:
    """The GPU endpoint's one route. A `/tts` body answers its JSON; an OpenAI speech body
    (it has `input`) answers the whole audio, with the sample rate in SageMaker's custom
    attributes."""
    try:
        body = await request.json()
    except (ValueError, RecursionError) as exc:  # RecursionError: nested thousands deep
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
