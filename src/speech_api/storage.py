"""S3 storage: one bucket, a public-read prefix for synthesized audio, bounded timeouts."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from urllib.parse import quote

from speech_api.config import Settings
from speech_api.errors import PayloadTooLargeError, SpeechAPIError, StorageUnavailableError


@dataclass(frozen=True)
class StoredObject:
    data: bytes
    etag: str
    metadata: dict[str, str]


@dataclass(frozen=True)
class ObjectInfo:
    etag: str
    metadata: dict[str, str]


class ObjectStorage:
    def __init__(self, settings: Settings):
        self._s3 = settings.s3
        self._region = settings.aws_region
        self.bucket = settings.s3.bucket
        self.public_prefix = settings.public_prefix
        self._public_base_url = settings.public_base_url

    @cached_property
    def client(self):
        import boto3
        from botocore.config import Config

        s3 = self._s3
        return boto3.client(
            "s3",
            region_name=self._region,
            endpoint_url=s3.endpoint_url,
            aws_access_key_id=s3.access_key_id,
            aws_secret_access_key=s3.secret_access_key,
            config=Config(
                connect_timeout=s3.connect_timeout_s,
                read_timeout=s3.read_timeout_s,
                retries={"max_attempts": s3.max_attempts, "mode": "standard"},
                # Custom endpoints (moto, MinIO) rarely resolve bucket subdomains.
                s3={"addressing_style": "path" if s3.endpoint_url else "auto"},
            ),
        )

    def _unavailable(
        self, exc: Exception, operation: str, key: str | None
    ) -> StorageUnavailableError:
        """A 503 for the caller; for a refusal, a log line that says which permission is
        missing on which resource (the caller only learns that storage failed)."""
        code = ""
        if isinstance(getattr(exc, "response", None), dict):
            code = str(exc.response.get("Error", {}).get("Code", ""))
        if code in _DENIED:
            resource = f"arn:aws:s3:::{self.bucket}" + (f"/{key}" if key is not None else "")
            logger.error(
                "S3 denied %s: the role needs %s on %s%s",
                operation,
                _IAM_ACTIONS.get(operation, f"s3:{operation}"),
                resource,
                " (and s3:ListBucket on the bucket, or a missing key is 403 instead of 404)"
                if operation in ("HeadObject", "GetObject")
                else "",
            )
        return _unavailable_detail(exc)

    def public_url(self, key: str) -> str:
        path = quote(key, safe="/")
        if self._public_base_url:
            return f"{self._public_base_url.rstrip('/')}/{path}"
        if self._s3.endpoint_url:
            return f"{self._s3.endpoint_url.rstrip('/')}/{self.bucket}/{path}"
        return f"https://{self.bucket}.s3.{self._region}.amazonaws.com/{path}"

    def head(self, key: str) -> dict[str, str] | None:
        """The object's user metadata, or None when it does not exist."""
        found = self.stat(key)
        return None if found is None else found.metadata

    def stat(self, key: str) -> ObjectInfo | None:
        """The object's ETag and user metadata (one HeadObject), or None when it does not
        exist."""
        from botocore.exceptions import ClientError

        try:
            response = self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _MISSING:
                return None
            raise self._unavailable(exc, "HeadObject", key) from exc
        except Exception as exc:
            raise self._unavailable(exc, "HeadObject", key) from exc
        return ObjectInfo(
            etag=response.get("ETag", "").strip('"'), metadata=response.get("Metadata", {})
        )

    def put(self, key: str, data: bytes, *, content_type: str, metadata: dict[str, str]) -> None:
        # A single PutObject is atomic: readers see the whole object or none of it.
        try:
            self.client.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=data,
                ContentType=content_type,
                Metadata=metadata,
                CacheControl="public, max-age=31536000, immutable",
            )
        except Exception as exc:
            raise self._unavailable(exc, "PutObject", key) from exc

    def put_if(self, key: str, data: bytes, *, content_type: str, **condition: str) -> bool:
        """A conditional PutObject (``IfNoneMatch="*"``: only if absent; ``IfMatch=etag``:
        only if unchanged), private: whether it was written (False: the condition failed, or
        another conditional write to the key was under way)."""
        from botocore.exceptions import ClientError

        try:
            self.client.put_object(
                Bucket=self.bucket, Key=key, Body=data, ContentType=content_type, **condition
            )
            return True
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            if code in _CONDITION_FAILED:
                return False
            if code == "NotImplemented":
                raise StorageUnavailableError(
                    "The object store (S3_ENDPOINT_URL) does not take conditional writes "
                    "(PutObject If-None-Match / If-Match)."
                ) from exc
            raise self._unavailable(exc, "PutObject", key) from exc
        except Exception as exc:
            raise self._unavailable(exc, "PutObject", key) from exc

    def get(self, key: str, *, max_bytes: int) -> StoredObject | None:
        """The object's bytes (refused beyond ``max_bytes``), or None when it does not exist."""
        with self._reading(key) as response:
            if response is None:
                return None
            self._within(
                response, max_bytes, f"The object is larger than the limit of {max_bytes} bytes."
            )
            return StoredObject(
                data=response["Body"].read(),
                etag=response.get("ETag", "").strip('"'),
                metadata=response.get("Metadata", {}),
            )

    def download(self, key: str, target: Path, *, max_bytes: int) -> ObjectInfo | None:
        """Stream the object into ``target`` (memory stays flat however large it is), refused
        beyond ``max_bytes``; its ETag and metadata, or None when it does not exist."""
        with self._reading(key) as response:
            if response is None:
                return None
            self._within(
                response,
                max_bytes,
                f"The object is {response['ContentLength']} bytes; the limit is "
                f"{max_bytes} bytes (MAX_LONG_UPLOAD_BYTES).",
            )
            with open(target, "wb") as out:
                for chunk in response["Body"].iter_chunks(1024 * 1024):
                    out.write(chunk)
            return ObjectInfo(
                etag=response.get("ETag", "").strip('"'), metadata=response.get("Metadata", {})
            )

    @contextmanager
    def _reading(self, key: str) -> Iterator[dict | None]:
        """GetObject's response (None when the object does not exist) for the caller to read;
        whatever fails while it is read is a 503, except the caller's own refusals."""
        from botocore.exceptions import ClientError

        try:
            try:
                response = self.client.get_object(Bucket=self.bucket, Key=key)
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") not in _MISSING:
                    raise
                response = None
            yield response
        except SpeechAPIError:
            raise
        except Exception as exc:
            raise self._unavailable(exc, "GetObject", key) from exc

    @staticmethod
    def _within(response: dict, max_bytes: int, message: str) -> None:
        if response["ContentLength"] > max_bytes:
            response["Body"].close()
            raise PayloadTooLargeError(message, param="file")

    def delete(self, key: str) -> None:
        try:
            self.client.delete_object(Bucket=self.bucket, Key=key)
        except Exception as exc:
            raise self._unavailable(exc, "DeleteObject", key) from exc

    def listed(self, key: str) -> bool:
        """Whether the key exists, asked by listing (s3:ListBucket), not by reading it: callers
        that may list the bucket need no read access to the object. The key itself sorts first
        among the keys it prefixes."""
        try:
            listed = self.client.list_objects_v2(Bucket=self.bucket, Prefix=key, MaxKeys=1)
        except Exception as exc:
            raise self._unavailable(exc, "ListObjectsV2", None) from exc
        return any(o["Key"] == key for o in listed.get("Contents", []))

    def keys(self, prefix: str) -> list[str]:
        """Every key under the prefix (ListObjectsV2, all pages)."""
        found: list[str] = []
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=prefix
            )
            for page in pages:
                found.extend(o["Key"] for o in page.get("Contents", []))
        except Exception as exc:
            raise self._unavailable(exc, "ListObjectsV2", None) from exc
        return found

    def presigned_post(
        self,
        key: str,
        *,
        content_type: str,
        max_bytes: int,
        expires_s: int,
        metadata: dict[str, str],
    ) -> dict:
        """A browser-style POST form for one key: exact content type and metadata, and a
        size range that S3 enforces (so large files never pass through the API)."""
        fields = {"Content-Type": content_type}
        fields |= {f"x-amz-meta-{k}": v for k, v in metadata.items()}
        conditions = [["content-length-range", 1, max_bytes], *({k: v} for k, v in fields.items())]
        try:
            return self.client.generate_presigned_post(
                self.bucket, key, Fields=fields, Conditions=conditions, ExpiresIn=expires_s
            )
        except Exception as exc:
            raise self._unavailable(exc, "PutObject", key) from exc


# The IAM action each call needs: what an AccessDenied means the role lacks.
_IAM_ACTIONS = {
    "HeadObject": "s3:GetObject",
    "GetObject": "s3:GetObject",
    "PutObject": "s3:PutObject",
    "DeleteObject": "s3:DeleteObject",
    "ListObjectsV2": "s3:ListBucket",
}
_MISSING = ("404", "NoSuchKey", "NotFound")
# A conditional write that lost: the key exists, or has changed (412), or another write to it
# is under way (409).
_CONDITION_FAILED = ("PreconditionFailed", "ConditionalRequestConflict")
_DENIED = ("AccessDenied", "403", "Forbidden", "AllAccessDisabled")
logger = logging.getLogger("speech_api.storage")


def _unavailable_detail(exc: Exception) -> StorageUnavailableError:
    detail = type(exc).__name__
    response = getattr(exc, "response", None)
    if isinstance(response, dict) and response.get("Error", {}).get("Code"):
        detail = response["Error"]["Code"]
    return StorageUnavailableError(f"Object storage is unavailable ({detail}). Try again shortly.")


def aws_client(service: str, settings: Settings, config=None):
    """A client for another AWS service (SQS, SNS) where S3 is: the embedded server locally
    (its endpoint and keys), AWS's own endpoint and the role's credentials on AWS. ``config``:
    botocore's Config (timeouts, retries)."""
    import boto3

    return boto3.client(
        service,
        region_name=settings.aws_region,
        endpoint_url=settings.s3.endpoint_url,
        aws_access_key_id=settings.s3.access_key_id,
        aws_secret_access_key=settings.s3.secret_access_key,
        config=config,
    )
