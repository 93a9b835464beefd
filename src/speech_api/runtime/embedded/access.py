"""Access control in front of the embedded S3 (and SQS), which on its own accepts any
signature and lists the bucket to anyone.

What it enforces, as AWS would for this bucket: a request signed with Signature Version 4
must carry a valid signature by the local access key (kept in DATA_DIR); an unsigned request
may only read (GET/HEAD) objects under the public prefix, which is the bucket policy; a
browser form upload (POST) must carry a valid policy signature (Version 4, or Version 2 as
boto3 signs forms by default), be unexpired, and meet the
policy's conditions (bucket, key, content type, metadata, size range), and every field it
sends must be covered by a condition. What it does not do: IAM policies per principal (there
is one key, with full access), query-string presigned URLs (refused), payload hashes
(``x-amz-content-sha256`` is trusted as sent) and replay windows.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import re
from datetime import UTC, datetime

_AUTH = re.compile(
    r"AWS4-HMAC-SHA256\s+Credential=(?P<cred>[^,\s]+),\s*SignedHeaders=(?P<signed>[^,\s]+),"
    r"\s*Signature=(?P<sig>[0-9a-f]{64})"
)
# Form fields that no policy condition needs to name (AWS's rule for POST uploads).
_UNCONDITIONED = {"policy", "x-amz-signature", "signature", "awsaccesskeyid", "file"}


class Denied(Exception):
    pass


def _signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    key = ("AWS4" + secret).encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def _content_length(environ: dict) -> int:
    """The request's Content-Length; Denied when it is not a number of at most 18 digits
    (int() raised on "abc", and on more than 4,300 digits: a 500)."""
    value = (environ.get("CONTENT_LENGTH") or "0").lstrip("0") or "0"
    if not (value.isascii() and value.isdecimal() and len(value) <= 18):
        raise Denied("The Content-Length header is not a number of bytes.")
    return int(value)


def _canonical_query(raw: str) -> str:
    pairs = [pair.partition("=")[::2] for pair in raw.split("&")] if raw else []
    return "&".join(f"{k}={v}" for k, v in sorted(pairs))


def _header(environ: dict, name: str) -> str | None:
    if name == "content-type":
        return environ.get("CONTENT_TYPE")
    if name == "content-length":
        return environ.get("CONTENT_LENGTH")
    return environ.get("HTTP_" + name.upper().replace("-", "_"))


class AccessGate:
    def __init__(
        self,
        app,
        *,
        access_key_id: str,
        secret_access_key: str,
        bucket: str,
        public_prefix: str,
        max_form_bytes: int,
    ):
        self._app = app
        self._key_id = access_key_id
        self._secret = secret_access_key
        self._bucket = bucket
        self._public_prefix = public_prefix
        self._max_form_bytes = max_form_bytes

    def __call__(self, environ, start_response):
        try:
            self._check(environ)
        except Denied as exc:
            body = (
                '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>'
                f"<Message>{exc}</Message></Error>"
            ).encode()
            start_response(
                "403 Forbidden",
                [("Content-Type", "application/xml"), ("Content-Length", str(len(body)))],
            )
            return [body]
        return self._app(environ, start_response)

    def _check(self, environ: dict) -> None:
        method = environ["REQUEST_METHOD"]
        query = environ.get("QUERY_STRING", "")
        if "HTTP_AUTHORIZATION" in environ:
            return self._check_signature(environ)
        if "X-Amz-Signature" in query or "X-Amz-Credential" in query:
            raise Denied("Presigned URLs are not supported by the embedded S3.")
        path = environ.get("PATH_INFO", "")
        if method in ("GET", "HEAD") and path.startswith(f"/{self._bucket}/{self._public_prefix}"):
            return None  # the bucket policy: anonymous read of the public prefix
        if method == "OPTIONS":
            return None  # CORS preflight carries no credentials
        is_form = "multipart/form-data" in (environ.get("CONTENT_TYPE") or "")
        if method == "POST" and path.rstrip("/") == f"/{self._bucket}" and is_form:
            return self._check_form(environ)
        raise Denied("Anonymous access is allowed only to read objects under the public prefix.")

    def _check_signature(self, environ: dict) -> None:
        match = _AUTH.fullmatch(environ["HTTP_AUTHORIZATION"].strip())
        if not match:
            raise Denied("Only AWS Signature Version 4 is accepted.")
        key_id, date, region, service, terminal = (match["cred"].split("/") + [""] * 5)[:5]
        if key_id != self._key_id or terminal != "aws4_request":
            raise Denied("The access key is not the embedded S3's (see DATA_DIR).")
        amz_date = environ.get("HTTP_X_AMZ_DATE", "")
        if not amz_date.startswith(date):
            raise Denied("x-amz-date does not match the credential scope.")
        signed = match["signed"].split(";")
        payload_hash = environ.get("HTTP_X_AMZ_CONTENT_SHA256")
        if payload_hash is None:  # SQS and other services sign the body itself
            length = _content_length(environ)
            body = environ["wsgi.input"].read(length) if length else b""
            environ["wsgi.input"] = io.BytesIO(body)
            payload_hash = hashlib.sha256(body).hexdigest()
        headers = []
        for name in signed:
            value = _header(environ, name)
            if value is None:
                raise Denied(f"Signed header '{name}' is missing.")
            headers.append(f"{name}:{' '.join(value.split())}\n")
        raw_path = environ.get("RAW_URI") or environ.get("REQUEST_URI") or environ["PATH_INFO"]
        canonical = "\n".join(
            [
                environ["REQUEST_METHOD"],
                raw_path.split("?", 1)[0],
                _canonical_query(environ.get("QUERY_STRING", "")),
                "".join(headers),
                ";".join(signed),
                payload_hash,
            ]
        )
        to_sign = "\n".join(
            [
                "AWS4-HMAC-SHA256",
                amz_date,
                f"{date}/{region}/{service}/aws4_request",
                hashlib.sha256(canonical.encode()).hexdigest(),
            ]
        )
        expected = hmac.new(
            _signing_key(self._secret, date, region, service), to_sign.encode(), hashlib.sha256
        ).hexdigest()
        if not hmac.compare_digest(expected, match["sig"]):
            raise Denied("The request signature does not match.")

    def _check_form(self, environ: dict) -> None:
        from werkzeug.formparser import parse_form_data

        length = _content_length(environ)
        if not 0 < length <= self._max_form_bytes:
            raise Denied("The form upload is empty or larger than the upload limit.")
        body = environ["wsgi.input"].read(length)
        environ["wsgi.input"] = io.BytesIO(body)  # moto reads it again
        _, form, files = parse_form_data(
            {**environ, "wsgi.input": io.BytesIO(body)}, max_content_length=length
        )
        fields = {k.lower(): v for k, v in form.items()}
        upload = files.get("file")
        if upload is None:
            raise Denied("The form has no file.")
        size = len(upload.read())
        try:
            policy_b64 = fields["policy"]
            policy = json.loads(base64.b64decode(policy_b64))
            if "x-amz-credential" in fields:  # Signature Version 4
                credential, signature = fields["x-amz-credential"], fields["x-amz-signature"]
                key_id, date, region, service, _ = (credential.split("/") + [""] * 5)[:5]
                signing_key = _signing_key(self._secret, date, region, service)
                expected = hmac.new(signing_key, policy_b64.encode(), hashlib.sha256).hexdigest()
            else:  # Version 2, what boto3's generate_presigned_post signs by default
                key_id, signature = fields["awsaccesskeyid"], fields["signature"]
                digest = hmac.new(self._secret.encode(), policy_b64.encode(), hashlib.sha1)
                expected = base64.b64encode(digest.digest()).decode()
        except (KeyError, ValueError, RecursionError) as exc:  # RecursionError: nested JSON
            raise Denied("The form has no valid policy and signature.") from exc
        if key_id != self._key_id or not hmac.compare_digest(expected, signature):
            raise Denied("The form's policy signature does not match.")
        expiration = datetime.fromisoformat(policy["expiration"].replace("Z", "+00:00"))
        if expiration < datetime.now(UTC):
            raise Denied("The form's policy has expired.")
        values = {**fields, "bucket": self._bucket}
        covered = set(_UNCONDITIONED)
        for condition in policy.get("conditions", []):
            covered |= self._meets(condition, values, size)
        if unnamed := {k for k in fields if not k.startswith("x-ignore-")} - covered:
            raise Denied(f"Form fields not covered by the policy: {', '.join(sorted(unnamed))}.")

    @staticmethod
    def _meets(condition, values: dict[str, str], size: int) -> set[str]:
        """Check one policy condition; returns the field names it covers."""
        if isinstance(condition, dict):
            ((name, want),) = condition.items()
            name = name.lower()
            if values.get(name) != want:
                raise Denied(f"Policy condition failed: {name} must be {want!r}.")
            return {name}
        op, *args = condition
        if op == "content-length-range":
            low, high = int(args[0]), int(args[1])
            if not low <= size <= high:
                raise Denied(f"The file is {size} bytes; the policy allows {low}-{high}.")
            return set()
        name = args[0].lstrip("$").lower()
        value = values.get(name, "")
        if (op == "eq" and value != args[1]) or (
            op == "starts-with" and not value.startswith(args[1])
        ):
            raise Denied(f"Policy condition failed: {name} {op} {args[1]!r}.")
        if op not in ("eq", "starts-with"):
            raise Denied(f"Unsupported policy condition {op!r}.")
        return {name}
