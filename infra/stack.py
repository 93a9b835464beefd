"""The Speech API stack: one bucket (public-read `public/` only), one container image for every
function, API Gateway in front, S3 -> SQS -> worker for uploads, optional GPU path for TTS."""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import (
    Duration,
    RemovalPolicy,
)
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as events
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_notifications as s3n
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.config import DeployConfig
from infra.gpu import EcsGpuTts, SageMakerGpuTts
from infra.nag import acknowledge, prefix_grant_finding

REPO_ROOT = Path(__file__).resolve().parents[1]
PUBLIC_PREFIX = "public/"
UPLOADS_PREFIX = "uploads/"
TRANSCRIPTS_PREFIX = "transcripts/"

# Request bodies API Gateway validates before a function runs.
TTS_SCHEMA = apigw.JsonSchema(
    schema=apigw.JsonSchemaVersion.DRAFT4,
    type=apigw.JsonSchemaType.OBJECT,
    required=["text"],
    properties={
        "text": apigw.JsonSchema(type=apigw.JsonSchemaType.STRING, min_length=1, max_length=4096),
        "voice": apigw.JsonSchema(type=apigw.JsonSchemaType.STRING, max_length=200),
        "format": apigw.JsonSchema(
            type=apigw.JsonSchemaType.STRING, enum=["mp3", "wav", "ogg", "flac"]
        ),
        "speed": apigw.JsonSchema(type=apigw.JsonSchemaType.NUMBER, minimum=0.25, maximum=4.0),
    },
)
UPLOAD_SCHEMA = apigw.JsonSchema(
    schema=apigw.JsonSchemaVersion.DRAFT4,
    type=apigw.JsonSchemaType.OBJECT,
    required=["filename", "content_type"],
    properties={
        "filename": apigw.JsonSchema(type=apigw.JsonSchemaType.STRING, max_length=255),
        "content_type": apigw.JsonSchema(type=apigw.JsonSchemaType.STRING, max_length=100),
        "language": apigw.JsonSchema(type=apigw.JsonSchemaType.STRING, max_length=16),
    },
)


def list_bucket(role: iam.IRole, bucket: s3.IBucket) -> None:
    """s3:ListBucket on the bucket, unconditioned. Without it S3 answers a missing key with 403
    instead of 404 (the TTS cache check, the worker's idempotency check and pending transcripts
    rely on 404), and a grant conditioned on s3:prefix does not apply to HEAD/GET requests.
    Listing reveals key names only; object reads stay limited to each role's prefixes."""
    role.add_to_principal_policy(
        iam.PolicyStatement(actions=["s3:ListBucket"], resources=[bucket.bucket_arn])
    )


class SpeechApiStack(cdk.Stack):
    def __init__(self, scope: Construct, construct_id: str, *, config: DeployConfig, **kwargs):
        super().__init__(scope, construct_id, **kwargs)
        self.config = config

        self.bucket = self._bucket()
        public_base_url = self._cdn() if config.cloudfront else None

        env = {
            "S3_BUCKET": self.bucket.bucket_name,
            "PUBLIC_PREFIX": PUBLIC_PREFIX,
            "UPLOADS_PREFIX": UPLOADS_PREFIX,
            "TRANSCRIPTS_PREFIX": TRANSCRIPTS_PREFIX,
            "POWERTOOLS_SERVICE_NAME": "speech-api",
            "POWERTOOLS_METRICS_NAMESPACE": "SpeechAPI",
            "LOG_LEVEL": "info",
        }
        if public_base_url:
            env["PUBLIC_BASE_URL"] = public_base_url

        # Sized separately: Whisper wants memory (= CPU) and a warm model; TTS likewise;
        # the light routes (health, uploads, transcripts) need little.
        self.stt_fn = self._function(
            "Stt",
            "handlers.api.handler",
            env,
            config.stt_memory_mb,
            Duration.seconds(29),
            config.stt_reserved_concurrency,
        )
        self.api_fn = self._function(
            "Api", "handlers.api.handler", env, config.api_memory_mb, Duration.seconds(10), 0
        )
        self.worker_fn = self._function(
            "Worker",
            "handlers.transcribe_upload.handler",
            env,
            config.worker_memory_mb,
            Duration.minutes(5),
            0,
        )

        # The GPU option: ECS serves POST /tts itself (through a VPC link); SageMaker sits behind
        # the TTS Lambda, which forwards synthesis to it.
        gpu_constructs = {"ecs": EcsGpuTts, "sagemaker": SageMakerGpuTts}
        self.gpu = None
        self.tts_fn = None
        if config.gpu_tts in gpu_constructs:
            self.gpu = gpu_constructs[config.gpu_tts](
                self,
                "GpuTts",
                config=config,
                bucket=self.bucket,
                env=env,
                public_prefix=PUBLIC_PREFIX,
            )
        if not isinstance(self.gpu, EcsGpuTts):
            tts_env = dict(env)
            if isinstance(self.gpu, SageMakerGpuTts):
                tts_env["TTS_SAGEMAKER_ENDPOINT"] = self.gpu.endpoint_name
            self.tts_fn = self._function(
                "Tts",
                "handlers.api.handler",
                tts_env,
                config.tts_memory_mb,
                Duration.seconds(29),
                config.tts_reserved_concurrency,
            )
            if isinstance(self.gpu, SageMakerGpuTts):
                self.gpu.grant_invoke(self.tts_fn)

        self._grant_least_privilege()
        self.queue, self.dlq = self._upload_queue()
        self.api = self._api()

        cdk.CfnOutput(self, "ApiUrl", value=self.api.url)
        cdk.CfnOutput(self, "BucketName", value=self.bucket.bucket_name)
        cdk.CfnOutput(
            self,
            "PublicBaseUrl",
            value=public_base_url or (f"https://{self.bucket.bucket_regional_domain_name}"),
        )
        cdk.CfnOutput(self, "UploadQueueUrl", value=self.queue.queue_url)
        cdk.CfnOutput(self, "DeadLetterQueueUrl", value=self.dlq.queue_url)

    # --- storage --------------------------------------------------------------------------

    def _bucket(self) -> s3.Bucket:
        logs_bucket = s3.Bucket(
            self,
            "AccessLogs",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(90))],
            removal_policy=RemovalPolicy.RETAIN,
        )
        acknowledge(
            logs_bucket,
            {
                "AwsSolutions-S1": "This is the access-log bucket; logging it into itself "
                "would loop.",
            },
        )
        rules = [
            s3.LifecycleRule(
                id="ExpireUploads",
                prefix=UPLOADS_PREFIX,
                expiration=Duration.days(self.config.uploads_expiration_days),
            )
        ]
        if self.config.tts_expiration_days:
            rules.append(
                s3.LifecycleRule(
                    id="ExpireSynthesizedAudio",
                    prefix=f"{PUBLIC_PREFIX}tts/",
                    expiration=Duration.days(self.config.tts_expiration_days),
                )
            )
        bucket = s3.Bucket(
            self,
            "Audio",
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            versioned=self.config.bucket_versioning,
            server_access_logs_bucket=logs_bucket,
            server_access_logs_prefix="audio-bucket/",
            # Public access comes from the bucket policy below (public/ only), never ACLs.
            block_public_access=s3.BlockPublicAccess(
                block_public_acls=True,
                ignore_public_acls=True,
                block_public_policy=False,
                restrict_public_buckets=False,
            ),
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            cors=[
                s3.CorsRule(
                    allowed_methods=[s3.HttpMethods.GET, s3.HttpMethods.HEAD],
                    allowed_origins=["*"],
                    allowed_headers=["*"],
                    max_age=3600,
                )
            ],
            lifecycle_rules=rules,
            removal_policy=RemovalPolicy.RETAIN,
        )
        bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="PublicReadForPublicPrefixOnly",
                principals=[iam.AnyPrincipal()],
                actions=["s3:GetObject"],
                resources=[bucket.arn_for_objects(f"{PUBLIC_PREFIX}*")],
            )
        )
        acknowledge(
            bucket,
            {
                "AwsSolutions-S2": "Synthesized audio under public/ is meant to be fetched by "
                "browsers from a plain URL; the policy grants s3:GetObject on "
                "public/* only, ACLs stay blocked, every other prefix is private.",
                "AwsSolutions-S5": "No CloudFront OAI: public/ is public by policy, and the CDN "
                "reads it like any anonymous client.",
            },
        )
        return bucket

    def _cdn(self) -> str:
        # The CDN reads the bucket anonymously, so the bucket policy stays the one place that
        # decides what is public: uploads/ and transcripts/ are 403 through it as well.
        distribution = cloudfront.Distribution(
            self,
            "PublicAudioCdn",
            default_behavior=cloudfront.BehaviorOptions(
                origin=origins.HttpOrigin(self.bucket.bucket_regional_domain_name),
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                allowed_methods=cloudfront.AllowedMethods.ALLOW_GET_HEAD,
                cache_policy=cloudfront.CachePolicy.CACHING_OPTIMIZED,
            ),
            minimum_protocol_version=cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021,
        )
        acknowledge(
            distribution,
            {
                "AwsSolutions-CFR1": "Audio is served worldwide; no geo restriction is wanted.",
                "AwsSolutions-CFR2": "Static public audio; WAF is left to the deployer's account "
                "policy.",
                "AwsSolutions-CFR3": "Access to the same objects is logged by S3 server access "
                "logs.",
                "AwsSolutions-CFR4": "The default *.cloudfront.net certificate is used; viewers "
                "are redirected to HTTPS.",
                "AwsSolutions-CFR5": "The origin is S3's HTTPS endpoint (HttpOrigin defaults to "
                "HTTPS only).",
                "AwsSolutions-CFR6": "No OAI by design: the origin objects are public by policy.",
                "AwsSolutions-CFR7": "No OAC by design: the origin objects are public by policy.",
            },
        )
        return f"https://{distribution.distribution_domain_name}"

    # --- compute --------------------------------------------------------------------------

    def _function(
        self,
        name: str,
        command: str,
        env: dict[str, str],
        memory_mb: int,
        timeout: Duration,
        reserved: int,
    ) -> lambda_.DockerImageFunction:
        code = lambda_.DockerImageCode.from_image_asset(
            str(REPO_ROOT),
            file="Dockerfile.lambda",
            build_args={
                "STT_MODEL": self.config.stt_model,
                "TTS_ENGINE": self.config.tts_engine,
                "COQUI_MODEL": self.config.coqui_model,
            },
            cmd=[command],
        )
        log_group = logs.LogGroup(
            self,
            f"{name}Logs",
            retention=logs.RetentionDays.ONE_MONTH,
            removal_policy=RemovalPolicy.DESTROY,
        )
        fn = lambda_.DockerImageFunction(
            self,
            f"{name}Function",
            code=code,
            memory_size=memory_mb,
            timeout=timeout,
            architecture=lambda_.Architecture.X86_64,
            environment=env,
            tracing=lambda_.Tracing.ACTIVE,
            log_group=log_group,
            reserved_concurrent_executions=reserved or None,
            ephemeral_storage_size=cdk.Size.mebibytes(1024),
            description=f"speech-api {name.lower()} ({command})",
        )
        acknowledge(
            fn,
            {
                "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                "AWSLambdaBasicExecutionRole]": "The AWS-managed basic execution role only "
                "allows writing this function's logs.",
                "AwsSolutions-IAM5[Resource::*]": "X-Ray's PutTraceSegments/PutTelemetryRecords "
                "support no resource-level permissions.",
            },
        )
        return fn

    def _grant_least_privilege(self) -> None:
        bucket = self.bucket

        def allow(fn, actions: list[str], prefix: str) -> None:
            fn.add_to_role_policy(
                iam.PolicyStatement(
                    actions=actions, resources=[bucket.arn_for_objects(f"{prefix}*")]
                )
            )
            acknowledge(
                fn,
                {
                    prefix_grant_finding(bucket, prefix): f"Objects are created at run time "
                    f"under {prefix}; the grant is limited to that prefix.",
                },
            )

        # STT needs no S3 at all (audio arrives in the request). TTS writes and reads back its
        # own audio; the light API presigns uploads and reads transcripts; the worker reads
        # uploads and writes transcripts.
        if self.tts_fn is not None and self.config.gpu_tts == "none":
            allow(self.tts_fn, ["s3:GetObject", "s3:PutObject"], f"{PUBLIC_PREFIX}tts/")
            list_bucket(self.tts_fn.role, bucket)
        allow(self.api_fn, ["s3:PutObject"], UPLOADS_PREFIX)
        allow(self.api_fn, ["s3:GetObject"], TRANSCRIPTS_PREFIX)
        list_bucket(self.api_fn.role, bucket)
        list_bucket(self.worker_fn.role, bucket)
        allow(self.worker_fn, ["s3:GetObject"], UPLOADS_PREFIX)
        allow(
            self.worker_fn, ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"], TRANSCRIPTS_PREFIX
        )

    def _upload_queue(self) -> tuple[sqs.Queue, sqs.Queue]:
        dlq = sqs.Queue(
            self,
            "UploadsDeadLetter",
            retention_period=Duration.days(14),
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
        )
        acknowledge(dlq, {"AwsSolutions-SQS3": "This is the dead-letter queue."})
        queue = sqs.Queue(
            self,
            "Uploads",
            # Above the worker's timeout (AWS recommends 6x) so a message is never handed to
            # a second worker while the first still runs.
            visibility_timeout=Duration.minutes(30),
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            dead_letter_queue=sqs.DeadLetterQueue(max_receive_count=3, queue=dlq),
        )
        self.bucket.add_event_notification(
            s3.EventType.OBJECT_CREATED,
            s3n.SqsDestination(queue),
            s3.NotificationKeyFilter(prefix=UPLOADS_PREFIX),
        )
        for child in self.node.children:  # the singleton custom resource CDK adds for this
            if child.node.id.startswith("BucketNotificationsHandler"):
                acknowledge(
                    child,
                    {
                        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/"
                        "service-role/AWSLambdaBasicExecutionRole]": "CDK's own notification "
                        "handler; the managed policy only allows writing its logs.",
                    },
                )
        self.worker_fn.add_event_source(
            events.SqsEventSource(
                queue,
                batch_size=self.config.worker_batch_size,
                max_batching_window=Duration.seconds(1),
                max_concurrency=max(2, self.config.worker_max_concurrency),
                report_batch_item_failures=True,
            )
        )
        return queue, dlq

    # --- API ------------------------------------------------------------------------------

    def _api(self) -> apigw.RestApi:
        config = self.config
        access_logs = logs.LogGroup(
            self,
            "ApiAccessLogs",
            retention=logs.RetentionDays.ONE_MONTH,
            removal_policy=RemovalPolicy.DESTROY,
        )
        api = apigw.RestApi(
            self,
            "Api",
            rest_api_name="speech-api",
            description="Speech API: text-to-speech to S3 URLs and speech-to-text.",
            binary_media_types=[
                "audio/*",
                "application/octet-stream",
                "multipart/form-data",
                "video/webm",
                "video/mp4",
            ],
            cloud_watch_role=True,
            deploy_options=apigw.StageOptions(
                stage_name="v1",
                access_log_destination=apigw.LogGroupLogDestination(access_logs),
                access_log_format=apigw.AccessLogFormat.json_with_standard_fields(
                    caller=False,
                    http_method=True,
                    ip=True,
                    protocol=True,
                    request_time=True,
                    resource_path=True,
                    response_length=True,
                    status=True,
                    user=False,
                ),
                logging_level=apigw.MethodLoggingLevel.ERROR,
                tracing_enabled=True,
                metrics_enabled=True,
                throttling_rate_limit=config.throttle_rate_limit,
                throttling_burst_limit=config.throttle_burst_limit,
            ),
            default_cors_preflight_options=apigw.CorsOptions(
                allow_origins=apigw.Cors.ALL_ORIGINS,
                allow_methods=["GET", "POST", "OPTIONS"],
                allow_headers=["Content-Type", "X-Api-Key", "Authorization"],
            ),
            endpoint_types=[apigw.EndpointType.REGIONAL],
        )
        body_validator = api.add_request_validator(
            "BodyValidator", validate_request_body=True, validate_request_parameters=True
        )
        params_validator = api.add_request_validator(
            "ParamsValidator", validate_request_body=False, validate_request_parameters=True
        )
        tts_model = api.add_model("TtsRequest", content_type="application/json", schema=TTS_SCHEMA)
        upload_model = api.add_model(
            "UploadRequest", content_type="application/json", schema=UPLOAD_SCHEMA
        )
        keyed = config.api_keys

        def integrate(fn):
            target = fn
            if config.provisioned_concurrency and fn in (self.stt_fn, self.tts_fn):
                target = fn.add_alias(
                    "live", provisioned_concurrent_executions=config.provisioned_concurrency
                )
            return apigw.LambdaIntegration(target)

        api.root.add_resource("health").add_method(
            "GET", integrate(self.api_fn), request_validator=params_validator
        )
        api.root.add_resource("stt").add_method(
            "POST",
            integrate(self.stt_fn),
            api_key_required=keyed,
            request_validator=params_validator,
            request_parameters={"method.request.querystring.language": False},
        )
        tts = api.root.add_resource("tts")
        if self.gpu is not None and config.gpu_tts == "ecs":
            tts.add_method(
                "POST",
                self.gpu.integration(),
                api_key_required=keyed,
                request_validator=body_validator,
                request_models={"application/json": tts_model},
            )
        else:
            tts.add_method(
                "POST",
                integrate(self.tts_fn),
                api_key_required=keyed,
                request_validator=body_validator,
                request_models={"application/json": tts_model},
            )
        api.root.add_resource("uploads").add_method(
            "POST",
            integrate(self.api_fn),
            api_key_required=keyed,
            request_validator=body_validator,
            request_models={"application/json": upload_model},
        )
        api.root.add_resource("transcripts").add_resource("{id+}").add_method(
            "GET",
            integrate(self.api_fn),
            api_key_required=keyed,
            request_validator=params_validator,
            request_parameters={"method.request.path.id": True},
        )

        if keyed:
            plan = api.add_usage_plan(
                "UsagePlan",
                name="speech-api",
                throttle=apigw.ThrottleSettings(
                    rate_limit=config.throttle_rate_limit, burst_limit=config.throttle_burst_limit
                ),
                quota=apigw.QuotaSettings(limit=100_000, period=apigw.Period.DAY),
            )
            plan.add_api_stage(stage=api.deployment_stage)
            key = api.add_api_key("DefaultKey", api_key_name="speech-api-default")
            plan.add_api_key(key)
            cdk.CfnOutput(self, "ApiKeyId", value=key.key_id)

        acknowledge(
            api,
            {
                "AwsSolutions-APIG2": "Bodies are validated by API Gateway models where JSON, and "
                "by the app (audio is decoded, not schema-checked).",
                "AwsSolutions-APIG3": "WAF is account policy; throttling and a usage plan bound "
                "abuse here.",
                "AwsSolutions-APIG4": "Callers authenticate with API keys and a usage plan "
                "(api_keys context flag); /health and CORS preflight are "
                "open by design.",
                "AwsSolutions-COG4": "No Cognito user pool: this is a service-to-service API "
                "keyed by API keys.",
                "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                "AmazonAPIGatewayPushToCloudWatchLogs]": "The account-level role API Gateway "
                "uses to write logs.",
            },
        )
        return api
