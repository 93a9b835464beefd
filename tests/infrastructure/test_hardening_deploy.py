"""What a real `cdk deploy` meets first, and what AWS does after the first byte (hardening round
4), in the synthesized template and the deploy tooling: errors after a streamed response's
first byte are alarmed on per function; callbacks have their own queue and function; TTS has
reserved concurrency; bodies the Lambda invoke cannot carry get the documented 413 at the
gateway; `make deploy` builds images Lambda takes; the preflight reads the account's quotas and
the Region's services; the CDK floor is the release that has what the stack uses."""

from __future__ import annotations

import json
import re
import subprocess
import tomllib
from pathlib import Path

import pytest
from botocore.stub import Stubber

from infra.config import DeployConfig
from infra.constructs.api import MAX_BODY_BYTES, OVERSIZED_CONTENT_LENGTH
from infra.preflight import Needs, needs_of, preflight
from tests.infrastructure.conftest import VARIANTS

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("variant", VARIANTS)
def test_streamed_functions_alarm_on_errors_after_the_first_byte(synthesized, variant):
    synth = synthesized[variant]
    alarms = synth.resources("AWS::CloudWatch::Alarm")
    stream_alarms = {
        k: v["Properties"]
        for k, v in alarms.items()
        if v["Properties"].get("MetricName") == "StreamErrors"
    }
    streamed = {"Stt", "Tts"} if variant != "ecs" else {"Stt"}
    assert len(stream_alarms) == len(streamed)
    assert {
        k.removeprefix("Monitoring").split("StreamErrors")[0] for k in stream_alarms
    } == streamed
    for props in stream_alarms.values():
        assert props["Namespace"] == "SpeechAPI"
        (dimension,) = props["Dimensions"]
        assert dimension["Name"] == "function_name"
        assert props["Threshold"] == 1 and props["AlarmActions"]


@pytest.mark.parametrize("variant", VARIANTS)
def test_callbacks_have_their_own_queue_function_and_dead_letters(synthesized, variant):
    synth = synthesized[variant]
    callbacks = synth.function("CallbacksFunction")
    assert callbacks["Handler"] == "handlers.deliver_callbacks.handler"
    worker_env = synth.function("WorkerFunction")["Environment"]["Variables"]
    queue_ref = worker_env["CALLBACK_QUEUE_URL"]["Ref"]
    queue = synth.json["Resources"][queue_ref]["Properties"]
    assert queue["RedrivePolicy"]["maxReceiveCount"] == 3
    mappings = synth.resources("AWS::Lambda::EventSourceMapping")
    fed = [
        m["Properties"]
        for m in mappings.values()
        if m["Properties"]["EventSourceArn"] == {"Fn::GetAtt": [queue_ref, "Arn"]}
    ]
    (mapping,) = fed
    assert mapping["FunctionName"] == {"Ref": synth.function_id("CallbacksFunction")}
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    alarms = synth.resources("AWS::CloudWatch::Alarm")
    assert any(k.startswith("MonitoringCallbackDeadLetters") for k in alarms)


@pytest.mark.parametrize("variant", ("none", "sagemaker"))
def test_tts_has_reserved_concurrency_by_default(synthesized, variant):
    assert DeployConfig().tts_reserved_concurrency == 10
    assert synthesized[variant].function("TtsFunction")["ReservedConcurrentExecutions"] == 10


@pytest.mark.parametrize("variant", ("none",))
def test_bodies_the_invoke_cannot_carry_get_the_documented_413_at_the_gateway(synthesized, variant):
    synth = synthesized[variant]
    (acl,) = synth.resources("AWS::WAFv2::WebACL").values()
    (rule,) = acl["Properties"]["Rules"]
    block = rule["Action"]["Block"]["CustomResponse"]
    assert block["ResponseCode"] == 413
    body = json.loads(acl["Properties"]["CustomResponseBodies"]["too_large"]["Content"])
    assert (body["error"]["code"], body["error"]["param"]) == ("payload_too_large", "file")
    statement = rule["Statement"]["RegexMatchStatement"]
    assert statement["FieldToMatch"] == {"SingleHeader": {"Name": "content-length"}}
    (association,) = synth.resources("AWS::WAFv2::WebACLAssociation").values()
    assert "Stage" in json.dumps(association["Properties"]["ResourceArn"])


@pytest.mark.parametrize(
    "length,refused",
    [
        (100, False),
        (4_499_999, False),
        (4_500_000, True),
        (4_700_000, True),
        (9_999_999, True),
        (10_485_760, True),
        (123_456_789, True),
        ("0004600000", True),
        ("0999", False),
    ],
)
def test_the_content_length_rule_refuses_what_the_functions_cannot_take(length, refused):
    from speech_api.runtime.aws_lambda import LAMBDA_MAX_BODY_BYTES

    assert MAX_BODY_BYTES == LAMBDA_MAX_BODY_BYTES
    assert bool(re.fullmatch(OVERSIZED_CONTENT_LENGTH, str(length))) is refused


def test_make_deploy_builds_single_platform_images_and_runs_the_preflight_first():
    dry = subprocess.run(
        ["make", "-n", "deploy"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout
    lines = dry.splitlines()
    deploy = next(line for line in lines if " deploy" in line and "cdk" in line)
    assert deploy.startswith("BUILDX_NO_DEFAULT_ATTESTATIONS=1 ")
    assert any("-m infra.preflight" in line for line in lines[: lines.index(deploy)])


def test_the_cdk_floor_has_response_transfer_mode():
    """aws-cdk-lib 2.230.0 added apigateway.ResponseTransferMode, which the API uses."""
    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    (cdk,) = [r for r in extras["infra"] if r.startswith("aws-cdk-lib")]
    floor = tuple(int(x) for x in cdk.split(">=")[1].split("."))
    assert floor >= (2, 230, 0)
    assert "ResponseTransferMode.STREAM" in (REPO / "infra/constructs/api.py").read_text()


def test_cdk_json_targets_only_the_partition_with_streaming():
    context = json.loads((REPO / "cdk.json").read_text())["context"]
    assert context["@aws-cdk/core:target-partitions"] == ["aws"]


# --- the preflight, against stubbed AWS answers ------------------------------------------

SERVICES = ["lambda", "apigateway", "s3", "sqs", "sns", "wafv2", "sagemaker", "ecs"]


def clients(*, total: int, unreserved: int, services=SERVICES, region="eu-west-1"):
    import boto3

    lam = boto3.client("lambda", region_name=region)
    quotas = boto3.client("service-quotas", region_name=region)
    ssm = boto3.client("ssm", region_name=region)
    stubs = [Stubber(c) for c in (lam, quotas, ssm)]
    stubs[0].add_response(
        "get_account_settings",
        {
            "AccountLimit": {
                "ConcurrentExecutions": total,
                "UnreservedConcurrentExecutions": unreserved,
            }
        },
    )
    stubs[1].add_response(
        "get_service_quota",
        {"Quota": {"QuotaCode": "L-B99A9384", "Value": float(total)}},
        {"ServiceCode": "lambda", "QuotaCode": "L-B99A9384"},
    )
    path = f"/aws/service/global-infrastructure/regions/{region}/services"
    stubs[2].add_response(
        "get_parameters_by_path",
        {"Parameters": [{"Name": f"{path}/{s}", "Value": s} for s in services]},
        {"Path": path},
    )
    for s in stubs:
        s.activate()
    return {"lambda_client": lam, "quotas": quotas, "ssm": ssm}


def levels(findings) -> dict[str, str]:
    return {f.check: f.level for f in findings}


@pytest.fixture(scope="module")
def needs(synthesized):
    """What the default stack (and the SageMaker variant) ask of the account."""
    return {v: needs_of(synthesized[v].json) for v in ("none", "sagemaker")}


def test_the_preflight_reads_what_the_synthesized_stack_needs(needs):
    default = needs["none"]
    assert default.reserved == {"Tts": 10}
    assert default.memory["Worker"] == 4096 and default.memory["Stt"] == 3008
    assert {"lambda", "apigateway", "sqs", "sns", "s3", "wafv2"} <= default.services
    assert "sagemaker" not in default.services and "sagemaker" in needs["sagemaker"].services


def test_preflight_passes_an_established_account(needs):
    findings = preflight(needs["none"], "eu-west-1", **clients(total=1000, unreserved=1000))
    assert levels(findings) == {"region": "ok", "concurrency": "ok", "memory": "warn"}
    memory = next(f for f in findings if f.check == "memory")
    assert "Worker 4096 MB" in memory.detail and "worker_memory_mb" in memory.detail


def test_preflight_fails_a_new_account_that_cannot_reserve_tts_concurrency(needs):
    findings = preflight(needs["none"], "eu-west-1", **clients(total=10, unreserved=10))
    concurrency = next(f for f in findings if f.check == "concurrency")
    assert concurrency.level == "fail"
    assert "account concurrency 10" in concurrency.detail
    assert "tts_reserved_concurrency=0" in concurrency.detail


def test_preflight_fails_a_partition_without_streaming(needs):
    findings = preflight(
        needs["none"], "cn-north-1", **clients(total=1000, unreserved=1000, region="cn-north-1")
    )
    region = next(f for f in findings if f.check == "region")
    assert region.level == "fail" and "aws-cn" in region.detail


def test_preflight_fails_a_region_without_a_service_the_stack_uses(needs):
    findings = preflight(
        needs["sagemaker"],
        "eu-west-1",
        **clients(total=1000, unreserved=1000, services=["lambda", "apigateway", "s3"]),
    )
    region = next(f for f in findings if f.check == "region")
    assert region.level == "fail"
    assert "sagemaker" in region.detail and "sqs" in region.detail


def test_preflight_memory_is_quiet_when_every_function_fits_a_new_account():
    small = Needs(frozenset({"lambda"}), {}, {"Worker": 3008, "Api": 512})
    findings = preflight(small, "eu-west-1", **clients(total=10, unreserved=10))
    assert levels(findings) == {"region": "ok", "concurrency": "ok", "memory": "ok"}
