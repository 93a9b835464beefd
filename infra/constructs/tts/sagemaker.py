"""`gpu_tts=sagemaker`: Model + EndpointConfig + Endpoint (+ target-tracking autoscaling) run
Dockerfile.gpu; the TTS Lambda, from the light build, forwards synthesis to it with
sagemaker-runtime InvokeEndpoint."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import Duration
from aws_cdk import aws_applicationautoscaling as appscaling
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from infra.config import DeployConfig
from infra.constructs.functions import LIGHT_IMAGE_ENGINE, PRELOAD_MODELS, TtsFunction
from infra.constructs.tts.backend import (
    GPU_CONSTRUCT_ID,
    TtsBackend,
    gpu_env,
    gpu_image,
    grant_tts_cache,
)
from infra.nag import acknowledge

# SageMaker's AMI versions and their NVIDIA drivers (ProductionVariant InferenceAmiVersion).
# Dockerfile.gpu is CUDA 12.8, which needs driver >= 570.
SAGEMAKER_AMI_DRIVERS = {
    "al2-ami-sagemaker-inference-gpu-2": 535,
    "al2-ami-sagemaker-inference-gpu-2-1": 535,
    "al2-ami-sagemaker-inference-gpu-3-1": 550,
    "al2023-ami-sagemaker-inference-gpu-4-1": 580,
}
CUDA_12_8_MIN_DRIVER = 570


def build(
    scope: Construct, *, config: DeployConfig, bucket: s3.Bucket, env: dict[str, str]
) -> TtsBackend:
    endpoint = SageMakerEndpoint(scope, GPU_CONSTRUCT_ID, config=config, bucket=bucket, env=env)

    def grant(fn: lambda_.Function) -> None:
        fn.add_to_role_policy(
            iam.PolicyStatement(
                actions=["sagemaker:InvokeEndpoint"], resources=[endpoint.endpoint_arn]
            )
        )

    # It serves speech only (forwarded): /ready reports the endpoint, loads no local model.
    # It forwards synthesis: the light image, no torch nor a torch engine in it.
    return TtsBackend(
        function=TtsFunction(
            env={"TTS_SAGEMAKER_ENDPOINT": endpoint.endpoint_name, PRELOAD_MODELS: "tts"},
            image_engine=LIGHT_IMAGE_ENGINE,
            grant=grant,
        )
    )


class SageMakerEndpoint(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: DeployConfig,
        bucket: s3.Bucket,
        env: dict[str, str],
    ):
        super().__init__(scope, construct_id)
        driver = SAGEMAKER_AMI_DRIVERS.get(config.sagemaker_inference_ami)
        if driver is None or driver < CUDA_12_8_MIN_DRIVER:
            raise ValueError(
                f"sagemaker_inference_ami {config.sagemaker_inference_ami!r} does not run CUDA "
                f"12.8 (needs NVIDIA driver >= {CUDA_12_8_MIN_DRIVER}); choose one of "
                + ", ".join(a for a, d in SAGEMAKER_AMI_DRIVERS.items() if d >= 570)
            )
        image = gpu_image(self, config)
        role = iam.Role(
            self, "ExecutionRole", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com")
        )
        image.repository.grant_pull(role)
        grant_tts_cache(role, bucket, role)
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[
                    cdk.Stack.of(self).format_arn(
                        service="logs",
                        resource="log-group",
                        resource_name="/aws/sagemaker/Endpoints/*",
                        arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
                    )
                ],
            )
        )
        # SageMaker starts the container as root with `docker run IMAGE serve`.
        model = sagemaker.CfnModel(
            self,
            "Model",
            execution_role_arn=role.role_arn,
            primary_container=sagemaker.CfnModel.ContainerDefinitionProperty(
                image=image.image_uri, environment=gpu_env(env)
            ),
        )
        model.node.add_dependency(role)
        endpoint_config = sagemaker.CfnEndpointConfig(
            self,
            "EndpointConfig",
            production_variants=[
                sagemaker.CfnEndpointConfig.ProductionVariantProperty(
                    variant_name="AllTraffic",
                    model_name=model.attr_model_name,
                    initial_instance_count=1,
                    instance_type=config.sagemaker_instance_type,
                    initial_variant_weight=1.0,
                    # Without it ml.g5 hosts get SageMaker's default (older) NVIDIA driver.
                    inference_ami_version=config.sagemaker_inference_ami,
                )
            ],
        )
        endpoint = sagemaker.CfnEndpoint(
            self, "Endpoint", endpoint_config_name=endpoint_config.attr_endpoint_config_name
        )
        self.endpoint_name = endpoint.attr_endpoint_name
        self.endpoint_arn = cdk.Stack.of(self).format_arn(
            service="sagemaker", resource="endpoint", resource_name=self.endpoint_name
        )

        target = appscaling.ScalableTarget(
            self,
            "Scaling",
            service_namespace=appscaling.ServiceNamespace.SAGEMAKER,
            resource_id=f"endpoint/{self.endpoint_name}/variant/AllTraffic",
            scalable_dimension="sagemaker:variant:DesiredInstanceCount",
            min_capacity=1,
            max_capacity=config.gpu_max_instances,
        )
        target.node.add_dependency(endpoint)
        target.scale_to_track_metric(
            "InvocationsPerInstance",
            target_value=60,
            predefined_metric=appscaling.PredefinedMetric.SAGEMAKER_VARIANT_INVOCATIONS_PER_INSTANCE,
            scale_in_cooldown=Duration.minutes(5),
            scale_out_cooldown=Duration.minutes(1),
        )

        acknowledge(
            self,
            {
                "AwsSolutions-SM1": "The endpoint serves from the managed SageMaker network; it "
                "reaches only S3 and needs no VPC.",
                "AwsSolutions-SM2": "The endpoint keeps no data at rest beyond the model image; "
                "audio goes to the SSE-encrypted bucket.",
            },
        )
        acknowledge(
            role,
            {
                "AwsSolutions-IAM5[Resource::*]": "ECR GetAuthorizationToken has no "
                "resource-level permissions.",
                "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:"
                "<AWS::AccountId>:log-group:/aws/sagemaker/Endpoints/*]": "SageMaker names "
                "endpoint log groups at run time.",
            },
        )
