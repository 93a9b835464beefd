"""Callbacks never delay transcription (hardening round 4): delivery runs apart from the
worker, with its retries, so a receiver that accepts the connection and never answers costs
other uploads nothing measurable; on AWS the worker hands each callback to the callbacks queue,
whose function makes one attempt per receive."""

from __future__ import annotations

import json
import time
import uuid

import httpx
import pytest

from devkit.clips import clip
from devkit.server import speech_api_serve
from speech_api.runtime.callback_batches import deliver_callback_batch
from speech_api.service.notify import Notifier
from speech_api.storage import aws_client
from tests.support.attacks import BlackHole
from tests.support.callbacks import CallbackReceiver

CLIP = clip("arctic_a0007.wav")  # 4 s


@pytest.fixture(scope="module")
def server(model_cache_dir, tmp_path_factory):
    """`make serve` as it is: embedded S3, the local worker, callbacks allowed to loopback."""
    tmp = tmp_path_factory.mktemp("serve")
    env = {
        "MODEL_CACHE_DIR": str(model_cache_dir),
        "STT_MODEL": "tiny.en",
        "PRELOAD_MODELS": "stt",
        "EMBEDDED_S3_PORT": "0",
        "DATA_DIR": str(tmp / "data"),
        "CALLBACK_TIMEOUT_S": "5",
    }
    with speech_api_serve(tmp, health="/ready", LOG_LEVEL="warning", **env) as proc:
        yield proc


def upload(server, data: bytes, callback_url: str | None = None) -> tuple[dict, float]:
    request = {"filename": "clip.wav", "content_type": "audio/wav"}
    if callback_url:
        request["callback_url"] = callback_url
    created = httpx.post(f"{server.base_url}/uploads", json=request, timeout=30)
    assert created.status_code == 200, created.text
    body = created.json()
    form = body["upload"]
    sent = httpx.post(form["url"], data=form["fields"], files={"file": ("clip.wav", data)})
    assert sent.status_code in (200, 204), sent.text
    return body, time.monotonic()


def seconds_to_transcript(server, body: dict, since: float, limit_s: float = 300) -> float:
    while time.monotonic() - since < limit_s:
        r = httpx.get(f"{server.base_url}{body['transcript_url']}", timeout=30)
        if r.status_code == 200 and "text" in r.json():
            return time.monotonic() - since
        time.sleep(0.1)
    raise AssertionError(f"no transcript in {limit_s}s")


def test_a_black_holed_receiver_costs_other_uploads_nothing(server):
    """On main, four uploads whose callback_url accepts and never answers held the single
    worker about 20 s each (3 attempts of 5 s, and backoff): a 4 s clip behind them got its
    transcript after 81 s instead of 2.4 s."""
    data = CLIP.read()
    body, since = upload(server, data)
    baseline = seconds_to_transcript(server, body, since)
    with BlackHole() as hole:
        for _ in range(4):
            upload(server, data, hole.url())
        body, since = upload(server, data)
        behind = seconds_to_transcript(server, body, since)
        # The callbacks were attempted all the same (their deliveries run apart).
        deadline = time.monotonic() + 30
        while len(hole.accepted) < 4 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(hole.accepted) >= 4
    # Four transcriptions of 4 s ahead of it, and nothing else: about 5x the baseline.
    assert behind < 5 * baseline + 5, (baseline, behind)
    assert behind < 20, (baseline, behind)


@pytest.fixture
def callbacks_queue(make_settings):
    settings = make_settings()
    sqs = aws_client("sqs", settings)
    url = sqs.create_queue(QueueName=f"callbacks-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    return make_settings(callback_queue_url=url), sqs, url


def queued_records(sqs, url: str) -> list[dict]:
    messages = sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1, AttributeNames=["All"]
    ).get("Messages", [])
    return [
        {"messageId": m["MessageId"], "body": m["Body"], "attributes": m["Attributes"]}
        for m in messages
    ]


MESSAGE = {"type": "transcript.completed", "id": "a.wav", "version": 1}


def test_with_a_callbacks_queue_the_worker_only_hands_the_callback_over(callbacks_queue):
    settings, sqs, url = callbacks_queue
    with BlackHole() as hole:
        started = time.monotonic()
        Notifier(settings).send(MESSAGE, hole.url())
        assert time.monotonic() - started < 2
        assert hole.accepted == []  # nothing sent from the worker itself
    (record,) = queued_records(sqs, url)
    assert json.loads(record["body"]) == {"url": hole.url(), "message": MESSAGE}


@pytest.mark.parametrize(
    "statuses,retried", [((204,), False), ((503,), True), ((404,), False)], ids=str
)
def test_the_callbacks_function_makes_one_attempt_and_leaves_retries_to_sqs(
    callbacks_queue, statuses, retried
):
    settings, sqs, url = callbacks_queue
    with CallbackReceiver(statuses=statuses) as receiver:
        Notifier(settings).send(MESSAGE, receiver.url("/hook"))
        records = queued_records(sqs, url)
        result = deliver_callback_batch({"Records": records}, None, Notifier(settings))
        assert len(receiver.received) == 1
        assert receiver.received[0].json() == MESSAGE
    failures = [f["itemIdentifier"] for f in result["batchItemFailures"]]
    assert failures == ([records[0]["messageId"]] if retried else [])


def test_the_last_attempt_is_not_reported_for_another(callbacks_queue):
    settings, _, _ = callbacks_queue
    record = {
        "messageId": "m-1",
        "body": json.dumps({"url": "http://127.0.0.1:9/hook", "message": MESSAGE}),
        "attributes": {"ApproximateReceiveCount": "3"},
    }
    result = deliver_callback_batch({"Records": [record]}, None, Notifier(settings))
    assert result == {"batchItemFailures": []}  # SQS moves it to the dead-letter queue
