"""The upload flow end to end on one machine, as `make serve` runs it: POST /uploads, upload
the file with the presigned form, the worker (the Lambda handler behind SQS) transcribes it,
GET /transcripts/{id} returns it."""

import base64
import json
import time
import uuid

import httpx
import pytest

from devkit.clips import clip
from speech_api.api import create_app
from tests.support.live_server import LiveServer
from tests.support.upload_worker import running_upload_worker


@pytest.fixture(scope="module")
def flow(make_settings):
    settings = make_settings()
    with (
        running_upload_worker(settings),
        LiveServer(create_app(settings)) as server,
        httpx.Client(base_url=server.base_url, timeout=60) as api,
    ):
        yield api, settings


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
    assert body["id"].endswith(".mp3") and body["key"] == f"uploads/{body['id']}"
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
    # The worker takes long recordings: forms allow MAX_LONG_UPLOAD_BYTES, not /stt's limit.
    assert ["content-length-range", 1, settings.max_long_upload_bytes] in conditions
    assert {"Content-Type": "audio/flac"} in conditions
    assert {"key": body["key"]} in conditions


@pytest.mark.parametrize(
    "payload,status,code,param",
    [
        (
            {"filename": "a.txt", "content_type": "text/plain"},
            400,
            "unsupported_content_type",
            "content_type",
        ),
        (
            {"filename": "a.exe", "content_type": "audio/wav"},
            400,
            "unsupported_filename",
            "filename",
        ),
        # A field the schema requires: FastAPI's validation status, as every non-/v1 route.
        # (content_type is not: it comes from the file name when absent.)
        ({"content_type": "audio/wav"}, 422, "missing", "filename"),
        # What S3 could not store or serve back, or the worker could only fail on later.
        (
            {"filename": "a.wav", "content_type": "audio/wav", "language": "xx"},
            400,
            "unsupported_language",
            "language",
        ),
        (
            {"filename": "a.wav", "content_type": "audio/wav", "language": "日本"},
            400,
            "unsupported_language",
            "language",
        ),
        (
            {"filename": "a\r\nX-Injected: 1.wav", "content_type": "audio/wav"},
            400,
            "invalid_filename",
            "filename",
        ),
    ],
)
def test_upload_requests_are_validated(flow, payload, status, code, param):
    api, _ = flow
    r = api.post("/uploads", json=payload)
    assert r.status_code == status
    assert (r.json()["error"]["code"], r.json()["error"]["param"]) == (code, param)


SECRET_TRANSCRIPT = {
    "text": "SECRET-NOT-A-TRANSCRIPT",
    "language": "en",
    "language_probability": 1.0,
    "duration_s": 1.0,
    "segments": [],
    "model": "base",
    "id": "x",
    "source_key": "uploads/x.wav",
    "etag": "x",
    "created_at": "2026-01-01T00:00:00Z",
}


@pytest.mark.parametrize(
    "raw_id,planted",
    [
        ("..%2F..%2Fpublic%2Fx", ["public/x.json", "transcripts/../../public/x.json"]),
        ("a%2F..%2F..%2Fb", ["b.json", "transcripts/a/../../b.json"]),
        ("%2e%2e/secret", ["secret.json", "transcripts/../secret.json"]),
        ("a%00b", []),  # no S3 key can hold a NUL
        ("/etc/passwd", ["etc/passwd.json", "transcripts//etc/passwd.json"]),
    ],
)
def test_ids_cannot_reach_outside_transcripts(flow, storage, raw_id, planted):
    """An object waits at every key a traversal could reach (normalized or literal): the id
    is refused before any of them is read."""
    api, _ = flow
    document = json.dumps(SECRET_TRANSCRIPT).encode()
    for key in planted:
        storage.put(key, document, content_type="application/json", metadata={})
    try:
        r = api.get(f"/transcripts/{raw_id}")
        assert r.status_code == 400
        assert (r.json()["error"]["code"], r.json()["error"]["param"]) == ("invalid_id", "id")
        assert "SECRET" not in r.text
    finally:
        for key in planted:
            storage.delete(key)


def test_unknown_id_is_404(flow):
    api, _ = flow
    r = api.get("/transcripts/does-not-exist")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


def test_error_record_names_are_not_ids(flow):
    api, _ = flow
    r = api.get("/transcripts/victim.wav.error")
    assert r.status_code == 400
    assert (r.json()["error"]["code"], r.json()["error"]["param"]) == ("invalid_id", "id")


@pytest.mark.parametrize("suffix", [".json", ".error.json"])
def test_a_hand_written_record_is_never_a_500(flow, storage, suffix):
    api, _ = flow
    upload_id = f"hand-{uuid.uuid4().hex[:8]}.wav"
    storage.put(
        f"transcripts/{upload_id}{suffix}", b"{not json", content_type="text/plain", metadata={}
    )
    r = api.get(f"/transcripts/{upload_id}")
    assert r.status_code == 422
    assert (r.json()["error"]["code"], r.json()["error"]["param"]) == (
        "unreadable_transcript",
        "id",
    )


@pytest.mark.parametrize(
    "filename,content_type",
    [("team meeting.flac", "audio/flac"), ("CALL.MP3", "audio/mpeg"), ("memo.m4a", "audio/mp4")],
)
def test_the_content_type_comes_from_the_filename_when_absent(flow, filename, content_type):
    api, _ = flow
    created = api.post("/uploads", json={"filename": filename})
    assert created.status_code == 200, created.text
    form = created.json()["upload"]
    assert form["fields"]["Content-Type"] == content_type
    if filename.endswith(".flac"):  # the form takes the file: it is transcribed
        data = clip("lj_LJ001-0003.flac").read()
        assert presigned_upload(form, data, filename).status_code in (200, 204)
        done = wait_for_transcript(api, created.json()["transcript_url"])
        assert done.status_code == 200 and done.json()["text"], done.text


@pytest.mark.parametrize("filename", ["notes.txt", "recording", "clip.xyz"])
def test_without_a_content_type_a_filename_that_names_no_audio_type_is_refused(flow, filename):
    api, _ = flow
    r = api.post("/uploads", json={"filename": filename})
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert (error["code"], error["param"]) == ("unsupported_content_type", "content_type")
    assert "Give content_type" in error["message"] and ".flac" in error["message"]
