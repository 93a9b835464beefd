"""The hostile review, JSON bodies: /tts, /v1/audio/speech, /uploads and /invocations with
values out of range, malformed or oddly encoded JSON, text that is hard to speak, callback
URLs that could reach this service's own network, and captions asked for wrongly. Each case
gets the answer pinned here (a JSON error with its code, or the result) and the server keeps
serving (conftest's `review_api`)."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.support.review import assert_answer

SPEECH = {"model": "tts-1", "voice": "alloy"}


def tts(api: httpx.Client, body, **headers) -> httpx.Response:
    """POST /tts with ``body`` as JSON, or as these bytes."""
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return api.post(
        "/tts", content=content, headers={"content-type": "application/json", **headers}
    )


def upload(api: httpx.Client, **fields) -> httpx.Response:
    return api.post("/uploads", json={"filename": "a.wav", "content_type": "audio/wav", **fields})


CASES = [
    # id, request, status, (error code, param) of a 4xx, None for a 200
    ("json: text null", lambda api: tts(api, {"text": None}), 422, ("string_type", "text")),
    (
        "json: text of 4097 characters",
        lambda api: tts(api, {"text": "a" * 4097}),
        422,
        ("string_too_long", "text"),
    ),
    (
        "json: speed 0",
        lambda api: tts(api, {"text": "Hi.", "speed": 0}),
        422,
        ("greater_than_equal", "speed"),
    ),
    (
        "json: speed NaN literal",
        lambda api: tts(api, b'{"text": "Hi.", "speed": NaN}'),
        422,
        ("finite_number", "speed"),
    ),
    (
        "json: speed 1e308",
        lambda api: tts(api, {"text": "Hi.", "speed": 1e308}),
        422,
        ("less_than_equal", "speed"),
    ),
    (
        "json: format exe",
        lambda api: tts(api, {"text": "Hi.", "format": "exe"}),
        422,
        ("literal_error", "format"),
    ),
    (
        "json: voice ../../etc/passwd",
        lambda api: tts(api, {"text": "Hi.", "voice": "../../etc/passwd"}),
        400,
        ("unknown_voice", "voice"),
    ),
    (
        "json: unknown field",
        lambda api: tts(api, {"text": "Hi.", "pitch": 2}),
        422,
        ("extra_forbidden", "pitch"),
    ),
    (
        "json: duplicate keys (last wins)",
        lambda api: tts(api, b'{"text": "x", "text": "Duplicate keys, spoken."}'),
        200,
        None,
    ),
    (
        "json: UTF-8 byte order mark",
        lambda api: tts(api, b"\xef\xbb\xbf" + json.dumps({"text": "Bom."}).encode()),
        200,
        None,
    ),
    (
        "json: invalid UTF-8",
        lambda api: tts(api, b'{"text": "\xff\xfe bad"}'),
        400,
        ("invalid_body", None),
    ),
    (
        "json: lone surrogate escape",
        lambda api: tts(api, b'{"text": "Hello \\ud800 there."}'),
        422,
        ("string_unicode", "text"),
    ),
    (
        "json: 4,000 zero-width joiners",
        lambda api: tts(api, {"text": "\u200d" * 4000}),
        400,
        ("no_speech", "text"),
    ),
    (
        "json: 4,000 combining accents on one letter",
        # The spoken form refuses a "word" this long (it would be spelled out letter by letter).
        lambda api: tts(api, {"text": "a" + "\u0301" * 4000}),
        400,
        ("word_too_long", "text"),
    ),
    (
        "json: content-type text/plain",
        lambda api: api.post(
            "/tts", content=json.dumps({"text": "Plain."}), headers={"content-type": "text/plain"}
        ),
        415,
        ("unsupported_media_type", None),
    ),
    (
        "json: a JSON array",
        lambda api: tts(api, [{"text": "Hi."}]),
        422,
        ("model_attributes_type", None),
    ),
    (
        "json: 2,048 characters, no full stop, speed 4",
        lambda api: tts(api, {"text": ("word " * 500)[:2048], "speed": 4.0, "format": "pcm"}),
        200,
        None,
    ),
    (
        "json: /v1/audio/speech empty input",
        lambda api: api.post("/v1/audio/speech", json={**SPEECH, "input": ""}),
        400,
        ("string_too_short", "input"),
    ),
    (
        "json: /v1/audio/speech speed 4.0001",
        lambda api: api.post("/v1/audio/speech", json={**SPEECH, "input": "Hi.", "speed": 4.0001}),
        400,
        ("less_than_equal", "speed"),
    ),
    (
        "json: /v1/audio/speech unknown model",
        lambda api: api.post("/v1/audio/speech", json={**SPEECH, "model": "tts-9", "input": "Hi."}),
        400,
        ("model_not_found", "model"),
    ),
    (
        "json: /uploads filename of 10 KB",
        lambda api: upload(api, filename="a" * 10_000 + ".wav"),
        422,
        ("string_too_long", "filename"),
    ),
    (
        "json: /uploads content_type with parameters",
        lambda api: upload(api, content_type="audio/wav; codecs=1"),
        400,
        ("unsupported_content_type", "content_type"),
    ),
    ("json: /uploads language EN (normalized)", lambda api: upload(api, language="EN"), 200, None),
    (
        "json: /invocations (SageMaker) garbage",
        lambda api: api.post(
            "/invocations", content=b"\x00\x01", headers={"content-type": "application/json"}
        ),
        400,
        ("invalid_json", None),
    ),
    (  # json.loads raised RecursionError: a 500
        "json: /invocations (SageMaker) nested 60,000 deep",
        lambda api: api.post(
            "/invocations", content=b"[" * 60_000, headers={"content-type": "application/json"}
        ),
        400,
        ("invalid_json", None),
    ),
    *[
        (
            f"callback_url: {label}",
            lambda api, url=url: upload(api, callback_url=url),
            status,
            (code, "callback_url" if status != 413 else None),
        )
        for label, url, status, code in [
            (
                "cloud metadata address",
                "http://169.254.169.254/latest/meta-data/",
                400,
                "invalid_callback_url",
            ),
            ("private network", "https://10.0.0.5/hook", 400, "invalid_callback_url"),
            ("file: scheme", "file:///etc/passwd", 400, "invalid_callback_url"),
            ("gopher: scheme", "gopher://example.com:25/_HELO", 400, "invalid_callback_url"),
            ("IPv6 link-local", "https://[fe80::1]/hook", 400, "invalid_callback_url"),
            ("no host", "https:///hook", 400, "invalid_callback_url"),
            ("5,000 characters", "https://example.com/" + "a" * 5_000, 422, "string_too_long"),
            (
                "100,000 characters (over the JSON body limit)",
                "https://e.com/" + "a" * 100_000,
                413,
                "payload_too_large",
            ),
            ("not a string", 12345, 422, "string_type"),
        ]
    ],
    (
        "captions: a string instead of a boolean",
        lambda api: tts(api, {"text": "Hi.", "captions": "yes"}),
        422,
        ("bool_type", "captions"),
    ),
    (
        "captions: text of punctuation only",
        lambda api: tts(api, {"text": "?! ... --- ;;", "captions": True}),
        400,
        ("no_speech", "text"),
    ),
    (
        "captions: 500 one-letter words",
        lambda api: tts(api, {"text": " ".join(["a"] * 500) + ".", "captions": True}),
        200,
        None,
    ),
]


@pytest.mark.parametrize("send,status,expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_json_input(review_api, send, status, expected):
    assert_answer(send(review_api), status, expected)
