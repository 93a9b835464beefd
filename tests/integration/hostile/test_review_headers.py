"""The hostile review, headers: lengths that lie or contradict, headers far over any sane size,
requests without a Host, an Expect a client library handles for us, content types and
encodings that say something else than the body. Raw requests are sent as bytes; each gets the
status line pinned here, and the server keeps serving (conftest's `review_api`)."""

from __future__ import annotations

import httpx
import pytest

from devkit.clips import clip
from tests.support.review import assert_answer, raw_http

WAV = clip("arctic_a0007.wav").read()  # "And you always want to see it in the superlative degree."
BAD_REQUEST = "HTTP/1.1 400 Bad Request"

RAW = [
    # id, the request's bytes, the answer's status line
    (
        "headers: Content-Length -1",
        b"POST /stt HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
        BAD_REQUEST,
    ),
    (
        "headers: Content-Length and chunked together",
        b"POST /stt HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        BAD_REQUEST,
    ),
    (
        "headers: 200 KB header",
        b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 200_000 + b"\r\n\r\n",
        BAD_REQUEST,
    ),
    (
        "headers: Authorization of 1 MB",
        b"GET /v1/models HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
        + b"k" * 1_000_000
        + b"\r\n\r\n",
        BAD_REQUEST,
    ),
    ("headers: no Host header", b"GET /health HTTP/1.1\r\n\r\n", BAD_REQUEST),
    ("headers: HTTP/1.0 without keep-alive", b"GET /health HTTP/1.0\r\n\r\n", "HTTP/1.1 200 OK"),
]


@pytest.mark.parametrize("request_bytes,status_line", [c[1:] for c in RAW], ids=[c[0] for c in RAW])
def test_raw_requests(review_api, request_bytes, status_line):
    assert raw_http(str(review_api.base_url).rstrip("/"), request_bytes) == status_line


def stt(api: httpx.Client, **headers) -> httpx.Response:
    return api.post("/stt", content=WAV, headers={"content-type": "audio/wav", **headers})


CASES = [
    # id, request, status, words in the transcript
    (
        "headers: X-Request-ID of 10 KB",
        lambda api: api.get("/health", headers={"x-request-id": "r" * 10_000}),
        200,
        None,
    ),
    (
        "headers: Expect 100-continue on /stt",
        lambda api: stt(api, expect="100-continue"),
        200,
        "superlative",
    ),
    (
        "headers: content-type audio/wav; charset=utf-16",
        lambda api: stt(api, **{"content-type": "audio/wav; charset=utf-16"}),
        200,
        "superlative",
    ),
    (
        "headers: Content-Encoding gzip (not gzip)",
        lambda api: stt(api, **{"content-encoding": "gzip"}),
        200,
        "superlative",
    ),
]


@pytest.mark.parametrize("send,status,expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_headers(review_api, send, status, expected):
    assert_answer(send(review_api), status, expected)
