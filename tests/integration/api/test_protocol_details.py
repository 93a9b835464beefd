"""Small protocol promises a careless client or an attacker meets first: HEAD probes, the
bearer scheme's case, one file per request on every route, strict numbers, unforgeable logs."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient

from devkit.clips import clip
from speech_api.api import create_app

KEY = "sk-protocol-test"


@pytest.fixture(scope="module")
def keyed_api(make_settings):
    with TestClient(create_app(make_settings(api_key=KEY))) as c:
        yield c


@pytest.mark.parametrize("path", ["/health", "/ping"])
def test_probes_may_use_head(api, path):
    r = api.head(path)
    assert r.status_code == 200 and r.content == b""


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER"])
def test_the_bearer_scheme_is_case_insensitive(keyed_api, scheme):
    r = keyed_api.get("/v1/models", headers={"Authorization": f"{scheme} {KEY}"})
    assert r.status_code == 200


@pytest.mark.parametrize(
    "value", [f"Bearer {KEY}x", f"Basic {KEY}", KEY, f"Bearer{KEY}", "Bearer ", ""]
)
def test_anything_but_the_key_is_refused(keyed_api, value):
    r = keyed_api.get("/v1/models", headers={"Authorization": value} if value else {})
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "invalid_api_key"
    assert r.headers["www-authenticate"] == "Bearer"


HEADER_CASES = [
    {"x-api-key": KEY},
    {"X-API-Key": KEY},
    {"x-api-key": f"{KEY}x"},
    {"x-api-key": ""},
    {"Authorization": f"Bearer {KEY}", "x-api-key": "wrong"},
    {"Authorization": "Bearer wrong", "x-api-key": KEY},  # Bearer first, as the authorizer
    {"Authorization": "Bearer ", "x-api-key": KEY},  # an empty Bearer is no Bearer
    {"Authorization": f"Basic {KEY}", "x-api-key": KEY},
]


@pytest.mark.parametrize("headers", HEADER_CASES, ids=lambda h: " + ".join(h))
def test_the_key_is_taken_from_either_header_as_the_deployed_gateway_takes_it(keyed_api, headers):
    """The gateway's authorizer (handlers/authorizer.py) hands API Gateway the key from
    `Authorization: Bearer` or `x-api-key`; locally the same header wins, so a request that
    works against `make serve` works against the stack (and the README's deployed examples,
    which use both, work locally)."""
    from handlers.authorizer import api_key

    deployed = api_key({"headers": headers}) == KEY
    r = keyed_api.get("/v1/models", headers=headers)
    assert r.status_code == (200 if deployed else 401), r.text


@pytest.mark.parametrize("path", ["/v1/audio/transcriptions", "/v1/audio/translations"])
def test_two_files_are_refused_on_v1_as_on_stt(api, path):
    data = clip("arctic_aew_a0003.wav").read()
    r = api.post(
        path,
        data={"model": "whisper-1"},
        files=[("file", ("a.wav", data)), ("file", ("b.wav", data))],
    )
    assert r.status_code == 400
    assert (r.json()["error"]["code"], r.json()["error"]["param"]) == ("too_many_files", "file")


@pytest.mark.parametrize("speed", ["2", True])
def test_v1_speed_is_a_number_only(api, speed):
    r = api.post(
        "/v1/audio/speech",
        json={"model": "tts-1", "voice": "alloy", "input": "Hi.", "speed": speed},
    )
    assert r.status_code == 400
    assert (r.json()["error"]["code"], r.json()["error"]["param"]) == ("float_type", "speed")


def test_a_newline_in_the_path_cannot_forge_a_log_line(api, caplog):
    with caplog.at_level(logging.INFO, logger="speech_api.access"):
        api.get("/transcripts/x%0Astatus=200 forged=1")
    lines = [r.getMessage() for r in caplog.records if r.name == "speech_api.access"]
    assert lines and all("\n" not in line for line in lines)
    assert any("x\\nstatus=200 forged=1" in line for line in lines)
