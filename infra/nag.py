"""cdk-nag acknowledgments, always with a reason, next to the construct they concern."""

from __future__ import annotations

import aws_cdk as cdk
from constructs import Construct


def acknowledge(scope: Construct, reasons: dict[str, str]) -> None:
    for rule, reason in reasons.items():
        cdk.Validations.of(scope).acknowledge(cdk.Acknowledgment(id=rule, reason=reason))


def prefix_grant_finding(bucket, prefix: str) -> str:
    """The IAM5 finding id cdk-nag reports for a grant on `<bucket>/<prefix>*`."""
    logical_id = cdk.Stack.of(bucket).get_logical_id(bucket.node.default_child)
    return f"AwsSolutions-IAM5[Resource::<{logical_id}.Arn>/{prefix}*]"
