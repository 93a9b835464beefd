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
    from speech_api import decoder

    decoder.prestart()  # the decoding processes' parent, started before the models load

    from speech_api.api import create_app
    from speech_api.api.app import server_options
    from speech_api.runtime.local import (
        EMBEDDED_S3_CAVEATS,
        LocalQueueWorker,
        needs_embedded_s3,
        prepare_bucket,
        prepare_upload_queue,
        requeue_unfinished,
    )
    from speech_api.service import SpeechService, UploadService

    host = host or settings.host
    port = settings.port if port is None else port
    embedded = worker = job_workers = None
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
        # The batch processing Lambda runs behind the S3 -> SQS event source mapping, fed
        # the same SQS events, sharing the API's loaded models.
        from speech_api.runtime.aws_lambda import process_upload_batch

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
        # After the upload queue: its notification is added to the bucket's.
        job_queue = _prepare_speech_jobs(settings)
        settings = settings.model_copy(update={"speech_jobs_queue_url": job_queue.url})
        job_workers, requeued_jobs = _start_speech_job_workers(settings, job_queue)
        if requeued_jobs:
            notes.append(f"{requeued_jobs} speech job(s) not finished queued again")

    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    print(f"Speech API     http://{shown}:{port}")
    print(f"Swagger UI     http://{shown}:{port}/docs")
    if embedded:
        print(
            f"S3 (embedded)  {embedded.endpoint_url}  bucket '{settings.s3.bucket}', "
            f"anonymous read on '{settings.public_prefix}' only"
        )
        print(f"Upload worker  {settings.uploads_prefix} -> SQS -> {settings.transcripts_prefix}")
        print(
            f"Speech jobs    POST /tts/jobs, {settings.text_drops_prefix} -> SQS -> "
            f"{len(job_workers.workers)} worker(s) -> {settings.public_prefix}tts/"
        )
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
            **server_options(settings),
        )
        return
    try:
        uvicorn.run(
            create_app(settings, service),
            host=host,
            port=port,
            log_level=settings.log_level,
            **server_options(settings),
        )
    finally:
        if job_workers:
            job_workers.stop()
        if worker:
            worker.stop()
        if embedded:
            embedded.stop()


def _start_embedded(settings: Settings):
    """The embedded S3 on its fixed port with its objects restored from DATA_DIR. Returns it,
    the settings pointing at it, and lines for the banner."""
    import errno

    from speech_api.runtime.local import start_embedded_s3, with_embedded_s3
    from speech_api.runtime.local_access import AccessGate
    from speech_api.runtime.local_state import DataDir, ObjectMirror

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


def _prepare_speech_jobs(settings: Settings):
    from speech_api.runtime.speech_job_worker import prepare_queue

    return prepare_queue(settings)


def _start_speech_job_workers(settings: Settings, queue):
    """The speech job workers: a thread per core, on their own engine (one onnxruntime
    thread per synthesis), in this process, sharing its S3 and queue."""
    from speech_api.runtime.speech_job_worker import start_local, worker_settings
    from speech_api.service import SpeechService
    from speech_api.service.speech_jobs import SpeechJobs

    job_settings = worker_settings(settings)
    jobs = SpeechJobs(job_settings, SpeechService(job_settings))
    # The queue lives in memory: jobs left queued or running by a crash are queued again.
    requeued = jobs.requeue_active()
    if "tts" in settings.served_engines():
        # Their engine loads now, beside the server's start, not in the first job.
        import threading

        threading.Thread(target=_preload, args=(jobs,), name="job-engine", daemon=True).start()
    return start_local(job_settings, queue, jobs), requeued


def _preload(jobs) -> None:
    try:
        jobs.service.models.tts()
    except Exception:  # the first job says why (a load is retried on next use)
        logging.getLogger("speech_api.speech_jobs").warning("job engine did not load")
