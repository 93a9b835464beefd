"""Synthesize the CDK app exactly as `cdk synth` does (tests/support/synth.py): one synth per
gpu_tts variant, and one with CloudFront in front of the bucket, shared by the tests."""

from __future__ import annotations

import pytest

from tests.support.synth import VARIANTS, Synth, synth


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory) -> dict[str, Synth]:
    return {v: synth(tmp_path_factory.mktemp(f"cdk-{v}"), gpu_tts=v) for v in VARIANTS}


@pytest.fixture(scope="session")
def synthesized_cloudfront(tmp_path_factory) -> Synth:
    """public_access=cloudfront: a private bucket behind CloudFront with OAC."""
    return synth(tmp_path_factory.mktemp("cdk-cloudfront"), public_access="cloudfront")
