"""The test S3: moto's server (conftest's `s3_endpoint`, once per session) with one bucket and
the embedded S3's fixed credentials. A process a test starts reaches it through `s3_env`."""

from __future__ import annotations

from pathlib import Path

from devkit.server import ServerProcess, speech_api_serve
from speech_api.runtime.embedded.s3 import EMBEDDED_CREDENTIALS

TEST_BUCKET = "speech-api-test"


def s3_env(endpoint_url: str) -> dict[str, str]:
    """The environment that points a process's settings at the test S3 and its bucket."""
    return {
        "S3_ENDPOINT_URL": endpoint_url,
        "S3_BUCKET": TEST_BUCKET,
        "S3_ACCESS_KEY_ID": EMBEDDED_CREDENTIALS["access_key_id"],
        "S3_SECRET_ACCESS_KEY": EMBEDDED_CREDENTIALS["secret_access_key"],
    }


def serve_on_test_s3(
    cwd: Path | str, model_cache_dir: Path, s3_endpoint: str, **env
) -> ServerProcess:
    """`speech-api serve` (not started yet) on the test S3, waited for until its models are
    loaded (/ready)."""
    return speech_api_serve(
        cwd,
        health="/ready",
        LOG_LEVEL="warning",
        MODEL_CACHE_DIR=str(model_cache_dir),
        **s3_env(s3_endpoint),
        **env,
    )
