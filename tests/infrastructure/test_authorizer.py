"""handlers/authorizer.py with API Gateway's REQUEST authorizer event and response shapes
(developerguide: api-gateway-lambda-authorizer-input / -output)."""

from __future__ import annotations

import copy

import pytest

from handlers.authorizer import handler

METHOD_ARN = "arn:aws:execute-api:us-east-1:123456789012:abcdef123/prod/POST/v1/audio/speech"
KEY = "f7Qb2kX9mN4pR8sT1vW3yZ5aC6dE0gH2jK4lM7nP"

# A REST API REQUEST authorizer event as API Gateway sends it (proxy-style request fields).
EVENT = {
    "type": "REQUEST",
    "methodArn": METHOD_ARN,
    "resource": "/v1/audio/speech",
    "path": "/v1/audio/speech",
    "httpMethod": "POST",
    "headers": {
        "Accept": "*/*",
        "Content-Type": "application/json",
        "Host": "abcdef123.execute-api.us-east-1.amazonaws.com",
        "User-Agent": "OpenAI/Python 1.99.0",
        "X-Amzn-Trace-Id": "Root=1-5e66d96f-7491f09xmpl79d18acf3d050",
    },
    "multiValueHeaders": {"Accept": ["*/*"]},
    "queryStringParameters": None,
    "multiValueQueryStringParameters": None,
    "pathParameters": {},
    "stageVariables": None,
    "requestContext": {
        "resourcePath": "/v1/audio/speech",
        "httpMethod": "POST",
        "path": "/prod/v1/audio/speech",
        "accountId": "123456789012",
        "stage": "prod",
        "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
        "identity": {"sourceIp": "203.0.113.7", "apiKey": "", "userAgent": "OpenAI/Python"},
        "resourceId": "abc123",
        "apiId": "abcdef123",
    },
}


def event_with(**headers) -> dict:
    event = copy.deepcopy(EVENT)
    event["headers"].update(headers)
    event["multiValueHeaders"].update({k: [v] for k, v in headers.items()})
    return event


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": f"Bearer {KEY}"},  # the OpenAI SDK
        {"authorization": f"bearer {KEY}"},  # header names and the scheme are case-insensitive
        {"AUTHORIZATION": f"BEARER   {KEY}  "},
        {"x-api-key": KEY},  # API Gateway's own header
        {"X-API-Key": KEY},
        {"Authorization": "Basic dXNlcjpwYXNz", "x-api-key": KEY},  # not a bearer: the other
    ],
)
def test_the_key_from_either_header_becomes_the_usage_identifier(headers):
    response = handler(event_with(**headers), None)
    assert set(response) == {"principalId", "policyDocument", "usageIdentifierKey"}
    assert response["usageIdentifierKey"] == KEY
    assert response["policyDocument"] == {
        "Version": "2012-10-17",
        "Statement": [{"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": METHOD_ARN}],
    }
    # The principal names the caller in logs without the key in it.
    assert response["principalId"].startswith("key-") and KEY not in response["principalId"]


def test_bearer_wins_over_x_api_key_and_the_same_key_is_the_same_principal():
    both = handler(event_with(Authorization=f"Bearer {KEY}", **{"x-api-key": "other"}), None)
    assert both["usageIdentifierKey"] == KEY
    assert both["principalId"] == handler(event_with(**{"x-api-key": KEY}), None)["principalId"]
    assert both["principalId"] != handler(event_with(**{"x-api-key": "other"}), None)["principalId"]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer    "},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": KEY},  # no scheme
        {"x-api-key": ""},
        {"x-api-key": "   "},
    ],
)
def test_no_key_is_unauthorized(headers):
    # Raising exactly "Unauthorized" is how a Lambda authorizer makes API Gateway answer 401.
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        handler(event_with(**headers), None)


def test_an_event_without_headers_is_unauthorized():
    event = copy.deepcopy(EVENT)
    event["headers"] = None
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        handler(event, None)
