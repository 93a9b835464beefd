"""Deployment options, read from CDK context (cdk.json or `-c key=value`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Literal, get_args, get_origin, get_type_hints

from constructs import Construct

from speech_api.config import Settings
from speech_api.engines import registry
from speech_api.service.upload_limits import long_audio_limit_s, min_worker_timeout_s

# Lambda's limits: a function runs at most 900 s, and /tmp holds 512 to 10,240 MB
# (https://docs.aws.amazon.com/lambda/latest/dg/configuration-timeout.html,
# https://docs.aws.amazon.com/lambda/latest/dg/API_EphemeralStorage.html).
LAMBDA_MAX_TIMEOUT_S = 900
LAMBDA_MAX_EPHEMERAL_MB = 10_240
# The worker decodes a recording to 16 kHz mono int16 PCM in /tmp: 32,000 bytes per second.
PCM_BYTES_PER_S = 16_000 * 2
# Room in /tmp for the model cache (HOME=/tmp), beside the download and the decoded PCM.
MODEL_CACHE_MB = 512
MIB = 1024 * 1024


def worker_ephemeral_mb(timeout_s: int) -> int:
    """/tmp the worker needs: the largest upload it accepts (MAX_LONG_UPLOAD_BYTES, the app's
    default), the PCM of the longest recording its timeout allows, and the model cache;
    rounded up to 512 MB, within Lambda's limits."""
    source = Settings.model_fields["max_long_upload_bytes"].default
    pcm = PCM_BYTES_PER_S * long_audio_limit_s(timeout_s)
    needed = (source + pcm) / MIB + MODEL_CACHE_MB
    return min(LAMBDA_MAX_EPHEMERAL_MB, max(512, -(-int(needed) // 512) * 512))


GpuTts = Literal["none", "sagemaker", "ecs"]
# The registered TTS engines (engines/registry.py).
TtsEngine = Literal[tuple(sorted(registry.tts_names()))]  # type: ignore[valid-type]


def default_image_args() -> dict[str, str]:
    """Every engine's image build arguments (its spec's image_args) at their defaults."""
    return {arg: value for spec in registry.all_engines() for arg, value in spec.image_args.items()}


# bucket-policy: anonymous GetObject on public/* (needs account-level Block Public Access to
# allow public bucket policies). cloudfront: a private bucket behind CloudFront with OAC.
PublicAccess = Literal["bucket-policy", "cloudfront"]


@dataclass(frozen=True)
class DeployConfig:
    gpu_tts: GpuTts = "none"
    stt_model: str = "base"
    # cdk.json sets the engine deployments use; an engine that needs torch gets its own image.
    tts_engine: TtsEngine = registry.DEFAULT_TTS_ENGINE
    # The engines' image build arguments (their specs' image_args), each read from the context
    # key of the same name in lower case (e.g. the TTS model an image bakes in).
    image_args: Mapping[str, str] = field(default_factory=default_image_args)
    api_keys: bool = True
    public_access: PublicAccess = "bucket-policy"
    bucket_versioning: bool = False
    uploads_expiration_days: int = 7
    tts_expiration_days: int = 0  # 0: keep synthesized audio
    stt_memory_mb: int = 3008
    tts_memory_mb: int = 3008
    api_memory_mb: int = 512
    # Lambda gives a function CPU in proportion to memory, one vCPU per 1,769 MB
    # (https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html); LONG_AUDIO_RTF
    # was measured on 2 cores, so the worker needs >= 3,538 MB to run at it. 4096 (~2.3 vCPUs)
    # leaves headroom for the decoder running beside Whisper.
    worker_memory_mb: int = 4096
    # Lambda's maximum: the longest recording accepted is long_audio_limit_s(this).
    worker_timeout_s: int = LAMBDA_MAX_TIMEOUT_S
    worker_ephemeral_mb: int = 0  # 0: derived from worker_timeout_s (worker_ephemeral_mb())
    stt_reserved_concurrency: int = 0  # 0: unreserved
    # A stream holds a Tts environment for up to 300 s: unreserved, a burst of them could take
    # the account's whole concurrency and throttle every other function. `make preflight`
    # checks that the account can reserve it (new accounts may have 10 in all; then 0).
    tts_reserved_concurrency: int = 10
    provisioned_concurrency: int = 0  # for the STT and TTS functions
    worker_max_concurrency: int = 5
    # One recording per invocation: a batch of long files would share one timeout.
    worker_batch_size: int = 1
    # Speech jobs: the Narrator function synthesizes one part (or plans, or assembles a job)
    # per invocation; a job's parts run on up to this many invocations at once (SQS fan-out).
    narrator_memory_mb: int = 3008
    narrator_max_concurrency: int = 10
    throttle_rate_limit: int = 50
    throttle_burst_limit: int = 100
    gpu_instance_type: str = ""  # default per variant below
    gpu_max_instances: int = 2
    # NVIDIA driver 580 / CUDA 13.0: runs Dockerfile.gpu's CUDA 12.8 (needs driver >= 570).
    sagemaker_inference_ami: str = "al2023-ami-sagemaker-inference-gpu-4-1"
    alarm_email: str = ""  # subscribed to the alarm topic when set
    # Live transcription (/v1/realtime, WebSocket) as an ECS Fargate service behind an ALB and
    # CloudFront: wss:// on the CloudFront domain (infra/constructs/realtime.py). Off by default.
    realtime: bool = False
    realtime_cpu: int = 2048  # Fargate CPU units: 2 vCPU, what `make bench` measures on
    realtime_memory_mb: int = 4096
    realtime_sessions_per_task: int = 4  # REALTIME_MAX_SESSIONS of each task
    realtime_max_tasks: int = 4

    @property
    def worker_storage_mb(self) -> int:
        return self.worker_ephemeral_mb or worker_ephemeral_mb(self.worker_timeout_s)

    @property
    def sagemaker_instance_type(self) -> str:
        return self.gpu_instance_type or "ml.g5.xlarge"

    @property
    def ecs_instance_type(self) -> str:
        return self.gpu_instance_type or "g5.xlarge"

    @classmethod
    def from_context(cls, scope: Construct) -> DeployConfig:
        values: dict = {}
        image_args = default_image_args()
        for arg in image_args:
            raw = scope.node.try_get_context(arg.lower())
            if raw is not None:
                image_args[arg] = str(raw)
        for f in fields(cls):
            raw = scope.node.try_get_context(f.name)
            if raw is None or f.name == "image_args":
                continue
            default = f.default
            if isinstance(default, bool):
                values[f.name] = raw if isinstance(raw, bool) else str(raw).lower() == "true"
            elif isinstance(default, int):
                values[f.name] = int(raw)
            else:
                values[f.name] = str(raw)
        # `-c cloudfront=true`, the older spelling of public_access=cloudfront.
        legacy_cloudfront = str(scope.node.try_get_context("cloudfront")).lower() == "true"
        if legacy_cloudfront and values.setdefault("public_access", "cloudfront") != "cloudfront":
            raise ValueError("cloudfront=true contradicts public_access; set one of them")
        config = cls(**values, image_args=image_args)
        if not 1 <= config.worker_timeout_s <= LAMBDA_MAX_TIMEOUT_S:
            raise ValueError(
                f"worker_timeout_s must be 1 to {LAMBDA_MAX_TIMEOUT_S} (Lambda's maximum), "
                f"not {config.worker_timeout_s}"
            )
        if config.worker_timeout_s < min_worker_timeout_s():
            # Deployed, every upload would be refused (or never finish): say so now.
            raise ValueError(
                f"worker_timeout_s={config.worker_timeout_s} leaves the upload worker no time "
                f"to transcribe: it accepts recordings up to "
                f"{long_audio_limit_s(config.worker_timeout_s)} s (60 s go to cold start, "
                "download and decoding, the rest at LONG_AUDIO_RTF); at least "
                f"{min_worker_timeout_s()} s takes a minute of audio"
            )
        # Every Literal-typed option is checked against its own type, so a choice is listed once.
        for name, hint in get_type_hints(cls).items():
            allowed = get_args(hint) if get_origin(hint) is Literal else ()
            if allowed and getattr(config, name) not in allowed:
                choices = f"{', '.join(allowed[:-1])} or {allowed[-1]}"
                raise ValueError(f"{name} must be {choices}, not {getattr(config, name)!r}")
        return config
