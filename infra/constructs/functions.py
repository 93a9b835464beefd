"""The Lambda functions that run the app, a function per job with its own command, size and S3
grants: container images built from Dockerfile.lambda for the functions that load a model, a
zip function on Lambda's Python runtime with the layer from layers/ for the one that does not.

Api (the light routes) is a zip function: the app's code and the `light` layer (infra/constructs/
packages.py), no model library, so it starts in well under a second.
Two builds of the Dockerfile at most: the light one (TTS_ENGINE set to the registry's engine
without torch) serves Stt and Worker, which never load a TTS model, and Tts when the stack's
engine needs no torch or it forwards to a GPU endpoint; the Tts function of a stack whose engine
needs torch alone gets the build with torch and that engine.
Every image asset is built for the functions' architecture (a build on an ARM laptop would
otherwise produce an image that cannot start on x86_64 Lambda).

Stt serves transcription routes, Api the light routes (health, uploads, transcripts, docs,
models, the playground), Worker turns uploads/ into transcripts/, and Tts (when the TTS backend
asks for one, see tts/) synthesizes speech or forwards it. Whisper and TTS want memory (= CPU)
and a warm model; the light routes need little.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.config import DeployConfig
from infra.constructs.grants import grant_list_bucket, grant_objects
from infra.constructs.packages import ZIP_RUNTIME, LightLayer, function_code
from infra.constructs.storage import Storage
from infra.layout import (
    API_COMMAND,
    CALLBACKS_COMMAND,
    IMAGE_STT_MODEL,
    PUBLIC_PREFIX,
    REPO_ROOT,
    STREAM_COMMAND,
    STREAM_ENTRYPOINT,
    TRANSCRIPTS_PREFIX,
    UPLOADS_PREFIX,
    WORKER_COMMAND,
)
from infra.nag import acknowledge
from speech_api.engines import registry
from speech_api.service.upload_limits import long_audio_limit_s

# Which models a function loads during init when Lambda initializes it for provisioned
# concurrency (AWS_LAMBDA_INITIALIZATION_TYPE=provisioned-concurrency): the same image serves
# every function, so the app cannot tell from the code which engine this one needs.
PRELOAD_MODELS = "PRELOAD_MODELS"
# The functions' architecture, and the platform their images are built for (the same one).
ARCHITECTURE = lambda_.Architecture.X86_64
IMAGE_PLATFORM = {
    lambda_.Architecture.X86_64.name: ecr_assets.Platform.LINUX_AMD64,
    lambda_.Architecture.ARM_64.name: ecr_assets.Platform.LINUX_ARM64,
}[ARCHITECTURE.name]
# The build without torch: what every function runs but the Tts of a stack whose engine needs
# torch.
LIGHT_IMAGE_ENGINE = registry.light_image_engine().name


def image_build_args(config: DeployConfig, engine: str = LIGHT_IMAGE_ENGINE) -> dict[str, str]:
    """Dockerfile.lambda's build arguments for the image carrying ``engine`` (the light one by
    default): the same arguments make the same image asset, built and pushed once."""
    return {"STT_MODEL": config.stt_model, "TTS_ENGINE": engine, **config.image_args}


# How long streamed speech may take, for the Tts function and the STREAM integrations in front
# of it (API Gateway allows up to 15 minutes when streaming, instead of 29 s:
# https://docs.aws.amazon.com/apigateway/latest/developerguide/response-transfer-mode.html).
# 4,096 characters at the slowest speed took 63 s here with the light engine; the registered
# engines' cost figures put the slowest at about 110 s: 300 s covers them with a cold start.
STREAMED_TIMEOUT_S = 300
# Transcription (clips up to MAX_AUDIO_SECONDS, 60 s: a few seconds of work even cold) streams
# too, so `stream=true` deltas arrive as segments decode; its limit stays API Gateway's old one.
STT_TIMEOUT_S = 29
# The Callbacks function: one attempt per message (CALLBACK_TIMEOUT_S, 5 s, for the exchange,
# and the address check's resolving), for a batch of up to 10 delivered at once.
CALLBACKS_TIMEOUT_S = 30
# What Dockerfile.lambda's ENV gives the image functions that the zip function needs too:
# the Stt function's model name (listed by /v1/models, never loaded here), S3 from the
# environment, not embedded, and a writable HOME and cache under /tmp.
ZIP_ENV = {
    "STT_MODEL": IMAGE_STT_MODEL,
    "EMBEDDED_S3": "false",
    "HOME": "/tmp",
    "MODEL_CACHE_DIR": "/tmp/speech-api",
}


def function_env(config: DeployConfig, storage: Storage) -> dict[str, str]:
    """The environment every function gets (and the GPU containers, which run the same app)."""
    env = {
        "S3_BUCKET": storage.bucket.bucket_name,
        "PUBLIC_PREFIX": PUBLIC_PREFIX,
        "UPLOADS_PREFIX": UPLOADS_PREFIX,
        "TRANSCRIPTS_PREFIX": TRANSCRIPTS_PREFIX,
        "POWERTOOLS_SERVICE_NAME": "speech-api",
        "POWERTOOLS_METRICS_NAMESPACE": "SpeechAPI",
        "LOG_LEVEL": "info",
        # The stack's engine, whichever image a function runs (/v1/models lists its models).
        "TTS_ENGINE": config.tts_engine,
        # Callback URLs (POST /uploads) may not reach the function's own loopback (the
        # Lambda runtime API listens there): https to public addresses only.
        "CALLBACK_ALLOW_LOOPBACK": "false",
    }
    if storage.via_cloudfront:
        # Otherwise the app builds the bucket's own URL, the same as public_base_url.
        env["PUBLIC_BASE_URL"] = storage.public_base_url
    return env


@dataclass(frozen=True)
class TtsFunction:
    """The Tts function a TTS backend asks for: its own environment, the build it runs (the
    stack's engine where it synthesizes, the light build where it forwards) and its grants."""

    env: dict[str, str]
    image_engine: str  # a registered TTS engine's name: the build it runs
    grant: Callable[[lambda_.Function], None]


class Functions(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: DeployConfig,
        storage: Storage,
        tts: TtsFunction | None,
    ):
        super().__init__(scope, construct_id)
        self.config = config
        self.storage = storage
        self.bucket = storage.bucket
        self.env = function_env(config, storage)
        self.functions: dict[str, lambda_.Function] = {}
        # Functions behind STREAM integrations (their errors after the first byte are counted
        # as StreamErrors, not as Lambda errors: see Monitoring).
        self.streamed: set[str] = set()
        self._targets: dict[str, lambda_.IFunction] = {}
        self.light_layer = LightLayer(self, "LightLayer", architecture=ARCHITECTURE).layer

        # Behind STREAM integrations (see api.py): the streaming runtime and handler.
        self.stt = self.add(
            "Stt",
            command=STREAM_COMMAND,
            entrypoint=STREAM_ENTRYPOINT,
            memory_mb=config.stt_memory_mb,
            timeout=Duration.seconds(STT_TIMEOUT_S),
            reserved=config.stt_reserved_concurrency,
            provisioned=True,
            env={PRELOAD_MODELS: "stt"},
        )
        # The light routes load no model: /ready there checks none (it would not fit in 512 MB).
        self.api = self.add(
            "Api",
            memory_mb=config.api_memory_mb,
            timeout=Duration.seconds(10),
            env={**ZIP_ENV, PRELOAD_MODELS: "none"},
            zip_package=True,
        )
        # Long recordings: the worker refuses up front what its timeout cannot finish.
        self.worker = self.add(
            "Worker",
            command=WORKER_COMMAND,
            memory_mb=config.worker_memory_mb,
            timeout=Duration.seconds(config.worker_timeout_s),
            ephemeral_mb=config.worker_storage_mb,
            env={"LONG_AUDIO_MAX_SECONDS": str(long_audio_limit_s(config.worker_timeout_s))},
        )
        # STT needs no S3 at all (audio arrives in the request). The light API presigns
        # uploads, reads transcripts and lists uploads/<id>. (pending); the worker reads
        # uploads and writes transcripts. Every role that asks "does this key exist" needs
        # ListBucket to get 404 rather than 403 for a missing key.
        grant_objects(self.api, self.bucket, ["s3:PutObject"], UPLOADS_PREFIX, nag_scope=self.api)
        grant_objects(
            self.api, self.bucket, ["s3:GetObject"], TRANSCRIPTS_PREFIX, nag_scope=self.api
        )
        grant_list_bucket(self.api, self.bucket)
        grant_objects(
            self.worker, self.bucket, ["s3:GetObject"], UPLOADS_PREFIX, nag_scope=self.worker
        )
        grant_objects(
            self.worker,
            self.bucket,
            ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
            TRANSCRIPTS_PREFIX,
            nag_scope=self.worker,
        )
        grant_list_bucket(self.worker, self.bucket)

        # Delivers the callbacks the worker hands over (service/callback_delivery.py): apart from
        # the worker, so that a receiver that never answers costs no upload anything.
        self.callbacks = self.add(
            "Callbacks",
            command=CALLBACKS_COMMAND,
            memory_mb=256,
            timeout=Duration.seconds(CALLBACKS_TIMEOUT_S),
            env={**ZIP_ENV, PRELOAD_MODELS: "none"},
            zip_package=True,
        )

        self.tts: lambda_.Function | None = None
        if tts is not None:
            # Behind STREAM integrations (see api.py): the streaming runtime, no 29 s limit.
            self.tts = self.add(
                "Tts",
                command=STREAM_COMMAND,
                entrypoint=STREAM_ENTRYPOINT,
                memory_mb=config.tts_memory_mb,
                timeout=Duration.seconds(STREAMED_TIMEOUT_S),
                reserved=config.tts_reserved_concurrency,
                provisioned=True,
                env=tts.env,
                image_engine=tts.image_engine,
            )
            tts.grant(self.tts)

    def add(
        self,
        name: str,
        *,
        command: str = API_COMMAND,
        entrypoint: list[str] | None = None,
        memory_mb: int,
        timeout: Duration,
        reserved: int = 0,
        provisioned: bool = False,
        env: dict[str, str] | None = None,
        ephemeral_mb: int = 1024,
        image_engine: str = LIGHT_IMAGE_ENGINE,
        zip_package: bool = False,
    ) -> lambda_.Function:
        """A function from the image (`command` its handler) or, with `zip_package`, a zip
        function on ZIP_RUNTIME with the light layer (`command` its handler)."""
        config = self.config
        log_group = logs.LogGroup(
            self,
            f"{name}Logs",
            retention=logs.RetentionDays.ONE_MONTH,
            removal_policy=RemovalPolicy.DESTROY,
        )
        common = {
            "memory_size": memory_mb,
            "timeout": timeout,
            "architecture": ARCHITECTURE,
            "environment": {**self.env, **(env or {})},
            "tracing": lambda_.Tracing.ACTIVE,
            "log_group": log_group,
            "reserved_concurrent_executions": reserved or None,
            "ephemeral_storage_size": cdk.Size.mebibytes(ephemeral_mb),
            "description": f"speech-api {name.lower()} ({command})",
        }
        if zip_package:
            assert entrypoint is None, "a zip function runs its runtime's own bootstrap"
            fn = lambda_.Function(
                self,
                f"{name}Function",
                runtime=ZIP_RUNTIME,
                handler=command,
                code=function_code(),
                layers=[self.light_layer],
                **common,
            )
        else:
            code = lambda_.DockerImageCode.from_image_asset(
                str(REPO_ROOT),
                file="Dockerfile.lambda",
                build_args=image_build_args(config, image_engine),
                cmd=[command],
                entrypoint=entrypoint,  # None: the image's (awslambdaric)
                platform=IMAGE_PLATFORM,
            )
            fn = lambda_.DockerImageFunction(self, f"{name}Function", code=code, **common)
        acknowledge(
            fn,
            {
                "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                "AWSLambdaBasicExecutionRole]": "The AWS-managed basic execution role only "
                "allows writing this function's logs.",
                "AwsSolutions-IAM5[Resource::*]": "X-Ray's PutTraceSegments/PutTelemetryRecords "
                "support no resource-level permissions.",
                **(
                    {
                        "AwsSolutions-L1": "Python 3.11, the version the app, its tests and "
                        "requirements.lock are built for (and its layer, layers/build.py)."
                    }
                    if zip_package
                    else {}
                ),
            },
        )
        self.functions[name] = fn
        self._targets[name] = fn
        if entrypoint == STREAM_ENTRYPOINT:
            self.streamed.add(name)
        if provisioned and config.provisioned_concurrency:
            # API Gateway invokes the alias, whose instances Lambda initializes ahead of time
            # (and whose init therefore may load models: see PRELOAD_MODELS).
            self._targets[name] = fn.add_alias(
                "live", provisioned_concurrent_executions=config.provisioned_concurrency
            )
        return fn

    def target(self, fn: lambda_.Function) -> lambda_.IFunction:
        """What API Gateway should invoke for `fn`: its provisioned alias, if any."""
        return next(self._targets[name] for name, f in self.functions.items() if f is fn)
