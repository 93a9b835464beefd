"""BodyLimitMiddleware's reading of Content-Length, as Lambda's adapter passes it (no h11 in
front to refuse an odd one first)."""

from __future__ import annotations

import asyncio
import json

import pytest

from speech_api.api.middleware import BodyLimitMiddleware


async def _app(scope, receive, send):
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


def _call(content_length: bytes) -> tuple[int, bytes]:
    sent: list[dict] = []

    async def receive():
        return {"type": "http.request", "body": b"{}", "more_body": False}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "path": "/tts", "method": "POST",
             "headers": [(b"content-length", content_length)]}  # fmt: skip
    asyncio.run(BodyLimitMiddleware(_app, max_bytes=1000, max_json_bytes=100)(scope, receive, send))
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])


@pytest.mark.parametrize("digits", [19, 5_000], ids=["19 digits", "5,000 digits"])
def test_a_content_length_of_many_digits_is_a_413_not_a_500(digits):
    # int() refuses more than 4,300 digits with a ValueError: that was a 500.
    status, body = _call(b"9" * digits)
    assert status == 413 and json.loads(body)["error"]["code"] == "payload_too_large"


@pytest.mark.parametrize("declared", [b"2", b"0" * 30 + b"2"], ids=["2", "2 after 30 zeros"])
def test_a_content_length_within_the_limit_passes(declared):
    assert _call(declared) == (200, b"ok")
