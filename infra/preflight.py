"""`make preflight` (`python -m infra.preflight`): what a real `cdk deploy` would meet first,
asked of the account before it is met half-way through a stack update.

What the stack needs is read from the template `cdk synth` makes with the chosen options
(cdk.json's context, then `-c key=value`), so the preflight checks what would deploy:

* **The Region and its partition.** The Stt and Tts routes are API Gateway STREAM
  integrations (response streaming), which AWS documents for the commercial `aws` partition;
  `aws-cn` and `aws-us-gov` are refused. Whether each service the stack's resources use is in
  the Region is read from AWS's public SSM parameters
  (`/aws/service/global-infrastructure/regions/<region>/services`).
* **Lambda concurrency.** `lambda:GetAccountSettings` says how much concurrency the account
  has and how much is unreserved; the stack reserves some (tts_reserved_concurrency,
  stt_reserved_concurrency, provisioned_concurrency for Stt and Tts) and Lambda refuses any
  reservation that leaves fewer than 100 unreserved. New accounts may have 10 in all. Service
  Quotas' applied value of "Concurrent executions" (L-B99A9384) is shown beside it.
* **Lambda memory.** New accounts may also have a reduced memory quota, which no API reports
  (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html): each function
  asking for more than 3,008 MB is named, with the option that lowers it.

Exit status 1 when something would fail the deploy; warnings alone exit 0.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# Lambda keeps this much of an account's concurrency unreserved
# (https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html).
UNRESERVED_MINIMUM = 100
LAMBDA_CONCURRENCY_QUOTA = "L-B99A9384"
# The memory a new account's reduced quota is known to allow (AWS publishes no API for it).
NEW_ACCOUNT_MEMORY_MB = 3008
STREAMING_PARTITIONS = ("aws",)
# What the stack's resources need of the Region: the service behind each resource type prefix.
SERVICES = {
    "AWS::Lambda::": "lambda",
    "AWS::ApiGateway::": "apigateway",
    "AWS::S3::": "s3",
    "AWS::SQS::": "sqs",
    "AWS::SNS::": "sns",
    "AWS::WAFv2::": "wafv2",
    "AWS::SageMaker::": "sagemaker",
    "AWS::ECS::": "ecs",
}


@dataclass(frozen=True)
class Needs:
    """What the synthesized stack asks of the account and Region."""

    services: frozenset[str]
    reserved: dict[str, int]  # function -> concurrency taken from the unreserved pool
    memory: dict[str, int]  # function -> MB


def needs_of(template: dict) -> Needs:
    """Read from the template `cdk synth` makes, so the preflight checks what would deploy."""
    resources = template["Resources"]
    services = {
        service
        for r in resources.values()
        for prefix, service in SERVICES.items()
        if r["Type"].startswith(prefix)
    }
    names = {}
    reserved: dict[str, int] = {}
    memory: dict[str, int] = {}
    for logical, r in resources.items():
        if r["Type"] != "AWS::Lambda::Function":
            continue
        props = r["Properties"]
        name = logical.split("Function")[0] or logical
        names[logical] = name
        memory[name] = int(props.get("MemorySize", 128))
        if props.get("ReservedConcurrentExecutions"):
            reserved[name] = int(props["ReservedConcurrentExecutions"])
    for r in resources.values():
        if r["Type"] != "AWS::Lambda::Alias":
            continue
        provisioned = (r["Properties"].get("ProvisionedConcurrencyConfig") or {}).get(
            "ProvisionedConcurrentExecutions"
        )
        target = (r["Properties"].get("FunctionName") or {}).get("Ref")
        if provisioned and target in names:
            name = names[target]
            reserved[name] = max(reserved.get(name, 0), int(provisioned))
    return Needs(frozenset(services), reserved, memory)


@dataclass(frozen=True)
class Finding:
    level: str  # "ok", "warn" or "fail"
    check: str
    detail: str


def partition_of(region: str) -> str:
    import boto3

    return boto3.session.Session().get_partition_for_region(region)


def check_region(region: str, needs: Needs, ssm) -> list[Finding]:
    partition = partition_of(region)
    if partition not in STREAMING_PARTITIONS:
        return [
            Finding(
                "fail",
                "region",
                f"{region} is in the {partition} partition: API Gateway response streaming "
                "(the Stt and Tts routes' STREAM integrations) is documented for the aws "
                "partition only. Deploy to a commercial Region.",
            )
        ]
    path = f"/aws/service/global-infrastructure/regions/{region}/services"
    available = set()
    for page in ssm.get_paginator("get_parameters_by_path").paginate(Path=path):
        available |= {p["Value"] for p in page["Parameters"]}
    missing = sorted(needs.services - available)
    if missing:
        return [Finding("fail", "region", f"{region} lacks {', '.join(missing)}.")]
    return [
        Finding("ok", "region", f"{region} ({partition}) has {', '.join(sorted(needs.services))}.")
    ]


def check_concurrency(needs: Needs, lambda_client, quotas) -> list[Finding]:
    limits = lambda_client.get_account_settings()["AccountLimit"]
    total = limits["ConcurrentExecutions"]
    unreserved = limits["UnreservedConcurrentExecutions"]
    try:
        quota = quotas.get_service_quota(ServiceCode="lambda", QuotaCode=LAMBDA_CONCURRENCY_QUOTA)
        applied = f"; Service Quotas: {quota['Quota']['Value']:g}"
    except Exception as exc:  # the quota API may be denied or absent: the settings suffice
        applied = f"; Service Quotas not read ({type(exc).__name__})"
    wanted = sum(needs.reserved.values())
    summary = f"account concurrency {total}, unreserved {unreserved}{applied}"
    if wanted and unreserved - wanted < UNRESERVED_MINIMUM:
        asks = ", ".join(f"{name} {n}" for name, n in needs.reserved.items())
        fits = max(0, unreserved - UNRESERVED_MINIMUM)
        return [
            Finding(
                "fail",
                "concurrency",
                f"{summary}. The stack reserves {wanted} ({asks}) and Lambda keeps "
                f"{UNRESERVED_MINIMUM} unreserved: at most {fits} can be reserved here. Ask "
                "for a quota increase (Service Quotas, Lambda, Concurrent executions), or "
                f"deploy with -c tts_reserved_concurrency={min(fits, 10)} (and "
                "provisioned_concurrency=0 where set).",
            )
        ]
    return [Finding("ok", "concurrency", f"{summary}; the stack reserves {wanted}.")]


def check_memory(needs: Needs) -> list[Finding]:
    big = {n: mb for n, mb in needs.memory.items() if mb > NEW_ACCOUNT_MEMORY_MB}
    if not big:
        return [Finding("ok", "memory", f"every function fits {NEW_ACCOUNT_MEMORY_MB} MB.")]
    names = ", ".join(f"{n} {mb} MB (-c {n.lower()}_memory_mb=...)" for n, mb in big.items())
    return [
        Finding(
            "warn",
            "memory",
            f"{names} asks for more than {NEW_ACCOUNT_MEMORY_MB} MB. New accounts may have a "
            "reduced memory quota that no API reports; if the deploy fails on MemorySize, "
            f"lower it to {NEW_ACCOUNT_MEMORY_MB} (the worker then runs slower than its "
            "LONG_AUDIO_RTF figure) or ask AWS Support to raise it.",
        )
    ]


def preflight(needs: Needs, region: str, *, lambda_client, quotas, ssm) -> list[Finding]:
    return [
        *check_region(region, needs, ssm),
        *check_concurrency(needs, lambda_client, quotas),
        *check_memory(needs),
    ]


def synthesized_needs(overrides: list[str]) -> Needs:
    """Synthesize the app as `cdk synth` does (cdk.json's context, then -c key=value), and
    read what it needs."""
    import tempfile

    import aws_cdk as cdk

    from infra.app import build_app

    context = json.loads((REPO / "cdk.json").read_text())["context"]
    for item in overrides:
        key, _, value = item.partition("=")
        context[key] = value
    with tempfile.TemporaryDirectory(prefix="preflight-") as out:
        app = cdk.App(context=context, outdir=out)
        build_app(app)
        assembly = app.synth()
        (stack,) = assembly.stacks
        return needs_of(stack.template)


def main(argv: list[str] | None = None) -> int:
    import boto3

    parser = argparse.ArgumentParser(prog="python -m infra.preflight", description=__doc__)
    parser.add_argument("--region", help="default: the AWS profile's or AWS_REGION")
    parser.add_argument("-c", "--context", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args(argv)
    session = boto3.session.Session()
    region = args.region or session.region_name
    if not region:
        print("preflight: no Region (set AWS_REGION or pass --region)", file=sys.stderr)
        return 2
    findings = preflight(
        synthesized_needs(args.context),
        region,
        lambda_client=session.client("lambda", region_name=region),
        quotas=session.client("service-quotas", region_name=region),
        ssm=session.client("ssm", region_name=region),
    )
    for f in findings:
        print(f"{f.level.upper():5} {f.check:12} {f.detail}")
    return 1 if any(f.level == "fail" for f in findings) else 0


if __name__ == "__main__":
    raise SystemExit(main())
