"""What every TTS backend returns to the stack, and what the GPU backends share."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.config import DeployConfig
from infra.constructs.functions import TtsFunction
from infra.constructs.grants import grant_list_bucket, grant_objects
from infra.layout import REPO_ROOT, TTS_PREFIX
from speech_api.engines import registry

# The GPU backends' construct: their resources' logical IDs start with it (GpuTtsEndpoint...,
# GpuTtsCluster...), and a changed logical ID makes CloudFormation replace the resource.
GPU_CONSTRUCT_ID = "GpuTts"


@dataclass(frozen=True)
class TtsBackend:
    """What the stack wires for speech: the TTS Lambda function the functions include (None
    when the speech routes bypass Lambda) and the integration that bypasses it."""

    function: TtsFunction | None
    speech_integration: Callable[[str, str], apigw.Integration] | None = None


class BuildTts(Protocol):
    def __call__(
        self, scope: Construct, *, config: DeployConfig, bucket: s3.Bucket, env: dict[str, str]
    ) -> TtsBackend: ...


def grant_tts_cache(grantee: iam.IGrantable, bucket: s3.IBucket, nag_scope: Construct) -> None:
    """Read back (HEAD, relying on 404 for a miss) and write public/tts/."""
    grant_objects(
        grantee, bucket, ["s3:GetObject", "s3:PutObject"], TTS_PREFIX, nag_scope=nag_scope
    )
    grant_list_bucket(grantee, bucket)


def gpu_env(env: dict[str, str]) -> dict[str, str]:
    # The container writes synthesized audio itself; it never forwards to another endpoint.
    # Neither SageMaker nor ECS on EC2 promise AWS_REGION the way Lambda does.
    return {**env, "AWS_REGION": cdk.Aws.REGION, **registry.gpu_environment()}


def gpu_image(scope: Construct, config: DeployConfig) -> ecr_assets.DockerImageAsset:
    return ecr_assets.DockerImageAsset(
        scope,
        "GpuImage",
        directory=str(REPO_ROOT),
        file="Dockerfile.gpu",
        build_args={
            "TTS_ENGINE": config.tts_engine,
            **config.image_args,
            "STT_MODEL": config.stt_model,
        },
        platform=ecr_assets.Platform.LINUX_AMD64,
    )
