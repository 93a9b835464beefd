"""The upload worker's queue edge: an SQS batch of S3 notifications in, each created object's
key to `UploadService.transcribe_object`, the batch's partial failures out (SQS retries those
alone), and the dead-letter queue for a file that has failed too often (and `redrive`, which
moves such messages back).

The Lambda Worker function (runtime/aws_lambda.py) and `speech-api serve`'s local worker
(runtime/embedded/sqs.py) run this same code on the same events. It needs boto3 only (the
`[lambda]` extra is not needed to serve), and answers as Lambda's SQS event source mapping with
ReportBatchItemFailures expects: ``{"batchItemFailures": [{"itemIdentifier": <messageId>}]}``;
when every record of a batch failed it raises instead (an invocation error, which the
function's Errors alarm counts), as Powertools' batch processor does.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from urllib.parse import unquote_plus, urlsplit

from speech_api.config import Settings
from speech_api.service.upload_jobs import MoveToDeadLetters, UploadService
from speech_api.storage import aws_client

logger = logging.getLogger("speech_api.uploads")

# A count for the function's metrics: (metric name, value).
CountMetric = Callable[[str, int], None]


class BatchFailed(Exception):
    """Every record of the batch failed: the invocation fails, SQS delivers them all again."""


def process_upload_batch(
    event: dict, context, uploads: UploadService, *, count: CountMetric | None = None
) -> dict:
    """SQS batch of S3 notifications -> transcripts. A failing record (S3 down, model not
    loadable) is reported in batchItemFailures so SQS retries it alone; bad audio is recorded
    as a failed transcript and counts as done. A file that failed MAX_WORKER_ATTEMPTS times
    has its failure recorded and its message moved to the dead-letter queue. ``count``
    receives the TranscriptsWritten and UploadsDeadLettered counts."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    time_left_s = (lambda: remaining() / 1000) if callable(remaining) else None
    count = count or (lambda name, value: None)

    def transcribe(record: Mapping) -> None:
        written = []
        try:
            for key in created_keys(record):
                if (upload_id := uploads.transcribe_object(key, time_left_s)) is not None:
                    written.append(upload_id)
        except MoveToDeadLetters:
            if not send_to_dead_letters(uploads.settings, record["body"]):
                raise  # no queue configured: SQS's redrive policy moves it after its retries
            count("UploadsDeadLettered", 1)
            return
        if written:
            count("TranscriptsWritten", len(written))

    return each_record(event, transcribe, what="upload record")


def each_record(event: dict, handle: Callable[[Mapping], None], *, what: str) -> dict:
    """An SQS batch, record by record: a record that raises alone is retried (SQS's partial
    batch response); a batch whose every record failed raises BatchFailed, so that the
    invocation counts as an error."""
    records = event.get("Records") or []
    failed: list[tuple[Mapping, BaseException]] = []
    for record in records:
        try:
            handle(record)
        except Exception as exc:  # this record alone is retried
            logger.warning("%s %s failed: %r", what, record.get("messageId"), exc)
            failed.append((record, exc))
    if failed and len(failed) == len(records):
        raise BatchFailed(
            f"All {len(records)} records failed: "
            + "; ".join(f"{type(exc).__name__}: {exc}" for _, exc in failed)
        ) from failed[0][1]
    return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r, _ in failed]}


def created_keys(message: Mapping) -> list[str]:
    """The keys of the objects created that the S3 notification in this SQS message names,
    decoded as S3 encodes them in notifications ('+' for a space, %xx for the rest). None for
    S3's test event (sent when the notification is configured), nor for a message that is not
    an S3 notification: retrying that would fail the same way, so it is logged and dropped."""
    try:
        notification = json.loads(message["body"])
        if not isinstance(notification, dict):
            raise TypeError("not a JSON object")
        if notification.get("Event") == "s3:TestEvent" or "Records" not in notification:
            return []
        if not isinstance(notification["Records"], list):
            raise TypeError("Records is not a list")
    except (ValueError, TypeError, KeyError):
        logger.warning("ignoring a message that is not an S3 notification")
        return []
    keys = []
    for record in notification["Records"]:
        try:
            if record["eventName"].startswith("ObjectCreated"):
                keys.append(unquote_plus(record["s3"]["object"]["key"]))
        except (LookupError, TypeError, AttributeError):
            logger.warning("ignoring a record that is not an S3 notification")
    return keys


def _sqs(settings: Settings, queue_url: str):
    import boto3

    # The queue's URL names its endpoint (AWS's, or the embedded server's with its keys).
    parts = urlsplit(queue_url)
    return boto3.client(
        "sqs",
        region_name=settings.aws_region,
        endpoint_url=f"{parts.scheme}://{parts.netloc}",
        aws_access_key_id=settings.s3.access_key_id,
        aws_secret_access_key=settings.s3.secret_access_key,
    )


def send_to_dead_letters(settings: Settings, body: str) -> bool:
    """Put a message on UPLOADS_DEAD_LETTER_URL (its source queue then deletes it, as the
    record succeeded). False when no dead-letter queue is configured."""
    url = settings.uploads_dead_letter_url
    if not url:
        return False
    _sqs(settings, url).send_message(QueueUrl=url, MessageBody=body)
    return True


def redrive_dead_letters(settings: Settings, dlq_url: str, queue_url: str) -> int:
    """Move every message from the dead-letter queue back to its source queue (what
    `aws sqs start-message-move-task` does on AWS). Returns how many moved."""
    sqs = aws_client("sqs", settings)
    moved = 0
    while True:
        messages = sqs.receive_message(
            QueueUrl=dlq_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
        ).get("Messages", [])
        if not messages:
            return moved
        for m in messages:
            sqs.send_message(QueueUrl=queue_url, MessageBody=m["Body"])
            sqs.delete_message(QueueUrl=dlq_url, ReceiptHandle=m["ReceiptHandle"])
            moved += 1
