"""Speech jobs as `make serve` runs them: the embedded SQS queue (with text drops notifying
it) drained by a worker thread per core, configured with the test's settings."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from speech_api.config import Settings
from speech_api.runtime.speech_job_worker import prepare_queue, start_local, worker_settings
from speech_api.service import SpeechService
from speech_api.service.speech_jobs import SpeechJobs


@contextmanager
def running_speech_jobs(settings: Settings, *, workers: int = 2) -> Iterator[Settings]:
    """The settings an app needs to queue jobs (their queue URL), while workers run them."""
    queue = prepare_queue(settings, name=f"speech-jobs-{uuid.uuid4().hex[:8]}")
    settings = settings.model_copy(
        update={"speech_jobs_queue_url": queue.url, "speech_job_workers": workers}
    )
    job_settings = worker_settings(settings)
    running = start_local(
        job_settings, queue, SpeechJobs(job_settings, SpeechService(job_settings), workers=workers)
    )
    try:
        yield settings
    finally:
        running.stop()
