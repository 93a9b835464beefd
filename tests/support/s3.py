"""The test S3: moto's server (conftest's `s3_endpoint`, once per session) with one bucket and
the embedded S3's fixed credentials. A process a test starts reaches it through `s3_env`."""

from __future__ import annotations

from speech_api.runtime.local import EMBEDDED_CREDENTIALS

TEST_BUCKET = "speech-api-test"


def s3_env(endpoint_url: str) -> dict[str, str]:
    """The environment that points a process's settings at the test S3 and its bucket."""
    return {
        "S3_ENDPOINT_URL": endpoint_url,
        "S3_BUCKET": TEST_BUCKET,
        "S3_ACCESS_KEY_ID": EMBEDDED_CREDENTIALS["access_key_id"],
        "S3_SECRET_ACCESS_KEY": EMBEDDED_CREDENTIALS["secret_access_key"],
    }
