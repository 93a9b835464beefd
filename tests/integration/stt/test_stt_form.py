"""`/stt` takes `language` and `response_format` as form fields as well as query parameters
(the form wins), and refuses a form field it does not know rather than ignoring it."""

from __future__ import annotations

import srt

from devkit.clips import clip

CLIP = clip("arctic_a0008.wav")


def post(api, data: dict, params: dict | None = None):
    return api.post(
        "/stt", params=params or {}, files={"file": (CLIP.file, CLIP.read())}, data=data
    )


def test_response_format_as_a_form_field(tiny_api):
    r = post(tiny_api, {"response_format": "srt"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/x-subrip")
    cues = list(srt.parse(r.text))
    assert "your letter came just in time" in " ".join(c.content for c in cues).lower()


def test_form_field_wins_over_the_query(tiny_api):
    r = post(tiny_api, {"response_format": "text"}, params={"response_format": "vtt"})
    assert r.headers["content-type"].startswith("text/plain")
    assert "your letter came just in time" in r.text.lower()


def test_unknown_response_format_is_a_400_naming_it(tiny_api):
    r = post(tiny_api, {"response_format": "docx"})
    assert r.status_code == 400
    assert (
        r.json()["error"]["param"] == "response_format" and "docx" in r.json()["error"]["message"]
    )
    r = tiny_api.post("/stt?response_format=docx", content=CLIP.read())
    assert r.status_code == 400 and r.json()["error"]["param"] == "response_format"


def test_unknown_form_field_is_a_400_naming_it(tiny_api):
    r = post(tiny_api, {"temperature": "0.5"})
    assert r.status_code == 400
    assert r.json()["error"] == {
        "message": "'temperature' is not a field of /stt "
        "(it takes file, language, response_format).",
        "type": "invalid_request_error",
        "code": "unsupported_parameter",
        "param": "temperature",
    }
