"""The embedded default: moto's S3 server in-process, so `make serve` needs no AWS account.

The bucket gets the same policy the CDK stack deploys: anonymous read on the public prefix
only, so returned URLs play in a browser while every other key stays private.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from speech_api.config import S3Settings, Settings

# moto accepts any credentials; these only keep botocore from looking for real ones.
EMBEDDED_CREDENTIALS = {"access_key_id": "embedded", "secret_access_key": "embedded"}


def public_read_policy(bucket: str, public_prefix: str) -> dict:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "PublicReadForPublicPrefixOnly",
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{bucket}/{public_prefix}*",
            }
        ],
    }


@dataclass
class EmbeddedS3:
    server: object
    endpoint_url: str

    def stop(self) -> None:
        self.server.stop()


def needs_embedded_s3(settings: Settings) -> bool:
    if settings.embedded_s3 != "auto":
        return bool(settings.embedded_s3)
    return not (
        settings.s3.endpoint_url
        or settings.s3.access_key_id
        or settings.aws_access_key_id
        or settings.aws_profile
    )


def start_embedded_s3(host: str = "127.0.0.1", port: int = 0) -> EmbeddedS3:
    import logging

    from moto.server import ThreadedMotoServer

    # werkzeug logs every S3 request to stdout; the API's own access log is enough.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
    server.start()
    bound_host, bound_port = server.get_host_and_port()
    return EmbeddedS3(server=server, endpoint_url=f"http://{bound_host}:{bound_port}")


def prepare_bucket(settings: Settings) -> None:
    """Create the bucket (if missing) and apply the public-prefix read policy."""
    from speech_api.storage import ObjectStorage

    client = ObjectStorage(settings).client
    bucket = settings.s3.bucket
    existing = {b["Name"] for b in client.list_buckets().get("Buckets", [])}
    if bucket not in existing:
        if settings.aws_region == "us-east-1":
            client.create_bucket(Bucket=bucket)
        else:
            client.create_bucket(
                Bucket=bucket,
                CreateBucketConfiguration={"LocationConstraint": settings.aws_region},
            )
    client.put_bucket_policy(
        Bucket=bucket, Policy=json.dumps(public_read_policy(bucket, settings.public_prefix))
    )


def with_embedded_s3(settings: Settings, endpoint_url: str) -> Settings:
    s3 = S3Settings(
        **{**settings.s3.model_dump(), "endpoint_url": endpoint_url, **EMBEDDED_CREDENTIALS}
    )
    return settings.model_copy(update={"s3": s3})
