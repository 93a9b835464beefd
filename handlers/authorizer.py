"""API Gateway REQUEST authorizer: accept the API key as `Authorization: Bearer <key>` (what
the OpenAI SDK sends) or as `x-api-key`.

The REST API's apiKeySource is AUTHORIZER, so API Gateway takes the key from this function's
`usageIdentifierKey` and still checks it against the usage plan: an unknown key gets 403,
throttling and quotas apply per key. This function only finds the key; it never judges it.
No key at all: 401. Standard library only (deployed inline, not in the model image).
"""

import hashlib


def _header(headers, name):
    for key, value in (headers or {}).items():
        if key.lower() == name and value:
            return value.strip()
    return ""


def api_key(event):
    """The caller's API key from the request's headers, or None."""
    headers = event.get("headers")
    scheme, _, token = _header(headers, "authorization").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return _header(headers, "x-api-key") or None


def handler(event, context):
    key = api_key(event)
    if key is None:
        # This exact message makes API Gateway answer 401 Unauthorized.
        raise Exception("Unauthorized")
    return {
        # Identifies the caller in logs without revealing the key.
        "principalId": "key-" + hashlib.sha256(key.encode()).hexdigest()[:16],
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": event["methodArn"]}
            ],
        },
        "usageIdentifierKey": key,
    }
