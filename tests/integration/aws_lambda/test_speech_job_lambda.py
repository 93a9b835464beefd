"""handlers.speech_jobs.handler, the Narrator function: SQS batches of a job's steps (plan,
part, assemble) and of S3 notifications of text drops, as the event source mapping delivers
them; failures reported per item; the finished audio public, nothing before."""

from __future__ import annotations

import io
import json
import uuid

import av
import httpx

from devkit.events import s3_object_created, sqs_batch
from devkit.lambda_context import LocalLambdaContext
from devkit.texts import SENTENCES
from handlers.speech_jobs import handler
from speech_api.runtime.speech_job_worker import prepare_queue
from speech_api.schemas import SpeechJobRequest
from speech_api.service import SpeechService
from speech_api.service.speech_jobs import SpeechJobs
from tests.support.s3 import TEST_BUCKET
from tests.support.speech_jobs import RecordingQueue, job_steps

PART_CHARS = 200


def narrator_settings(make_settings):
    settings = make_settings(
        speech_jobs_prefix=f"speech-jobs/l-{uuid.uuid4().hex[:6]}/",
        speech_job_part_chars=PART_CHARS,
    )
    queue = prepare_queue(settings, name=f"narrator-{uuid.uuid4().hex[:8]}")
    return settings.model_copy(update={"speech_jobs_queue_url": queue.url}), queue


def test_a_job_step_by_step_through_the_handler(process_settings, make_settings, storage):
    settings, _ = narrator_settings(make_settings)
    process_settings(settings)
    # The Api function's part: the record, the text, the plan message.
    api = SpeechJobs(settings, SpeechService(settings), queue=RecordingQueue())
    text = f"Take {uuid.uuid4().hex[:6]}. " + " ".join(SENTENCES[:6])
    job, created = api.submit(SpeechJobRequest(text=text, format="ogg"))
    assert created and api.queue.sent == [{"job": job.id, "step": "plan"}]

    steps = job_steps(job.id, text, PART_CHARS)
    assert len(steps) >= 4  # plan, parts, assemble
    for i, step in enumerate(steps):
        response = handler(sqs_batch([step], queue="speech-api-speech-jobs"), LocalLambdaContext())
        assert response == {"batchItemFailures": []}, (step, response)
        status = api.status(job.id)
        if step["step"] != "assemble":
            assert status.status == "running" and status.url is None  # nothing public yet
            assert status.progress.parts_done == max(0, i)
    assert status.status == "done" and status.format == "ogg"
    audio = httpx.get(status.url, timeout=10)
    assert audio.status_code == 200 and audio.headers["content-type"] == "audio/ogg"
    with av.open(io.BytesIO(audio.content)) as container:
        stream = container.streams.audio[0]
        seconds = sum(f.samples for f in container.decode(stream)) / stream.rate
    assert abs(seconds - status.duration_s) < 0.1
    # Work left behind is removed; the record and the text stay.
    left = storage.keys(f"{settings.speech_jobs_prefix}{job.id}/")
    assert sorted(k.rsplit("/", 1)[1] for k in left) == ["input.txt", "job.json"]


def test_a_dropped_text_file_and_a_message_that_is_no_step(
    process_settings, make_settings, storage
):
    settings, queue = narrator_settings(make_settings)
    process_settings(settings)
    key = f"texts/{uuid.uuid4().hex[:6]}/note.txt"
    storage.put(key, b"A short note.", content_type="text/plain", metadata={"format": "wav"})
    etag = storage.client.head_object(Bucket=TEST_BUCKET, Key=key)["ETag"].strip('"')
    drop = {"Records": [s3_object_created(TEST_BUCKET, key, etag=etag, size=13)]}
    response = handler(sqs_batch([drop, {"hello": "world"}]), LocalLambdaContext())
    assert response == {"batchItemFailures": []}
    # The drop became a job, queued for planning on the real queue (beside S3's own
    # notification of the drop, which this test delivered by hand).
    from speech_api.storage import aws_client

    sqs = aws_client("sqs", settings)
    messages = sqs.receive_message(QueueUrl=queue.url, MaxNumberOfMessages=10)["Messages"]
    (plan,) = [b for b in (json.loads(m["Body"]) for m in messages) if "step" in b]
    assert plan["step"] == "plan"
    record = SpeechJobs(settings, SpeechService(settings)).status(plan["job"])
    assert record.status == "queued" and record.source_key == key and record.format == "wav"


def test_a_step_that_fails_is_reported_for_that_message_alone(
    process_settings, make_settings, monkeypatch
):
    settings, _ = narrator_settings(make_settings)
    process_settings(settings)
    api = SpeechJobs(settings, SpeechService(settings), queue=RecordingQueue())
    text = f"Take {uuid.uuid4().hex[:6]}. " + " ".join(SENTENCES[:4])
    job, _ = api.submit(SpeechJobRequest(text=text))
    handler(sqs_batch([{"job": job.id, "step": "plan"}]), LocalLambdaContext())

    from speech_api.service import speech_jobs

    def broken(*args, **kwargs):
        raise RuntimeError("out of memory")

    monkeypatch.setattr(speech_jobs, "synthesize_part", broken)
    event = sqs_batch([{"job": job.id, "step": "part", "part": 0}, {"job": "0" * 32, "step": "x"}])
    response = handler(event, LocalLambdaContext())
    failed = [f["itemIdentifier"] for f in response["batchItemFailures"]]
    assert failed == [event["Records"][0]["messageId"]]
    assert api.status(job.id).status == "running"  # retried by SQS, not failed yet


def test_a_step_whose_earlier_deliveries_died_silently_fails_the_job(
    process_settings, make_settings
):
    """A Lambda stopped for time or memory records nothing; SQS delivers the message again,
    and the delivery after the allowed attempts records the failure."""
    settings, _ = narrator_settings(make_settings)
    process_settings(settings)
    api = SpeechJobs(settings, SpeechService(settings), queue=RecordingQueue())
    job, _ = api.submit(SpeechJobRequest(text=f"Take {uuid.uuid4().hex[:6]}. Hello there."))
    handler(sqs_batch([{"job": job.id, "step": "plan"}]), LocalLambdaContext())
    event = sqs_batch([{"job": job.id, "step": "part", "part": 0}])
    event["Records"][0]["attributes"]["ApproximateReceiveCount"] = "4"
    assert handler(event, LocalLambdaContext()) == {"batchItemFailures": []}
    status = api.status(job.id)
    assert status.status == "failed" and status.url is None
    assert "did not finish in 3 attempts" in status.error.message
