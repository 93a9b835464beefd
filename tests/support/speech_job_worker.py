"""Speech jobs as `make serve` runs them: the embedded SQS queue (with text drops notifying
it) drained by a worker thread per core, configured with the test's settings; and the apps
the job tests talk to (jobs_app, idle_jobs_app)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from fastapi.testclient import TestClient

from speech_api.api import create_app
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


@contextmanager
def jobs_app(make_settings: Callable[..., Settings], name: str) -> Iterator[TestClient]:
    """An app whose jobs run on two workers, in parts of at most 300 characters, under a
    prefix of their own. Signed cache metadata, as `make serve` has it: the audio a job
    publishes must carry a signature over its bytes' MD5 for /tts to trust it."""
    settings = make_settings(
        speech_jobs_prefix=f"speech-jobs/{name}-{uuid.uuid4().hex[:6]}/",
        speech_job_part_chars=300,
        tts={"cache_secret": f"{name}-{uuid.uuid4().hex}"},
    )
    with running_speech_jobs(settings) as settings, TestClient(create_app(settings)) as client:
        yield client


def idle_jobs_app(make_settings: Callable[..., Settings], cap: int) -> TestClient:
    """An app whose jobs stay queued (no worker takes them), at most ``cap`` at once."""
    settings = make_settings(
        speech_jobs_prefix=f"speech-jobs/idle-{uuid.uuid4().hex[:6]}/", max_active_speech_jobs=cap
    )
    queue = prepare_queue(settings, name=f"idle-jobs-{uuid.uuid4().hex[:8]}")
    return TestClient(create_app(settings.model_copy(update={"speech_jobs_queue_url": queue.url})))


def spoken_parts(monkeypatch) -> list:
    """Every part script the job workers synthesize from now on (the real engine speaks
    them), in order: what the job tests count."""
    from speech_api.service import speech_jobs

    spoken: list = []
    real = speech_jobs.synthesize_part

    def counting(engine, script, **kwargs):
        spoken.append(script)
        return real(engine, script, **kwargs)

    monkeypatch.setattr(speech_jobs, "synthesize_part", counting)
    return spoken
