"""ASGI middleware: body limits, API key, backpressure and the request log. Their errors are
domain errors, sent by the one error builder."""

from __future__ import annotations

import asyncio
import hmac
import logging
import re
import tempfile
import threading
import time
import uuid

from starlette.requests import ClientDisconnect

from speech_api.api.errors import send_error
from speech_api.api.open_routes import APP_ONLY_OPEN_ROUTES, OPEN_GET_ROUTES, OPEN_HEAD_ROUTES
from speech_api.errors import (
    AuthenticationError,
    ClientGoneError,
    PayloadTooLargeError,
    RequestTimeoutError,
    SpeechAPIError,
    TooManyRequestsError,
)
from speech_api.work_limits import work_limit

# Routes that never need the API key, as deployed (api/open_routes.py), and SageMaker's health
# check.
OPEN_PATHS = frozenset({*OPEN_GET_ROUTES, *OPEN_HEAD_ROUTES, *APP_ONLY_OPEN_ROUTES})


# Routes whose body is audio (multipart or raw); every other body is a small JSON document,
# but a speech job's (a book-length text).
AUDIO_PATHS = ("/stt", "/v1/audio/transcriptions", "/v1/audio/translations")
JOB_PATHS = ("/tts/jobs",)


class BodyLimitMiddleware:
    """Bounds what reading a request body may cost.

    Size: audio routes take up to ``max_bytes``, every other route ``max_json_bytes``; 413 at
    once when Content-Length says so, otherwise as soon as the streamed (e.g. chunked) body
    passes the limit, having read no more than that. Time: the body gets ``timeout_s`` plus one
    second per ``min_rate`` bytes received, so a client that trickles bytes gets 408 instead of
    holding the connection for as long as it likes."""

    def __init__(
        self,
        app,
        max_bytes: int,
        max_json_bytes: int,
        timeout_s: float = 10.0,
        min_rate: int = 16 * 1024,
        max_job_json_bytes: int | None = None,
    ):
        self.app = app
        self.max_bytes = max_bytes
        self.max_json_bytes = max_json_bytes
        self.max_job_json_bytes = max_job_json_bytes or max_json_bytes
        self.timeout_s = timeout_s
        self.min_rate = min_rate

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        audio = scope["path"].startswith(AUDIO_PATHS)
        limit = self.max_bytes if audio else self.max_json_bytes
        if scope["path"] in JOB_PATHS:
            limit = self.max_job_json_bytes
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and _number(declared) > limit:
            await self._reject(send, self._too_large(limit, audio))
            return

        received = 0
        failure: SpeechAPIError | None = None
        body_done = False
        started = False
        begun = time.monotonic()

        async def limited_receive():
            nonlocal received, failure, body_done
            if failure is not None:
                raise failure
            if body_done:  # only a disconnect is left to wait for: no deadline
                return await receive()
            allowed = begun + self.timeout_s + received / self.min_rate - time.monotonic()
            try:
                message = await asyncio.wait_for(receive(), timeout=max(allowed, 0.001))
            except TimeoutError:
                failure = RequestTimeoutError(
                    "The request body arrived too slowly; send it at once (at least "
                    f"{self.min_rate // 1024} KB/s after the first {self.timeout_s:g} s).",
                    param="file" if audio else None,
                )
                raise failure from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                body_done = not message.get("more_body", False)
                if received > limit:
                    failure = self._too_large(limit, audio)
                    raise failure
            return message

        async def guarded_send(message):
            nonlocal started
            if failure is not None:
                return  # our error replaces whatever the app made of the aborted read
            started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except SpeechAPIError as exc:
            if exc is not failure:
                raise
        if failure is not None and not started:
            await self._reject(send, failure)

    def _too_large(self, limit: int, audio: bool) -> PayloadTooLargeError:
        if not audio:
            return PayloadTooLargeError(
                f"The request body is larger than the limit of {limit} bytes for JSON.",
                code="payload_too_large",
            )
        return PayloadTooLargeError(
            f"The request body is larger than the limit of {limit} bytes. Send "
            "larger files with POST /uploads (a presigned upload straight to storage).",
            param="file",
        )

    async def _reject(self, send, error: SpeechAPIError) -> None:
        await send_error(send, error, {"Connection": "close"})


class APIKeyMiddleware:
    """The key as `Authorization: Bearer <key>` (what the OpenAI SDK sends) or `x-api-key:
    <key>`, as the deployed gateway takes it (handlers/authorizer.py: Bearer first), on every
    route but the open ones. Compared in constant time; the key is never logged."""

    def __init__(self, app, api_key: str):
        self.app = app
        self._expected = api_key.encode()

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"] in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        # The scheme is case-insensitive (RFC 9110); the key is compared in constant time.
        scheme, _, token = headers.get(b"authorization", b"").strip().partition(b" ")
        given = token.strip() if scheme.lower() == b"bearer" and token.strip() else None
        if given is None:
            given = headers.get(b"x-api-key", b"").strip()
        if hmac.compare_digest(given, self._expected):
            await self.app(scope, receive, send)
            return
        await _drain(receive)
        await send_error(
            send,
            AuthenticationError(
                "Missing or invalid API key. Send 'Authorization: Bearer <key>' or "
                "'x-api-key: <key>'."
            ),
        )


async def _drain(receive) -> None:
    """Read and drop the request body, so a client still sending it gets our answer instead
    of a reset connection. BodySizeLimitMiddleware, further out, bounds it."""
    while True:
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body"):
            return


class ConcurrencyLimitMiddleware:
    """Backpressure: beyond ``limit`` requests in flight on ``paths``, answer 429 with
    Retry-After at once instead of queueing until memory or the gateway timeout runs out.

    A slot is taken only once the request body has arrived in full (it is read first, spooled
    to disk past 1 MB), so slow uploads cannot hold slots; a response the client stops reading
    for ``send_timeout_s`` is abandoned, which frees its slot. While the request runs, a
    disconnect of its client stops its model work at the next step (`work_limits`): a client
    that hangs up does not keep a slot, or the CPU, busy for nobody."""

    HEAVY = ("/stt", "/tts", "/invocations", "/v1/audio/")

    def __init__(self, app, limit: int, paths=HEAVY, send_timeout_s: float = 15.0):
        self.app = app
        self.limit = limit
        self.paths = tuple(paths)
        self.send_timeout_s = send_timeout_s
        self.in_flight = 0

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not scope["path"].startswith(self.paths):
            await self.app(scope, receive, send)
            return
        with tempfile.SpooledTemporaryFile(max_size=1024 * 1024) as body:
            last = await _read_body(receive, body)
            if last["type"] == "http.disconnect":
                return  # the client left before its body was complete: nobody to answer
            if self.in_flight >= self.limit:
                await send_error(
                    send,
                    TooManyRequestsError(
                        f"The server is busy ({self.limit} requests in progress). Retry shortly."
                    ),
                )
                return
            self.in_flight += 1
            left = asyncio.Event()
            cancelled = threading.Event()

            async def watch() -> None:
                # The only reader of the connection from here on: the app's own receive()
                # calls get the replayed body, then wait for this.
                while (await receive())["type"] != "http.disconnect":
                    pass
                cancelled.set()
                left.set()

            watcher = asyncio.ensure_future(watch())
            try:
                with work_limit(cancelled=cancelled):
                    await self.app(scope, _replay(body, last, left), self._timed(scope, send))
            except AbandonedResponse as exc:
                access_log.info("dropped a response after its first byte: %s", exc)
            except ClientGoneError:
                pass  # its work stopped when the client left: nobody to answer
            finally:
                self.in_flight -= 1
                watcher.cancel()

    def _timed(self, scope, send):
        """Sends that give up on a client that stops reading (SEND_TIMEOUT_S for one send),
        or, for a response that registered its playback (`register_playback`), on a client
        that reads slower than the audio plays: the time spent waiting on it, all sends
        together, may not pass the grace plus the seconds of audio it has been sent."""
        waited = 0.0

        async def timed_send(message):
            nonlocal waited
            limit, pace = self.send_timeout_s, None
            playback = (scope.get("state") or {}).get(PLAYBACK_STATE)
            if playback is not None:
                progress, grace_s = playback
                allowed = grace_s + progress.audio_s - waited
                if allowed < limit:
                    limit, pace = allowed, (progress.audio_s, grace_s)
            started = time.monotonic()
            try:
                await asyncio.wait_for(send(message), timeout=max(limit, 0.001))
            except TimeoutError:
                if pace is not None:
                    raise ClientTooSlow(
                        f"its client read {pace[0]:.1f} s of audio in {waited + limit:.1f} s "
                        f"of waiting (grace {pace[1]:g} s)"
                    ) from None
                raise _ClientNotReading(
                    f"its client took no bytes for {self.send_timeout_s:g} s"
                ) from None
            finally:
                waited += time.monotonic() - started

        return timed_send


# Where a streamed speech response registers its playback (the audio it has produced so far
# and the grace, STREAM_READ_GRACE_S) for the send pacing above.
PLAYBACK_STATE = "speech_api.playback"


def register_playback(scope_state, progress, grace_s: float | None) -> None:
    """Ask for a streamed response to be read at least as fast as it plays, after
    ``grace_s``; ``progress.audio_s``: the seconds of audio produced so far."""
    if progress is not None and grace_s is not None:
        scope_state[PLAYBACK_STATE] = (progress, grace_s)


class AbandonedResponse(Exception):
    """A response given up after its first byte: the connection is closed mid-body (the
    client sees it cut, not complete), the slot freed, the reason logged once."""


class _ClientNotReading(AbandonedResponse):
    """Raised out of the app when the client has not taken response bytes for too long."""


class ClientTooSlow(AbandonedResponse):
    """A streamed response whose client reads it slower than it plays."""


class StreamStopped(AbandonedResponse):
    """Raised by a streamed response whose work stopped after the first byte (routers)."""


async def _read_body(receive, body) -> dict:
    """Read the whole request body into ``body``; the last message (the end of the body, or
    a disconnect) is returned to be replayed."""
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return message
        body.write(message.get("body", b""))
        if not message.get("more_body"):
            return {"type": "http.request", "body": b"", "more_body": False}


def _replay(body, last: dict, left: asyncio.Event, chunk: int = 256 * 1024):
    """A receive() that hands the spooled body out again, then waits for the client to leave
    (what Starlette's streaming responses listen for)."""
    body.seek(0)
    done = False

    async def replayed():
        nonlocal done
        if done:
            await left.wait()
            return {"type": "http.disconnect"}
        data = body.read(chunk)
        if data:
            return {"type": "http.request", "body": data, "more_body": True}
        done = True
        return last

    return replayed


# What the log says of a request whose client left before it was answered (nginx's 499).
CLIENT_CLOSED_REQUEST = 499
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}\Z")  # \Z: "$" takes a final newline
access_log = logging.getLogger("speech_api.access")


class RequestLogMiddleware:
    """One log line per request: request id, method, path, status, duration. Never bodies,
    query strings, headers or keys. The id comes from X-Request-ID when it is well-formed,
    otherwise it is generated, and is returned in the response's X-Request-ID."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        request_id = given if _REQUEST_ID.match(given) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500
        answered = False
        client_left = False

        async def watched_receive():
            nonlocal client_left
            message = await receive()
            if message["type"] == "http.disconnect" and not answered:
                client_left = True
            return message

        async def send_with_id(message):
            nonlocal status, answered
            if message["type"] == "http.response.start":
                status = message["status"]
                answered = True
                message = {
                    **message,
                    "headers": [
                        *message.get("headers", []),
                        (b"x-request-id", request_id.encode()),
                    ],
                }
            await send(message)

        try:
            await self.app(scope, watched_receive, send_with_id)
        except ClientDisconnect:
            client_left = True  # a body read cut short: the client's doing, not an error
        finally:
            if client_left and not answered:
                status = CLIENT_CLOSED_REQUEST
            access_log.info(
                "request_id=%s method=%s path=%s status=%d duration_ms=%.1f",
                request_id,
                scope["method"],
                # Decoded paths may hold %0A and other controls: escaped, no forged log lines.
                scope["path"].encode("unicode_escape").decode("ascii"),
                status,
                (time.perf_counter() - started) * 1000,
            )


def _number(declared: bytes) -> int:
    """A Content-Length header's value; -1 when it is not digits (h11 refuses those first),
    10**18 when it has more than 18 significant digits (over every limit; int() would refuse
    more than 4,300 of them with a ValueError)."""
    if not declared.isdigit():
        return -1
    digits = declared.lstrip(b"0") or b"0"  # "0000000000000000000001" is one byte
    return int(digits) if len(digits) <= 18 else 10**18
