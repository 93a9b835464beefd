"""`speech-api serve` (what `make serve` runs): the API on uvicorn and, with nothing configured,
the local stand-ins for AWS around it (embedded S3 with its objects restored from DATA_DIR, SQS
in memory, the upload worker)."""

from __future__ import annotations

import logging
from functools import partial

from speech_api.config import Settings
from speech_api.runtime.malloc import start_trimming, tune_malloc


def serve(settings: Settings, host: str | None = None, port: int | None = None) -> None:
    import uvicorn

    tune_malloc()
    start_trimming()
    from speech_api.audio import sandbox

    sandbox.prestart()  # the decoding processes' parent, started before the models load

    from speech_api.api import create_app
    from speech_api.api.app import server_options
    from speech_api.runtime.connections import GuardedH11Protocol, configure_connections
    from speech_api.runtime.embedded.s3 import (
        EMBEDDED_S3_CAVEATS,
        needs_embedded_s3,
        prepare_bucket,
    )
    from speech_api.runtime.embedded.sqs import (
        LocalQueueWorker,
        prepare_upload_queue,
        requeue_unfinished,
    )
    from speech_api.service import SpeechService, UploadService

    configure_connections(settings.request_header_timeout_s, settings.max_idle_connections)
    # Request-head deadline and a cap on idle connections (runtime/connections.py).
    options = {**server_options(settings), "http": GuardedH11Protocol}
    host = host or settings.host
    port = settings.port if port is None else port
    embedded = worker = None
    notes: list[str] = []
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(levelname)s %(name)s: %(message)s"
    )
    if needs_embedded_s3(settings):
        embedded, settings, notes = _start_embedded(settings)
    service = SpeechService(settings)
    if embedded:
        prepare_bucket(settings)
        queue = prepare_upload_queue(settings)
        # What the Worker function runs behind the S3 -> SQS event source mapping, fed the
        # same SQS events, sharing the API's loaded models.
        from speech_api.runtime.upload_batches import process_upload_batch

        # A file that fails MAX_WORKER_ATTEMPTS times is moved to the dead-letter queue.
        dead_letters = {"uploads_dead_letter_url": queue.dlq_url}
        uploads = UploadService(settings.model_copy(update=dead_letters), service)
        # SQS lives in memory: what was queued, in flight or dead-lettered before a crash is
        # queued again from the objects themselves.
        requeued = requeue_unfinished(settings, queue, uploads.unfinished_uploads())
        if requeued:
            notes.append(f"{requeued} upload(s) without a transcript queued again")
        handler = partial(process_upload_batch, uploads=uploads)
        worker = LocalQueueWorker(settings, queue, handler).start()

    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    print(f"Speech API     http://{shown}:{port}")
    print(f"Swagger UI     http://{shown}:{port}/docs")
    if embedded:
        print(
            f"S3 (embedded)  {embedded.endpoint_url}  bucket '{settings.s3.bucket}', "
            f"anonymous read on '{settings.public_prefix}' only"
        )
        print(f"Upload worker  {settings.uploads_prefix} -> SQS -> {settings.transcripts_prefix}")
        print(f"Data           {settings.data_dir.resolve()}  (objects and credentials)")
        for note in [*notes, *EMBEDDED_S3_CAVEATS]:
            print(f"               {note}")
    else:
        print(f"S3             {settings.s3.endpoint_url or 'AWS'}  bucket '{settings.s3.bucket}'")
    if settings.workers > 1:
        if embedded:
            raise SystemExit(
                "WORKERS > 1 needs a real S3 endpoint (set S3_ENDPOINT_URL or "
                "AWS credentials); the embedded S3 lives in one process."
            )
        # Each worker process builds the app from the environment's settings.
        uvicorn.run(
            "speech_api.api:create_app",
            factory=True,
            host=host,
            port=port,
            workers=settings.workers,
            log_level=settings.log_level,
            **options,
        )
        return
    try:
        uvicorn.run(
            create_app(settings, service),
            host=host,
            port=port,
            log_level=settings.log_level,
            **options,
        )
    finally:
        if worker:
            worker.stop()
        if embedded:
            embedded.stop()


def _start_embedded(settings: Settings):
    """The embedded S3 on its fixed port with its objects restored from DATA_DIR. Returns it,
    the settings pointing at it, and lines for the banner."""
    import errno

    from speech_api.runtime.embedded.access import AccessGate
    from speech_api.runtime.embedded.persistence import DataDir, ObjectMirror
    from speech_api.runtime.embedded.s3 import start_embedded_s3, with_embedded_s3

    data = DataDir(settings.data_dir)
    credentials = data.credentials()
    mirror = ObjectMirror(data.s3_dir(), [settings.s3.bucket])
    gate = partial(
        AccessGate,
        access_key_id=credentials["access_key_id"],
        secret_access_key=credentials["secret_access_key"],
        bucket=settings.s3.bucket,
        public_prefix=settings.public_prefix,
        # The file plus the form's fields: upload forms allow long recordings. (The embedded
        # server holds a form in memory while it stores it: locally, a 1 GB upload takes
        # about 2 GB for a moment.)
        max_form_bytes=settings.max_long_upload_bytes + 64 * 1024,
    )
    notes = []
    restored = mirror.restore(settings.aws_region)
    if restored:
        notes.append(f"{restored} object(s) restored")
    try:
        embedded = start_embedded_s3(port=settings.embedded_s3_port, mirror=mirror, gate=gate)
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
        embedded = start_embedded_s3(port=0, mirror=mirror, gate=gate)
        notes.append(
            f"port {settings.embedded_s3_port} is taken: URLs from this run will not work "
            "after a restart (set EMBEDDED_S3_PORT)"
        )
    return embedded, with_embedded_s3(settings, embedded.endpoint_url, credentials), notes
