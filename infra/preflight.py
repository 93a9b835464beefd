"""`make preflight` (`python -m infra.preflight`): what a real `cdk deploy` would meet first,
asked of the account before it is met half-way through a stack update.

* **The Region and its partition.** The Stt and Tts routes are API Gateway STREAM
  integrations (response streaming), which AWS documents for the commercial `aws` partition;
  `aws-cn` and `aws-us-gov` are refused. Whether each service the chosen options use is in the
  Region is read from AWS's public SSM parameters
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
from dataclasses import dataclass, fields
from pathlib import Path

from infra.config import DeployConfig

REPO = Path(__file__).resolve().parents[1]
# Lambda keeps this much of an account's concurrency unreserved
# (https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html).
UNRESERVED_MINIMUM = 100
LAMBDA_CONCURRENCY_QUOTA = "L-B99A9384"
# The memory a new account's reduced quota is known to allow (AWS publishes no API for it).
NEW_ACCOUNT_MEMORY_MB = 3008
STREAMING_PARTITIONS = ("aws",)
SERVICES = {
    "lambda": "Lambda",
    "apigateway": "API Gateway",
    "s3": "S3",
    "sqs": "SQS",
    "sns": "SNS",
    "wafv2": "WAF (the body-size rule in front of the API)",
}
GPU_SERVICES = {"sagemaker": {"sagemaker": "SageMaker"}, "ecs": {"ecs": "ECS"}, "none": {}}


@dataclass(frozen=True)
class Finding:
    level: str  # "ok", "warn" or "fail"
    check: str
    detail: str


def partition_of(region: str) -> str:
    import boto3

    return boto3.session.Session().get_partition_for_region(region)


def check_region(region: str, config: DeployConfig, ssm) -> list[Finding]:
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
    wanted = {**SERVICES, **GPU_SERVICES.get(config.gpu_tts, {})}
    missing = [name for code, name in wanted.items() if code not in available]
    if missing:
        return [Finding("fail", "region", f"{region} lacks {', '.join(missing)}.")]
    return [Finding("ok", "region", f"{region} ({partition}) has {', '.join(wanted.values())}.")]


def reserved_by(config: DeployConfig) -> dict[str, int]:
    """Concurrency the stack takes out of the account's unreserved pool, per function."""
    taken = {
        "Stt": config.stt_reserved_concurrency,
        "Tts": config.tts_reserved_concurrency if config.gpu_tts != "ecs" else 0,
    }
    if config.provisioned_concurrency:
        for name in ("Stt", "Tts"):
            taken[name] = max(taken[name], config.provisioned_concurrency)
    return {name: n for name, n in taken.items() if n}


def check_concurrency(config: DeployConfig, lambda_client, quotas) -> list[Finding]:
    limits = lambda_client.get_account_settings()["AccountLimit"]
    total = limits["ConcurrentExecutions"]
    unreserved = limits["UnreservedConcurrentExecutions"]
    try:
        quota = quotas.get_service_quota(ServiceCode="lambda", QuotaCode=LAMBDA_CONCURRENCY_QUOTA)
        applied = f"; Service Quotas: {quota['Quota']['Value']:g}"
    except Exception as exc:  # the quota API may be denied or absent: the settings suffice
        applied = f"; Service Quotas not read ({type(exc).__name__})"
    taken = reserved_by(config)
    wanted = sum(taken.values())
    summary = f"account concurrency {total}, unreserved {unreserved}{applied}"
    if wanted and unreserved - wanted < UNRESERVED_MINIMUM:
        asks = ", ".join(f"{name} {n}" for name, n in taken.items())
        fits = max(0, unreserved - UNRESERVED_MINIMUM)
        return [
            Finding(
                "fail",
                "concurrency",
                f"{summary}. The stack reserves {wanted} ({asks}) and Lambda keeps "
                f"{UNRESERVED_MINIMUM} unreserved: at most {fits} can be reserved here. Ask "
                "for a quota increase (Service Quotas, Lambda, Concurrent executions), or "
                f"deploy with -c tts_reserved_concurrency={min(fits, 10)}"
                + (" -c provisioned_concurrency=0" if config.provisioned_concurrency else "")
                + ".",
            )
        ]
    return [Finding("ok", "concurrency", f"{summary}; the stack reserves {wanted}.")]


def check_memory(config: DeployConfig) -> list[Finding]:
    sizes = {
        "Stt": ("stt_memory_mb", config.stt_memory_mb),
        "Tts": ("tts_memory_mb", config.tts_memory_mb),
        "Worker": ("worker_memory_mb", config.worker_memory_mb),
        "Api": ("api_memory_mb", config.api_memory_mb),
    }
    big = {n: v for n, v in sizes.items() if v[1] > NEW_ACCOUNT_MEMORY_MB}
    if not big:
        return [Finding("ok", "memory", f"every function fits {NEW_ACCOUNT_MEMORY_MB} MB.")]
    names = ", ".join(f"{n} {mb} MB (-c {option}=...)" for n, (option, mb) in big.items())
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


def preflight(config: DeployConfig, region: str, *, lambda_client, quotas, ssm) -> list[Finding]:
    return [
        *check_region(region, config, ssm),
        *check_concurrency(config, lambda_client, quotas),
        *check_memory(config),
    ]


def config_from(overrides: list[str]) -> DeployConfig:
    """The deploy options as `cdk deploy` reads them: cdk.json's context, then -c key=value."""
    import aws_cdk as cdk

    context = json.loads((REPO / "cdk.json").read_text())["context"]
    for item in overrides:
        key, _, value = item.partition("=")
        context[key] = value
    known = {f.name for f in fields(DeployConfig)} | {"cloudfront"}
    app = cdk.App(context={k: v for k, v in context.items() if k in known})
    return DeployConfig.from_context(app)


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
    config = config_from(args.context)
    findings = preflight(
        config,
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
