"""The upload flow end to end on one machine, as `make serve` runs it: POST /uploads, upload
the file with the presigned form, the worker (the Lambda handler behind SQS) transcribes it,
GET /transcripts/{id} returns it."""

import base64
import json
import time

import httpx
import pytest

from devkit.clips import clip
from handlers.transcribe_upload import handler as transcribe_upload
from speech_api.api import create_app
from speech_api.runtime.local import LocalQueueWorker, prepare_upload_queue
from tests.conftest import LiveServer


@pytest.fixture(scope="module")
def flow(make_settings):
    from speech_api.runtime import aws_lambda

    settings = make_settings()
    aws_lambda.configure(settings)
    queue = prepare_upload_queue(settings)
    worker = LocalQueueWorker(settings, queue, transcribe_upload, retry_after_s=1).start()
    with (
        LiveServer(create_app(settings)) as server,
        httpx.Client(base_url=server.base_url, timeout=60) as api,
    ):
        yield api, settings
    worker.stop()
    aws_lambda.configure()


def wait_for_transcript(api, url: str, timeout_s: float = 60) -> httpx.Response:
    deadline = time.monotonic() + timeout_s
    statuses = []
    while time.monotonic() < deadline:
        r = api.get(url)
        statuses.append(r.status_code)
        if r.status_code != 202:
            return r
        time.sleep(0.3)
    raise AssertionError(f"still pending after {timeout_s}s: {statuses[-3:]}")


def presigned_upload(form: dict, data: bytes, filename: str) -> httpx.Response:
    return httpx.post(form["url"], data=form["fields"], files={"file": (filename, data)})


def test_upload_then_poll_until_the_transcript_is_there(flow):
    api, _ = flow
    c = clip("ls_1272-141231-0002.mp3")
    created = api.post("/uploads", json={"filename": "interview.mp3", "content_type": "audio/mpeg"})
    assert created.status_code == 200, created.text
    body = created.json()
    assert body["key"] == f"uploads/{body['id']}.mp3"
    assert body["transcript_url"] == f"/transcripts/{body['id']}"
    assert 60 <= body["expires_in"] <= 3600

    assert api.get(body["transcript_url"]).status_code == 404  # nothing uploaded yet
    assert presigned_upload(body["upload"], c.read(), "interview.mp3").status_code in (200, 204)

    done = wait_for_transcript(api, body["transcript_url"])
    assert done.status_code == 200, done.text
    transcript = done.json()
    assert "the ache of his overstrained eyes" in transcript["text"].lower()
    assert transcript["id"] == body["id"] and transcript["source_key"] == body["key"]
    assert transcript["duration_s"] == pytest.approx(c.duration_s, abs=0.1)


def test_failed_transcription_is_a_422_with_the_stored_error(flow):
    api, _ = flow
    body = api.post("/uploads", json={"filename": "a.wav", "content_type": "audio/wav"}).json()
    presigned_upload(body["upload"], b"not audio, just text" * 50, "a.wav")
    r = wait_for_transcript(api, body["transcript_url"])
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "unsupported_audio"


def test_language_hint_travels_with_the_upload(flow):
    api, _ = flow
    body = api.post(
        "/uploads", json={"filename": "es.wav", "content_type": "audio/wav", "language": "es"}
    ).json()
    assert body["upload"]["fields"]["x-amz-meta-language"] == "es"
    presigned_upload(body["upload"], clip("pico_es_equipo.wav").read(), "es.wav")
    r = wait_for_transcript(api, body["transcript_url"])
    assert r.status_code == 200 and r.json()["language"] == "es"


def test_presigned_policy_limits_size_type_and_key(flow):
    api, settings = flow
    body = api.post("/uploads", json={"filename": "x.flac", "content_type": "audio/flac"}).json()
    policy = json.loads(base64.b64decode(body["upload"]["fields"]["policy"]))
    conditions = policy["conditions"]
    assert ["content-length-range", 1, settings.max_upload_bytes] in conditions
    assert {"Content-Type": "audio/flac"} in conditions
    assert {"key": body["key"]} in conditions


@pytest.mark.parametrize(
    "payload,code,param",
    [
        (
            {"filename": "a.txt", "content_type": "text/plain"},
            "unsupported_content_type",
            "content_type",
        ),
        ({"filename": "a.exe", "content_type": "audio/wav"}, "unsupported_filename", "filename"),
        ({"filename": "a.wav"}, "missing", "content_type"),
    ],
)
def test_upload_requests_are_validated(flow, payload, code, param):
    api, _ = flow
    r = api.post("/uploads", json=payload)
    assert r.status_code in (400, 422)
    assert (r.json()["error"]["code"], r.json()["error"]["param"]) == (code, param)


@pytest.mark.parametrize(
    "path",
    [
        "/transcripts/..%2F..%2Fpublic%2Fx",
        "/transcripts/a/../../b",
        "/transcripts/%2e%2e/secret",
        "/transcripts/a%00b",
        "/transcripts//etc/passwd",
    ],
)
def test_ids_cannot_reach_outside_transcripts(flow, path):
    api, _ = flow
    r = api.get(path)
    assert r.status_code in (400, 404)
    assert "error" in r.json()


def test_unknown_id_is_404(flow):
    api, _ = flow
    r = api.get("/transcripts/does-not-exist")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
