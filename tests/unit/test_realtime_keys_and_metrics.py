"""What the deployed live service asks of AWS, against moto: the REST API's own API keys (one
key store: the usage plan's enabled keys open sessions, other keys do not) and the session
count it scales on.

Against the tests' moto server (`s3_endpoint`, which serves every service), not `mock_aws`:
entering `mock_aws` resets moto's in-process backends, the same ones that server uses, and
would delete the bucket other tests' servers are writing to."""

from __future__ import annotations

import asyncio
import datetime
import uuid

import boto3
import pytest

from speech_api.api import keys
from speech_api.api.keys import StaticKey, UsagePlanKeys, presented_key
from speech_api.realtime.hub import LiveHub
from speech_api.realtime.metrics import DIMENSION, METRIC, SessionMetrics


@pytest.fixture
def aws(s3_endpoint, monkeypatch):
    """boto3 clients made from here on talk to the tests' moto server."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    return s3_endpoint


@pytest.fixture
def gateway(aws):
    client = boto3.client("apigateway", region_name="us-east-1")
    api = client.create_rest_api(name=f"speech-api-{uuid.uuid4().hex[:8]}")
    plan = client.create_usage_plan(
        name="speech-api", apiStages=[{"apiId": api["id"], "stage": "prod"}]
    )
    return client, plan["id"]


def add_key(client, plan_id: str, value: str, *, enabled: bool = True, in_plan: bool = True):
    key = client.create_api_key(name=value, value=value, enabled=enabled)
    if in_plan:
        client.create_usage_plan_key(usagePlanId=plan_id, keyId=key["id"], keyType="API_KEY")
    return key


def allows(store, key):
    return asyncio.run(store.allows(key))


def test_the_usage_plans_enabled_keys_open_sessions(gateway, monkeypatch):
    client, plan_id = gateway
    add_key(client, plan_id, "key-in-plan-0001-abcdefghij")
    add_key(client, plan_id, "key-disabled-0002-abcdefghij", enabled=False)
    add_key(client, plan_id, "key-elsewhere-003-abcdefghij", in_plan=False)
    store = UsagePlanKeys(plan_id, lambda: boto3.client("apigateway", region_name="us-east-1"))
    assert allows(store, "key-in-plan-0001-abcdefghij")
    assert not allows(store, "key-disabled-0002-abcdefghij")
    assert not allows(store, "key-elsewhere-003-abcdefghij")
    assert not allows(store, None) and not allows(store, "")
    # A key created a moment ago works without waiting for the next full refresh...
    monkeypatch.setattr(keys, "UNKNOWN_KEY_REFRESH_S", 0.0)
    add_key(client, plan_id, "key-brand-new-004-abcdefghij")
    assert allows(store, "key-brand-new-004-abcdefghij")


def test_unknown_keys_cannot_make_every_connection_call_aws(gateway):
    client, plan_id = gateway
    add_key(client, plan_id, "key-in-plan-0005-abcdefghij")
    calls = []

    def factory():
        calls.append(1)
        return boto3.client("apigateway", region_name="us-east-1")

    store = UsagePlanKeys(plan_id, factory)
    for _ in range(20):
        assert not allows(store, "guess")
    assert len(calls) == 1  # one read; guesses within UNKNOWN_KEY_REFRESH_S reuse it


def test_api_key_settings_and_the_ways_a_client_presents_a_key():
    assert allows(StaticKey("sk-1"), "sk-1") and not allows(StaticKey("sk-1"), "sk-2")
    assert presented_key({"authorization": "Bearer sk-1"}, []) == "sk-1"
    assert presented_key({"x-api-key": "sk-2"}, []) == "sk-2"
    offered = ["realtime", "openai-insecure-api-key.sk-3"]
    assert presented_key({}, offered) == "sk-3"
    assert presented_key({"authorization": "Basic abc"}, ["realtime"]) is None


def test_the_session_count_is_published_per_service(make_settings, aws):
    namespace = f"SpeechAPI/Test-{uuid.uuid4().hex[:8]}"
    now = datetime.datetime.now(datetime.UTC)
    hub = LiveHub(make_settings(), service=None, keys=None)
    hub.enter()
    hub.enter()
    metrics = SessionMetrics(hub, namespace, "svc-a", "us-east-1")
    metrics.publish()
    cloudwatch = boto3.client("cloudwatch", region_name="us-east-1")
    (listed,) = cloudwatch.list_metrics(Namespace=namespace)["Metrics"]
    assert listed["MetricName"] == METRIC
    assert listed["Dimensions"] == [{"Name": DIMENSION, "Value": "svc-a"}]
    data = cloudwatch.get_metric_data(
        MetricDataQueries=[
            {
                "Id": "m",
                "MetricStat": {
                    "Metric": {
                        "Namespace": namespace,
                        "MetricName": METRIC,
                        "Dimensions": [{"Name": DIMENSION, "Value": "svc-a"}],
                    },
                    "Period": 60,
                    "Stat": "Maximum",
                },
            }
        ],
        # A narrow window: moto walks every period of it (a century of minutes takes 40 s).
        StartTime=now - datetime.timedelta(hours=1),
        EndTime=now + datetime.timedelta(hours=1),
    )
    assert data["MetricDataResults"][0]["Values"] == [2.0]
