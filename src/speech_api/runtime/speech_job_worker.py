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
from dataclasses import dataclass
from functools import partial

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes import SQSRecord

from speech_api.config import Settings, usable_cores
from speech_api.formats import MAX_WORKER_ATTEMPTS
from speech_api.runtime.aws_lambda import created_keys, metrics
from speech_api.runtime.local import LocalQueueWorker, UploadQueue, _client

logger = logging.getLogger("speech_api.speech_jobs")

SPEECH_JOB_QUEUE = "speech-api-speech-jobs"  # its dead-letter queue: "...-dlq"
# Receives before SQS moves a message to the dead-letter queue: the worker records the job's
# failure itself on the MAX_WORKER_ATTEMPTS-th, so SQS allows that delivery and more.
MAX_RECEIVES = MAX_WORKER_ATTEMPTS + 2


def process_speech_job_batch(event: dict, context, jobs) -> dict:
    """An SQS batch: step messages run their step, S3 notifications become jobs."""

    def record_handler(record: SQSRecord) -> None:
        try:
            body = json.loads(record.body)
        except ValueError:
            logger.warning("ignoring a speech job message that is not JSON")
            return
        if isinstance(body, dict) and "step" in body:
            attempt = int(record.attributes.approximate_receive_count or 1)
            jobs.handle(body, attempt=attempt)
            if body["step"] == "assemble":
                metrics.add_metric(name="SpeechJobSteps", unit=MetricUnit.Count, value=1)
            return
        for key in created_keys(record):
            if jobs.submit_dropped(key) is not None:
                metrics.add_metric(name="TextDropsQueued", unit=MetricUnit.Count, value=1)

    # A processor per batch: local workers run batches on several threads at once.
    processor = BatchProcessor(event_type=EventType.SQS)
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )


def handle_speech_job_batch(event: dict, context) -> dict:
    """The Narrator function's entry point: this container's job service (built once)."""
    return process_speech_job_batch(event, context, _lambda_jobs())


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
    sqs = _client("sqs", settings)
    dlq_url = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    url = sqs.create_queue(
        QueueName=name,
        Attributes={
            "VisibilityTimeout": str(visibility_timeout_s),
            "RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(MAX_RECEIVES)}
            ),
        },
    )["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
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


def worker_settings(settings: Settings) -> Settings:
    """The job workers' settings: one onnxruntime thread per synthesis (a worker per core
    runs its own), and the queue to fan out on."""
    tts = settings.tts.model_copy(update={"piper_threads": 1})
    return settings.model_copy(update={"tts": tts})


@dataclass
class LocalWorkers:
    workers: list[LocalQueueWorker]

    def stop(self) -> None:
        for worker in self.workers:
            worker.stop()


def start_local(settings: Settings, queue: UploadQueue, jobs) -> LocalWorkers:
    """A worker thread per usable core (SPEECH_JOB_WORKERS), each taking one message at a
    time from the jobs' queue."""
    count = settings.speech_job_workers or usable_cores()
    handler = partial(process_speech_job_batch, jobs=jobs)
    workers = [
        LocalQueueWorker(settings, queue, handler, retry_after_s=2, batch_size=1).start()
        for _ in range(count)
    ]
    return LocalWorkers(workers)
