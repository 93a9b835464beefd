"""The transcript topic: the worker, and nothing else, publishes to it; it is encrypted, takes
TLS only, and its ARN is an output to subscribe to."""

from __future__ import annotations

import json

import pytest

from tests.infrastructure.iam import Permission, Template
from tests.support.aws_calls import load_contract
from tests.support.synth import VARIANTS


def transcript_topic(s) -> str:
    (topic,) = [
        k for k in s.resources("AWS::SNS::Topic") if k.startswith("NotificationsTranscript")
    ]
    return topic


def roles(s) -> dict[str, str]:
    """Every role in the template, by logical ID, with the function it runs (if any)."""
    runs = {
        v["Properties"]["Role"]["Fn::GetAtt"][0]: k
        for k, v in s.resources("AWS::Lambda::Function").items()
        if isinstance(v["Properties"].get("Role"), dict)
    }
    return {role: runs.get(role, "") for role in s.resources("AWS::IAM::Role")}


@pytest.mark.parametrize("variant", VARIANTS)
def test_the_topic_is_encrypted_tls_only_and_an_output(synthesized, variant):
    s = synthesized[variant]
    topic = transcript_topic(s)
    properties = s.json["Resources"][topic]["Properties"]
    # The AWS-managed SNS key, by its alias ARN.
    key = Template(s.json).resolve(properties["KmsMasterKeyId"])
    assert key == "arn:aws:kms:us-east-1:123456789012:alias/aws/sns"
    (policy,) = [
        p
        for p in s.resources("AWS::SNS::TopicPolicy").values()
        if {"Ref": topic} in p["Properties"]["Topics"]
    ]
    (deny,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {
        "Bool": {"aws:SecureTransport": "false"}
    }
    assert s.json["Outputs"]["TranscriptTopicArn"]["Value"] == {"Ref": topic}


@pytest.mark.parametrize("variant", VARIANTS)
def test_only_the_worker_may_publish_and_it_knows_where(synthesized, variant):
    s = synthesized[variant]
    t = Template(s.json)
    topic = transcript_topic(s)
    publish = Permission("sns:Publish", topic)  # a topic's Ref resolves to its logical ID
    # The contract records the publish call, made by the worker's code path.
    recorded = {c["function"] for c in load_contract() if c["service"] == "sns"}
    assert recorded == {"Worker"}
    publishers = {fn for role, fn in roles(s).items() if t.decide(role, publish) == "allow"}
    assert len(publishers) == 1 and next(iter(publishers)).startswith("WorkerFunction")
    for logical_id, fn in s.resources("AWS::Lambda::Function").items():
        env = fn["Properties"].get("Environment", {}).get("Variables", {})
        if logical_id.startswith("WorkerFunction"):
            assert env["TRANSCRIPT_TOPIC_ARN"] == {"Ref": topic}
        else:
            assert "TRANSCRIPT_TOPIC_ARN" not in env
    # Publishing is all the worker may do with it.
    worker = t.function_role("WorkerFunction")
    on_topic = [st for st in t.statements(worker) if topic in json.dumps(st)]
    assert [st["Action"] for st in on_topic] == ["sns:Publish"]


@pytest.mark.parametrize("variant", VARIANTS)
def test_callbacks_cannot_reach_a_functions_loopback(synthesized, variant):
    """The Lambda runtime API listens on 127.0.0.1: the functions that check and send
    callback URLs allow https to public addresses only."""
    s = synthesized[variant]
    for logical_id, fn in s.resources("AWS::Lambda::Function").items():
        if fn["Properties"].get("PackageType") == "Image":
            env = fn["Properties"]["Environment"]["Variables"]
            assert env["CALLBACK_ALLOW_LOOPBACK"] == "false", logical_id
