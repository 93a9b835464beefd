"""The upload worker's edge: which object keys an SQS message carrying an S3 notification
names, read with Powertools' event data classes (the worker Lambda) and with the standard
library (`speech-api serve`'s embedded worker, which has no Lambda libraries): the same
answers from both."""

import json

import pytest
from aws_lambda_powertools.utilities.data_classes import SQSRecord

from devkit.events import s3_object_created, s3_test_event, sqs_batch
from speech_api.runtime import aws_lambda, local_batch

BUCKET = "speech-api-test"


def lambda_reader(body: str) -> list[str]:
    record = sqs_batch([{}])["Records"][0]
    return aws_lambda.created_keys(SQSRecord({**record, "body": body}))


@pytest.fixture(params=[lambda_reader, local_batch.created_keys_in], ids=["lambda", "serve"])
def created_keys(request):
    return request.param


def message(body) -> str:
    return body if isinstance(body, str) else json.dumps(body)


def created(key: str, **kwargs) -> dict:
    return s3_object_created(BUCKET, key, etag="e", size=1, **kwargs)


def test_keys_are_decoded_as_s3_encodes_them(created_keys):
    # S3 writes a space as '+' and everything else outside the safe set as %xx (UTF-8).
    names = ["uploads/my clip 1.wav", "uploads/café/a+b%.wav", "uploads/会議.mp3"]
    assert created_keys(message({"Records": [created(k) for k in names]})) == names


def test_only_created_objects_are_named(created_keys):
    removed = created("uploads/gone.wav", event_name="ObjectRemoved:Delete")
    copied = created("uploads/copy.wav", event_name="ObjectCreated:Copy")
    assert created_keys(message({"Records": [removed, copied]})) == ["uploads/copy.wav"]


def test_s3_test_event_names_nothing(created_keys):
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
def test_messages_that_are_not_s3_notifications_name_nothing(created_keys, body):
    assert created_keys(message(body)) == []


def test_a_malformed_record_does_not_hide_the_good_one_beside_it(created_keys):
    body = {"Records": ["not a record", created("uploads/ok.wav")]}
    assert created_keys(message(body)) == ["uploads/ok.wav"]
