"""The upload worker's edge: which object keys an SQS message carrying an S3 notification
names. The Worker function and `speech-api serve`'s embedded worker read them with the same
code (runtime/upload_batches.py), which needs no Lambda libraries."""

import json

import pytest

from devkit.events import s3_object_created, s3_test_event, sqs_batch
from speech_api.runtime.upload_batches import created_keys

BUCKET = "speech-api-test"


def message(body) -> dict:
    """An SQS record as the event source mapping delivers it."""
    record = sqs_batch([{}])["Records"][0]
    return {**record, "body": body if isinstance(body, str) else json.dumps(body)}


def created(key: str, **kwargs) -> dict:
    return s3_object_created(BUCKET, key, etag="e", size=1, **kwargs)


def test_keys_are_decoded_as_s3_encodes_them():
    # S3 writes a space as '+' and everything else outside the safe set as %xx (UTF-8).
    names = ["uploads/my clip 1.wav", "uploads/café/a+b%.wav", "uploads/会議.mp3"]
    assert created_keys(message({"Records": [created(k) for k in names]})) == names


def test_only_created_objects_are_named():
    removed = created("uploads/gone.wav", event_name="ObjectRemoved:Delete")
    copied = created("uploads/copy.wav", event_name="ObjectCreated:Copy")
    assert created_keys(message({"Records": [removed, copied]})) == ["uploads/copy.wav"]


def test_s3_test_event_names_nothing():
    assert created_keys(message(s3_test_event(BUCKET))) == []


@pytest.mark.parametrize(
    "body",
    [
        "not JSON at all",
        ["a", "JSON", "list"],
        {"Records": "not a list"},
        {"Records": ["not a record", 7, None]},
        {"Records": [{"eventName": "ObjectCreated:Put", "s3": "not an object"}]},
        {"Records": [{"eventName": "ObjectCreated:Put", "s3": {"object": {"key": 7}}}]},
        {"something": "else"},
    ],
)
def test_messages_that_are_not_s3_notifications_name_nothing(body):
    assert created_keys(message(body)) == []


def test_a_malformed_record_does_not_hide_the_good_one_beside_it():
    body = {"Records": ["not a record", created("uploads/ok.wav")]}
    assert created_keys(message(body)) == ["uploads/ok.wav"]
