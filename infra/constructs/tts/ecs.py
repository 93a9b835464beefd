"""`gpu_tts=ecs`: Dockerfile.gpu as an ECS service on GPU EC2 instances (ECS-optimized Amazon
Linux 2023 GPU AMI) behind an internal Network Load Balancer, which API Gateway reaches through
a VPC link for the speech routes: no TTS Lambda. Tasks scale on CPU between 1 and
gpu_max_instances; the capacity provider's managed scaling adds and removes GPU instances to
fit them (one GPU per task)."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import Duration
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_autoscaling as autoscaling
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.config import DeployConfig
from infra.constructs.functions import STREAMED_TIMEOUT_S
from infra.constructs.tts.backend import (
    GPU_CONSTRUCT_ID,
    TtsBackend,
    gpu_env,
    gpu_image,
    grant_tts_cache,
)
from infra.nag import acknowledge

CONTAINER_PORT = 8080
# Dockerfile.gpu creates this user; ECS runs the container as it (SageMaker runs it as root).
GPU_IMAGE_UID = "10001"


def build(
    scope: Construct, *, config: DeployConfig, bucket: s3.Bucket, env: dict[str, str]
) -> TtsBackend:
    service = EcsGpuService(scope, GPU_CONSTRUCT_ID, config=config, bucket=bucket, env=env)
    return TtsBackend(function=None, speech_integration=service.speech_integration)


class EcsGpuService(Construct):
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
            image=ecs.ContainerImage.from_docker_image_asset(gpu_image(self, config)),
            memory_reservation_mib=8192,
            gpu_count=1,
            user=GPU_IMAGE_UID,
            environment=gpu_env(env),
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
        grant_tts_cache(task.task_role, bucket, task)
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

    def speech_integration(self, method: str, path: str) -> apigw.Integration:
        return apigw.Integration(
            type=apigw.IntegrationType.HTTP_PROXY,
            integration_http_method=method,
            uri=f"http://{self.nlb.load_balancer_dns_name}{path}",
            options=apigw.IntegrationOptions(
                connection_type=apigw.ConnectionType.VPC_LINK,
                vpc_link=self.vpc_link,
                # Uvicorn streams speech as it is made; STREAM passes it on (up to 15 min).
                response_transfer_mode=apigw.ResponseTransferMode.STREAM,
                timeout=Duration.seconds(STREAMED_TIMEOUT_S),
            ),
        )
