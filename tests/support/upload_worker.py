"""The upload worker as `make serve` runs it: the Lambda handler behind the local SQS queue,
configured with the test's settings, stopped and reset afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from devkit.lambda_context import with_context
from handlers.transcribe_upload import handler as transcribe_upload
from speech_api.config import Settings
from speech_api.runtime.embedded.sqs import LocalQueueWorker, UploadQueue, prepare_upload_queue
from tests.support.lambda_settings import lambda_configured


@contextmanager
def running_upload_worker(settings: Settings) -> Iterator[UploadQueue]:
    """The queue uploads notify, while a worker drains it into transcripts."""
    with lambda_configured(settings):
        queue = prepare_upload_queue(settings)
        worker = LocalQueueWorker(
            settings, queue, with_context(transcribe_upload), retry_after_s=1
        ).start()
        try:
            yield queue
        finally:
            worker.stop()
