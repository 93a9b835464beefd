"""A synthesized function's environment and packages, as the functions run here: CloudFormation
references stood in for, the assets found in the cloud assembly."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.s3 import TEST_BUCKET, s3_env


def resolve(value, s3_endpoint: str) -> str:
    """The template's value, with CloudFormation references stood in for."""
    if isinstance(value, str):
        return value
    ref = json.dumps(value)
    if "Audio" in ref:
        return TEST_BUCKET
    if "DeadLetter" in ref:
        return f"{s3_endpoint}/123456789012/speech-api-uploads-dlq"
    if "SpeechJobs" in ref:  # the jobs' queue (tests create it with this name)
        return f"{s3_endpoint}/123456789012/speech-api-speech-jobs"
    if "Callbacks" in ref:  # callbacks' queue (the image tests ask for no callback)
        return f"{s3_endpoint}/123456789012/speech-api-callbacks"
    if "TranscriptTopic" in ref:  # the worker publishes only after a transcript (not run here)
        return "arn:aws:sns:us-east-1:123456789012:speech-api-transcripts"
    raise AssertionError(f"no stand-in for {ref}")


def function_env(props: dict, s3_endpoint: str) -> dict[str, str]:
    """The function's environment from the template, with the test S3 (moto) in for AWS's."""
    env = {
        k: resolve(v, s3_endpoint)
        for k, v in props.get("Environment", {}).get("Variables", {}).items()
    }
    env.update(s3_env(s3_endpoint))
    return env


def zip_asset(outdir: Path, s3_key: dict | str) -> Path:
    """The folder CDK zips for an S3 asset (Code.S3Key / Content.S3Key `<hash>.zip`)."""
    key = s3_key if isinstance(s3_key, str) else json.dumps(s3_key)
    asset_hash = key.strip('"').removesuffix(".zip")
    manifest = json.loads(next(outdir.glob("*.assets.json")).read_text())
    source = manifest["files"][asset_hash]["source"]
    assert source["packaging"] == "zip", source
    return outdir / source["path"]
