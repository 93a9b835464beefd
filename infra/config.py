"""Deployment options, read from CDK context (cdk.json or `-c key=value`)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Literal, get_args, get_origin, get_type_hints

from constructs import Construct

GpuTts = Literal["none", "sagemaker", "ecs"]
TtsEngine = Literal["coqui", "piper"]
# bucket-policy: anonymous GetObject on public/* (needs account-level Block Public Access to
# allow public bucket policies). cloudfront: a private bucket behind CloudFront with OAC.
PublicAccess = Literal["bucket-policy", "cloudfront"]


@dataclass(frozen=True)
class DeployConfig:
    gpu_tts: GpuTts = "none"
    stt_model: str = "base"
    tts_engine: TtsEngine = "coqui"  # piper: a smaller image, no torch in it
    coqui_model: str = "tts_models/en/ljspeech/tacotron2-DDC"
    api_keys: bool = True
    public_access: PublicAccess = "bucket-policy"
    bucket_versioning: bool = False
    uploads_expiration_days: int = 7
    tts_expiration_days: int = 0  # 0: keep synthesized audio
    stt_memory_mb: int = 3008
    tts_memory_mb: int = 3008
    api_memory_mb: int = 512
    worker_memory_mb: int = 3008
    stt_reserved_concurrency: int = 0  # 0: unreserved
    tts_reserved_concurrency: int = 0
    provisioned_concurrency: int = 0  # for the STT and TTS functions
    worker_max_concurrency: int = 5
    worker_batch_size: int = 5
    throttle_rate_limit: int = 50
    throttle_burst_limit: int = 100
    gpu_instance_type: str = ""  # default per variant below
    gpu_max_instances: int = 2
    # NVIDIA driver 580 / CUDA 13.0: runs Dockerfile.gpu's CUDA 12.8 (needs driver >= 570).
    sagemaker_inference_ami: str = "al2023-ami-sagemaker-inference-gpu-4-1"
    alarm_email: str = ""  # subscribed to the alarm topic when set

    @property
    def sagemaker_instance_type(self) -> str:
        return self.gpu_instance_type or "ml.g5.xlarge"

    @property
    def ecs_instance_type(self) -> str:
        return self.gpu_instance_type or "g5.xlarge"

    @classmethod
    def from_context(cls, scope: Construct) -> DeployConfig:
        values = {}
        for f in fields(cls):
            raw = scope.node.try_get_context(f.name)
            if raw is None:
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
        config = cls(**values)
        # Every Literal-typed option is checked against its own type, so a choice is listed once.
        for name, hint in get_type_hints(cls).items():
            allowed = get_args(hint) if get_origin(hint) is Literal else ()
            if allowed and getattr(config, name) not in allowed:
                choices = f"{', '.join(allowed[:-1])} or {allowed[-1]}"
                raise ValueError(f"{name} must be {choices}, not {getattr(config, name)!r}")
        return config
