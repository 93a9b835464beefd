"""Alarms and the dashboard: what each alarm watches, its threshold, and that it notifies."""

from __future__ import annotations

import json

import pytest

from tests.support.synth import VARIANTS, synth

GE = "GreaterThanOrEqualToThreshold"


def alarms(s) -> dict[str, dict]:
    """Alarm properties by the construct name (MonitoringDeadLettersXXXX -> DeadLetters)."""
    found = {}
    for logical_id, alarm in s.resources("AWS::CloudWatch::Alarm").items():
        name = logical_id.removeprefix("Monitoring")[:-8]
        found[name] = alarm["Properties"]
    return found


def queue_id(s, prefix: str) -> str:
    return next(k for k in s.resources("AWS::SQS::Queue") if k.startswith(prefix))


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_alarm_notifies_the_alarm_topic(synthesized, variant):
    s = synthesized[variant]
    (topic,) = [k for k in s.resources("AWS::SNS::Topic") if k.startswith("MonitoringAlarm")]
    found = alarms(s)
    assert len(found) >= 11
    for name, alarm in found.items():
        assert alarm["AlarmActions"] == [{"Ref": topic}], name
        assert alarm["OKActions"] == [{"Ref": topic}], name
        assert alarm["TreatMissingData"] == "notBreaching", name
        assert alarm["AlarmDescription"], name
    assert s.json["Outputs"]["AlarmTopicArn"]["Value"] == {"Ref": topic}
    # The topic only takes TLS.
    (policy,) = [
        p
        for p in s.resources("AWS::SNS::TopicPolicy").values()
        if {"Ref": topic} in p["Properties"]["Topics"]
    ]
    assert "aws:SecureTransport" in json.dumps(policy)


@pytest.mark.parametrize("variant", VARIANTS)
def test_queue_alarms(synthesized, variant):
    s = synthesized[variant]
    found = alarms(s)
    dead = found["DeadLetters"]
    assert dead["Namespace"] == "AWS/SQS"
    assert dead["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert dead["Dimensions"] == [
        {
            "Name": "QueueName",
            "Value": {"Fn::GetAtt": [queue_id(s, "UploadsDeadLetter"), "QueueName"]},
        }
    ]
    assert (dead["Threshold"], dead["ComparisonOperator"]) == (1, GE)
    age = found["UploadBacklogAge"]
    assert age["MetricName"] == "ApproximateAgeOfOldestMessage"
    assert age["Dimensions"][0]["Value"] == {"Fn::GetAtt": [queue_id(s, "Uploads4"), "QueueName"]}
    assert age["Threshold"] == 900


@pytest.mark.parametrize("variant", VARIANTS)
def test_api_alarms(synthesized, variant):
    s = synthesized[variant]
    found = alarms(s)
    rate = found["Api5xxRate"]
    assert rate["Threshold"] == 5 and rate["ComparisonOperator"] == "GreaterThanThreshold"
    metrics = {m["Id"]: m for m in rate["Metrics"]}
    assert metrics["expr_1"]["Expression"] == "IF(requests > 0, 100 * errors / requests, 0)"
    assert metrics["errors"]["MetricStat"]["Metric"]["MetricName"] == "5XXError"
    assert metrics["requests"]["MetricStat"]["Metric"]["MetricName"] == "Count"
    for m in ("errors", "requests"):
        stat = metrics[m]["MetricStat"]
        assert stat["Metric"]["Namespace"] == "AWS/ApiGateway" and stat["Stat"] == "Sum"
        assert stat["Metric"]["Dimensions"] == [{"Name": "ApiName", "Value": "speech-api"}]
    throttled = found["Api429"]
    assert (throttled["Namespace"], throttled["MetricName"]) == ("SpeechAPI", "Api429")
    assert throttled["Threshold"] == 10 and throttled["Statistic"] == "Sum"
    (log_filter,) = s.resources("AWS::Logs::MetricFilter").values()
    assert log_filter["Properties"]["FilterPattern"] == '{ $.status = "429" }'
    (stage,) = s.resources("AWS::ApiGateway::Stage").values()
    access_logs = stage["Properties"]["AccessLogSetting"]
    assert (
        log_filter["Properties"]["LogGroupName"]["Ref"]
        == (access_logs["DestinationArn"]["Fn::GetAtt"][0])
    )
    assert '"status":"$context.status"' in access_logs["Format"]  # what the filter reads


@pytest.mark.parametrize("variant", VARIANTS)
def test_function_alarms(synthesized, variant):
    s = synthesized[variant]
    found = alarms(s)
    names = {"Stt", "Api", "Worker", "KeyAuthorizer"} | ({"Tts"} if variant != "ecs" else set())
    # The stack's own functions (image and zip), not CDK's deploy-time handlers.
    ours = tuple(f"{n}Function" for n in ("Stt", "Api", "Worker", "Tts", "KeyAuthorizer"))
    functions = {
        k: v for k, v in s.resources("AWS::Lambda::Function").items() if k.startswith(ours)
    }
    assert len(functions) == len(names)
    for name in names:
        (fn,) = [k for k in functions if k.startswith(f"{name}Function")]
        for kind in ("Errors", "Throttles"):
            alarm = found[f"{name}{kind}"]
            assert (alarm["Namespace"], alarm["MetricName"]) == ("AWS/Lambda", kind)
            assert alarm["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": fn}}]
            assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (1, GE)
            assert alarm["Statistic"] == "Sum" and alarm["Period"] == 300


@pytest.mark.parametrize("variant", VARIANTS)
def test_dashboard_shows_api_functions_and_queues(synthesized, variant):
    s = synthesized[variant]
    (dashboard,) = s.resources("AWS::CloudWatch::Dashboard").values()
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    for namespace in ("AWS/ApiGateway", "AWS/Lambda", "AWS/SQS", "SpeechAPI"):
        assert namespace in body
    assert body.count('\\"alarms\\"') == 1  # the alarm status widget
    for logical_id in s.resources("AWS::CloudWatch::Alarm"):
        assert logical_id in body


def test_alarm_email_subscribes_to_the_topic(tmp_path):
    s = synth(tmp_path, alarm_email="oncall@example.com")
    (subscription,) = s.resources("AWS::SNS::Subscription").values()
    assert subscription["Properties"]["Protocol"] == "email"
    assert subscription["Properties"]["Endpoint"] == "oncall@example.com"
