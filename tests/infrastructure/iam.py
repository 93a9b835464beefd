"""Evaluate a role's identity policies in a synthesized template against AWS calls.

Feed it the calls a function makes (hand-listed, or recorded during integration tests) and it
says which IAM permissions each call needs and whether the role's statements grant them:
Allow/Deny, action wildcards, Action/NotAction, Resource/NotResource, ARNs built with
`Fn::Join` / `Fn::GetAtt` / `Ref`, and conditions (the string/ARN/Bool operators, `...IfExists`).

S3 specifics it models: HEAD and GET of a missing key answer 404 only when the caller also has
s3:ListBucket on the bucket, else 403. Those requests carry no `s3:prefix`, so a ListBucket
grant conditioned on `s3:prefix` does not count. A call marked `relies_on_not_found` (the code
treats "missing" as an answer, not an error) therefore also needs unconditioned ListBucket.

Bucket names: in a template the bucket is a logical ID; ARNs resolve to `arn:aws:s3:::<logical
id>` unless `names` maps the logical ID to a real name (for recorded calls against a real bucket).
AWS-managed policies attached by ARN are not expanded (their text is not in the template); the
ones this stack attaches (basic execution, API Gateway logs) grant no S3.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

PSEUDO = {
    "AWS::Partition": "aws",
    "AWS::Region": "us-east-1",
    "AWS::AccountId": "123456789012",
    "AWS::URLSuffix": "amazonaws.com",
}

# S3 API operation -> (IAM action, what the resource is). A presigned POST is signed with the
# role's credentials and S3 authorizes the browser's upload as that role's PutObject.
S3_OPERATIONS = {
    "HeadObject": ("s3:GetObject", "object"),
    "GetObject": ("s3:GetObject", "object"),
    "PutObject": ("s3:PutObject", "object"),
    "DeleteObject": ("s3:DeleteObject", "object"),
    "GeneratePresignedPost": ("s3:PutObject", "object"),
    "ListObjectsV2": ("s3:ListBucket", "bucket"),
    # A multipart upload is authorized as PutObject on its key, but its abort; a copy needs
    # PutObject on the target (and GetObject on the source, a call of its own in the contract).
    "CreateMultipartUpload": ("s3:PutObject", "object"),
    "UploadPart": ("s3:PutObject", "object"),
    "CompleteMultipartUpload": ("s3:PutObject", "object"),
    "AbortMultipartUpload": ("s3:AbortMultipartUpload", "object"),
    "CopyObject": ("s3:PutObject", "object"),
    "ListObjects": ("s3:ListBucket", "bucket"),
}


@dataclass(frozen=True)
class AwsCall:
    service: str
    action: str
    bucket: str
    key: str | None = None
    relies_on_not_found: bool = False
    prefix: str | None = None  # ListObjects(V2) Prefix

    def __str__(self) -> str:
        target = self.key if self.key is not None else f"prefix={self.prefix!r}"
        extra = " (relies on not-found)" if self.relies_on_not_found else ""
        return f"{self.service}:{self.action} {target}{extra}"


def s3(action: str, key: str | None = None, *, bucket: str, **kwargs) -> AwsCall:
    return AwsCall("s3", action, bucket, key, **kwargs)


@dataclass(frozen=True)
class Permission:
    action: str
    resource: str
    context: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.action} on {self.resource}" + (
            f" with {self.context}" if self.context else ""
        )


def required_permissions(call: AwsCall) -> list[Permission]:
    if call.service != "s3":
        raise NotImplementedError(f"no IAM mapping for {call.service} calls yet")
    action, kind = S3_OPERATIONS[call.action]
    bucket_arn = f"arn:aws:s3:::{call.bucket}"
    if kind == "object":
        needed = [Permission(action, f"{bucket_arn}/{call.key}")]
    else:
        context = {"s3:prefix": call.prefix} if call.prefix is not None else {}
        needed = [Permission(action, bucket_arn, context)]
    if call.relies_on_not_found:
        if call.action not in ("HeadObject", "GetObject"):
            raise ValueError(f"{call.action} has no not-found answer to rely on")
        needed.append(Permission("s3:ListBucket", bucket_arn))  # no s3:prefix in the request
    return needed


class Template:
    def __init__(self, template: dict, names: dict[str, str] | None = None):
        self.json = template
        self.resources: dict[str, dict] = template["Resources"]
        self.names = names or {}

    # --- finding principals ---------------------------------------------------------------

    def function_role(self, function_prefix: str) -> str:
        """The role of the Lambda function whose logical ID starts with `function_prefix`."""
        fn = next(
            v
            for k, v in self.resources.items()
            if v["Type"] == "AWS::Lambda::Function" and k.startswith(function_prefix)
        )
        return fn["Properties"]["Role"]["Fn::GetAtt"][0]

    def service_roles(self, service: str) -> list[str]:
        """Roles that `service` (e.g. sagemaker.amazonaws.com) may assume."""
        return [
            k
            for k, v in self.resources.items()
            if v["Type"] == "AWS::IAM::Role"
            and service in str(v["Properties"]["AssumeRolePolicyDocument"])
        ]

    def task_roles(self) -> list[str]:
        return [
            v["Properties"]["TaskRoleArn"]["Fn::GetAtt"][0]
            for v in self.resources.values()
            if v["Type"] == "AWS::ECS::TaskDefinition" and "TaskRoleArn" in v["Properties"]
        ]

    def statements(self, role: str) -> list[dict]:
        """Every identity-policy statement attached to `role` in the template."""
        found = []
        for policy in self.resources[role]["Properties"].get("Policies", []):
            found += _listify(policy["PolicyDocument"]["Statement"])
        for v in self.resources.values():
            if v["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy") and {"Ref": role} in v[
                "Properties"
            ].get("Roles", []):
                found += _listify(v["Properties"]["PolicyDocument"]["Statement"])
        return found

    # --- evaluation -----------------------------------------------------------------------

    def decide(self, role: str, permission: Permission) -> str:
        """'allow', 'deny' (explicit) or 'implicit-deny'."""
        allowed = False
        for st in self.statements(role):
            if self._applies(st, permission):
                if st["Effect"] == "Deny":
                    return "deny"
                allowed = True
        return "allow" if allowed else "implicit-deny"

    def missing(self, role: str, call: AwsCall) -> list[Permission]:
        """The permissions `call` needs that `role` is not granted (empty: the call works)."""
        return [p for p in required_permissions(call) if self.decide(role, p) != "allow"]

    def allows(self, role: str, call: AwsCall) -> bool:
        return not self.missing(role, call)

    def _applies(self, st: dict, p: Permission) -> bool:
        if "Action" in st:
            if not any(_wildcard(a, p.action, True) for a in _listify(st["Action"])):
                return False
        elif any(_wildcard(a, p.action, True) for a in _listify(st["NotAction"])):
            return False
        if "Resource" in st:
            resources = [self.resolve(r) for r in _listify(st["Resource"])]
            if not any(_wildcard(r, p.resource) for r in resources):
                return False
        elif any(_wildcard(self.resolve(r), p.resource) for r in _listify(st["NotResource"])):
            return False
        return _conditions_hold(
            {
                op: {k: [self.resolve(v) for v in _listify(vs)] for k, vs in keys.items()}
                for op, keys in st.get("Condition", {}).items()
            },
            p.context,
        )

    def resolve(self, value: Any) -> str:
        """A template value as a string (intrinsics resolved, buckets by logical ID/name)."""
        if isinstance(value, str):
            return value
        if not isinstance(value, dict) or len(value) != 1:
            return "{unresolved}"
        ((fn, arg),) = value.items()
        if fn == "Ref":
            if arg in PSEUDO:
                return PSEUDO[arg]
            return self.names.get(arg, arg)
        if fn == "Fn::GetAtt":
            logical_id, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
            kind = self.resources.get(logical_id, {}).get("Type")
            if kind == "AWS::S3::Bucket" and attribute == "Arn":
                return f"arn:aws:s3:::{self.names.get(logical_id, logical_id)}"
            return f"{{{logical_id}.{attribute}}}"
        if fn == "Fn::Join":
            separator, parts = arg
            return separator.join(self.resolve(part) for part in parts)
        if fn == "Fn::Select":
            index, items = arg
            items = self.resolve_list(items)
            return items[int(index)]
        return "{unresolved}"

    def resolve_list(self, value: Any) -> list[str]:
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if isinstance(value, dict) and "Fn::Split" in value:
            separator, source = value["Fn::Split"]
            return self.resolve(source).split(separator)
        return [self.resolve(value)]


def _listify(value) -> list:
    return value if isinstance(value, list) else [value]


def _wildcard(pattern: str, value: str, ignore_case: bool = False) -> bool:
    """IAM matching: `*` any run of characters, `?` one character, nothing else special."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.IGNORECASE if ignore_case else 0) is not None


def _conditions_hold(conditions: dict[str, dict[str, list[str]]], context: dict) -> bool:
    for operator, keys in conditions.items():
        if_exists = operator.endswith("IfExists")
        base = operator.removesuffix("IfExists")
        for key, values in keys.items():
            if key not in context:
                if if_exists or base in ("StringNotEquals", "StringNotLike", "ArnNotLike"):
                    continue
                return False
            actual = str(context[key])
            if base in ("StringEquals", "ArnEquals"):
                ok = actual in values
            elif base in ("StringLike", "ArnLike"):
                ok = any(_wildcard(v, actual) for v in values)
            elif base == "StringNotEquals":
                ok = actual not in values
            elif base in ("StringNotLike", "ArnNotLike"):
                ok = not any(_wildcard(v, actual) for v in values)
            elif base == "Bool":
                ok = actual.lower() in (v.lower() for v in values)
            else:
                raise NotImplementedError(f"condition operator {operator}")
            if not ok:
                return False
    return True
