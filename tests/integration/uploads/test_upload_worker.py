"""handlers.transcribe_upload.handler: SQS batches of S3 notifications become transcripts;
bad audio is recorded once and not retried; S3 outages are retried; duplicates do no work."""

import json
import uuid
from urllib.parse import unquote_plus

import pytest

from devkit.clips import clip
from devkit.events import s3_object_created, s3_test_event, sqs_batch
from devkit.lambda_context import LocalLambdaContext
from handlers.transcribe_upload import handler
from speech_api.runtime.embedded.s3 import prepare_bucket, start_embedded_s3
from speech_api.storage import ObjectStorage
from tests.support.s3 import TEST_BUCKET


@pytest.fixture
def upload(storage):
    def put(name: str, data: bytes, **metadata) -> dict:
        key = f"uploads/{uuid.uuid4().hex[:8]}/{name}"
        storage.put(key, data, content_type="application/octet-stream", metadata=metadata)
        etag = storage.client.head_object(Bucket=TEST_BUCKET, Key=key)["ETag"].strip('"')
        return s3_object_created(TEST_BUCKET, key, etag=etag, size=len(data))

    return put


def read_json(storage, key):
    obj = storage.get(key, max_bytes=10**6)
    return None if obj is None else json.loads(obj.data)


def test_batch_with_good_bad_duplicate_and_test_event(process_settings, storage, upload):
    process_settings()
    good = upload("my clip 1.wav", clip("arctic_a0009.wav").read())
    bad = upload("broken.wav", b"this is not audio at all" * 20)
    event = sqs_batch(
        [
            {"Records": [good]},
            {"Records": [bad]},
            {"Records": [good]},
            s3_test_event(TEST_BUCKET),
        ]
    )

    response = handler(event, LocalLambdaContext())
    assert response == {"batchItemFailures": []}

    good_key = unquote_plus(good["s3"]["object"]["key"])
    upload_id = good_key.removeprefix("uploads/")
    transcript = read_json(storage, f"transcripts/{upload_id}.json")
    assert "faced gregson across the table" in transcript["text"].lower()
    assert transcript["source_key"] == good_key
    assert transcript["etag"] == good["s3"]["object"]["eTag"]
    assert transcript["created_at"].endswith("Z")
    txt = storage.get(f"transcripts/{upload_id}.txt", max_bytes=10**6).data.decode()
    assert txt.strip() == transcript["text"]
    # Subtitles beside them: the same words, timed.
    srt = storage.get(f"transcripts/{upload_id}.srt", max_bytes=10**6).data.decode()
    vtt = storage.get(f"transcripts/{upload_id}.vtt", max_bytes=10**6).data.decode()
    assert srt.startswith("1\n00:00:00,") and "gregson across the table" in srt.lower()
    assert vtt.startswith("WEBVTT\n\n00:00:00.") and "gregson across the table" in vtt.lower()
    assert storage.head(f"transcripts/{upload_id}.progress.json") is None  # done: no progress

    bad_id = bad["s3"]["object"]["key"].removeprefix("uploads/")
    error = read_json(storage, f"transcripts/{bad_id}.error.json")
    assert error["error"]["code"] == "unsupported_audio"
    assert storage.head(f"transcripts/{bad_id}.json") is None

    # The duplicate did no work: one transcript object, written once.
    versions = storage.client.list_objects_v2(Bucket=TEST_BUCKET, Prefix=f"transcripts/{upload_id}")
    assert sorted(o["Key"] for o in versions["Contents"]) == [
        f"transcripts/{upload_id}.json",
        f"transcripts/{upload_id}.srt",
        f"transcripts/{upload_id}.txt",
        f"transcripts/{upload_id}.vtt",
    ]
    before = storage.client.head_object(Bucket=TEST_BUCKET, Key=f"transcripts/{upload_id}.json")[
        "LastModified"
    ]
    assert handler(sqs_batch([{"Records": [good]}]), LocalLambdaContext()) == {
        "batchItemFailures": []
    }
    after = storage.client.head_object(Bucket=TEST_BUCKET, Key=f"transcripts/{upload_id}.json")[
        "LastModified"
    ]
    assert after == before


def test_language_metadata_from_the_upload_is_used(process_settings, storage, upload):
    process_settings()
    event = upload("es.wav", clip("pico_es_arenas.wav").read(), language="es")
    handler(sqs_batch([{"Records": [event]}]), LocalLambdaContext())
    upload_id = event["s3"]["object"]["key"].removeprefix("uploads/")
    transcript = read_json(storage, f"transcripts/{upload_id}.json")
    assert (
        transcript["language"] == "es" and "arenas son blanquecinas" in transcript["text"].lower()
    )


def test_audio_over_the_long_audio_limit_is_a_permanent_failure(
    process_settings, make_settings, storage, upload
):
    process_settings(make_settings(long_audio_max_seconds=5))
    event = upload("long.flac", clip("jfk_inaugural.flac").read())
    assert handler(sqs_batch([{"Records": [event]}]), LocalLambdaContext()) == {
        "batchItemFailures": []
    }
    upload_id = event["s3"]["object"]["key"].removeprefix("uploads/")
    error = read_json(storage, f"transcripts/{upload_id}.error.json")["error"]
    assert error["code"] == "audio_too_long"
    assert error["message"] == "The audio is 11 s long; the limit here is 5 s (5 seconds)."
    assert storage.head(f"transcripts/{upload_id}.progress.json") is None


def test_the_sync_limit_does_not_apply_to_uploads(process_settings, make_settings, storage, upload):
    """MAX_AUDIO_SECONDS is /stt's (API Gateway's 29 s); the worker takes longer files."""
    process_settings(make_settings(max_audio_seconds=5))
    event = upload("long.flac", clip("jfk_inaugural.flac").read())
    handler(sqs_batch([{"Records": [event]}]), LocalLambdaContext())
    upload_id = event["s3"]["object"]["key"].removeprefix("uploads/")
    assert (
        "ask not what your country"
        in read_json(storage, f"transcripts/{upload_id}.json")["text"].lower()
    )


def test_s3_outage_reports_the_item_for_retry(process_settings, make_settings):
    s3 = start_embedded_s3()
    settings = make_settings(
        s3={"endpoint_url": s3.endpoint_url, "connect_timeout_s": 0.5, "max_attempts": 1}
    )
    prepare_bucket(settings)
    storage = ObjectStorage(settings)
    key = "uploads/outage.wav"
    storage.put(key, clip("arctic_a0007.wav").read(), content_type="audio/wav", metadata={})
    event = sqs_batch(
        [
            {"Records": [s3_object_created(TEST_BUCKET, key, etag="x", size=1)]},
            s3_test_event(TEST_BUCKET),
        ]
    )
    process_settings(settings)
    s3.stop()
    response = handler(event, LocalLambdaContext())
    assert response == {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]}


def test_keys_outside_uploads_and_other_events_are_ignored(process_settings, storage):
    process_settings()
    outside = s3_object_created(TEST_BUCKET, "public/tts/x.mp3", etag="e", size=1)
    removed = s3_object_created(
        TEST_BUCKET, "uploads/x.wav", etag="e", size=1, event_name="ObjectRemoved:Delete"
    )
    assert handler(sqs_batch([{"Records": [outside, removed]}]), LocalLambdaContext()) == {
        "batchItemFailures": []
    }
    assert storage.head("transcripts/x.json") is None


def test_ids_keep_the_extension_so_no_two_uploads_share_one(process_settings, storage, upload):
    """meeting.wav and meeting.txt (not audio) are two uploads: the failure of one must not
    replace the other's transcript."""
    process_settings()
    audio = upload("meeting.wav", clip("arctic_a0009.wav").read())
    folder = audio["s3"]["object"]["key"].removeprefix("uploads/").rsplit("/", 1)[0]
    text_key = f"uploads/{folder}/meeting.txt"
    storage.put(text_key, b"minutes of the meeting", content_type="text/plain", metadata={})
    etag = storage.client.head_object(Bucket=TEST_BUCKET, Key=text_key)["ETag"].strip('"')
    text = s3_object_created(TEST_BUCKET, text_key, etag=etag, size=22)
    handler(sqs_batch([{"Records": [audio]}, {"Records": [text]}]), LocalLambdaContext())
    transcript = read_json(storage, f"transcripts/{folder}/meeting.wav.json")
    assert transcript["id"] == f"{folder}/meeting.wav" and transcript["text"]
    error = read_json(storage, f"transcripts/{folder}/meeting.txt.error.json")
    assert error["error"]["code"] == "unsupported_audio"


def test_an_upload_cannot_name_another_uploads_error_record(process_settings, storage, upload):
    process_settings()
    bad = upload("victim.wav", b"not audio" * 50)
    handler(sqs_batch([{"Records": [bad]}]), LocalLambdaContext())
    victim = bad["s3"]["object"]["key"].removeprefix("uploads/")
    record = f"transcripts/{victim}.error.json"
    assert read_json(storage, record)["error"]["code"] == "unsupported_audio"
    # Good audio whose key ends where the victim's error record would be named.
    sneaky_key = f"uploads/{victim}.error"
    storage.put(sneaky_key, clip("arctic_a0009.wav").read(), content_type="audio/wav", metadata={})
    etag = storage.client.head_object(Bucket=TEST_BUCKET, Key=sneaky_key)["ETag"].strip('"')
    sneaky = s3_object_created(TEST_BUCKET, sneaky_key, etag=etag, size=1)
    handler(sqs_batch([{"Records": [sneaky]}]), LocalLambdaContext())
    assert read_json(storage, record)["error"]["code"] == "unsupported_audio"  # untouched
    listed = storage.client.list_objects_v2(Bucket=TEST_BUCKET, Prefix="transcripts/key-")
    assert any(o["Key"].endswith(".json") for o in listed.get("Contents", []))


@pytest.mark.parametrize(
    "body",
    [
        {"Records": "not a list"},
        {"Records": ["not a record", 7, None]},
        {"Records": [{"eventName": "ObjectCreated:Put", "s3": "not an object"}]},
        {"Records": [{"eventName": "ObjectCreated:Put", "s3": {"object": ["x"]}}]},
        ["a", "JSON", "list"],
    ],
    ids=["records string", "records of scalars", "s3 string", "object list", "json list"],
)
def test_messages_that_are_not_s3_notifications_are_dropped_not_retried(process_settings, body):
    # A malformed message fails the same way every time: retrying it only feeds the DLQ.
    process_settings()
    assert handler(sqs_batch([body]), LocalLambdaContext()) == {"batchItemFailures": []}
