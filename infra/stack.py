"""The Speech API stack, composed from one construct per capability (infra/constructs/):

Storage         the audio bucket (+ access logs), public/ by bucket policy or CloudFront (OAC)
tts/            where speech is synthesized, one module per backend: the TTS Lambda on CPU, or
                a GPU backend (construct GpuTts) on a SageMaker endpoint or ECS
Functions       the Lambda functions (one container image, a command and size per function;
                Tts when the TTS backend asks for one)
UploadPipeline  uploads/ -> SQS (+ dead letters) -> worker -> transcripts/
Notifications   the SNS topic the worker tells when a transcript is done (or failed), and the
                callbacks queue (+ dead letters) the Callbacks function delivers from
SpeechJobs      POST /tts/jobs and texts/ -> SQS (+ dead letters) -> Narrator (a part per
                invocation, fanned out) -> public/tts/, told to the same topic
Api             API Gateway: routes, key authorizer, usage plan, request models, CORS
Monitoring      alarms and a dashboard
LiveTranscription  (realtime=true) /v1/realtime on ECS Fargate behind an ALB and CloudFront
"""

from __future__ import annotations

import hashlib
import re

import aws_cdk as cdk
from constructs import Construct

from infra.config import DeployConfig
from infra.constructs.api import SpeechApi
from infra.constructs.functions import Functions, function_env
from infra.constructs.monitoring import Monitoring
from infra.constructs.notifications import TranscriptNotifications
from infra.constructs.realtime import LiveTranscription
from infra.constructs.speech_jobs import SpeechJobPipeline
from infra.constructs.storage import Storage
from infra.constructs.tts import TTS_BACKENDS
from infra.constructs.upload_pipeline import UploadPipeline

# Capability constructs that do not add a level to logical IDs, so the resources keep the IDs
# they had when the stack was one class (CloudFormation replaces a resource whose logical ID
# changes: new buckets, new queues, new API keys).
# Construct IDs that CDK derives from another construct's unique ID (Lambda permissions,
# the SQS event source mapping, the usage-plan key) get the pre-split unique ID back as well:
# a new SQS event source mapping or usage-plan key for the same pair would conflict with the
# existing one during the update.
FLAT_CONSTRUCTS = ("Storage", "Functions", "UploadPipeline", "Api")


class SpeechApiStack(cdk.Stack):
    def __init__(self, scope: Construct, construct_id: str, *, config: DeployConfig, **kwargs):
        self._allocated: dict[str, str] = {}
        self._unique_ids: dict[str, str] = {}
        self._logical_ids: dict[str, str] = {}  # CDK asks again on every reference
        super().__init__(scope, construct_id, **kwargs)
        self.config = config

        self.storage = Storage(self, "Storage", config=config)
        # The TTS backend first: the Tts function it asks for (if any) is one of the functions.
        self.tts = TTS_BACKENDS[config.gpu_tts](
            self, config=config, bucket=self.storage.bucket, env=function_env(config, self.storage)
        )
        self.functions = Functions(
            self, "Functions", config=config, storage=self.storage, tts=self.tts.function
        )
        self.uploads = UploadPipeline(
            self,
            "UploadPipeline",
            config=config,
            bucket=self.storage.bucket,
            worker=self.functions.worker,
        )
        self.notifications = TranscriptNotifications(
            self,
            "Notifications",
            worker=self.functions.worker,
            callbacks=self.functions.callbacks,
        )
        self.speech_jobs = SpeechJobPipeline(
            self,
            "SpeechJobs",
            config=config,
            bucket=self.storage.bucket,
            functions=self.functions,
            topic=self.notifications.topic,
        )
        self.api = SpeechApi(
            self,
            "Api",
            config=config,
            functions=self.functions,
            tts=self.tts,
        )
        self.realtime = None
        if config.realtime:
            plan = self.api.usage_plan
            self.realtime = LiveTranscription(
                self,
                "Realtime",
                config=config,
                usage_plan_id=plan.usage_plan_id if plan is not None else None,
            )
        watched = dict(self.functions.functions)
        if self.api.authorizer is not None:
            watched["KeyAuthorizer"] = self.api.authorizer_function
        self.monitoring = Monitoring(
            self,
            "Monitoring",
            config=config,
            api=self.api,
            functions=watched,
            queue=self.uploads.queue,
            dead_letters=self.uploads.dlq,
            more_queues={
                "SpeechJob": (
                    self.speech_jobs.queue,
                    self.speech_jobs.dlq,
                    "speech job steps (plan, part, assemble)",
                )
            },
            streamed={
                name: fn
                for name, fn in self.functions.functions.items()
                if name in self.functions.streamed
            },
            callbacks_dead_letters=self.notifications.callbacks_dlq,
        )

        cdk.CfnOutput(self, "ApiUrl", value=self.api.url)
        cdk.CfnOutput(
            self,
            "OpenAIBaseUrl",
            value=f"{self.api.url}v1",
            description="base_url for the OpenAI SDK (api_key = the API key's value)",
        )
        cdk.CfnOutput(self, "BucketName", value=self.storage.bucket.bucket_name)
        cdk.CfnOutput(self, "PublicBaseUrl", value=self.storage.public_base_url)
        cdk.CfnOutput(self, "UploadQueueUrl", value=self.uploads.queue.queue_url)
        cdk.CfnOutput(self, "DeadLetterQueueUrl", value=self.uploads.dlq.queue_url)
        cdk.CfnOutput(self, "SpeechJobQueueUrl", value=self.speech_jobs.queue.queue_url)
        cdk.CfnOutput(self, "AlarmTopicArn", value=self.monitoring.topic.topic_arn)
        cdk.CfnOutput(
            self,
            "TranscriptTopicArn",
            value=self.notifications.topic.topic_arn,
            description="SNS topic told when a transcript is done or failed (subscribe email "
            "or SQS)",
        )

    def _allocate_logical_id(self, cfn_element: cdk.CfnElement) -> str:
        owner = cfn_element.node.path
        if owner in self._logical_ids:
            return self._logical_ids[owner]
        path = owner.split("/")[len(self.node.path.split("/")) :]
        logical_id = make_unique_id([self._restore_unique_ids(c) for c in _flat(path)])
        self._logical_ids[owner] = logical_id
        if self._allocated.setdefault(logical_id, owner) != owner:
            raise ValueError(f"{owner} and {self._allocated[logical_id]} both map to {logical_id}")
        return logical_id

    def _restore_unique_ids(self, component: str) -> str:
        """`component` with any embedded unique ID of a construct under a flat construct
        replaced by the unique ID it had before the split."""
        prefix = self.node.path.split("/")
        if _alphanumeric(prefix[0]) not in component:
            return component
        for attempt in range(2):
            for new, old in self._unique_ids.items():
                if new in component:
                    return component.replace(new, old)
            if attempt == 0:  # constructs added since the last look
                self._unique_ids = {}
                for construct in self.node.find_all():
                    path = construct.node.path.split("/")[len(prefix) :]
                    if _flat(path) != path:
                        new = make_unique_id([*prefix, *path])
                        self._unique_ids[new] = make_unique_id([*prefix, *_flat(path)])
        return component


def _flat(path: list[str]) -> list[str]:
    return path[1:] if len(path) > 1 and path[0] in FLAT_CONSTRUCTS else path


def make_unique_id(components: list[str]) -> str:
    """CDK's logical ID algorithm (makeUniqueId in aws-cdk-lib core), for a path below the stack.
    The tests check it against CDK's own for every resource of the stack."""
    components = [c for c in components if c != "Default"]
    if len(components) == 1:
        candidate = _alphanumeric(components[0])
        if len(candidate) <= 255:
            return candidate
    digest = hashlib.md5("/".join(components).encode()).hexdigest().upper()[:8]
    deduped: list[str] = []
    for c in components:
        if not deduped or not deduped[-1].endswith(c):
            deduped.append(c)
    human = "".join(_alphanumeric(c) for c in deduped if c != "Resource")
    return human[:240] + digest


def _alphanumeric(s: str) -> str:
    return re.sub(r"[^A-Za-z0-9]", "", s)
