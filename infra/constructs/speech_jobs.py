"""Speech jobs (POST /tts/jobs, text files dropped under texts/): one SQS queue (with a
dead-letter queue) that carries each job's steps, drained by the Narrator function.

The fan-out is SQS's: the plan step queues one message per part, and the event source mapping
runs up to `narrator_max_concurrency` invocations at once, each synthesizing one part (batch
size 1, failures reported per item, so a failed part alone is retried). The worker that
stores the last part queues the assembly, which encodes every part into one multipart upload
and publishes it with one copy (speech_api.service.speech_jobs). No scheduler of our own: SQS
delivers, retries and dead-letters; the job's state is its objects in S3.

Roles: the Api function (light) stores the text and the job's record and queues the plan; the
Narrator reads and writes speech-jobs/, reads texts/, reads and writes the finished audio and
captions under public/tts/, queues the next steps and publishes to the notification topic."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_lambda_event_sources as events
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_notifications as s3n
from aws_cdk import aws_sns as sns
from constructs import Construct

from infra.config import LAMBDA_MAX_TIMEOUT_S, DeployConfig
from infra.constructs.functions import Functions
from infra.constructs.grants import grant_list_bucket, grant_objects
from infra.constructs.queues import queue_with_dead_letters
from infra.layout import (
    SPEECH_JOBS_COMMAND,
    SPEECH_JOBS_PREFIX,
    TEXT_DROPS_PREFIX,
    TTS_PREFIX,
)
from speech_api.service.upload_limits import MAX_WORKER_ATTEMPTS

# The worker records a job's failure itself on the MAX_WORKER_ATTEMPTS-th delivery of a step;
# SQS allows that one and a throttled receive more (AWS advises at least 5).
MAX_RECEIVES = max(5, MAX_WORKER_ATTEMPTS + 2)
# Work a job leaves behind (plans, parts, a staging file of a failed assembly) and its record
# go after this; incomplete multipart uploads after a day.
RECORD_DAYS = 30


class SpeechJobPipeline(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: DeployConfig,
        bucket: s3.Bucket,
        functions: Functions,
        topic: sns.ITopic,
    ):
        super().__init__(scope, construct_id)
        self.queue, self.dlq = queue_with_dead_letters(
            self,
            "SpeechJobs",
            visibility_timeout=Duration.seconds(6 * LAMBDA_MAX_TIMEOUT_S),
            max_receives=MAX_RECEIVES,
        )
        self.narrator = functions.add(
            "Narrator",
            command=SPEECH_JOBS_COMMAND,
            memory_mb=config.narrator_memory_mb,
            timeout=Duration.seconds(LAMBDA_MAX_TIMEOUT_S),
            env={
                "SPEECH_JOBS_QUEUE_URL": self.queue.queue_url,
                "TRANSCRIPT_TOPIC_ARN": topic.topic_arn,
                "PRELOAD_MODELS": "tts",
            },
            image_engine=config.tts_engine,
        )
        self.narrator.add_event_source(
            events.SqsEventSource(
                self.queue,
                batch_size=1,
                max_concurrency=max(2, config.narrator_max_concurrency),
                report_batch_item_failures=True,
            )
        )
        bucket.add_event_notification(
            s3.EventType.OBJECT_CREATED,
            s3n.SqsDestination(self.queue),
            s3.NotificationKeyFilter(prefix=TEXT_DROPS_PREFIX),
        )
        bucket.add_lifecycle_rule(
            id="SpeechJobWork",
            prefix=SPEECH_JOBS_PREFIX,
            expiration=Duration.days(RECORD_DAYS),
            abort_incomplete_multipart_upload_after=Duration.days(1),
        )
        self._grant(bucket, functions, topic)

    def _grant(self, bucket: s3.Bucket, functions: Functions, topic: sns.ITopic) -> None:
        narrator, api = self.narrator, functions.api
        grant_objects(
            narrator,
            bucket,
            ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"],
            SPEECH_JOBS_PREFIX,
            nag_scope=narrator,
        )
        grant_objects(narrator, bucket, ["s3:GetObject"], TEXT_DROPS_PREFIX, nag_scope=narrator)
        # The finished audio and captions, copied or written under the TTS cache's prefix,
        # and read there first: speech published already (by /tts, or a job of the same
        # text) is found, not spoken again.
        grant_objects(
            narrator, bucket, ["s3:GetObject", "s3:PutObject"], TTS_PREFIX, nag_scope=narrator
        )
        grant_list_bucket(narrator, bucket)
        self.queue.grant_send_messages(narrator)  # the fan-out: parts, then the assembly
        topic.grant_publish(narrator)
        # The API stores the text, the record and the active marker, reads records and lists
        # parts (progress), and queues the plan.
        grant_objects(
            api, bucket, ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"], SPEECH_JOBS_PREFIX,
            nag_scope=api,
        )  # fmt: skip
        self.queue.grant_send_messages(api)
        api.add_environment("SPEECH_JOBS_QUEUE_URL", self.queue.queue_url)
