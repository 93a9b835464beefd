"""The Lambda composition root: Powertools logger/tracer/metrics, the settings, the app behind
an ASGI adapter (Mangum, or the streaming runtime's), and the upload worker's service; the
handlers (handlers/) call into it. The worker's queue edge is runtime/upload_batches.py.

Everything is built once per container, on first use (module globals), from settings read from
the environment once; a warm container reuses the app and its loaded models. A function that
only serves /tts never loads Whisper, because engines load when a request first needs them.
"""

from __future__ import annotations

import json
import os
import re
import warnings
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

from speech_api.config import Settings
from speech_api.errors import SpeechAPIError
from speech_api.runtime import lambda_stream
from speech_api.runtime.lambda_events import client_origin, event_problem
from speech_api.runtime.lambda_stream import StreamedResponse
from speech_api.runtime.malloc import tune_malloc

if TYPE_CHECKING:  # imported on first use: the handler's import stays cheap (cold start)
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
# Streamed synthesis on Lambda stops after this long (TTS_STREAM_TIME_LIMIT_S unless set): the
# most speech a request may make (TTS_MAX_SPEECH_S, 300 s at speed 1) takes the slower engine
# about 120 s at its 0.4 real-time factor (the light one 30 s), whatever the speed; a client
# that hung up is not seen there, so without a bound its stream would run on, billed, to the
# timeout (300 s).
LAMBDA_STREAM_TIME_LIMIT_S = 150.0


def lambda_settings(settings: Settings, *, streamed: bool = False) -> Settings:
    update: dict = {
        "max_upload_bytes": min(settings.max_upload_bytes, LAMBDA_MAX_BODY_BYTES),
        # Under awslambdaric the proxy integration returns one response: streamed speech
        # arrives whole. The streaming runtime (lambda_stream) passes it on as it is made.
        "streamed_responses": streamed,
    }
    if not ("model_cache_dir" in settings.model_fields_set or _writable(settings.model_cache_dir)):
        update["model_cache_dir"] = LAMBDA_CACHE_DIR
    if streamed and settings.tts.stream_time_limit_s is None:
        # Lambda never says that a client hung up: bound what a stream may cost.
        tts = settings.tts.model_copy(update={"stream_time_limit_s": LAMBDA_STREAM_TIME_LIMIT_S})
        update["tts"] = tts
    return settings.model_copy(update=update)


def _writable(path: Path) -> bool:
    while not path.exists() and path != path.parent:
        path = path.parent
    return os.access(path, os.W_OK)


# What a stage name or a custom domain's base path can be (API Gateway allows these characters).
_PATH_PREFIX = re.compile(r"(?:/[A-Za-z0-9._~-]+)+")


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
        if (
            isinstance(outer, str)
            and isinstance(inner, str)
            and inner
            and outer.endswith(inner)
            and len(outer) > len(inner)
            # The prefix goes into the docs page's HTML and script: a stage or base path only.
            and _PATH_PREFIX.fullmatch(outer[: -len(inner)])
        ):
            scope = {**scope, "root_path": outer[: -len(inner)]}
        await self.app(scope, receive, send)


class LambdaRuntime:
    """What one Lambda container builds once: settings, the service, the app, the worker.
    `streamed`: the container answers through the streaming runtime (lambda_stream); None
    (the default): whether that runtime is the one serving this process."""

    def __init__(self, settings: Settings | None = None, *, streamed: bool | None = None):
        self._given = settings
        self._streamed = streamed

    @cached_property
    def streamed(self) -> bool:
        # Asked on first use, after the runtime has started: the streaming runtime says so
        # before it imports the handler, whose init may build the app.
        return lambda_stream.serving() if self._streamed is None else self._streamed

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
    def streamer(self) -> lambda_stream.AsgiStreamer:
        return lambda_stream.AsgiStreamer(self.app)

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


def configure(settings: Settings | None = None, *, streamed: bool | None = None) -> LambdaRuntime:
    """Start over with these settings (None: the environment's), as a new container would.
    `streamed` None: as the runtime serving this process (lambda_stream.serving)."""
    global runtime
    runtime = LambdaRuntime(settings, streamed=streamed)
    return runtime


def handle_api_event(event: dict, context) -> dict:
    """An API Gateway event -> one proxy response (awslambdaric, BUFFERED integrations)."""
    return _invalid_body(event) or runtime.asgi(event, context)


def stream_api_event(event: dict, context) -> StreamedResponse:
    """An API Gateway event -> a response whose body is passed on as the app sends it (the
    streaming runtime, STREAM integrations)."""
    if (refused := _invalid_body(event)) is not None:
        return StreamedResponse.from_proxy(refused)
    return runtime.streamer(event, context)


def _invalid_body(event) -> dict | None:
    """A 400 proxy response for an event the adapter could not read (runtime/lambda_events.py),
    rather than an invocation error."""
    problem = event_problem(event)
    return None if problem is None else _error_event(event, problem)


def _error_event(event, exc: SpeechAPIError) -> dict:
    """An error as a proxy response, outside the app: the same JSON and CORS headers."""
    headers = {"content-type": "application/json"}
    allowed = [o.strip() for o in runtime.settings.cors_allow_origins.split(",") if o.strip()]
    origin = client_origin(event)
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


def handle_upload_batch(event: dict, context) -> dict:
    """An SQS batch of upload notifications -> transcripts (runtime/upload_batches.py), with
    the counts as CloudWatch metrics."""
    from speech_api.runtime.upload_batches import process_upload_batch

    def count(name: str, value: int) -> None:
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)

    return process_upload_batch(event, context, runtime.uploads, count=count)


def handle_callback_batch(event: dict, context) -> dict:
    """An SQS batch of callbacks -> one delivery attempt each (runtime/callback_batches.py)."""
    from speech_api.runtime.callback_batches import deliver_callback_batch
    from speech_api.service.notify import Notifier

    return deliver_callback_batch(event, context, Notifier(runtime.settings))
