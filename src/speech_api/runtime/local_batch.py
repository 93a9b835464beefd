"""The embedded upload worker's batch handler (`speech-api serve`): what the worker Lambda does
with an SQS batch of S3 notifications, in the standard library only.

`make serve` installs what serving needs and no Lambda libraries, so this cannot lean on
Powertools' batch processor and event data classes as the Lambda edge
(`runtime/aws_lambda.py`) does. It takes the same event and answers the same way: the keys
of created objects, decoded as S3 encodes them, each transcribed; a record that fails is
named in ``batchItemFailures`` for SQS to deliver again; a file that failed
MAX_WORKER_ATTEMPTS times has its message moved to the dead-letter queue.
tests/unit/test_upload_events.py runs both readers over the same messages.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING
from urllib.parse import unquote_plus

if TYPE_CHECKING:
    from speech_api.service import UploadService

log = logging.getLogger("speech_api.local")


def created_keys_in(body: str) -> list[str]:
    """The keys of the objects created that an SQS message body (an S3 notification) names.
    None for S3's test event or a message that is not a notification (logged and dropped:
    retrying it would fail the same way), nor for a malformed record."""
    try:
        notification = json.loads(body)
        if notification.get("Event") == "s3:TestEvent" or "Records" not in notification:
            return []
        records = notification["Records"]
        if not isinstance(records, list):
            raise TypeError("Records is not a list")
    except (ValueError, TypeError, AttributeError):
        log.warning("ignoring a message that is not an S3 notification")
        return []
    keys = []
    for record in records:
        try:
            if record["eventName"].startswith("ObjectCreated"):
                key = record["s3"]["object"]["key"]
                if not isinstance(key, str):
                    raise TypeError("the key is not a string")
                keys.append(unquote_plus(key))
        except (LookupError, TypeError, AttributeError):
            log.warning("ignoring a record that is not an S3 notification")
    return keys


def upload_batch_handler(uploads: UploadService):
    """A Lambda-style handler ``(event, context)`` for the local queue worker. A file given up
    on has its message sent to ``uploads.settings.uploads_dead_letter_url``."""
    from speech_api.service.uploads import MoveToDeadLetters
    from speech_api.storage import aws_client

    sqs = aws_client("sqs", uploads.settings)

    def handle(event: dict, context) -> dict:
        failures = []
        for record in event.get("Records", []):
            try:
                for key in created_keys_in(record["body"]):
                    uploads.transcribe_object(key)
            except MoveToDeadLetters:
                url = uploads.settings.uploads_dead_letter_url
                sqs.send_message(QueueUrl=url, MessageBody=record["body"])
            except Exception:
                log.warning(
                    "upload message %s failed; SQS delivers it again",
                    record["messageId"],
                    exc_info=True,
                )
                failures.append({"itemIdentifier": record["messageId"]})
        return {"batchItemFailures": failures}

    return handle
