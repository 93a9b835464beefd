"""`realtime=true`: live transcription (`/v1/realtime`, a WebSocket) as an ECS Fargate service,
since a WebSocket goes through neither API Gateway's REST API nor a Lambda invocation.

    client --wss--> CloudFront (*.cloudfront.net, no custom domain)
           --ws, header X-Origin-Verify--> Application Load Balancer (CloudFront's addresses only)
           --> Fargate tasks (x86_64, CPU): the same app, `speech-api serve`

- The image is the functions' light build (Dockerfile.lambda: the light TTS engine, the
  Whisper model baked in), started as `python -m speech_api serve` instead of the Lambda
  runtime client.
- Keys: the REST API's own (API Gateway API keys in its usage plan); the app reads them from
  the usage plan (api/keys.py), so there is one key store. No keys configured: open, as the
  REST API is with api_keys=false.
- Only CloudFront reaches the load balancer: its security group admits the AWS-managed prefix
  list com.amazonaws.global.cloudfront.origin-facing (looked up at deploy time), and the
  listener forwards only requests that carry the distribution's X-Origin-Verify header
  (anything else gets 403).
- Time limits agree end to end (`timeouts()`): the app pings every session every
  PING_INTERVAL_S, which keeps it open through the load balancer's idle timeout and
  CloudFront's fixed 10 minutes; a client silent for REALTIME_IDLE_TIMEOUT_S is told and
  closed by the app before the load balancer would cut it; no session outlives
  REALTIME_SESSION_MAX_S, and a task leaving the service (scale-in, deployment) is drained for
  that long, so none is cut short.
- Scaling: each task publishes its session count (ActiveSessions, realtime/metrics.py); the
  service tracks an average of `realtime_sessions_per_task * TARGET_LOAD` per task.
"""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import Duration
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import custom_resources as cr
from constructs import Construct

from infra.config import DeployConfig
from infra.constructs.functions import IMAGE_PLATFORM, image_build_args
from infra.layout import REPO_ROOT
from infra.nag import acknowledge
from speech_api.config import RealtimeSettings
from speech_api.realtime.limits import CLOUDFRONT_IDLE_S, PING_INTERVAL_S
from speech_api.realtime.metrics import DIMENSION, METRIC

CONTAINER_PORT = 8080
PATH = "/v1/realtime"
ORIGIN_HEADER = "X-Origin-Verify"
CLOUDFRONT_PREFIX_LIST = "com.amazonaws.global.cloudfront.origin-facing"
METRICS_NAMESPACE = "SpeechAPI/Realtime"
# The session count per task the service scales to keep, as a share of what a task takes.
TARGET_LOAD = 0.75
# The construct ID CDK gives the function behind every AwsCustomResource of a stack.
AWS_CUSTOM_RESOURCE_PROVIDER = "AWS679f53fac002430cb0da5b7982bd2287"
# The image's user (no root); /tmp is the task's only writable path.
USER = "993"


@dataclass(frozen=True)
class Timeouts:
    session_max_s: int
    idle_s: int
    alb_idle_s: int
    deregistration_s: int


def timeouts() -> Timeouts:
    """The limits the app, the load balancer and CloudFront share, from the app's defaults."""
    defaults = RealtimeSettings()
    session_max_s, idle_s = int(defaults.session_max_s), int(defaults.idle_timeout_s)
    # The app closes an idle session (with an error event saying so) before the load
    # balancer would; pings keep the rest open.
    alb_idle_s = idle_s + 60
    assert PING_INTERVAL_S < alb_idle_s < CLOUDFRONT_IDLE_S, (alb_idle_s, CLOUDFRONT_IDLE_S)
    # ELB allows a deregistration delay of up to an hour.
    assert session_max_s <= 3600
    return Timeouts(session_max_s, idle_s, alb_idle_s, session_max_s)


class LiveTranscription(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: DeployConfig,
        usage_plan_id: str | None,
    ):
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        limits = timeouts()
        service_name = f"{stack.stack_name}-realtime"
        # Unguessable, and unique to this stack: CloudFront sends it, the listener wants it.
        origin_secret = cdk.Fn.select(2, cdk.Fn.split("/", stack.stack_id))

        vpc = ec2.Vpc(
            self, "Vpc", max_azs=2, nat_gateways=1, flow_logs={"All": ec2.FlowLogOptions()}
        )
        cluster = ecs.Cluster(
            self, "Cluster", vpc=vpc, container_insights_v2=ecs.ContainerInsights.ENABLED
        )
        task = ecs.FargateTaskDefinition(
            self,
            "Task",
            cpu=config.realtime_cpu,
            memory_limit_mib=config.realtime_memory_mb,
            runtime_platform=ecs.RuntimePlatform(
                cpu_architecture=ecs.CpuArchitecture.X86_64,
                operating_system_family=ecs.OperatingSystemFamily.LINUX,
            ),
            volumes=[ecs.Volume(name="tmp")],
        )
        env = {
            "HOST": "0.0.0.0",
            "PORT": str(CONTAINER_PORT),
            "AWS_REGION": stack.region,
            "PRELOAD_MODELS": "stt",
            "LOG_LEVEL": "info",
            "REALTIME_MAX_SESSIONS": str(config.realtime_sessions_per_task),
            "REALTIME_SESSION_MAX_S": str(limits.session_max_s),
            "REALTIME_IDLE_TIMEOUT_S": str(limits.idle_s),
            "REALTIME_METRICS_NAMESPACE": METRICS_NAMESPACE,
            "REALTIME_METRICS_SERVICE": service_name,
        }
        if usage_plan_id is not None:
            env["API_KEYS_USAGE_PLAN"] = usage_plan_id
        container = task.add_container(
            "api",
            image=ecs.ContainerImage.from_asset(
                str(REPO_ROOT),
                file="Dockerfile.lambda",
                build_args=image_build_args(config),
                # The functions' platform (x86_64): the same build, one image asset.
                platform=IMAGE_PLATFORM,
            ),
            entry_point=["python", "-m", "speech_api"],
            command=["serve"],
            user=USER,
            readonly_root_filesystem=True,
            environment=env,
            port_mappings=[ecs.PortMapping(container_port=CONTAINER_PORT)],
            logging=ecs.LogDrivers.aws_logs(
                stream_prefix="realtime",
                log_group=logs.LogGroup(
                    self,
                    "Logs",
                    retention=logs.RetentionDays.ONE_MONTH,
                    removal_policy=cdk.RemovalPolicy.DESTROY,
                ),
            ),
            stop_timeout=Duration.seconds(120),
        )
        container.add_mount_points(
            ecs.MountPoint(container_path="/tmp", source_volume="tmp", read_only=False)
        )
        self._grant(task.task_role, usage_plan_id, stack)

        self.alb_security_group = ec2.SecurityGroup(
            self,
            "LoadBalancerSecurityGroup",
            vpc=vpc,
            allow_all_outbound=False,
            description="speech-api live transcription: CloudFront only",
        )
        prefix_list = self._cloudfront_prefix_list()
        self.alb_security_group.add_ingress_rule(
            ec2.Peer.prefix_list(prefix_list), ec2.Port.tcp(80), "CloudFront origin-facing"
        )
        self.service_security_group = ec2.SecurityGroup(
            self,
            "ServiceSecurityGroup",
            vpc=vpc,
            allow_all_outbound=True,
            description="speech-api live transcription tasks: the load balancer only",
        )
        self.service_security_group.add_ingress_rule(
            self.alb_security_group, ec2.Port.tcp(CONTAINER_PORT), "load balancer"
        )
        self.alb_security_group.add_egress_rule(
            self.service_security_group, ec2.Port.tcp(CONTAINER_PORT), "to the tasks"
        )
        service = ecs.FargateService(
            self,
            "Service",
            cluster=cluster,
            task_definition=task,
            desired_count=1,
            min_healthy_percent=100,
            max_healthy_percent=200,
            circuit_breaker=ecs.DeploymentCircuitBreaker(rollback=True),
            security_groups=[self.service_security_group],
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
            assign_public_ip=False,
            health_check_grace_period=Duration.seconds(180),
        )

        alb = elbv2.ApplicationLoadBalancer(
            self,
            "LoadBalancer",
            vpc=vpc,
            internet_facing=True,
            security_group=self.alb_security_group,
            idle_timeout=Duration.seconds(limits.alb_idle_s),
            drop_invalid_header_fields=True,
        )
        listener = alb.add_listener(
            "Http",
            port=80,
            open=False,
            default_action=elbv2.ListenerAction.fixed_response(
                403, content_type="application/json", message_body='{"error": "forbidden"}'
            ),
        )
        target_group = elbv2.ApplicationTargetGroup(
            self,
            "Tasks",
            vpc=vpc,
            port=CONTAINER_PORT,
            protocol=elbv2.ApplicationProtocol.HTTP,
            targets=[service],
            deregistration_delay=Duration.seconds(limits.deregistration_s),
            health_check=elbv2.HealthCheck(
                path="/health",
                port="traffic-port",
                interval=Duration.seconds(15),
                healthy_threshold_count=2,
            ),
        )
        listener.add_action(
            "Sessions",
            priority=10,
            conditions=[
                elbv2.ListenerCondition.path_patterns([PATH]),
                elbv2.ListenerCondition.http_header(ORIGIN_HEADER, [origin_secret]),
            ],
            action=elbv2.ListenerAction.forward([target_group]),
        )

        scaling = service.auto_scale_task_count(
            min_capacity=1, max_capacity=config.realtime_max_tasks
        )
        self.sessions_metric = cloudwatch.Metric(
            namespace=METRICS_NAMESPACE,
            metric_name=METRIC,
            dimensions_map={DIMENSION: service_name},
            statistic="Average",
            period=Duration.minutes(1),
        )
        scaling.scale_to_track_custom_metric(
            "Sessions",
            metric=self.sessions_metric,
            target_value=config.realtime_sessions_per_task * TARGET_LOAD,
            scale_out_cooldown=Duration.minutes(1),
            scale_in_cooldown=Duration.minutes(10),
        )

        self.distribution = cloudfront.Distribution(
            self,
            "Cdn",
            comment="speech-api live transcription (wss:// to /v1/realtime)",
            default_behavior=cloudfront.BehaviorOptions(
                origin=origins.LoadBalancerV2Origin(
                    alb,
                    protocol_policy=cloudfront.OriginProtocolPolicy.HTTP_ONLY,
                    custom_headers={ORIGIN_HEADER: origin_secret},
                    read_timeout=Duration.seconds(60),
                ),
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
                allowed_methods=cloudfront.AllowedMethods.ALLOW_GET_HEAD,
                # No caching; every viewer header (the Authorization header included, which
                # CloudFront forwards only with caching off) and the query string go on.
                cache_policy=cloudfront.CachePolicy.CACHING_DISABLED,
                origin_request_policy=cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
            ),
            price_class=cloudfront.PriceClass.PRICE_CLASS_100,
        )
        self.url = f"wss://{self.distribution.distribution_domain_name}{PATH}"
        cdk.CfnOutput(
            stack,
            "RealtimeUrl",
            value=f"{self.url}?intent=transcription",
            description="Live transcription sessions (OpenAI Realtime transcription protocol); "
            "same API keys as the REST API",
        )
        self.service, self.load_balancer, self.task = service, alb, task
        self._acknowledge(vpc, cluster, task, service, alb)

    def _grant(self, role: iam.IRole, usage_plan_id: str | None, stack: cdk.Stack) -> None:
        """Read the REST API's keys (its usage plan's, and their values); put the metric."""
        if usage_plan_id is not None:
            role.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=["apigateway:GET"],
                    resources=[
                        f"arn:{stack.partition}:apigateway:{stack.region}::/usageplans/"
                        f"{usage_plan_id}/keys",
                        f"arn:{stack.partition}:apigateway:{stack.region}::/apikeys",
                    ],
                )
            )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],
                conditions={"StringEquals": {"cloudwatch:namespace": METRICS_NAMESPACE}},
            )
        )

    def _cloudfront_prefix_list(self) -> str:
        """The ID of CloudFront's origin-facing prefix list in this region (it differs per
        region), read at deploy time."""
        lookup = cr.AwsCustomResource(
            self,
            "CloudFrontPrefixList",
            on_update=cr.AwsSdkCall(
                service="EC2",
                action="describeManagedPrefixLists",
                parameters={
                    "Filters": [{"Name": "prefix-list-name", "Values": [CLOUDFRONT_PREFIX_LIST]}]
                },
                physical_resource_id=cr.PhysicalResourceId.of(CLOUDFRONT_PREFIX_LIST),
                output_paths=["PrefixLists.0.PrefixListId"],
            ),
            policy=cr.AwsCustomResourcePolicy.from_sdk_calls(
                resources=cr.AwsCustomResourcePolicy.ANY_RESOURCE
            ),
            install_latest_aws_sdk=False,
        )
        acknowledge(
            lookup,
            {
                "AwsSolutions-IAM5[Resource::*]": "ec2:DescribeManagedPrefixLists has no "
                "resource-level permissions.",
            },
        )
        # The function CDK runs SDK calls with, one per stack.
        provider = cdk.Stack.of(self).node.try_find_child(AWS_CUSTOM_RESOURCE_PROVIDER)
        acknowledge(
            provider,
            {
                "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                "AWSLambdaBasicExecutionRole]": "CDK's custom-resource function: the AWS-managed "
                "basic execution role only allows writing its logs.",
                "AwsSolutions-L1": "CDK's custom-resource function; CDK chooses its runtime.",
            },
        )
        return lookup.get_response_field("PrefixLists.0.PrefixListId")

    def _acknowledge(self, vpc, cluster, task, service, alb) -> None:
        for target, reasons in {
            task: {
                "AwsSolutions-ECS2": "Environment holds configuration only (limits, the usage "
                "plan's ID, the metric's namespace), no secrets.",
                "AwsSolutions-IAM5[Resource::*]": "cloudwatch:PutMetricData has no resource-level "
                "permissions (limited to this namespace by condition); ECR GetAuthorizationToken "
                "has none either.",
            },
            alb: {
                "AwsSolutions-ELB2": "Only CloudFront reaches this load balancer; the "
                "sessions' own log lines (one per session) are in the service's log group."
            },
            self.distribution: {
                "AwsSolutions-CFR1": "Live transcription is served worldwide; no geo "
                "restriction is wanted.",
                "AwsSolutions-CFR2": "WAF is left to the deployer's account policy; sessions "
                "need an API key and each task bounds its own sessions.",
                "AwsSolutions-CFR3": "Each session is logged by the service (start, end, why).",
                "AwsSolutions-CFR4": "The default *.cloudfront.net certificate is used (no "
                "custom domain); viewers must use HTTPS (wss://).",
                "AwsSolutions-CFR5": "CloudFront reaches the load balancer over HTTP inside "
                "AWS's network (no certificate without a custom domain); the load balancer "
                "admits CloudFront's addresses and this distribution's header only.",
            },
        }.items():
            acknowledge(target, reasons)
