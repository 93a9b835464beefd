"""The embedded default: moto's S3 server in-process, so `make serve` needs no AWS account.

The bucket gets the same policy the CDK stack deploys: anonymous read on the public prefix
only, so returned URLs play in a browser while every other key stays private. With a data
directory its objects are kept on disk (``local_state``) and survive a crash.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass

from pydantic import SecretStr

from speech_api.config import S3Settings, Settings
from speech_api.formats import MAX_WORKER_ATTEMPTS
from speech_api.runtime.local_state import ObjectMirror

# moto accepts any credentials; these only keep botocore from looking for real ones.
EMBEDDED_CREDENTIALS = {"access_key_id": "embedded", "secret_access_key": "embedded"}


def public_read_policy(bucket: str, public_prefix: str) -> dict:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "PublicReadForPublicPrefixOnly",
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{bucket}/{public_prefix}*",
            }
        ],
    }


# What the embedded S3 enforces and what it does not, printed by `serve` (and in the README).
EMBEDDED_S3_CAVEATS = (
    "enforced: signatures by the key in DATA_DIR, anonymous read of the public prefix only,",
    "upload form policies; not enforced: per-role IAM, payload hashes, presigned URLs (refused)",
)


@dataclass
class EmbeddedS3:
    server: object
    endpoint_url: str
    mirror: ObjectMirror | None = None

    def stop(self) -> None:
        self.server.stop()


def needs_embedded_s3(settings: Settings) -> bool:
    if settings.embedded_s3 != "auto":
        return bool(settings.embedded_s3)
    return not (
        settings.s3.endpoint_url
        or settings.s3.access_key_id
        or settings.aws_access_key_id
        or settings.aws_profile
    )


def start_embedded_s3(
    host: str = "127.0.0.1",
    port: int = 0,
    mirror: ObjectMirror | None = None,
    gate: Callable | None = None,
    sock=None,
) -> EmbeddedS3:
    """moto's server (S3 and SQS) on ``host:port``, or on ``sock``, a listening socket the
    caller bound (runtime/claims.py). With ``mirror``, objects are written to disk before each
    write is acknowledged; ``gate`` wraps moto's WSGI app (access control). Raises OSError
    when the port is taken."""
    # werkzeug logs every S3 request to stdout; the API's own access log is enough.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = _MotoServer(host, port, mirror, gate, sock)
    return EmbeddedS3(server=server, endpoint_url=server.endpoint_url, mirror=mirror)


class _MotoServer:
    """What moto's ThreadedMotoServer does, with our WSGI wrapper around its app, and bind
    errors raised to the caller (ThreadedMotoServer's thread would swallow them and hang;
    werkzeug's own bind calls sys.exit, so a port taken is checked by binding it first)."""

    def __init__(
        self, host: str, port: int, mirror: ObjectMirror | None, gate: Callable | None, sock=None
    ):
        import threading

        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        app = DomainDispatcherApplication(create_backend_app)
        if gate:
            app = gate(app)
        if mirror:
            app = mirror.wsgi(app)
        if sock is None:
            from speech_api.runtime.claims import listen

            sock = listen(host, port)  # OSError, where werkzeug would exit the process
        with sock:  # werkzeug serves a duplicate of it
            self._server = make_server(
                host,
                sock.getsockname()[1],
                app,
                threaded=True,
                request_handler=MotoRequestHandler,
                fd=sock.fileno(),
            )
        bound_host, bound_port = self._server.server_address[:2]
        self.endpoint_url = f"http://{bound_host}:{bound_port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="embedded-s3", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join()


def prepare_bucket(settings: Settings) -> None:
    """Create the bucket (if missing) and apply the public-prefix read policy."""
    from speech_api.storage import ObjectStorage

    client = ObjectStorage(settings).client
    bucket = settings.s3.bucket
    existing = {b["Name"] for b in client.list_buckets().get("Buckets", [])}
    if bucket not in existing:
        if settings.aws_region == "us-east-1":
            client.create_bucket(Bucket=bucket)
        else:
            client.create_bucket(
                Bucket=bucket,
                CreateBucketConfiguration={"LocationConstraint": settings.aws_region},
            )
    client.put_bucket_policy(
        Bucket=bucket, Policy=json.dumps(public_read_policy(bucket, settings.public_prefix))
    )


def with_embedded_s3(
    settings: Settings, endpoint_url: str, credentials: dict[str, str] | None = None
) -> Settings:
    """Settings pointing at the embedded S3. ``credentials`` (from the data directory) also
    give the TTS cache its signing secret unless TTS_CACHE_SECRET is set."""
    keys = EMBEDDED_CREDENTIALS
    update = {}
    if credentials:
        keys = {k: credentials[k] for k in ("access_key_id", "secret_access_key")}
        if settings.tts.cache_secret is None:
            secret = SecretStr(credentials["cache_secret"])
            update["tts"] = settings.tts.model_copy(update={"cache_secret": secret})
    s3 = S3Settings(**{**settings.s3.model_dump(), "endpoint_url": endpoint_url, **keys})
    return settings.model_copy(update={"s3": s3, **update})


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


def prepare_upload_queue(
    settings: Settings,
    *,
    name: str = UPLOAD_QUEUE,
    max_receive_count: int = MAX_RECEIVES,
    visibility_timeout_s: int = 3600,
) -> UploadQueue:
    """What the CDK stack deploys, on the embedded server: a queue with a dead-letter queue,
    and the bucket notifying it of every object created under the uploads prefix."""
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
            logging.getLogger("speech_api.local").warning("upload batch failed", exc_info=True)
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
        log = logging.getLogger("speech_api.local")
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


def redrive_dead_letters(settings: Settings, dlq_url: str, queue_url: str) -> int:
    """Move every message from the dead-letter queue back to its source queue (what
    `aws sqs start-message-move-task` does on AWS). Returns how many moved."""
    sqs = _client("sqs", settings)
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
