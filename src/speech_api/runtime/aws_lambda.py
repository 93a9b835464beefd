"""The Lambda composition root: Powertools logger/tracer/metrics, the app behind an ASGI adapter,
and the upload worker's batch processing.

Everything is built once per container, on first use (module globals), from settings read from
the environment once; a warm container reuses the app and its loaded models. A function that
only serves /tts never loads Whisper, because engines load when a request first needs them.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import warnings
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote_plus, urlsplit

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes import SQSRecord

from speech_api.config import Settings
from speech_api.errors import InvalidRequestError, SpeechAPIError
from speech_api.runtime.malloc import tune_malloc

if TYPE_CHECKING:  # imported on first use: the handler's import stays cheap (cold start)
    from speech_api.runtime.lambda_stream import StreamedResponse
    from speech_api.service import SpeechService, UploadService

# A batch of only S3 test events emits no metric; that is normal, not worth a warning per batch.
warnings.filterwarnings("ignore", message="No application metrics to publish")

SERVICE = "speech-api"
logger = Logger(service=SERVICE)
tracer = Tracer(service=SERVICE)
metrics = Metrics(namespace="SpeechAPI", service=SERVICE)

# The Lambda filesystem is read-only except /tmp.
LAMBDA_CACHE_DIR = Path("/tmp/speech-api")
# A synchronous invoke carries at most 6 MB (6,291,456 bytes) of event, and API Gateway sends
# binary bodies base64-encoded (4/3 the size): about 4.7 MB of raw body, less the event's
# headers and context. Larger files go through POST /uploads.
LAMBDA_MAX_BODY_BYTES = 4_500_000


def lambda_settings(settings: Settings, *, streamed: bool = False) -> Settings:
    update: dict = {
        "max_upload_bytes": min(settings.max_upload_bytes, LAMBDA_MAX_BODY_BYTES),
        # Under awslambdaric the proxy integration returns one response: streamed speech
        # arrives whole. The streaming runtime (lambda_stream) passes it on as it is made.
        "streamed_responses": streamed,
    }
    if not ("model_cache_dir" in settings.model_fields_set or _writable(settings.model_cache_dir)):
        update["model_cache_dir"] = LAMBDA_CACHE_DIR
    return settings.model_copy(update=update)


def _writable(path: Path) -> bool:
    while not path.exists() and path != path.parent:
        path = path.parent
    return os.access(path, os.W_OK)


class _StagePrefix:
    """REST API URLs carry the stage (`/prod/docs`) while the event's path does not (`/docs`):
    the prefix the client used becomes the ASGI root_path, so FastAPI's docs page asks for
    `/prod/openapi.json`. A custom domain without the stage gets no prefix."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        event = scope.get("aws.event") or {}
        outer = (event.get("requestContext") or {}).get("path") or ""
        inner = event.get("path") or ""
        if inner and outer.endswith(inner) and len(outer) > len(inner):
            scope = {**scope, "root_path": outer[: -len(inner)]}
        await self.app(scope, receive, send)


class LambdaRuntime:
    """What one Lambda container builds once: settings, the service, the app, the worker.
    `streamed`: the container answers through the streaming runtime (lambda_stream)."""

    def __init__(self, settings: Settings | None = None, *, streamed: bool = False):
        self._given = settings
        self.streamed = streamed

    @cached_property
    def settings(self) -> Settings:
        return lambda_settings(self._given or Settings(), streamed=self.streamed)

    @cached_property
    def service(self) -> SpeechService:
        from speech_api.service import SpeechService

        return SpeechService(self.settings)

    @cached_property
    def app(self):
        from speech_api.api import create_app

        return _StagePrefix(create_app(self.settings, self.service))

    @cached_property
    def asgi(self):
        from mangum import Mangum
        from mangum.adapter import DEFAULT_TEXT_MIME_TYPES

        from speech_api.formats import TEXT_MEDIA_TYPES

        # Mangum decodes base64 bodies (isBase64Encoded) to the exact bytes /stt needs, for
        # REST (v1) and HTTP API (v2) events alike. It base64-encodes responses it does not
        # know as text, which API Gateway passes on as base64 unless binaryMediaTypes lists
        # them: SRT is text.
        return Mangum(
            self.app, lifespan="off", text_mime_types=[*DEFAULT_TEXT_MIME_TYPES, *TEXT_MEDIA_TYPES]
        )

    @cached_property
    def streamer(self):
        from speech_api.runtime.lambda_stream import AsgiStreamer

        return AsgiStreamer(self.app)

    @cached_property
    def uploads(self) -> UploadService:
        from speech_api.service import UploadService

        return UploadService(self.settings, self.service)

    def preload(self) -> list[str]:
        """Build the app and load the engines named by PRELOAD_MODELS now (init), not in the first
        request. Returns what loaded."""
        self.streamer if self.streamed else self.asgi  # noqa: B018  (builds the app)
        wanted = self.settings.served_engines()
        if "stt" in wanted:
            from speech_api.audio import sandbox

            sandbox.prestart()
            self.service.models.stt()
        if "tts" in wanted and not self.service.remote_tts:
            self.service.models.tts()
        return self.service.models.loaded()


runtime = LambdaRuntime()


def initialize() -> None:
    """Called once when the handler module is imported (Lambda's init phase). With provisioned
    concurrency, AWS initializes environments ahead of traffic, so models load then; on demand,
    init stays cheap and engines load on first use."""
    tune_malloc()  # a warm environment serves invocation after invocation
    if os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE") == "provisioned-concurrency":
        loaded = runtime.preload()
        logger.info("preloaded for provisioned concurrency", extra={"models": loaded})


def configure(settings: Settings | None = None, *, streamed: bool = False) -> LambdaRuntime:
    """Start over with these settings (None: the environment's), as a new container would."""
    global runtime
    runtime = LambdaRuntime(settings, streamed=streamed)
    return runtime


def handle_api_event(event: dict, context) -> dict:
    """An API Gateway event -> one proxy response (awslambdaric, BUFFERED integrations)."""
    return _invalid_body(event) or runtime.asgi(event, context)


def stream_api_event(event: dict, context) -> StreamedResponse:
    """An API Gateway event -> a response whose body is passed on as the app sends it (the
    streaming runtime, STREAM integrations)."""
    from speech_api.runtime.lambda_stream import StreamedResponse

    if (refused := _invalid_body(event)) is not None:
        return StreamedResponse.from_proxy(refused)
    return runtime.streamer(event, context)


def _invalid_body(event: dict) -> dict | None:
    if event.get("isBase64Encoded") and event.get("body"):
        try:
            base64.b64decode(event["body"], validate=True)
        except (binascii.Error, ValueError):
            # API Gateway always encodes correctly; a direct invoke may not, and the adapter
            # would raise (an invocation error, a 502 at the gateway).
            return _error_event(
                event,
                InvalidRequestError(
                    "The event's body is marked base64-encoded but is not valid base64.",
                    code="invalid_body",
                ),
            )
    return None


def _error_event(event: dict, exc: SpeechAPIError) -> dict:
    """An error as a proxy response, outside the app: the same JSON and CORS headers."""
    headers = {"content-type": "application/json"}
    allowed = [o.strip() for o in runtime.settings.cors_allow_origins.split(",") if o.strip()]
    origin = {k.lower(): v for k, v in (event.get("headers") or {}).items()}.get("origin")
    if "*" in allowed:
        headers["access-control-allow-origin"] = "*"
    elif origin in allowed:
        headers["access-control-allow-origin"] = origin
    return {
        "statusCode": exc.status_code,
        "headers": headers,
        "body": json.dumps({"error": exc.to_dict()}),
        "isBase64Encoded": False,
    }


_batch = BatchProcessor(event_type=EventType.SQS)


def process_upload_batch(event: dict, context, uploads: UploadService) -> dict:
    """SQS batch of S3 notifications -> transcripts. A failing record (S3 down, model not
    loadable) is reported in batchItemFailures so SQS retries it alone; bad audio is recorded
    as a failed transcript and counts as done. A file that failed MAX_WORKER_ATTEMPTS times
    has its failure recorded and its message moved to the dead-letter queue."""
    from speech_api.service.uploads import MoveToDeadLetters

    remaining = getattr(context, "get_remaining_time_in_millis", None)
    time_left_s = (lambda: remaining() / 1000) if callable(remaining) else None

    def record_handler(record: SQSRecord) -> None:
        written = []
        try:
            for key in created_keys(record):
                if (upload_id := uploads.transcribe_object(key, time_left_s)) is not None:
                    written.append(upload_id)
        except MoveToDeadLetters:
            if not send_to_dead_letters(uploads.settings, record.body):
                raise  # no queue configured: SQS's redrive policy moves it after its retries
            metrics.add_metric(name="UploadsDeadLettered", unit=MetricUnit.Count, value=1)
            return
        if written:
            metrics.add_metric(name="TranscriptsWritten", unit=MetricUnit.Count, value=len(written))

    return process_partial_response(
        event=event, record_handler=record_handler, processor=_batch, context=context
    )


def created_keys(message: SQSRecord) -> list[str]:
    """The keys of the objects created that the S3 notification in this SQS message names,
    decoded as S3 encodes them in notifications ('+' for a space, %xx for the rest). None for
    S3's test event (sent when the notification is configured), nor for a message that is not
    an S3 notification: retrying that would fail the same way, so it is logged and dropped."""
    try:
        notification = message.decoded_nested_s3_event
        if notification.get("Event") == "s3:TestEvent" or "Records" not in notification:
            return []
        if not isinstance(notification["Records"], list):
            raise TypeError("Records is not a list")
    except (ValueError, TypeError, AttributeError):
        logger.warning("ignoring a message that is not an S3 notification")
        return []
    keys = []
    for record in notification.records:
        try:
            if record.event_name.startswith("ObjectCreated"):
                keys.append(unquote_plus(record.s3.get_object.key))
        except (LookupError, TypeError, AttributeError):
            logger.warning("ignoring a record that is not an S3 notification")
    return keys


def send_to_dead_letters(settings: Settings, body: str) -> bool:
    """Put a message on UPLOADS_DEAD_LETTER_URL (its source queue then deletes it, as the
    record succeeded). False when no dead-letter queue is configured."""
    url = settings.uploads_dead_letter_url
    if not url:
        return False
    import boto3

    # The queue's URL names its endpoint (AWS's, or the embedded server's with its keys).
    parts = urlsplit(url)
    sqs = boto3.client(
        "sqs",
        region_name=settings.aws_region,
        endpoint_url=f"{parts.scheme}://{parts.netloc}",
        aws_access_key_id=settings.s3.access_key_id,
        aws_secret_access_key=settings.s3.secret_access_key,
    )
    sqs.send_message(QueueUrl=url, MessageBody=body)
    return True


def handle_upload_batch(event: dict, context) -> dict:
    return process_upload_batch(event, context, runtime.uploads)
