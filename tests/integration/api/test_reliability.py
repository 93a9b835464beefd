"""Faults and load: a model that cannot load, S3 slow or down (and back), backpressure, the
dead-letter queue and its redrive, an API restart between presign and upload, request logs."""

from __future__ import annotations

import logging
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
from fastapi.testclient import TestClient

from devkit.clips import clip
from devkit.lambda_context import with_context
from handlers.transcribe_upload import handler as transcribe_upload
from speech_api.api import create_app
from speech_api.runtime import aws_lambda
from speech_api.runtime.embedded.s3 import prepare_bucket, start_embedded_s3
from speech_api.runtime.embedded.sqs import LocalQueueWorker, prepare_upload_queue
from speech_api.runtime.upload_batches import redrive_dead_letters
from tests.support.live_server import LiveServer
from tests.support.slow_proxy import SlowProxy
from tests.support.upload_worker import running_upload_worker


def test_a_model_that_cannot_load_fails_only_what_needs_it(make_settings):
    settings = make_settings(stt={"model": "/nonexistent/whisper-model"})
    with TestClient(create_app(settings)) as c:
        ready = c.get("/ready")
        assert ready.status_code == 503
        assert ready.json()["status"] == "not_ready"
        assert "/nonexistent/whisper-model" in ready.json()["engines"]["stt"]
        assert ready.json()["engines"]["tts"] == "ready"

        r = c.post(
            "/stt", content=clip("arctic_a0007.wav").read(), headers={"content-type": "audio/wav"}
        )
        assert r.status_code == 503 and r.json()["error"]["code"] == "model_unavailable"
        assert int(r.headers["retry-after"]) > 0
        assert (
            c.post("/tts", json={"text": f"Still speaking {uuid.uuid4().hex[:6]}."}).status_code
            == 200
        )
        assert c.get("/health").status_code == 200


def test_ready_when_everything_loads(api):
    r = api.get("/ready")
    assert r.status_code == 200 and r.json() == {
        "status": "ready",
        "engines": {"stt": "ready", "tts": "ready"},
    }


def test_slow_s3_fails_cleanly_within_its_deadline(make_settings, s3_endpoint):
    host, port = s3_endpoint.removeprefix("http://").split(":")
    proxy = SlowProxy(host, int(port), delay_s=3.0)
    settings = make_settings(
        s3={
            "endpoint_url": proxy.url,
            "read_timeout_s": 0.5,
            "connect_timeout_s": 0.5,
            "max_attempts": 2,
        }
    )
    try:
        with TestClient(create_app(settings)) as c:
            started = time.monotonic()
            r = c.post("/tts", json={"text": f"Slow storage {uuid.uuid4().hex[:6]}."})
            elapsed = time.monotonic() - started
        assert r.status_code == 503 and r.json()["error"]["code"] == "storage_unavailable"
        assert "Retry-After" in r.headers
        assert elapsed < 2 * 2 * 0.5 + 2  # two attempts of 0.5 s reads, plus synthesis
    finally:
        proxy.close()


def test_s3_outage_then_recovery_without_a_restart(make_settings):
    s3 = start_embedded_s3()
    port = int(s3.endpoint_url.rsplit(":", 1)[1])
    settings = make_settings(
        s3={"endpoint_url": s3.endpoint_url, "connect_timeout_s": 0.5, "max_attempts": 1}
    )
    prepare_bucket(settings)
    text = f"Outage and recovery {uuid.uuid4().hex[:6]}."
    with TestClient(create_app(settings)) as c:
        s3.stop()
        down = c.post("/tts", json={"text": text})
        assert down.status_code == 503
        s3 = start_embedded_s3(port=port)  # S3 comes back on the same address
        try:
            prepare_bucket(settings)
            up = c.post("/tts", json={"text": text})
            assert up.status_code == 200 and up.json()["cached"] is False
            assert httpx.get(up.json()["url"]).status_code == 200
        finally:
            s3.stop()


def test_backpressure_answers_429_at_once_instead_of_queueing(make_settings):
    app = create_app(make_settings(max_concurrent_requests=1))
    long_clip = clip("ls_1221-135766-0001.wav").read()  # 16.7 s of audio
    with LiveServer(app) as server:

        def post():
            started = time.monotonic()
            r = httpx.post(
                f"{server.base_url}/stt",
                content=long_clip,
                timeout=120,
                headers={"content-type": "audio/wav"},
            )
            return r, time.monotonic() - started

        with ThreadPoolExecutor(4) as pool:
            results = list(pool.map(lambda _: post(), range(4)))
        refused = [(r, t) for r, t in results if r.status_code == 429]
        served = [r for r, _ in results if r.status_code == 200]
        assert served and refused
        for r, elapsed in refused:
            assert r.headers["retry-after"] == "1"
            assert r.json()["error"]["code"] == "too_many_requests"
            assert elapsed < 1.0
        assert httpx.get(f"{server.base_url}/health").status_code == 200


def test_failing_messages_reach_the_dlq_and_redrive_replays_them(make_settings, storage):
    bad = make_settings(stt={"model": "/nonexistent/whisper-model"})
    queue = prepare_upload_queue(
        bad, name=f"dlq-test-{uuid.uuid4().hex[:8]}", max_receive_count=2, visibility_timeout_s=1
    )
    worker = LocalQueueWorker(bad, queue, with_context(transcribe_upload), retry_after_s=0)
    sqs = worker._sqs
    try:
        aws_lambda.configure(bad)
        key = f"uploads/dlq-{uuid.uuid4().hex[:8]}.wav"
        storage.put(key, clip("arctic_a0008.wav").read(), content_type="audio/wav", metadata={})
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            worker.poll_once(wait_s=1)
            dead = int(
                sqs.get_queue_attributes(
                    QueueUrl=queue.dlq_url, AttributeNames=["ApproximateNumberOfMessages"]
                )["Attributes"]["ApproximateNumberOfMessages"]
            )
            if dead:
                break
        assert dead == 1, "the failing message did not reach the dead-letter queue"
        transcript_key = f"transcripts/{key.removeprefix('uploads/')}.json"
        assert storage.head(transcript_key) is None

        # The model is fixed; replay the dead letters.
        good = make_settings()
        aws_lambda.configure(good)
        assert redrive_dead_letters(good, queue.dlq_url, queue.url) == 1
        deadline = time.monotonic() + 30
        while storage.head(transcript_key) is None and time.monotonic() < deadline:
            worker.poll_once(wait_s=1)
        assert storage.head(transcript_key) is not None
    finally:
        aws_lambda.configure()


def test_api_restart_between_presign_and_upload_loses_nothing(make_settings, storage):
    settings = make_settings()
    with running_upload_worker(settings):
        with LiveServer(create_app(settings)) as first:
            form = httpx.post(
                f"{first.base_url}/uploads", json={"filename": "a.wav", "content_type": "audio/wav"}
            ).json()
        data = clip("arctic_aew_a0001.wav").read()
        # The API is gone; the presigned form still works, and a retried upload is harmless.
        for _ in range(2):
            assert httpx.post(
                form["upload"]["url"],
                data=form["upload"]["fields"],
                files={"file": ("a.wav", data)},
            ).status_code in (200, 204)
        with LiveServer(create_app(settings)) as second:
            deadline = time.monotonic() + 60
            while (r := httpx.get(second.base_url + form["transcript_url"])).status_code == 202:
                assert time.monotonic() < deadline
                time.sleep(0.3)
        assert r.status_code == 200 and "danger trail" in r.json()["text"].lower()
        listed = storage.client.list_objects_v2(
            Bucket=storage.bucket, Prefix=f"transcripts/{form['id']}"
        )
        assert sorted(o["Key"] for o in listed["Contents"]) == [
            f"transcripts/{form['id']}.json",
            f"transcripts/{form['id']}.srt",
            f"transcripts/{form['id']}.txt",
            f"transcripts/{form['id']}.vtt",
        ]


def test_request_logs_carry_an_id_and_no_content_or_secrets(make_settings, caplog):
    secret = "sk-do-not-log-me"
    app = create_app(make_settings(api_key=secret))
    text = f"Private words {uuid.uuid4().hex}"
    with caplog.at_level(logging.INFO, logger="speech_api.access"), TestClient(app) as c:
        r = c.post(
            "/tts",
            json={"text": text},
            headers={"Authorization": f"Bearer {secret}", "X-Request-ID": "req-123"},
        )
        assert r.status_code == 200 and r.headers["x-request-id"] == "req-123"
        generated = c.get("/health").headers["x-request-id"]
    lines = [rec.getMessage() for rec in caplog.records if rec.name == "speech_api.access"]
    assert any(
        "request_id=req-123" in line and "path=/tts" in line and "status=200" in line
        for line in lines
    )
    assert any(f"request_id={generated}" in line for line in lines)
    logged = "\n".join(rec.getMessage() for rec in caplog.records)
    assert text not in logged and secret not in logged


def test_api_key_guards_every_route_but_health_the_page_and_the_docs(make_settings):
    with TestClient(create_app(make_settings(api_key="k1", preload_models="none"))) as c:
        # As deployed: probes, the page (it holds no secret) and the API's documentation.
        for path in ["/health", "/ready", "/", "/docs", "/docs/swagger-ui.css", "/openapi.json"]:
            assert c.get(path).status_code == 200, path
        for method, path in [
            ("POST", "/tts"),
            ("POST", "/stt"),
            ("POST", "/uploads"),
            ("GET", "/transcripts/x"),
            ("GET", "/v1/models"),
            ("GET", "/docs/other.js"),
        ]:
            r = c.request(method, path)
            assert r.status_code == 401, path
            assert r.json()["error"]["code"] == "invalid_api_key"
        assert c.get("/v1/models", headers={"Authorization": "Bearer k2"}).status_code == 401
        assert c.get("/v1/models", headers={"Authorization": "Bearer k1"}).status_code == 200


def test_ready_checks_only_the_engines_this_process_serves(make_settings):
    broken_tts = {"engine": "piper", "piper_voice": "/nonexistent/voice.onnx"}
    stt_only = make_settings(preload_models="stt", tts=broken_tts)
    with TestClient(create_app(stt_only)) as c:
        r = c.get("/ready")
        assert r.status_code == 200 and r.json()["engines"] == {"stt": "ready"}
    with TestClient(create_app(make_settings(preload_models="none", tts=broken_tts))) as c:
        r = c.get("/ready")
        assert r.status_code == 200 and r.json() == {"status": "ready", "engines": {}}
    with TestClient(create_app(make_settings(tts=broken_tts))) as c:
        r = c.get("/ready")
        assert r.status_code == 503 and "voice.onnx" in r.json()["engines"]["tts"]


def test_a_refused_s3_call_is_a_503_whose_log_names_the_missing_permission(
    default_settings, s3_endpoint, storage, caplog
):
    """moto enforces no IAM for signed calls, but refuses anonymous reads of private objects:
    a storage client without credentials stands in for a role that lacks a permission."""
    import boto3
    from botocore import UNSIGNED
    from botocore.config import Config

    from speech_api.service import SpeechService
    from speech_api.storage import ObjectStorage

    refused = ObjectStorage(default_settings)
    refused.client = boto3.client(
        "s3",
        region_name="us-east-1",
        endpoint_url=s3_endpoint,
        config=Config(signature_version=UNSIGNED, s3={"addressing_style": "path"}),
    )
    service = SpeechService(default_settings, storage=refused)
    storage.put("transcripts/meeting.wav.json", b"{}", content_type="application/json", metadata={})
    with (
        TestClient(create_app(default_settings, service)) as c,
        caplog.at_level(logging.ERROR, logger="speech_api.storage"),
    ):
        r = c.get("/transcripts/meeting.wav")
    assert r.status_code == 503 and r.json()["error"]["code"] == "storage_unavailable"
    bucket = default_settings.s3.bucket
    assert [rec.getMessage() for rec in caplog.records if rec.name == "speech_api.storage"] == [
        f"S3 denied GetObject: the role needs s3:GetObject on arn:aws:s3:::{bucket}/"
        "transcripts/meeting.wav.json (and s3:ListBucket on the bucket, or a missing key is "
        "403 instead of 404)"
    ]
