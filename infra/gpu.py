"""The GPU option for the TTS path (context `gpu_tts`): the same app in a CUDA image
(Dockerfile.gpu), on a SageMaker real-time endpoint or an ECS service on GPU EC2 capacity."""

from __future__ import annotations

from pathlib import Path

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
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from infra.config import DeployConfig
from infra.nag import acknowledge, prefix_grant_finding

REPO_ROOT = Path(__file__).resolve().parents[1]
CONTAINER_PORT = 8080


def _gpu_image(scope: Construct, config: DeployConfig) -> ecr_assets.DockerImageAsset:
    return ecr_assets.DockerImageAsset(
        scope,
        "GpuImage",
        directory=str(REPO_ROOT),
        file="Dockerfile.gpu",
        build_args={
            "TTS_ENGINE": config.tts_engine,
            "COQUI_MODEL": config.coqui_model,
            "STT_MODEL": config.stt_model,
        },
        platform=ecr_assets.Platform.LINUX_AMD64,
    )


def _gpu_env(env: dict[str, str]) -> dict[str, str]:
    # The container writes synthesized audio itself; it never forwards to another endpoint.
    return {**env, "TTS_COQUI_DEVICE": "cuda", "STT_DEVICE": "cuda"}


class SageMakerGpuTts(Construct):
    """Model + EndpointConfig + Endpoint (+ target-tracking autoscaling). The TTS Lambda
    forwards synthesis to it with sagemaker-runtime InvokeEndpoint."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: DeployConfig,
        bucket: s3.Bucket,
        env: dict[str, str],
        public_prefix: str,
    ):
        super().__init__(scope, construct_id)
        image = _gpu_image(self, config)
        role = iam.Role(
            self, "ExecutionRole", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com")
        )
        image.repository.grant_pull(role)
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject", "s3:PutObject"],
                resources=[bucket.arn_for_objects(f"{public_prefix}tts/*")],
            )
        )
        # The cache check relies on a 404 for a missing key (see infra.stack.list_bucket).
        role.add_to_policy(
            iam.PolicyStatement(actions=["s3:ListBucket"], resources=[bucket.bucket_arn])
        )
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
        model = sagemaker.CfnModel(
            self,
            "Model",
            execution_role_arn=role.role_arn,
            primary_container=sagemaker.CfnModel.ContainerDefinitionProperty(
                image=image.image_uri, environment=_gpu_env(env)
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
        for finding, why in {
            "Resource::*": "ECR GetAuthorizationToken has no resource-level permissions.",
            prefix_grant_finding(bucket, f"{public_prefix}tts/")[
                len("AwsSolutions-IAM5[") : -1
            ]: "The endpoint writes synthesized audio under public/tts/ only.",
            "Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:"
            "/aws/sagemaker/Endpoints/*": "SageMaker names endpoint log groups at run time.",
        }.items():
            acknowledge(role, {f"AwsSolutions-IAM5[{finding}]": why})

    def grant_invoke(self, grantee: iam.IGrantable) -> None:
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(actions=["sagemaker:InvokeEndpoint"], resources=[self.endpoint_arn])
        )


class EcsGpuTts(Construct):
    """An ECS service on GPU EC2 instances behind an internal Network Load Balancer, which
    API Gateway reaches through a VPC link for POST /tts."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: DeployConfig,
        bucket: s3.Bucket,
        env: dict[str, str],
        public_prefix: str,
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
            machine_image=ecs.EcsOptimizedImage.amazon_linux2(ecs.AmiHardwareType.GPU),
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
        cluster.add_asg_capacity_provider(
            ecs.AsgCapacityProvider(self, "Capacity", auto_scaling_group=group)
        )

        task = ecs.Ec2TaskDefinition(self, "Task", network_mode=ecs.NetworkMode.AWS_VPC)
        task.add_container(
            "api",
            image=ecs.ContainerImage.from_docker_image_asset(_gpu_image(self, config)),
            memory_reservation_mib=8192,
            gpu_count=1,
            environment=_gpu_env(env),
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
        task.add_to_task_role_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject", "s3:PutObject"],
                resources=[bucket.arn_for_objects(f"{public_prefix}tts/*")],
            )
        )
        # The cache check relies on a 404 for a missing key (see infra.stack.list_bucket).
        task.add_to_task_role_policy(
            iam.PolicyStatement(actions=["s3:ListBucket"], resources=[bucket.bucket_arn])
        )
        service = ecs.Ec2Service(
            self,
            "Service",
            cluster=cluster,
            task_definition=task,
            desired_count=1,
            min_healthy_percent=0,
            circuit_breaker=ecs.DeploymentCircuitBreaker(rollback=True),
        )
        service.connections.allow_from(
            ec2.Peer.ipv4(vpc.vpc_cidr_block), ec2.Port.tcp(CONTAINER_PORT), "NLB health + traffic"
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
                prefix_grant_finding(bucket, f"{public_prefix}tts/"): "The task writes "
                "synthesized audio under public/tts/ only.",
                "AwsSolutions-IAM5[Resource::*]": "ECR GetAuthorizationToken has no "
                "resource-level permissions.",
            },
            service: {
                "AwsSolutions-EC23": "Ingress is limited to the VPC's own CIDR (the "
                "internal NLB) on the container port."
            },
        }.items():
            acknowledge(target, reasons)

    def integration(self) -> apigw.Integration:
        return apigw.Integration(
            type=apigw.IntegrationType.HTTP_PROXY,
            integration_http_method="POST",
            uri=f"http://{self.nlb.load_balancer_dns_name}/tts",
            options=apigw.IntegrationOptions(
                connection_type=apigw.ConnectionType.VPC_LINK,
                vpc_link=self.vpc_link,
                timeout=Duration.seconds(29),
            ),
        )
