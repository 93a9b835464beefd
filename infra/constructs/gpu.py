"""Where speech synthesis runs (context `gpu_tts`), behind one small interface so the rest of
the stack never asks which one it is:

- `none` (LambdaTts): the TTS Lambda synthesizes and writes public/tts/ itself.
- `sagemaker` (SageMakerGpuTts): the same app in a CUDA image (Dockerfile.gpu) on a SageMaker
  real-time endpoint; the TTS Lambda forwards synthesis to it (InvokeEndpoint).
- `ecs` (EcsGpuTts): that image as an ECS service on GPU EC2 capacity behind an internal NLB;
  API Gateway sends the speech routes to it through a VPC link, with no TTS Lambda.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import Duration
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_applicationautoscaling as appscaling
from aws_cdk import aws_autoscaling as autoscaling
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from infra.config import DeployConfig
from infra.constructs.functions import LIGHT_IMAGE_ENGINE, PRELOAD_MODELS, ImageFunctions
from infra.constructs.grants import grant_list_bucket, grant_objects
from infra.layout import REPO_ROOT, TTS_PREFIX
from infra.nag import acknowledge

CONTAINER_PORT = 8080
# Dockerfile.gpu creates this user; ECS runs the container as it, SageMaker as root.
GPU_IMAGE_UID = "10001"
# SageMaker's AMI versions and their NVIDIA drivers (ProductionVariant InferenceAmiVersion).
# Dockerfile.gpu is CUDA 12.8, which needs driver >= 570.
SAGEMAKER_AMI_DRIVERS = {
    "al2-ami-sagemaker-inference-gpu-2": 535,
    "al2-ami-sagemaker-inference-gpu-2-1": 535,
    "al2-ami-sagemaker-inference-gpu-3-1": 550,
    "al2023-ami-sagemaker-inference-gpu-4-1": 580,
}
CUDA_12_8_MIN_DRIVER = 570


class TtsBackend(Construct):
    """What the stack needs from wherever speech is synthesized."""

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
        self.config, self.bucket, self.env = config, bucket, env

    def tts_function(self, functions: ImageFunctions) -> lambda_.Function | None:
        """The Lambda function the speech routes invoke, or None when they bypass Lambda."""
        raise NotImplementedError

    def speech_integration(self, method: str, path: str) -> apigw.Integration | None:
        """An integration for the speech route `method path` that bypasses Lambda, else None."""
        return None

    def gpu_env(self) -> dict[str, str]:
        # The container writes synthesized audio itself; it never forwards to another endpoint.
        # Neither SageMaker nor ECS on EC2 promise AWS_REGION the way Lambda does.
        return {
            **self.env,
            "AWS_REGION": cdk.Aws.REGION,
            "TTS_COQUI_DEVICE": "cuda",
            "STT_DEVICE": "cuda",
        }

    def gpu_image(self) -> ecr_assets.DockerImageAsset:
        return ecr_assets.DockerImageAsset(
            self,
            "GpuImage",
            directory=str(REPO_ROOT),
            file="Dockerfile.gpu",
            build_args={
                "TTS_ENGINE": self.config.tts_engine,
                "COQUI_MODEL": self.config.coqui_model,
                "STT_MODEL": self.config.stt_model,
            },
            platform=ecr_assets.Platform.LINUX_AMD64,
        )

    def grant_tts_cache(self, grantee: iam.IGrantable, nag_scope: Construct) -> None:
        """Read back (HEAD, relying on 404 for a miss) and write public/tts/."""
        grant_objects(
            grantee, self.bucket, ["s3:GetObject", "s3:PutObject"], TTS_PREFIX, nag_scope=nag_scope
        )
        grant_list_bucket(grantee, self.bucket)


class LambdaTts(TtsBackend):
    """No GPU: the TTS Lambda synthesizes on CPU."""

    def tts_function(self, functions: ImageFunctions) -> lambda_.Function:
        fn = functions.add_tts({PRELOAD_MODELS: "tts"}, image_engine=self.config.tts_engine)
        self.grant_tts_cache(fn, fn)
        return fn


class SageMakerGpuTts(TtsBackend):
    """Model + EndpointConfig + Endpoint (+ target-tracking autoscaling). The TTS Lambda
    forwards synthesis to it with sagemaker-runtime InvokeEndpoint."""

    def __init__(self, scope: Construct, construct_id: str, **kwargs):
        super().__init__(scope, construct_id, **kwargs)
        config = self.config
        driver = SAGEMAKER_AMI_DRIVERS.get(config.sagemaker_inference_ami)
        if driver is None or driver < CUDA_12_8_MIN_DRIVER:
            raise ValueError(
                f"sagemaker_inference_ami {config.sagemaker_inference_ami!r} does not run CUDA "
                f"12.8 (needs NVIDIA driver >= {CUDA_12_8_MIN_DRIVER}); choose one of "
                + ", ".join(a for a, d in SAGEMAKER_AMI_DRIVERS.items() if d >= 570)
            )
        image = self.gpu_image()
        role = iam.Role(
            self, "ExecutionRole", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com")
        )
        image.repository.grant_pull(role)
        self.grant_tts_cache(role, role)
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
                image=image.image_uri, environment=self.gpu_env()
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

    def tts_function(self, functions: ImageFunctions) -> lambda_.Function:
        # It serves speech only (forwarded): /ready reports the endpoint, loads no local model.
        # It forwards synthesis: the light image, no torch or Coqui in it.
        fn = functions.add_tts(
            {"TTS_SAGEMAKER_ENDPOINT": self.endpoint_name, PRELOAD_MODELS: "tts"},
            image_engine=LIGHT_IMAGE_ENGINE,
        )
        fn.add_to_role_policy(
            iam.PolicyStatement(actions=["sagemaker:InvokeEndpoint"], resources=[self.endpoint_arn])
        )
        return fn


class EcsGpuTts(TtsBackend):
    """An ECS service on GPU EC2 instances (ECS-optimized Amazon Linux 2023 GPU AMI) behind an
    internal Network Load Balancer, which API Gateway reaches through a VPC link for the speech
    routes. Tasks scale on CPU between 1 and gpu_max_instances; the capacity provider's managed
    scaling adds and removes GPU instances to fit them (one GPU per task)."""

    def __init__(self, scope: Construct, construct_id: str, **kwargs):
        super().__init__(scope, construct_id, **kwargs)
        config = self.config
        vpc = ec2.Vpc(
            self, "Vpc", max_azs=2, nat_gateways=1, flow_logs={"All": ec2.FlowLogOptions()}
        )
        cluster = ecs.Cluster(
            self, "Cluster", vpc=vpc, container_insights_v2=ecs.ContainerInsights.ENABLED
        )
        group = autoscaling.AutoScalingGroup(
            self,
            "GpuInstances",
            vpc=vpc,
            instance_type=ec2.InstanceType(config.ecs_instance_type),
            machine_image=ecs.EcsOptimizedImage.amazon_linux2023(ecs.AmiHardwareType.GPU),
            min_capacity=1,
            max_capacity=config.gpu_max_instances,
            require_imdsv2=True,
            block_devices=[
                autoscaling.BlockDevice(
                    device_name="/dev/xvda",
                    volume=autoscaling.BlockDeviceVolume.ebs(100, encrypted=True),
                )
            ],
        )
        capacity = ecs.AsgCapacityProvider(self, "Capacity", auto_scaling_group=group)
        cluster.add_asg_capacity_provider(capacity)

        task = ecs.Ec2TaskDefinition(self, "Task", network_mode=ecs.NetworkMode.AWS_VPC)
        task.add_container(
            "api",
            image=ecs.ContainerImage.from_docker_image_asset(self.gpu_image()),
            memory_reservation_mib=8192,
            gpu_count=1,
            user=GPU_IMAGE_UID,
            environment=self.gpu_env(),
            port_mappings=[ecs.PortMapping(container_port=CONTAINER_PORT)],
            logging=ecs.LogDrivers.aws_logs(
                stream_prefix="speech-api",
                log_group=logs.LogGroup(
                    self,
                    "Logs",
                    retention=logs.RetentionDays.ONE_MONTH,
                    removal_policy=cdk.RemovalPolicy.DESTROY,
                ),
            ),
        )
        self.grant_tts_cache(task.task_role, task)
        service = ecs.Ec2Service(
            self,
            "Service",
            cluster=cluster,
            task_definition=task,
            desired_count=1,
            min_healthy_percent=0,
            circuit_breaker=ecs.DeploymentCircuitBreaker(rollback=True),
            # Tasks placed through the capacity provider, so its managed scaling grows the
            # instance group when autoscaling asks for more tasks than fit.
            capacity_provider_strategies=[
                ecs.CapacityProviderStrategy(
                    capacity_provider=capacity.capacity_provider_name, weight=1
                )
            ],
        )
        service.connections.allow_from(
            ec2.Peer.ipv4(vpc.vpc_cidr_block), ec2.Port.tcp(CONTAINER_PORT), "NLB health + traffic"
        )
        scaling = service.auto_scale_task_count(
            min_capacity=1, max_capacity=config.gpu_max_instances
        )
        scaling.scale_on_cpu_utilization(
            "Cpu",
            target_utilization_percent=60,
            scale_in_cooldown=Duration.minutes(5),
            scale_out_cooldown=Duration.minutes(1),
        )

        self.nlb = elbv2.NetworkLoadBalancer(self, "Nlb", vpc=vpc, internet_facing=False)
        listener = self.nlb.add_listener("Http", port=80)
        listener.add_targets(
            "Tasks",
            port=CONTAINER_PORT,
            targets=[service],
            health_check=elbv2.HealthCheck(
                protocol=elbv2.Protocol.HTTP,
                path="/health",
                port="traffic-port",
                interval=Duration.seconds(15),
            ),
        )
        self.vpc_link = apigw.VpcLink(self, "VpcLink", targets=[self.nlb])

        for target, reasons in {
            group: {
                "AwsSolutions-AS3": "Scaling events are visible in ECS and CloudWatch; no SNS "
                "topic is wanted per deployment.",
                "AwsSolutions-EC26": "The root volume is encrypted (block device above).",
                "AwsSolutions-L1": "The ECS drain hook Lambda is created by CDK.",
                "AwsSolutions-SNS3": "The drain hook topic is created by CDK.",
                "AwsSolutions-IAM4": "ECS instance role and the CDK drain hook use AWS-managed "
                "policies.",
                "AwsSolutions-IAM5[Action::ecs:Submit*]": "The ECS agent's standard instance "
                "permissions.",
                "AwsSolutions-IAM5[Resource::*]": "The ECS agent and CDK's drain hook call "
                "APIs without resource-level permissions.",
            },
            self.nlb: {
                "AwsSolutions-ELB2": "Internal NLB behind API Gateway, whose access "
                "logs record every request."
            },
            task: {
                "AwsSolutions-ECS2": "Environment holds configuration only (bucket, "
                "prefixes, model names), no secrets.",
                "AwsSolutions-IAM5[Resource::*]": "ECR GetAuthorizationToken has no "
                "resource-level permissions.",
            },
            service: {
                "AwsSolutions-EC23": "Ingress is limited to the VPC's own CIDR (the "
                "internal NLB) on the container port."
            },
        }.items():
            acknowledge(target, reasons)

    def tts_function(self, functions: ImageFunctions) -> None:
        return None

    def speech_integration(self, method: str, path: str) -> apigw.Integration:
        return apigw.Integration(
            type=apigw.IntegrationType.HTTP_PROXY,
            integration_http_method=method,
            uri=f"http://{self.nlb.load_balancer_dns_name}{path}",
            options=apigw.IntegrationOptions(
                connection_type=apigw.ConnectionType.VPC_LINK,
                vpc_link=self.vpc_link,
                timeout=Duration.seconds(29),
            ),
        )


# The one place gpu_tts is looked at.
TTS_BACKENDS: dict[str, type[TtsBackend]] = {
    "none": LambdaTts,
    "sagemaker": SageMakerGpuTts,
    "ecs": EcsGpuTts,
}
