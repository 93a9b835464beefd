"""ASGI middleware: body limit, API key, backpressure and the request log. Their errors are
domain errors, sent by the one error builder."""

from __future__ import annotations

import hmac
import logging
import re
import time
import uuid

from speech_api.api.errors import send_error
from speech_api.errors import AuthenticationError, PayloadTooLargeError, TooManyRequestsError

# Routes that never need the API key: liveness/readiness probes, SageMaker's health check,
# and the playground page (it asks the user for the key itself).
OPEN_PATHS = frozenset({"/health", "/ready", "/ping", "/"})


class BodySizeLimitMiddleware:
    """413 for bodies over ``max_bytes``: at once when Content-Length says so, otherwise as
    soon as the streamed (e.g. chunked) body passes the limit, having read no more than that."""

    def __init__(self, app, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._reject(send)
            return

        received = 0
        exceeded = False
        started = False

        async def limited_receive():
            nonlocal received, exceeded
            if exceeded:
                raise self._error()
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    exceeded = True
                    raise self._error()
            return message

        async def guarded_send(message):
            nonlocal started
            if exceeded:
                return  # our 413 replaces whatever the app made of the aborted read
            started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except PayloadTooLargeError:
            if not exceeded:
                raise
        if exceeded and not started:
            await self._reject(send)

    def _error(self) -> PayloadTooLargeError:
        return PayloadTooLargeError(
            f"The request body is larger than the limit of {self.max_bytes} bytes. Send "
            "larger files with POST /uploads (a presigned upload straight to storage).",
            param="file",
        )

    async def _reject(self, send) -> None:
        await send_error(send, self._error(), {"Connection": "close"})


class APIKeyMiddleware:
    """`Authorization: Bearer <key>` (what the OpenAI SDK sends) on every route but the open
    ones. Compared in constant time; the key is never logged."""

    def __init__(self, app, api_key: str):
        self.app = app
        self._expected = api_key.encode()

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"] in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        given = dict(scope.get("headers") or []).get(b"authorization", b"")
        # The scheme is case-insensitive (RFC 9110); the key is compared in constant time.
        scheme, _, token = given.strip().partition(b" ")
        if scheme.lower() == b"bearer" and hmac.compare_digest(token.strip(), self._expected):
            await self.app(scope, receive, send)
            return
        await _drain(receive)
        await send_error(
            send,
            AuthenticationError("Missing or invalid API key. Send 'Authorization: Bearer <key>'."),
        )


async def _drain(receive) -> None:
    """Read and drop the request body, so a client still sending it gets our answer instead
    of a reset connection. BodySizeLimitMiddleware, further out, bounds it."""
    while True:
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body"):
            return


class ConcurrencyLimitMiddleware:
    """Backpressure for the inference routes: beyond ``limit`` requests in flight, answer 429
    with Retry-After at once instead of queueing until memory or the gateway timeout runs out.
    Light routes (health, uploads, transcripts) are never refused."""

    HEAVY = ("/stt", "/tts", "/invocations", "/v1/audio/")

    def __init__(self, app, limit: int):
        self.app = app
        self.limit = limit
        self.in_flight = 0

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not scope["path"].startswith(self.HEAVY):
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.limit:
            await _drain(receive)
            await send_error(
                send,
                TooManyRequestsError(
                    f"The server is busy ({self.limit} requests in progress). Retry shortly."
                ),
            )
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1


_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
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

        async def send_with_id(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message = {
                    **message,
                    "headers": [
                        *message.get("headers", []),
                        (b"x-request-id", request_id.encode()),
                    ],
                }
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            access_log.info(
                "request_id=%s method=%s path=%s status=%d duration_ms=%.1f",
                request_id,
                scope["method"],
                # Decoded paths may hold %0A and other controls: escaped, no forged log lines.
                scope["path"].encode("unicode_escape").decode("ascii"),
                status,
                (time.perf_counter() - started) * 1000,
            )
