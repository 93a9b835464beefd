"""ASGI middleware that bounds request bodies without buffering them."""

from __future__ import annotations

import hmac
import json
import logging
import re
import time
import uuid

from speech_api.errors import PayloadTooLargeError


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
            f"The request body is larger than the limit of {self.max_bytes} bytes.",
            param="file",
        )

    async def _reject(self, send) -> None:
        await _send_json(send, 413, self._error().to_dict(), [(b"connection", b"close")])


class APIKeyMiddleware:
    """`Authorization: Bearer <key>` (what the OpenAI SDK sends) on every route but the open
    ones. Compared in constant time; the key is never logged."""

    # Liveness probes, and the playground page (it asks the user for the key itself).
    OPEN_PATHS = frozenset({"/health", "/ready", "/ping", "/"})

    def __init__(self, app, api_key: str):
        self.app = app
        self._expected = f"Bearer {api_key}".encode()

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"] in self.OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        given = dict(scope.get("headers") or []).get(b"authorization", b"")
        if hmac.compare_digest(given, self._expected):
            await self.app(scope, receive, send)
            return
        error = {
            "message": "Missing or invalid API key. Send 'Authorization: Bearer <key>'.",
            "type": "invalid_request_error",
            "code": "invalid_api_key",
            "param": None,
        }
        await _drain(receive)
        await _send_json(send, 401, error, [(b"www-authenticate", b"Bearer")])


async def _drain(receive) -> None:
    """Read and drop the request body, so a client still sending it gets our answer instead
    of a reset connection. BodySizeLimitMiddleware, further out, bounds it."""
    while True:
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body"):
            return


async def _send_json(send, status: int, error: dict, headers: list | None = None) -> None:
    body = json.dumps({"error": error}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


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
            await _send_json(
                send,
                429,
                {
                    "message": f"The server is busy ({self.limit} requests in progress). Retry "
                    "shortly.",
                    "type": "rate_limit_error",
                    "code": "too_many_requests",
                    "param": None,
                },
                [(b"retry-after", b"1")],
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
                scope["path"],
                status,
                (time.perf_counter() - started) * 1000,
            )
