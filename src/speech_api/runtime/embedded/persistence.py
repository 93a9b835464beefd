"""What the embedded S3 keeps on disk, so `make serve` survives a crash (``kill -9``) and a
restart: every object of the bucket, mirrored under ``DATA_DIR/s3/<bucket>/``, and the local
credentials (``DATA_DIR/credentials.json``).

moto keeps objects in memory only. The mirror wraps moto's WSGI app: after each request that
may change objects, it writes what changed (temp file, then rename: a file is whole or absent)
before the response leaves, so whatever S3 acknowledged is on disk. At start, ``restore`` puts
the objects back into moto without S3 notifications. Queued work is not kept: SQS messages
live in memory, and the upload worker's backlog is rebuilt from the objects instead (every
upload without a transcript or error record is queued again; see ``requeue_unfinished``).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import secrets
import threading
from datetime import datetime
from pathlib import Path

logger = logging.getLogger("speech_api.local")

_SUFFIX = ".obj"


class DataDirInUse(SystemExit):
    """Another server holds this data directory."""


class DataDir:
    """DATA_DIR, held by one server at a time (two servers on one directory would each keep
    their own in-memory copy and overwrite each other's files)."""

    def __init__(self, path: Path):
        self.path = path.resolve()
        self.path.mkdir(parents=True, exist_ok=True)
        self._lock_file = open(self.path / ".lock", "w")  # noqa: SIM115 - held for the process
        try:
            fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            self._lock_file.close()
            raise DataDirInUse(
                f"{self.path} is in use by another `speech-api serve`; stop it or set DATA_DIR "
                "to another directory."
            ) from exc

    def credentials(self) -> dict[str, str]:
        """The embedded S3's access key and the TTS cache's signing secret: random on first
        start, then kept, so presigned forms and signed cache entries outlive a restart."""
        path = self.path / "credentials.json"
        with contextlib.suppress(FileNotFoundError, ValueError):
            stored = json.loads(path.read_text())
            if {"access_key_id", "secret_access_key", "cache_secret"} <= stored.keys():
                return stored
        created = {
            "access_key_id": "LOCAL" + secrets.token_hex(8).upper(),
            "secret_access_key": secrets.token_urlsafe(30),
            "cache_secret": secrets.token_urlsafe(30),
        }
        _atomic_write(path, json.dumps(created).encode(), mode=0o600)
        return created

    def s3_dir(self) -> Path:
        return self.path / "s3"


def _atomic_write(path: Path, data: bytes, *, mode: int = 0o644) -> None:
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _file_name(key: str) -> str:
    # Keys may hold '/', '..', spaces or anything: the file name is a hash, the key is inside.
    return hashlib.sha256(key.encode("utf-8")).hexdigest() + _SUFFIX


class ObjectMirror:
    """Keeps ``root/<bucket>/`` equal to moto's objects of the given buckets (latest version,
    its bytes, ETag, metadata and Last-Modified). One file per object: a JSON header line,
    then the bytes."""

    def __init__(self, root: Path, buckets: list[str], account_id: str | None = None):
        from moto.core import DEFAULT_ACCOUNT_ID

        self.root = root
        self.buckets = list(buckets)
        self.account_id = account_id or DEFAULT_ACCOUNT_ID
        self._lock = threading.Lock()
        # bucket -> key -> fingerprint of what the file holds
        self._mirrored: dict[str, dict[str, tuple]] = {b: {} for b in self.buckets}

    def _backend(self):
        from moto.s3.models import s3_backends

        return s3_backends[self.account_id]["aws"]

    # --- start ----------------------------------------------------------------------------

    def restore(self, region: str) -> int:
        """Create the buckets if missing and load every stored object into moto, sending no
        notifications. Returns how many objects came back."""
        backend = self._backend()
        restored = 0
        with self._lock:
            for bucket_name in self.buckets:
                folder = self.root / bucket_name
                folder.mkdir(parents=True, exist_ok=True)
                if bucket_name not in backend.buckets:
                    backend.create_bucket(bucket_name, region)
                for path in folder.iterdir():
                    if not path.name.endswith(_SUFFIX):
                        path.unlink()  # a temp file a crash left behind
                        continue
                    loaded = self._load(path)
                    if loaded is None:
                        continue
                    header, body = loaded
                    key = backend.put_object(
                        bucket_name,
                        header["key"],
                        body,
                        etag=header["etag"],
                        disable_notification=True,
                    )
                    key.set_metadata(dict(header["metadata"]), replace=True)
                    key.last_modified = datetime.fromisoformat(header["last_modified"])
                    self._mirrored[bucket_name][header["key"]] = _fingerprint(key)
                    restored += 1
        return restored

    @staticmethod
    def _load(path: Path) -> tuple[dict, bytes] | None:
        raw = path.read_bytes()
        head, _, body = raw.partition(b"\n")
        try:
            header = json.loads(head)
            if len(body) != header["size"]:
                raise ValueError(f"{len(body)} bytes, header says {header['size']}")
            return header, body
        except (ValueError, KeyError, TypeError) as exc:
            # Only a torn write outside this process (a disk fault) can do this: keep the
            # file for inspection, serve without it.
            logger.error("skipping unreadable stored object %s: %s", path, exc)
            path.rename(path.with_suffix(".unreadable"))
            return None

    # --- while serving --------------------------------------------------------------------

    def sync(self) -> None:
        """Write what changed since the last sync; delete what is gone."""
        backend = self._backend()
        with self._lock:
            for bucket_name in self.buckets:
                bucket = backend.buckets.get(bucket_name)
                if bucket is not None:
                    self._sync_bucket(bucket)

    def _sync_bucket(self, bucket) -> None:
        from moto.s3.models import FakeKey

        folder = self.root / bucket.name
        mirrored = self._mirrored[bucket.name]
        current = {}
        # The threaded server mutates the store while we read it: copy its names at once.
        for name in list(dict.keys(bucket.keys)):
            key = bucket.keys.get(name)
            if isinstance(key, FakeKey):
                current[name] = key
        for name, key in current.items():
            try:
                fingerprint = _fingerprint(key)
                if mirrored.get(name) == fingerprint:
                    continue
                body = key.value
                header = {
                    "key": name,
                    "etag": key.etag.strip('"'),
                    "metadata": dict(key.metadata),
                    "last_modified": key.last_modified.isoformat(),
                    "size": len(body),
                }
            except ValueError:
                continue  # replaced (and its buffer closed) meanwhile; the next sync writes it
            _atomic_write(folder / _file_name(name), json.dumps(header).encode() + b"\n" + body)
            mirrored[name] = fingerprint
        for name in set(mirrored) - set(current):
            with contextlib.suppress(FileNotFoundError):
                (folder / _file_name(name)).unlink()
            del mirrored[name]

    def wsgi(self, app):
        """moto's app, syncing after every request that may change objects and before its
        response is sent (Flask has run the request when the app returns; the server writes
        the status line only when the body is iterated)."""

        def mirrored_app(environ, start_response):
            response = app(environ, start_response)
            if environ.get("REQUEST_METHOD") in ("PUT", "POST", "DELETE") and not _is_sqs(environ):
                self.sync()
            return response

        return mirrored_app


def _fingerprint(key) -> tuple:
    return (id(key), key.etag, tuple(sorted(key.metadata.items())), key.last_modified)


def _is_sqs(environ: dict) -> bool:
    return "/sqs/" in environ.get("HTTP_AUTHORIZATION", "") or environ.get(
        "HTTP_X_AMZ_TARGET", ""
    ).startswith("AmazonSQS")
