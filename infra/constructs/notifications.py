"""Telling subscribers that a transcript is done: the SNS topic the worker publishes to when it
has written an upload's transcript (or its failure), subscribable by email, SQS, HTTPS or
Lambda; and the callbacks queue, to which the worker hands an upload's callback and whose
function (Callbacks) POSTs it, apart from the worker, one attempt per receive (SQS retries
after its visibility timeout, then dead-letters). The message: docs/uploads.md
(speech_api.service.notify writes it)."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as events
from aws_cdk import aws_sns as sns
from constructs import Construct

from infra.constructs.queues import queue_with_dead_letters
from speech_api.service.notify import CALLBACK_ATTEMPTS


class TranscriptNotifications(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        worker: lambda_.Function,
        callbacks: lambda_.Function,
    ):
        super().__init__(scope, construct_id)
        # Messages name uploads (ids, keys): encrypted at rest with the AWS-managed SNS key,
        # whose key policy lets the account's principals use it through SNS (no KMS grant
        # needed, no key to pay for), and TLS only.
        self.topic = sns.Topic(
            self,
            "TranscriptTopic",
            display_name="speech-api transcripts",
            enforce_ssl=True,
            master_key=kms.Alias.from_alias_name(self, "SnsKey", "alias/aws/sns"),
        )
        # Only the worker publishes; subscribers are added by the account (README, Uploads).
        self.topic.grant_publish(worker)
        worker.add_environment("TRANSCRIPT_TOPIC_ARN", self.topic.topic_arn)

        self.callbacks_queue, self.callbacks_dlq = queue_with_dead_letters(
            self,
            "Callbacks",
            # The wait between attempts, too.
            visibility_timeout=Duration.seconds(6 * callbacks.timeout.to_seconds()),
            max_receives=CALLBACK_ATTEMPTS,
        )
        callbacks.add_event_source(
            events.SqsEventSource(
                self.callbacks_queue, batch_size=10, report_batch_item_failures=True
            )
        )
        # The worker only hands callbacks over: it may send to this queue, nothing more.
        self.callbacks_queue.grant_send_messages(worker)
        worker.add_environment("CALLBACK_QUEUE_URL", self.callbacks_queue.queue_url)
