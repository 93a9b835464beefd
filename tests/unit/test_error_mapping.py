"""Domain errors map to HTTP in one place, with the documented JSON shape."""

import pytest
from fastapi.testclient import TestClient

from speech_api.api import create_app
from speech_api.config import Settings
from speech_api.errors import (
    AudioTooLongError,
    EmptyAudioError,
    ModelUnavailableError,
    PayloadTooLargeError,
    SpeechAPIError,
    StorageUnavailableError,
    UnknownVoiceError,
    UnsupportedAudioError,
)


class RaisingService:
    """Stands in for the service only to inject each domain error at the HTTP boundary."""

    storage = None

    def __init__(self, error: Exception):
        self.error = error

    def synthesize(self, request):
        raise self.error

    transcribe = synthesize


@pytest.mark.parametrize(
    "error,status,retry_after",
    [
        (EmptyAudioError("empty", param="file"), 400, None),
        (UnknownVoiceError("who?", param="voice"), 400, None),
        (PayloadTooLargeError("big", param="file"), 413, None),
        (AudioTooLongError("long", param="file"), 413, None),
        (UnsupportedAudioError("not audio", param="file"), 415, None),
        (StorageUnavailableError("s3 down"), 503, "5"),
        (ModelUnavailableError("no model"), 503, "30"),
    ],
)
def test_domain_errors_become_json_with_their_status(error: SpeechAPIError, status, retry_after):
    app = create_app(Settings(_env_file=None), service=RaisingService(error))
    with TestClient(app) as c:
        r = c.post("/tts", json={"text": "hello"})
    assert r.status_code == status
    assert r.json() == {"error": error.to_dict()}
    assert r.headers.get("retry-after") == retry_after


def test_unexpected_errors_are_json_500_without_internals():
    app = create_app(Settings(_env_file=None), service=RaisingService(KeyError("secret-key")))
    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.post("/tts", json={"text": "hello"})
    assert r.status_code == 500
    assert r.json()["error"]["code"] == "internal_error"
    assert "secret" not in r.text


def test_error_codes_are_stable_strings():
    assert StorageUnavailableError("x").code == "storage_unavailable"
    assert UnsupportedAudioError("x").status_code == 415
    assert EmptyAudioError("x", code="custom").code == "custom"
