"""No GPU (`gpu_tts=none`): the TTS Lambda synthesizes on CPU, from the stack engine's build."""

from __future__ import annotations

from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.config import DeployConfig
from infra.constructs.functions import PRELOAD_MODELS, TtsFunction
from infra.constructs.tts.backend import TtsBackend, grant_tts_cache


def build(
    scope: Construct, *, config: DeployConfig, bucket: s3.Bucket, env: dict[str, str]
) -> TtsBackend:
    def grant(fn: lambda_.Function) -> None:
        grant_tts_cache(fn, bucket, fn)

    return TtsBackend(
        function=TtsFunction(
            env={PRELOAD_MODELS: "tts"}, image_engine=config.tts_engine, grant=grant
        )
    )
