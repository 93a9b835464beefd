"""The hostile review, SQS batches to the upload worker (handlers.transcribe_upload, in this
process): bodies that are not S3 notifications, keys outside uploads/ or climbing out of it,
objects that are gone, removal and test events, folder markers; uploads that are bombs or
zeros; and a real clip with little time left in the invocation. No message is failed back to
SQS for any of them (it would only be retried); bad audio gets its error written once, in place
of a transcript."""

from __future__ import annotations

import json
import uuid

import pytest

from devkit.clips import clip
from devkit.events import s3_object_created, sqs_batch
from devkit.lambda_context import LocalLambdaContext
from handlers.transcribe_upload import handler as worker_handler
from speech_api.storage import ObjectStorage
from tests.support.audio_files import container_index_bombs
from tests.support.s3 import TEST_BUCKET

WAV = clip("arctic_a0007.wav").read()  # "And you always want to see it in the superlative degree."


def work(bodies: list, timeout_ms: int = 900_000) -> dict:
    """One SQS batch, a message per body (a string as it is, anything else as JSON)."""
    batch = sqs_batch([{} for _ in bodies])
    for record, body in zip(batch["Records"], bodies, strict=True):
        record["body"] = body if isinstance(body, str) else json.dumps(body)
    return worker_handler(batch, LocalLambdaContext(timeout_ms=timeout_ms))


def created(key: str, **record) -> dict:
    return {"Records": [{**s3_object_created(TEST_BUCKET, key, etag="e", size=1), **record}]}


EVENTS = [
    # id, the message bodies of one batch
    ("worker: SQS body that is not JSON", ["not json"]),
    ("worker: Records is a string", [{"Records": "oops"}]),
    ("worker: key outside uploads/", [created("transcripts/x.json")]),
    ("worker: key with encoded ../", [created("uploads/..%2F..%2Fpublic%2Fx.wav")]),
    ("worker: object that does not exist", [created("uploads/missing.wav")]),
    ("worker: ObjectRemoved event", [created("uploads/a.wav", eventName="ObjectRemoved:Delete")]),
    ("worker: s3:TestEvent", [{"Event": "s3:TestEvent"}]),
    ("worker: folder marker uploads/x/", [created("uploads/x/")]),
]


@pytest.mark.parametrize("bodies", [c[1] for c in EVENTS], ids=[c[0] for c in EVENTS])
def test_messages_that_are_no_upload_are_let_go(tiny_lambda, bodies):
    assert work(bodies) == {"batchItemFailures": []}


def put_and_work(settings, data: bytes, suffix: str, timeout_ms: int = 900_000) -> tuple:
    """Upload ``data``, deliver its notification; its transcript and its error (stored
    objects, or None)."""
    storage = ObjectStorage(settings)
    key = f"uploads/review/{uuid.uuid4().hex[:8]}{suffix}"
    storage.put(key, data, content_type="audio/wav", metadata={})
    etag = storage.client.head_object(Bucket=TEST_BUCKET, Key=key)["ETag"].strip('"')
    event = s3_object_created(TEST_BUCKET, key, etag=etag, size=len(data))
    assert work([{"Records": [event]}], timeout_ms) == {"batchItemFailures": []}
    base = "transcripts/" + key.removeprefix("uploads/")
    return (
        storage.get(base + ".json", max_bytes=10**6),
        storage.get(base + ".error.json", max_bytes=10**6),
    )


@pytest.mark.parametrize(
    "data,suffix",
    [(container_index_bombs()["m4a_stsz_stsc_50M"], ".m4a"), (b"\0" * 8_000_000, ".wav")],
    ids=["worker: container index bomb upload", "worker: 8 MB of zeros"],
)
def test_bad_uploads_get_their_error_and_no_transcript(tiny_lambda, data, suffix):
    transcript, error = put_and_work(tiny_lambda, data, suffix)
    assert transcript is None
    assert json.loads(error.data)["error"]["code"] == "unsupported_audio"


def test_a_real_clip_with_25_s_left_in_the_invocation_is_transcribed(tiny_lambda):
    transcript, error = put_and_work(tiny_lambda, WAV, ".wav", timeout_ms=25_000)
    assert error is None
    assert "superlative" in json.loads(transcript.data)["text"].lower()
