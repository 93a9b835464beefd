"""The hostile review, multipart bodies: malformed forms, forms that are too big in odd ways,
fields /stt and /v1/audio/* do not take or cannot honour, and vocabulary hints (`keywords[]`,
`languages[]`) out of bounds. Each case gets the answer pinned here: a JSON error with its
code, or the transcript; the server keeps serving (conftest's `review_api`)."""

from __future__ import annotations

import httpx
import pytest

from devkit.clips import clip
from devkit.events import multipart
from tests.support.review import assert_answer

WAV = clip("arctic_a0007.wav").read()  # "And you always want to see it in the superlative degree."
B = "xyzBOUNDARY"
FORM = {"content-type": f"multipart/form-data; boundary={B}"}
V1 = "/v1/audio/transcriptions"


def form(api: httpx.Client, parts, path: str = "/stt") -> httpx.Response:
    return api.post(path, content=multipart(B, parts), headers=FORM)


def v1(api: httpx.Client, path: str = V1, **data) -> httpx.Response:
    return api.post(path, files={"file": ("a.wav", WAV)}, data={"model": "whisper-1", **data})


def hinted(api: httpx.Client, fields: list[tuple[str, str]]) -> httpx.Response:
    """/v1/audio/transcriptions with ``fields`` as sent by a form (repeated names kept)."""
    parts = [("model", None, b"whisper-1")] + [(k, None, v.encode()) for k, v in fields]
    return form(api, [*parts, ("file", "a.wav", WAV)], V1)


CASES = [
    # id, request, status, (error code, param) of a 4xx or words in the transcript of a 200
    (
        "multipart: two file parts",
        lambda api: form(api, [("file", "a.wav", WAV), ("file", "b.wav", WAV)]),
        400,
        ("too_many_files", "file"),
    ),
    (
        "multipart: no closing boundary",
        lambda api: api.post(
            "/stt", content=multipart(B, [("file", "a.wav", WAV)])[:-8], headers=FORM
        ),
        400,
        ("missing_file", "file"),
    ),
    (
        "multipart: no boundary parameter",
        lambda api: api.post("/stt", content=WAV, headers={"content-type": "multipart/form-data"}),
        400,
        ("invalid_multipart", "file"),
    ),
    (
        "multipart: file part without a filename",
        lambda api: form(api, [("file", None, WAV)]),
        400,
        ("invalid_multipart", "file"),
    ),
    (
        "multipart: only a text field",
        lambda api: form(api, [("language", None, b"en")]),
        400,
        ("missing_file", "file"),
    ),
    (
        "multipart: 5,000 tiny fields",
        lambda api: form(
            api, [("file", "a.wav", WAV)] + [(f"f{i}", None, b"x") for i in range(5000)]
        ),
        400,
        ("invalid_multipart", "file"),
    ),
    (
        "multipart: 100 KB part header line",
        lambda api: api.post(
            "/stt",
            content=f'--{B}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="{"a" * 100_000}.wav"\r\n\r\n'.encode()
            + WAV
            + f"\r\n--{B}--\r\n".encode(),
            headers=FORM,
        ),
        400,
        ("invalid_multipart", "file"),
    ),
    (
        "multipart: filename with ../ and CR LF",
        lambda api: api.post("/stt", files={"file": ("../../etc/passwd\r\nX: y", WAV)}),
        200,
        "superlative",
    ),
    (
        "multipart: /v1 unknown field",
        lambda api: v1(api, colour="blue"),
        400,
        ("unsupported_parameter", "colour"),
    ),
    (
        "multipart: /v1 without model",
        lambda api: api.post(V1, files={"file": ("a.wav", WAV)}),
        200,
        "superlative",
    ),
    (
        "multipart: /v1 response_format=xml",
        lambda api: v1(api, response_format="xml"),
        400,
        ("literal_error", "response_format"),
    ),
    (
        "multipart: /v1 temperature=abc",
        lambda api: v1(api, temperature="abc"),
        400,
        ("float_parsing", "temperature"),
    ),
    (
        "multipart: /v1 temperature=1e309",
        lambda api: v1(api, temperature="1e309"),
        400,
        ("less_than_equal", "temperature"),
    ),
    (
        "multipart: language=zz",
        lambda api: api.post("/stt", files={"file": ("a.wav", WAV)}, data={"language": "zz"}),
        400,
        ("unsupported_language", "language"),
    ),
    (
        "multipart: language of 10 KB",
        lambda api: api.post(
            "/stt", files={"file": ("a.wav", WAV)}, data={"language": "e" * 10_000}
        ),
        400,
        ("unsupported_language", "language"),
    ),
    (
        "multipart: /v1 stream=true with srt",
        lambda api: v1(api, stream="true", response_format="srt"),
        400,
        ("invalid_value", "stream"),
    ),
    (
        "multipart: /v1 translations of Spanish-less tiny.en",
        lambda api: v1(api, "/v1/audio/translations", model="tiny.en"),
        400,
        ("translation_unsupported", "model"),
    ),
    (
        "hints: 101 keywords[] (one over the limit)",
        lambda api: hinted(api, [("keywords[]", f"word{i}") for i in range(101)]),
        400,
        ("too_many_keywords", "keywords"),
    ),
    (
        "hints: a keyword of 10,000 characters",
        lambda api: hinted(api, [("keywords[]", "k" * 10_000)]),
        400,
        ("string_too_long", "keywords"),
    ),
    (
        "hints: keywords[] with NUL and control characters",
        lambda api: hinted(api, [("keywords[]", "two\x00men\x1b[31m")]),
        200,
        "superlative",
    ),
    (
        "hints: 4,000 empty keywords[] fields",
        lambda api: hinted(api, [("keywords[]", "")] * 4000),
        400,
        ("invalid_body", None),
    ),
    (
        "hints: languages[] with an unknown code",
        lambda api: hinted(api, [("languages[]", "xx")]),
        400,
        ("unsupported_language", "languages"),
    ),
    (  # the same code many times is one candidate language (no extra work)
        "hints: languages[] with one code 120 times",
        lambda api: hinted(api, [("languages[]", "en")] * 120),
        200,
        "superlative",
    ),
]


@pytest.mark.parametrize("send,status,expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_multipart_input(review_api, send, status, expected):
    assert_answer(send(review_api), status, expected)
