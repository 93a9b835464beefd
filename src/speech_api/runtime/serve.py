"""`speech-api serve` (what `make serve` runs): the API on uvicorn and, with nothing configured,
the local stand-ins for AWS around it (embedded S3 with its objects restored from DATA_DIR, SQS
in memory, the upload worker)."""

from __future__ import annotations

import logging
from functools import partial

from speech_api.config import Settings
from speech_api.runtime.malloc import start_trimming, tune_malloc


def serve(settings: Settings, host: str | None = None, port: int | None = None) -> None:
    from speech_api.runtime.claims import claim_port

    host = host or settings.host
    explicit_port = port is not None or "port" in settings.model_fields_set
    port = settings.port if port is None else port
    # First, before anything loads or prints: the port (a taken default: the next free one).
    api = claim_port(
        host,
        port,
        explicit=explicit_port,
        variable="PORT",
        what="the API",
        avoid=(settings.embedded_s3_port,),
    )
    try:
        _serve(settings, host, api)
    finally:
        api.sock.close()


def _serve(settings: Settings, host: str, api) -> None:
    import uvicorn

    tune_malloc()
    start_trimming()
    from speech_api.audio import sandbox

    sandbox.prestart()  # the decoding processes' parent, started before the models load

    from speech_api.api import create_app
    from speech_api.api.app import server_options
    from speech_api.runtime.connections import GuardedH11Protocol, configure_connections
    from speech_api.runtime.embedded.s3 import needs_embedded_s3, prepare_bucket
    from speech_api.runtime.embedded.sqs import (
        LocalQueueWorker,
        prepare_upload_queue,
        requeue_unfinished,
    )
    from speech_api.service import SpeechService, UploadService

    port = api.port
    configure_connections(settings.request_header_timeout_s, settings.max_idle_connections)
    embedded = worker = job_workers = None
    notes: list[str] = []
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(levelname)s %(name)s: %(message)s"
    )
    if settings.workers > 1 and needs_embedded_s3(settings):
        raise SystemExit(
            "WORKERS > 1 needs a real S3 endpoint (set S3_ENDPOINT_URL or "
            "AWS credentials); the embedded S3 lives in one process."
        )
    if needs_embedded_s3(settings):
        embedded, settings, notes = _start_embedded(settings, api_port=port)
    service = SpeechService(settings)
    if embedded:
        prepare_bucket(settings)
        queue = prepare_upload_queue(settings)
        # What the Worker function runs behind the S3 -> SQS event source mapping, fed the
        # same SQS events, sharing the API's loaded models (no Lambda libraries needed).
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
        # After the upload queue: its notification is added to the bucket's.
        job_queue = _prepare_speech_jobs(settings)
        settings = settings.model_copy(update={"speech_jobs_queue_url": job_queue.url})
        job_workers, requeued_jobs = _start_speech_job_workers(settings, job_queue)
        if requeued_jobs:
            notes.append(f"{requeued_jobs} speech job(s) not finished queued again")

    print(banner(settings, host, api, embedded, notes, job_workers), flush=True)
    # One line per request: the app's own access log (speech_api.access: request id, status,
    # duration), not uvicorn's as well.
    options = {"log_level": settings.log_level, "access_log": False, **server_options(settings)}
    # A deadline for each request head and a cap on idle connections (runtime/connections.py).
    options["http"] = GuardedH11Protocol
    if settings.workers > 1:
        # Each worker process builds the app from the environment's settings, and binds the
        # port itself: this process lets go of it first.
        api.sock.close()
        uvicorn.run(
            "speech_api.api:create_app",
            factory=True,
            host=host,
            port=port,
            workers=settings.workers,
            **options,
        )
        return
    try:
        config = uvicorn.Config(create_app(settings, service), host=host, port=port, **options)
        uvicorn.Server(config).run(sockets=[api.sock])
    finally:
        if job_workers:
            job_workers.stop()
        if worker:
            worker.stop()
        if embedded:
            embedded.stop()


def banner(settings: Settings, host: str, api, embedded, notes: list[str], job_workers=None) -> str:
    """Where everything is, what answers, and what was not as asked (a port taken)."""
    from speech_api.runtime.embedded.s3 import EMBEDDED_S3_CAVEATS

    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    base = f"http://{shown}:{api.port}"
    key = "  (API key required: Authorization: Bearer <key> or x-api-key: <key>)"
    lines = [f"Speech API     {base}{key if settings.api_key else ''}"]
    if api.note:
        lines.append(f"               {api.note}")
    lines += [
        f"Playground     {base}/",
        f"Swagger UI     {base}/docs",
        f"Models         {_models(settings)}; each loads on first use",
    ]
    if embedded:
        lines += [
            f"S3 (embedded)  {embedded.endpoint_url}  bucket '{settings.s3.bucket}', "
            f"anonymous read on '{settings.public_prefix}' only",
            f"Upload worker  {settings.uploads_prefix} -> SQS -> {settings.transcripts_prefix}",
        ]
        if job_workers:
            lines.append(
                f"Speech jobs    POST /tts/jobs, {settings.text_drops_prefix} -> SQS -> "
                f"{len(job_workers.workers)} worker(s) -> {settings.public_prefix}tts/"
            )
        lines.append(f"Data           {settings.data_dir.resolve()}  (objects and credentials)")
        lines += [f"               {note}" for note in [*notes, *EMBEDDED_S3_CAVEATS]]
    else:
        lines.append(
            f"S3             {settings.s3.endpoint_url or 'AWS'}  bucket '{settings.s3.bucket}'"
        )
    return "\n".join(lines)


def _models(settings: Settings) -> str:
    """Speech to text and text to speech as this server is configured (nothing is loaded)."""
    tts = settings.tts
    if tts.sagemaker_endpoint:
        speech = f"SageMaker endpoint {tts.sagemaker_endpoint}"
    else:
        speech = ", ".join(filter(None, (tts.engine, tts.engine_settings().summary())))
    return f"speech to text: Whisper {settings.stt.model}; text to speech: {speech}"


def _start_embedded(settings: Settings, *, api_port: int):
    """The embedded S3 on its fixed port (the next free one when another server has it) with
    its objects restored from its data directory (its own, when another server has that).
    Returns it, the settings pointing at it, and lines for the banner."""
    from speech_api.runtime.claims import claim_data_dir, claim_port
    from speech_api.runtime.embedded.access import AccessGate
    from speech_api.runtime.embedded.persistence import ObjectMirror
    from speech_api.runtime.embedded.s3 import start_embedded_s3, with_embedded_s3

    explicit = settings.model_fields_set
    s3_port = claim_port(
        "127.0.0.1",
        settings.embedded_s3_port,
        explicit="embedded_s3_port" in explicit,
        variable="EMBEDDED_S3_PORT",
        what="the embedded S3",
        avoid=(api_port,),
    )
    # Held for as long as this process lives (the system releases it, whatever ends it).
    data, data_note = claim_data_dir(
        settings.data_dir, explicit="data_dir" in explicit, port=api_port
    )
    settings = settings.model_copy(update={"data_dir": data.path})
    notes = [n for n in (s3_port.note, data_note) if n]
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
    restored = mirror.restore(settings.aws_region)
    if restored:
        notes.append(f"{restored} object(s) restored")
    embedded = start_embedded_s3(mirror=mirror, gate=gate, sock=s3_port.sock)
    return embedded, with_embedded_s3(settings, embedded.endpoint_url, credentials), notes


def _prepare_speech_jobs(settings: Settings):
    from speech_api.runtime.speech_job_worker import prepare_queue

    return prepare_queue(settings)


def _start_speech_job_workers(settings: Settings, queue):
    """The speech job workers: a thread per core, on their own engine (one onnxruntime
    thread per synthesis), in this process, sharing its S3 and queue."""
    from speech_api.runtime.speech_job_worker import local_workers, start_local, worker_settings
    from speech_api.service import SpeechService
    from speech_api.service.speech_jobs import SpeechJobs

    job_settings = worker_settings(settings)
    jobs = SpeechJobs(job_settings, SpeechService(job_settings), workers=local_workers(settings))
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
