"""What the Lambda handlers share: Powertools logger/tracer/metrics, the API behind an ASGI
adapter, and the upload worker's batch processing.

Everything here is built once per container, on first use (module globals), so a warm
container reuses the app and its loaded models; a function that only serves /tts never loads
Whisper, because engines load when a request first needs them.
"""

from __future__ import annotations

import os
import uuid
import warnings
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from speech_api.config import Settings, get_settings

# A batch of only S3 test events emits no metric; that is normal, not worth a warning per batch.
warnings.filterwarnings("ignore", message="No application metrics to publish")

SERVICE = "speech-api"
logger = Logger(service=SERVICE)
tracer = Tracer(service=SERVICE)
metrics = Metrics(namespace="SpeechAPI", service=SERVICE)

# The Lambda filesystem is read-only except /tmp.
LAMBDA_CACHE_DIR = Path("/tmp/speech-api")


def lambda_settings() -> Settings:
    settings = get_settings()
    if "model_cache_dir" in settings.model_fields_set or _writable(settings.model_cache_dir):
        return settings
    return settings.model_copy(update={"model_cache_dir": LAMBDA_CACHE_DIR})


def _writable(path: Path) -> bool:
    while not path.exists() and path != path.parent:
        path = path.parent
    return os.access(path, os.W_OK)


@lru_cache(maxsize=1)
def api_asgi_handler():
    from mangum import Mangum

    from speech_api.app import create_app

    # Mangum decodes base64 bodies (isBase64Encoded) to the exact bytes /stt needs, for REST
    # (v1) and HTTP API (v2) events alike.
    return Mangum(create_app(lambda_settings()), lifespan="off")


def handle_api_event(event: dict, context) -> dict:
    return api_asgi_handler()(event, context)


@lru_cache(maxsize=1)
def upload_service():
    from speech_api.service import SpeechService
    from speech_api.uploads import UploadService

    settings = lambda_settings()
    return UploadService(settings, SpeechService(settings))


_batch = BatchProcessor(event_type=EventType.SQS)


def _transcribe_record(record: SQSRecord) -> None:
    written = upload_service().handle_notification(record.body)
    if written:
        metrics.add_metric(name="TranscriptsWritten", unit=MetricUnit.Count, value=len(written))


def handle_upload_batch(event: dict, context) -> dict:
    """SQS batch of S3 notifications -> transcripts. A failing record (S3 down, model not
    loadable) is reported in batchItemFailures so SQS retries it alone; bad audio is recorded
    as transcripts/<id>.error.json and counts as done."""
    return process_partial_response(
        event=event, record_handler=_transcribe_record, processor=_batch, context=context
    )


@dataclass
class LocalLambdaContext:
    """The context object Lambda passes, for running handlers outside Lambda."""

    function_name: str = "speech-api-local"
    memory_limit_in_mb: int = 3008
    aws_request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:speech-api-local"
    log_group_name: str = "/aws/lambda/speech-api-local"
    log_stream_name: str = "local"
    function_version: str = "$LATEST"
    timeout_ms: int = 900_000

    def get_remaining_time_in_millis(self) -> int:
        return self.timeout_ms
