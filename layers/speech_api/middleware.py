"""ASGI middleware that bounds request bodies without buffering them."""

from __future__ import annotations

import hmac
import json

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
        body = json.dumps({"error": self._error().to_dict()}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class APIKeyMiddleware:
    """`Authorization: Bearer <key>` (what the OpenAI SDK sends) on every route but the open
    ones. Compared in constant time; the key is never logged."""

    # Liveness probes, and the playground page (it asks the user for the key itself).
    OPEN_PATHS = frozenset({"/health", "/ping", "/"})

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
        body = json.dumps({"error": error}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"www-authenticate", b"Bearer"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
