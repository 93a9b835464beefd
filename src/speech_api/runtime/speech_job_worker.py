"""The speech job worker at the runtime's edge: SQS batches in, `SpeechJobs.handle` per message.

One queue carries both the jobs' own step messages (plan, part, assemble: JSON written by
service/speech_jobs.py) and S3's notifications of text files dropped under
TEXT_DROPS_PREFIX. On Lambda, the event source mapping delivers them (batch size 1: a part
is a few seconds to minutes of synthesis) and reports failures item by item, so SQS
redelivers only what failed; its receive count is the attempt. Locally, `serve` runs the
same handler behind the embedded SQS with a worker thread per core (`start_local`), each
taking one message at a time: a job's parts are synthesized in parallel on every core."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial

from speech_api.config import Settings
from speech_api.engines import registry
from speech_api.machine import usable_cores
from speech_api.runtime.embedded.sqs import (
    LocalQueueWorker,
    UploadQueue,
    _client,
    create_queue_with_dead_letters,
)
from speech_api.runtime.upload_batches import CountMetric, created_keys, each_record
from speech_api.service.upload_limits import MAX_WORKER_ATTEMPTS

logger = logging.getLogger("speech_api.speech_jobs")

SPEECH_JOB_QUEUE = "speech-api-speech-jobs"  # its dead-letter queue: "...-dlq"
# Receives before SQS moves a message to the dead-letter queue: the worker records the job's
# failure itself on the MAX_WORKER_ATTEMPTS-th, so SQS allows that delivery and more.
MAX_RECEIVES = MAX_WORKER_ATTEMPTS + 2


def process_speech_job_batch(
    event: dict, context, jobs, *, count: CountMetric | None = None
) -> dict:
    """An SQS batch: step messages run their step, S3 notifications become jobs. Answers as
    the event source mapping with ReportBatchItemFailures expects (a failing record alone is
    retried; every record failing raises), as runtime/upload_batches.py does for uploads,
    with no Powertools (`serve` runs this too). ``count`` receives the SpeechJobSteps and
    TextDropsQueued counts."""
    count = count or (lambda name, value: None)

    def handle(record: Mapping) -> None:
        try:
            body = json.loads(record["body"])
        except (ValueError, KeyError, TypeError):
            logger.warning("ignoring a speech job message that is not JSON")
            return
        if isinstance(body, dict) and "step" in body:
            attributes = record.get("attributes") or {}
            attempt = int(attributes.get("ApproximateReceiveCount") or 1)
            jobs.handle(body, delivery=str(record.get("messageId") or ""), attempt=attempt)
            if body["step"] == "assemble":
                count("SpeechJobSteps", 1)
            return
        for key in created_keys(record):
            if jobs.submit_dropped(key) is not None:
                count("TextDropsQueued", 1)

    return each_record(event, handle, what="speech job record")


def handle_speech_job_batch(event: dict, context) -> dict:
    """The Narrator function's entry point: this container's job service (built once), with
    the counts as CloudWatch metrics."""
    from aws_lambda_powertools.metrics import MetricUnit

    from speech_api.runtime.aws_lambda import metrics

    def count(name: str, value: int) -> None:
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)

    return process_speech_job_batch(event, context, _lambda_jobs(), count=count)


_built: tuple | None = None  # (the Lambda runtime, its job service)


def _lambda_jobs():
    """Built once per container (again when the runtime is configured anew, as tests do)."""
    global _built
    from speech_api.runtime import aws_lambda
    from speech_api.service.speech_jobs import SpeechJobs

    runtime = aws_lambda.runtime
    if _built is None or _built[0] is not runtime:
        _built = (runtime, SpeechJobs(runtime.settings, runtime.service))
    return _built[1]


def prepare_queue(
    settings: Settings, *, name: str = SPEECH_JOB_QUEUE, visibility_timeout_s: int = 900
) -> UploadQueue:
    """What the CDK stack deploys, on the embedded server: the jobs' queue with its
    dead-letter queue, and the bucket notifying it of text files created under
    TEXT_DROPS_PREFIX (added to the bucket's other notifications)."""
    dlq_url, url, arn = create_queue_with_dead_letters(
        settings, name, visibility_timeout_s=visibility_timeout_s, max_receive_count=MAX_RECEIVES
    )
    s3 = _client("s3", settings)
    current = s3.get_bucket_notification_configuration(Bucket=settings.s3.bucket)
    current.pop("ResponseMetadata", None)
    queues = [q for q in current.get("QueueConfigurations", []) if q.get("QueueArn") != arn]
    queues.append(
        {
            "QueueArn": arn,
            "Events": ["s3:ObjectCreated:*"],
            "Filter": {
                "Key": {"FilterRules": [{"Name": "prefix", "Value": settings.text_drops_prefix}]}
            },
        }
    )
    s3.put_bucket_notification_configuration(
        Bucket=settings.s3.bucket,
        NotificationConfiguration={**current, "QueueConfigurations": queues},
    )
    return UploadQueue(url=url, arn=arn, dlq_url=dlq_url)


# Engine settings the speech-job workers override, where an engine's settings have them: a
# worker per core each runs its own synthesis on one thread (more throughput than one synthesis
# on every core), with onnxruntime's memory arena (faster, its memory bounded by one synthesis
# per worker) and Piper's blocked kernels (faster on one thread, piper_blocked_model.py).
JOB_WORKER_ENGINE_SETTINGS = {"threads": 1, "arena": True, "blocked_kernels": True}


def worker_settings(settings: Settings) -> Settings:
    """The job workers' settings: JOB_WORKER_ENGINE_SETTINGS for every engine whose settings
    take them (engines/spec.py)."""
    overrides = {
        f"{spec.name}_{name}": value
        for spec in registry.TTS_ENGINES
        for name, value in JOB_WORKER_ENGINE_SETTINGS.items()
        if name in spec.settings.model_fields
    }
    return settings.model_copy(update={"tts": settings.tts.model_copy(update=overrides)})


@dataclass
class LocalWorkers:
    workers: list[LocalQueueWorker]

    def stop(self) -> None:
        for worker in self.workers:
            worker.stop()


def local_workers(settings: Settings) -> int:
    """How many speech job workers run in this process (`serve`, the CLI): SPEECH_JOB_WORKERS,
    else one per usable core. A job is cut into a multiple of this many parts."""
    return settings.speech_job_workers or usable_cores()


def start_local(settings: Settings, queue: UploadQueue, jobs) -> LocalWorkers:
    """local_workers(settings) worker threads, each taking one message at a time from the
    jobs' queue."""
    count = local_workers(settings)
    handler = partial(process_speech_job_batch, jobs=jobs)
    workers = [
        LocalQueueWorker(settings, queue, handler, retry_after_s=2, batch_size=1).start()
        for _ in range(count)
    ]
    return LocalWorkers(workers)
