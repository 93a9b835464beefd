"""The upload queue on the embedded server, as the CDK stack deploys it on AWS (a queue with a
dead-letter queue, fed by the bucket's notifications for uploads/), and the local worker that
polls it and hands each batch to the same code the Lambda Worker runs
(runtime/upload_batches.py). SQS lives in memory: after a restart, `requeue_unfinished` queues
again what has no transcript yet."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

from speech_api.config import Settings
from speech_api.service.upload_limits import MAX_WORKER_ATTEMPTS

log = logging.getLogger("speech_api.local")

UPLOAD_QUEUE = "speech-api-uploads"  # its dead-letter queue: "speech-api-uploads-dlq"
# The worker counts its own attempts and moves a file's message to the dead-letter queue
# after MAX_WORKER_ATTEMPTS; SQS's redrive is the backstop, so it allows more receives (the
# delivery that gives up must still arrive).
MAX_RECEIVES = MAX_WORKER_ATTEMPTS + 2


@dataclass
class UploadQueue:
    url: str
    arn: str
    dlq_url: str


def _client(service: str, settings: Settings):
    from speech_api.storage import aws_client

    return aws_client(service, settings)


def create_queue_with_dead_letters(
    settings: Settings, name: str, *, visibility_timeout_s: int, max_receive_count: int
) -> tuple[str, str, str]:
    """(dead-letter queue URL, queue URL, queue ARN) of a queue whose messages move to
    ``name``-dlq after ``max_receive_count`` receives, as the stack's queues do."""
    sqs = _client("sqs", settings)
    dlq_url = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    url = sqs.create_queue(
        QueueName=name,
        Attributes={
            "VisibilityTimeout": str(visibility_timeout_s),
            "RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(max_receive_count)}
            ),
        },
    )["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    return dlq_url, url, arn


def prepare_upload_queue(
    settings: Settings,
    *,
    name: str = UPLOAD_QUEUE,
    max_receive_count: int = MAX_RECEIVES,
    visibility_timeout_s: int = 3600,
) -> UploadQueue:
    """What the CDK stack deploys, on the embedded server: a queue with a dead-letter queue,
    and the bucket notifying it of every object created under the uploads prefix."""
    dlq_url, url, arn = create_queue_with_dead_letters(
        settings,
        name,
        visibility_timeout_s=visibility_timeout_s,
        max_receive_count=max_receive_count,
    )
    _client("s3", settings).put_bucket_notification_configuration(
        Bucket=settings.s3.bucket,
        NotificationConfiguration={
            "QueueConfigurations": [
                {
                    "QueueArn": arn,
                    "Events": ["s3:ObjectCreated:*"],
                    "Filter": {
                        "Key": {
                            "FilterRules": [{"Name": "prefix", "Value": settings.uploads_prefix}]
                        }
                    },
                }
            ]
        },
    )
    return UploadQueue(url=url, arn=arn, dlq_url=dlq_url)


def sqs_event(messages: list[dict], queue_arn: str, region: str) -> dict:
    """The event an SQS event source mapping delivers to Lambda, from received messages."""
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": m.get("MessageAttributes", {}),
                "md5OfBody": m["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
            for m in messages
        ]
    }


class LocalQueueWorker:
    """Polls the upload queue and invokes a Lambda-style handler ``(event, context)`` with real
    SQS events,
    deleting what succeeded and leaving failures for SQS to redeliver, as the event source
    mapping does with ReportBatchItemFailures."""

    def __init__(
        self,
        settings: Settings,
        queue: UploadQueue,
        handler,
        *,
        retry_after_s: int = 5,
        batch_size: int = 5,
    ):
        import threading

        self._sqs = _client("sqs", settings)
        self._settings = settings
        self._queue = queue
        self._handler = handler
        self._retry_after_s = retry_after_s
        self._batch_size = batch_size
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="upload-worker", daemon=True)

    def start(self) -> LocalQueueWorker:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def poll_once(self, wait_s: int = 1) -> int:
        messages = self._sqs.receive_message(
            QueueUrl=self._queue.url,
            MaxNumberOfMessages=self._batch_size,
            WaitTimeSeconds=wait_s,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return 0
        event = sqs_event(messages, self._queue.arn, self._settings.aws_region)
        try:
            response = self._handler(event, None)
            failed = {f["itemIdentifier"] for f in (response or {}).get("batchItemFailures", [])}
        except Exception:
            # A failed invocation (Powertools raises when every record failed): Lambda's
            # event source mapping retries the whole batch, and so do we.
            log.warning("upload batch failed", exc_info=True)
            failed = {m["MessageId"] for m in messages}
        for m in messages:
            if m["MessageId"] in failed:
                self._sqs.change_message_visibility(
                    QueueUrl=self._queue.url,
                    ReceiptHandle=m["ReceiptHandle"],
                    VisibilityTimeout=self._retry_after_s,
                )
            else:
                self._sqs.delete_message(QueueUrl=self._queue.url, ReceiptHandle=m["ReceiptHandle"])
        return len(messages)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once()
            except Exception:  # the worker must outlive any one bad poll (e.g. S3 hiccup)
                log.exception("upload worker poll failed")
                self._stop.wait(1.0)


def requeue_unfinished(settings: Settings, queue: UploadQueue, keys: list[str]) -> int:
    """Queue the S3 notification again for each upload key (the uploads that have neither a
    transcript nor an error record): SQS lives in memory, so after a crash this is how work
    that was queued, in flight or dead-lettered is picked up again."""
    from urllib.parse import quote_plus

    sqs = _client("sqs", settings)
    for key in keys:
        record = {
            "eventSource": "aws:s3",
            "eventName": "ObjectCreated:Put",
            "s3": {"bucket": {"name": settings.s3.bucket}, "object": {"key": quote_plus(key)}},
        }
        sqs.send_message(QueueUrl=queue.url, MessageBody=json.dumps({"Records": [record]}))
    return len(keys)
