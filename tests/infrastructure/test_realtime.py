"""`realtime=true`: live transcription on ECS Fargate behind an ALB and CloudFront, checked in
the synthesized template (cdk-nag ran on each synth: an unacknowledged finding fails it):
off by default; wss:// on CloudFront to /v1/realtime only; only CloudFront reaches the load
balancer and only the load balancer the tasks; time limits that agree with the app's; the
REST API's keys as the one key store; scaling on the session count the app publishes."""

from __future__ import annotations

import json

import pytest

from infra.constructs.realtime import (
    METRICS_NAMESPACE,
    ORIGIN_HEADER,
    PATH,
    TARGET_LOAD,
    timeouts,
)
from speech_api.config import RealtimeSettings
from speech_api.realtime.limits import CLOUDFRONT_IDLE_S, PING_INTERVAL_S
from speech_api.realtime.metrics import DIMENSION, METRIC
from tests.support.synth import cfn_lint, synth


@pytest.fixture(scope="module")
def variants(tmp_path_factory):
    return {
        keys: synth(tmp_path_factory.mktemp(f"cdk-realtime-{keys}"), realtime=True, api_keys=keys)
        for keys in (True, False)
    }


def one(s, kind: str) -> dict:
    (resource,) = s.resources(kind).values()
    return resource["Properties"]


def container(s) -> dict:
    (c,) = one(s, "AWS::ECS::TaskDefinition")["ContainerDefinitions"]
    return c


def env(s) -> dict[str, object]:
    return {e["Name"]: e["Value"] for e in container(s)["Environment"]}


def test_off_by_default(synthesized):
    s = synthesized["none"]
    assert not s.resources("AWS::ECS::Service")
    assert not s.resources("AWS::ElasticLoadBalancingV2::LoadBalancer")
    assert "RealtimeUrl" not in s.json.get("Outputs", {})


@pytest.mark.parametrize("keys", [True, False])
def test_wss_on_cloudfront_reaches_the_sessions_route_only(variants, keys):
    s = variants[keys]
    dist = one(s, "AWS::CloudFront::Distribution")["DistributionConfig"]
    assert "Aliases" not in dist  # no custom domain: *.cloudfront.net
    behavior = dist["DefaultCacheBehavior"]
    assert behavior["ViewerProtocolPolicy"] == "https-only"  # wss://, never ws://
    assert behavior["AllowedMethods"] == ["GET", "HEAD"]
    # AWS-managed CachingDisabled and AllViewerExceptHostHeader: nothing cached, and every
    # viewer header (Authorization, Sec-WebSocket-*) and the query string reach the origin.
    assert behavior["CachePolicyId"] == "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
    assert behavior["OriginRequestPolicyId"] == "b689b0a8-53d0-40ab-baf2-68738e2966ac"
    (origin,) = dist["Origins"]
    assert origin["CustomOriginConfig"]["OriginProtocolPolicy"] == "http-only"
    (header,) = origin["OriginCustomHeaders"]
    assert header["HeaderName"] == ORIGIN_HEADER
    (listener,) = s.resources("AWS::ElasticLoadBalancingV2::Listener").values()
    (default,) = listener["Properties"]["DefaultActions"]
    assert default["Type"] == "fixed-response"
    assert default["FixedResponseConfig"]["StatusCode"] == "403"
    rule = one(s, "AWS::ElasticLoadBalancingV2::ListenerRule")
    conditions = {c["Field"]: c for c in rule["Conditions"]}
    assert conditions["path-pattern"]["PathPatternConfig"]["Values"] == [PATH]
    http_header = conditions["http-header"]["HttpHeaderConfig"]
    assert http_header["HttpHeaderName"] == ORIGIN_HEADER
    assert http_header["Values"] == [header["HeaderValue"]]  # the distribution's own value
    assert rule["Actions"][0]["Type"] == "forward"
    output = s.json["Outputs"]["RealtimeUrl"]["Value"]
    assert "wss://" in json.dumps(output) and "/v1/realtime?intent=transcription" in json.dumps(
        output
    )


def test_only_cloudfront_reaches_the_load_balancer_and_only_it_the_tasks(variants):
    s = variants[True]
    ingress = [r["Properties"] for r in s.resources("AWS::EC2::SecurityGroupIngress").values()]
    groups = s.resources("AWS::EC2::SecurityGroup")
    inline = [
        rule for g in groups.values() for rule in g["Properties"].get("SecurityGroupIngress", [])
    ]
    assert not inline  # every ingress rule is one of the two below
    by_port = {r["FromPort"]: r for r in ingress}
    assert set(by_port) == {80, 8080}
    # The load balancer: CloudFront's origin-facing prefix list, looked up at deploy time.
    cloudfront = by_port[80]
    prefix = cloudfront["SourcePrefixListId"]["Fn::GetAtt"]
    lookup = s.json["Resources"][prefix[0]]["Properties"]
    assert "com.amazonaws.global.cloudfront.origin-facing" in json.dumps(lookup["Create"])
    assert "CidrIp" not in cloudfront
    # The tasks: the load balancer's security group, on the container port.
    tasks = by_port[8080]
    alb = one(s, "AWS::ElasticLoadBalancingV2::LoadBalancer")
    assert tasks["SourceSecurityGroupId"] == {
        "Fn::GetAtt": [alb["SecurityGroups"][0]["Fn::GetAtt"][0], "GroupId"]
    }
    assert alb["Scheme"] == "internet-facing"
    service = one(s, "AWS::ECS::Service")
    network = service["NetworkConfiguration"]["AwsvpcConfiguration"]
    assert network["AssignPublicIp"] == "DISABLED"


def attributes(props: dict) -> dict[str, str]:
    key = "LoadBalancerAttributes" if "LoadBalancerAttributes" in props else "TargetGroupAttributes"
    return {a["Key"]: a["Value"] for a in props.get(key, [])}


def test_time_limits_agree_from_app_to_cloudfront(variants):
    s = variants[True]
    limits = timeouts()
    app = RealtimeSettings()
    values = env(s)
    # The app's limits, as the tasks run them...
    assert (
        values["REALTIME_SESSION_MAX_S"] == str(int(app.session_max_s)) == str(limits.session_max_s)
    )
    assert values["REALTIME_IDLE_TIMEOUT_S"] == str(int(app.idle_timeout_s))
    # ...the load balancer: idle longer than the app's idle limit (the app says why it
    # closes) and than its pings (which keep live sessions open), shorter than CloudFront's.
    alb = attributes(one(s, "AWS::ElasticLoadBalancingV2::LoadBalancer"))
    alb_idle = int(alb["idle_timeout.timeout_seconds"])
    assert app.idle_timeout_s < alb_idle < CLOUDFRONT_IDLE_S
    assert alb_idle > PING_INTERVAL_S
    assert alb["routing.http.drop_invalid_header_fields.enabled"] == "true"
    # A task leaving the service is drained for as long as a session may last.
    group = attributes(one(s, "AWS::ElasticLoadBalancingV2::TargetGroup"))
    assert int(group["deregistration_delay.timeout_seconds"]) == int(app.session_max_s)
    health = one(s, "AWS::ElasticLoadBalancingV2::TargetGroup")
    assert health["HealthCheckPath"] == "/health"
    assert health["HealthCheckPort"] == "traffic-port"


def test_the_tasks_run_the_same_app_on_x86_64_as_a_non_root_user(variants):
    s = variants[True]
    task = one(s, "AWS::ECS::TaskDefinition")
    assert task["RequiresCompatibilities"] == ["FARGATE"]
    assert task["RuntimePlatform"]["CpuArchitecture"] == "X86_64"
    c = container(s)
    assert c["EntryPoint"] == ["python", "-m", "speech_api"] and c["Command"] == ["serve"]
    assert c["User"] != "0" and c["ReadonlyRootFilesystem"] is True
    assert [m["ContainerPath"] for m in c["MountPoints"]] == ["/tmp"]
    assert c["PortMappings"][0]["ContainerPort"] == int(env(s)["PORT"])
    # The same image asset as the functions' light build (one build, one ECR image).
    stt = s.function("SttFunction")["Code"]["ImageUri"]
    assert json.dumps(stt).split(":")[-1] in json.dumps(c["Image"])


def task_role_statements(s) -> list[dict]:
    task = one(s, "AWS::ECS::TaskDefinition")
    role = task["TaskRoleArn"]["Fn::GetAtt"][0]
    statements = []
    for policy in s.resources("AWS::IAM::Policy").values():
        if {"Ref": role} in policy["Properties"]["Roles"]:
            statements += policy["Properties"]["PolicyDocument"]["Statement"]
    return statements


def test_one_key_store_the_rest_apis_usage_plan(variants):
    s = variants[True]
    (plan_id,) = s.resources("AWS::ApiGateway::UsagePlan")
    assert env(s)["API_KEYS_USAGE_PLAN"] == {"Ref": plan_id}
    assert not [k for k in env(s) if "SECRET" in k or k == "API_KEY"]  # no second secret
    statements = task_role_statements(s)
    read = [st for st in statements if st["Action"] == "apigateway:GET"]
    (grant,) = read
    resources = json.dumps(grant["Resource"])
    assert f'"::/usageplans/", {{"Ref": "{plan_id}"}}, "/keys"' in resources
    assert '"::/apikeys"' in resources and "*" not in resources
    actions = {
        a
        for st in statements
        for a in ([st["Action"]] if isinstance(st["Action"], str) else st["Action"])
    }
    assert actions == {"apigateway:GET", "cloudwatch:PutMetricData"}  # nothing else: no S3
    # Without API keys there is nothing to read: the sessions are open, as the REST API is.
    open_stack = variants[False]
    assert "API_KEYS_USAGE_PLAN" not in env(open_stack)
    assert not [st for st in task_role_statements(open_stack) if st["Action"] == "apigateway:GET"]


def test_scaling_on_the_session_count_the_app_publishes(variants):
    s = variants[True]
    values = env(s)
    target = one(s, "AWS::ApplicationAutoScaling::ScalableTarget")
    assert target["MinCapacity"] == 1 and target["MaxCapacity"] >= 2
    policy = one(s, "AWS::ApplicationAutoScaling::ScalingPolicy")
    config = policy["TargetTrackingScalingPolicyConfiguration"]
    metric = config["CustomizedMetricSpecification"]
    assert metric["Namespace"] == values["REALTIME_METRICS_NAMESPACE"] == METRICS_NAMESPACE
    assert metric["MetricName"] == METRIC
    assert metric["Dimensions"] == [
        {"Name": DIMENSION, "Value": values["REALTIME_METRICS_SERVICE"]}
    ]
    assert metric["Statistic"] == "Average"  # one data point per task: sessions per task
    assert config["TargetValue"] == int(values["REALTIME_MAX_SESSIONS"]) * TARGET_LOAD
    (statement,) = [
        st for st in task_role_statements(s) if st["Action"] == "cloudwatch:PutMetricData"
    ]
    assert statement["Condition"] == {"StringEquals": {"cloudwatch:namespace": METRICS_NAMESPACE}}


@pytest.mark.parametrize("keys", [True, False])
def test_cfn_lint_passes(variants, keys):
    result = cfn_lint(variants[keys].template_path)
    assert result.returncode == 0, result.stdout + result.stderr
