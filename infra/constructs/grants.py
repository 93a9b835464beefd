"""S3 grants shared by every role that touches the bucket (functions, SageMaker, ECS tasks)."""

from __future__ import annotations

from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import IConstruct

from infra.nag import acknowledge, prefix_grant_finding


def grant_objects(
    grantee: iam.IGrantable,
    bucket: s3.IBucket,
    actions: list[str],
    prefix: str,
    *,
    nag_scope: IConstruct,
) -> None:
    """Object actions on `<bucket>/<prefix>*` only."""
    grantee.grant_principal.add_to_principal_policy(
        iam.PolicyStatement(actions=actions, resources=[bucket.arn_for_objects(f"{prefix}*")])
    )
    acknowledge(
        nag_scope,
        {
            prefix_grant_finding(bucket, prefix): f"Objects are created at run time under "
            f"{prefix}; the grant is limited to that prefix.",
        },
    )


def grant_list_bucket(grantee: iam.IGrantable, bucket: s3.IBucket) -> None:
    """Unconditioned s3:ListBucket on the bucket itself.

    Without it S3 answers a HEAD/GET of a missing key with 403 instead of 404, and the app's
    "does it exist yet" checks (TTS cache, transcript lookups, worker idempotency) read as
    errors. A ListBucket grant conditioned on s3:prefix does not count: those requests carry
    no prefix. It reveals key names, never object contents."""
    grantee.grant_principal.add_to_principal_policy(
        iam.PolicyStatement(actions=["s3:ListBucket"], resources=[bucket.bucket_arn])
    )
