"""The embedded S3: moto's server in-process (it serves SQS too, see `sqs`), so `make serve`
needs no AWS account.

The bucket gets the same policy the CDK stack deploys: anonymous read on the public prefix
only, so returned URLs play in a browser while every other key stays private. With a data
directory its objects are kept on disk (`persistence`) and survive a crash; `access` checks
signatures in front of it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass

from pydantic import SecretStr

from speech_api.config import S3Settings, Settings
from speech_api.runtime.embedded.persistence import ObjectMirror

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


# What the embedded S3 enforces and what it does not, printed by `serve` (and in the README).
EMBEDDED_S3_CAVEATS = (
    "enforced: signatures by the key in DATA_DIR, anonymous read of the public prefix only,",
    "upload form policies; not enforced: per-role IAM, payload hashes, presigned URLs (refused)",
)


@dataclass
class EmbeddedS3:
    server: object
    endpoint_url: str
    mirror: ObjectMirror | None = None

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


def start_embedded_s3(
    host: str = "127.0.0.1",
    port: int = 0,
    mirror: ObjectMirror | None = None,
    gate: Callable | None = None,
    sock=None,
) -> EmbeddedS3:
    """moto's server (S3 and SQS) on ``host:port``, or on ``sock``, a listening socket the
    caller bound (runtime/claims.py). With ``mirror``, objects are written to disk before each
    write is acknowledged; ``gate`` wraps moto's WSGI app (access control). Raises OSError
    when the port is taken."""
    # werkzeug logs every S3 request to stdout; the API's own access log is enough.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = _MotoServer(host, port, mirror, gate, sock)
    return EmbeddedS3(server=server, endpoint_url=server.endpoint_url, mirror=mirror)


class _MotoServer:
    """What moto's ThreadedMotoServer does, with our WSGI wrapper around its app, and bind
    errors raised to the caller (ThreadedMotoServer's thread would swallow them and hang;
    werkzeug's own bind calls sys.exit, so a port taken is checked by binding it first)."""

    def __init__(
        self, host: str, port: int, mirror: ObjectMirror | None, gate: Callable | None, sock=None
    ):
        import threading

        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        app = DomainDispatcherApplication(create_backend_app)
        if gate:
            app = gate(app)
        if mirror:
            app = mirror.wsgi(app)
        if sock is None:
            from speech_api.runtime.claims import listen

            sock = listen(host, port)  # OSError, where werkzeug would exit the process
        with sock:  # werkzeug serves a duplicate of it
            self._server = make_server(
                host,
                sock.getsockname()[1],
                app,
                threaded=True,
                request_handler=MotoRequestHandler,
                fd=sock.fileno(),
            )
        bound_host, bound_port = self._server.server_address[:2]
        self.endpoint_url = f"http://{bound_host}:{bound_port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="embedded-s3", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join()


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


def with_embedded_s3(
    settings: Settings, endpoint_url: str, credentials: dict[str, str] | None = None
) -> Settings:
    """Settings pointing at the embedded S3. ``credentials`` (from the data directory) also
    give the TTS cache its signing secret unless TTS_CACHE_SECRET is set."""
    keys = EMBEDDED_CREDENTIALS
    update = {}
    if credentials:
        keys = {k: credentials[k] for k in ("access_key_id", "secret_access_key")}
        if settings.tts.cache_secret is None:
            secret = SecretStr(credentials["cache_secret"])
            update["tts"] = settings.tts.model_copy(update={"cache_secret": secret})
    s3 = S3Settings(**{**settings.s3.model_dump(), "endpoint_url": endpoint_url, **keys})
    return settings.model_copy(update={"s3": s3, **update})
