"""Telling subscribers that a transcript is done: the SNS topic the worker publishes to when it
has written an upload's transcript (or its failure), subscribable by email, SQS, HTTPS or
Lambda. The message: README, Uploads (speech_api.service.notify writes it)."""

from __future__ import annotations

from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from constructs import Construct


class TranscriptNotifications(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, worker: lambda_.Function):
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
