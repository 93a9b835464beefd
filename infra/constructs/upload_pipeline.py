"""uploads/ -> S3 notification -> SQS (with a dead-letter queue) -> the worker function."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import Duration
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as events
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_notifications as s3n
from constructs import Construct

from infra.config import DeployConfig
from infra.constructs.queues import queue_with_dead_letters
from infra.layout import UPLOADS_PREFIX
from infra.nag import acknowledge
from speech_api.service.upload_limits import MAX_WORKER_ATTEMPTS

# SQS moves a message to the dead-letter queue after this many receives. The worker counts its
# own attempts per file (a Lambda killed by its timeout or out of memory cannot report one) and,
# on the delivery after MAX_WORKER_ATTEMPTS failed ones, writes the .error.json and moves the
# message itself; so SQS must allow that delivery plus one receive that never reached the code
# (a throttled invoke). AWS advises at least 5 "to avoid sending messages to the dead letter
# queue due to throttling" (https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html).
MAX_RECEIVES = max(5, MAX_WORKER_ATTEMPTS + 2)


class UploadPipeline(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: DeployConfig,
        bucket: s3.Bucket,
        worker: lambda_.Function,
    ):
        super().__init__(scope, construct_id)
        self.queue, self.dlq = queue_with_dead_letters(
            self,
            "Uploads",
            # Lambda can retry a throttled invoke within it (https://docs.aws.amazon.com/lambda/
            # latest/dg/services-sqs-configure.html). 900 s -> 90 min (SQS allows 12 h). A
            # failed attempt is retried when this runs out.
            visibility_timeout=Duration.seconds(6 * worker.timeout.to_seconds()),
            max_receives=MAX_RECEIVES,
        )
        bucket.add_event_notification(
            s3.EventType.OBJECT_CREATED,
            s3n.SqsDestination(self.queue),
            s3.NotificationKeyFilter(prefix=UPLOADS_PREFIX),
        )
        stack = cdk.Stack.of(self)
        for child in stack.node.children:  # the singleton custom resource CDK adds for this
            if child.node.id.startswith("BucketNotificationsHandler"):
                acknowledge(
                    child,
                    {
                        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/"
                        "service-role/AWSLambdaBasicExecutionRole]": "CDK's own notification "
                        "handler; the managed policy only allows writing its logs.",
                    },
                )
        worker.add_event_source(
            events.SqsEventSource(
                self.queue,
                batch_size=config.worker_batch_size,
                # Waiting to fill a batch only helps when a batch holds more than one file.
                max_batching_window=(Duration.seconds(1) if config.worker_batch_size > 1 else None),
                max_concurrency=max(2, config.worker_max_concurrency),
                report_batch_item_failures=True,
            )
        )
        # The worker's give-up delivery sends the message here itself: it may send to this queue
        # (and read its attributes), nothing more.
        worker.add_environment("UPLOADS_DEAD_LETTER_URL", self.dlq.queue_url)
        self.dlq.grant_send_messages(worker)
