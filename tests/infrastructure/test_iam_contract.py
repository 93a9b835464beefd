"""The IAM contract: every AWS call the service code makes (recorded while the integration
suite runs, kept in tests/contracts/aws_calls.json) is allowed by the role that makes it in
the synthesized stack, for every gpu_tts variant. moto enforces no IAM; this is the check.

AWS rules encoded here (S3 and IAM documentation):
- HeadObject and GetObject need s3:GetObject on the object; ListObjectsV2 needs s3:ListBucket
  on the bucket, where an `s3:prefix` condition applies.
- Without s3:ListBucket on the bucket, S3 answers a missing key with 403, not 404. A call whose
  code relies on "not found" (the TTS cache check, the worker's idempotency check, a pending
  transcript) needs s3:ListBucket with no condition: a HEAD or GET request carries no
  `s3:prefix`, so a prefix-conditioned grant does not apply to it.
"""

from __future__ import annotations

from fnmatch import fnmatchcase

import pytest

from tests.infrastructure.conftest import VARIANTS
from tests.support.aws_calls import load_contract

ACTIONS = {
    ("s3", "HeadObject"): "s3:GetObject",
    ("s3", "GetObject"): "s3:GetObject",
    ("s3", "PutObject"): "s3:PutObject",
    ("s3", "DeleteObject"): "s3:DeleteObject",
    ("s3", "ListObjectsV2"): "s3:ListBucket",
    ("sagemaker-runtime", "InvokeEndpoint"): "sagemaker:InvokeEndpoint",
}


def render(value) -> str:
    """A CloudFormation value as a comparable string: `<Logical.Arn>`, `<Ref>`, joins."""
    if isinstance(value, str):
        return value
    if "Fn::GetAtt" in value:
        return f"<{value['Fn::GetAtt'][0]}.{value['Fn::GetAtt'][1]}>"
    if "Ref" in value:
        return f"<{value['Ref']}>"
    if "Fn::Join" in value:
        sep, parts = value["Fn::Join"]
        return sep.join(render(p) for p in parts)
    return str(value)


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def statements_of(s, role_logical_id: str) -> list[dict]:
    found = []
    for policy in s.resources("AWS::IAM::Policy").values():
        if {"Ref": role_logical_id} in policy["Properties"]["Roles"]:
            found += policy["Properties"]["PolicyDocument"]["Statement"]
    return found


def allows(statements, action: str, resource: str, context: dict[str, str]) -> bool:
    for st in statements:
        if st.get("Effect") != "Allow":
            continue
        if not any(fnmatchcase(action, a) for a in as_list(st["Action"])):
            continue
        if not any(fnmatchcase(resource, render(r)) for r in as_list(st["Resource"])):
            continue
        if conditions_hold(st.get("Condition", {}), context):
            return True
    return False


def conditions_hold(conditions: dict, context: dict[str, str]) -> bool:
    for operator, checks in conditions.items():
        for key, expected in checks.items():
            if key not in context:
                return False  # a condition on a key the request does not carry fails
            if operator == "StringLike":
                ok = any(fnmatchcase(context[key], e) for e in as_list(expected))
            elif operator == "StringEquals":
                ok = context[key] in as_list(expected)
            else:
                return False
            if not ok:
                return False
    return True


def audio_bucket(s) -> str:
    return next(k for k in s.resources("AWS::S3::Bucket") if k.startswith("Audio"))


def role_of_function(s, prefix: str) -> str | None:
    for key, fn in s.resources("AWS::Lambda::Function").items():
        if key.startswith(prefix) and fn["Properties"].get("PackageType") == "Image":
            return fn["Properties"]["Role"]["Fn::GetAtt"][0]
    return None


def roles_making_calls(s, variant: str) -> dict[tuple[str, str], str | None]:
    """(function in the contract, service) -> the role that makes those calls in AWS."""
    roles = {
        ("Api", "s3"): role_of_function(s, "Api"),
        ("Worker", "s3"): role_of_function(s, "Worker"),
        ("Tts", "s3"): role_of_function(s, "Tts"),
        ("Tts", "sagemaker-runtime"): None,  # only the sagemaker variant forwards
    }
    if variant == "sagemaker":
        # The TTS Lambda forwards; the endpoint's container reads and writes S3.
        model = next(iter(s.resources("AWS::SageMaker::Model").values()))
        roles[("Tts", "s3")] = model["Properties"]["ExecutionRoleArn"]["Fn::GetAtt"][0]
        roles[("Tts", "sagemaker-runtime")] = role_of_function(s, "Tts")
    if variant == "ecs":
        task = next(iter(s.resources("AWS::ECS::TaskDefinition").values()))
        roles[("Tts", "s3")] = task["Properties"]["TaskRoleArn"]["Fn::GetAtt"][0]
    return roles


def needed(call: dict, bucket: str) -> list[tuple[str, str, dict[str, str]]]:
    """(action, resource, request context) the call needs to succeed as the code expects."""
    action = ACTIONS[(call["service"], call["operation"])]
    bucket_arn = f"<{bucket}.Arn>"
    if call["service"] == "sagemaker-runtime":
        return [(action, "arn:aws:sagemaker:*:*:endpoint/*", {})]
    if action == "s3:ListBucket":
        required = [(action, bucket_arn, {"s3:prefix": f"{call['prefix']}x"})]
    else:
        required = [(action, f"{bucket_arn}/{call['prefix']}x", {})]
    if call["relies_on_not_found"]:
        required.append(("s3:ListBucket", bucket_arn, {}))
    return required


def test_the_contract_covers_every_function_that_touches_aws():
    functions = {(c["function"], c["service"]) for c in load_contract()}
    assert functions >= {("Api", "s3"), ("Worker", "s3"), ("Tts", "s3")}
    assert any(c["relies_on_not_found"] for c in load_contract())


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_recorded_call_is_allowed_by_its_role(synthesized, variant):
    s = synthesized[variant]
    bucket = audio_bucket(s)
    roles = roles_making_calls(s, variant)
    denied = []
    for call in load_contract():
        role = roles[(call["function"], call["service"])]
        if role is None:
            continue  # this variant never makes that call
        statements = statements_of(s, role)
        for action, resource, context in needed(call, bucket):
            if action == "sagemaker:InvokeEndpoint":
                ok = any(
                    st.get("Effect") == "Allow"
                    and any(fnmatchcase(action, a) for a in as_list(st["Action"]))
                    for st in statements
                )
            else:
                ok = allows(statements, action, resource, context)
            if not ok:
                denied.append(f"{call['function']} ({role}): {action} on {resource} {context}")
    assert not denied, "\n".join(denied)


def test_a_prefix_conditioned_list_grant_does_not_make_head_a_404():
    # The rule itself: a HEAD carries no s3:prefix, so this grant does not apply to it.
    statement = {
        "Effect": "Allow",
        "Action": "s3:ListBucket",
        "Resource": {"Fn::GetAtt": ["AudioX", "Arn"]},
        "Condition": {"StringLike": {"s3:prefix": ["uploads/*"]}},
    }
    assert allows([statement], "s3:ListBucket", "<AudioX.Arn>", {"s3:prefix": "uploads/a"})
    assert not allows([statement], "s3:ListBucket", "<AudioX.Arn>", {})
