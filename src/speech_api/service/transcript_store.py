"""The upload flow's state in S3, and the one place that knows its layout. An upload is
``uploads/<id>``; its records are ``transcripts/<id>``:

- ``.json``: the transcript; its presence marks the upload done. ``.txt``, ``.srt`` and
  ``.vtt`` beside it are the same transcript rendered.
- ``.error.json``: the upload failed for good (bad audio), or the worker gave up on it.
- ``.progress.json``: an attempt is under way (which one, how far it got, the last error
  worth retrying); an attempt that dies leaves it behind for the next one to count.

Each record carries the ETag of the upload version it is about in its metadata, so a record
about an older version of a key does not answer for a newer one."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from datetime import UTC, datetime

from speech_api.config import Settings
from speech_api.engines import Transcript
from speech_api.errors import (
    NotFoundError,
    ServiceUnavailableError,
    SpeechAPIError,
    TranscriptionFailedError,
)
from speech_api.formats import STORED_TRANSCRIPT_FORMATS, TRANSCRIPT_FORMATS
from speech_api.schemas import PendingTranscript, StoredTranscript
from speech_api.service.transcripts import render_transcript, transcription_response
from speech_api.service.upload_limits import PROGRESS_INTERVAL_S
from speech_api.storage import ObjectStorage

logger = logging.getLogger("speech_api.uploads")

_DONE = ".json"
_ERROR = ".error.json"
_PROGRESS = ".progress.json"
# Stored beside the .json (the API's own format), each under its usual extension.
_RENDERINGS = tuple(fmt for fmt in STORED_TRANSCRIPT_FORMATS if fmt != "json")
# Metadata of an .error.json written on giving up (not for bad audio): a replay of the message
# from the dead-letter queue transcribes again rather than finding the error and stopping.
_GAVE_UP = "gave-up"
_MAX_ID_CHARS = 512
# Hours of speech: about 250 KB of JSON per hour (Lambda answers up to 6 MB).
_MAX_TRANSCRIPT_BYTES = 5 * 1024 * 1024
_MAX_RECORD_BYTES = 64 * 1024


def is_valid_upload_id(upload_id: str) -> bool:
    """Ids mirror upload keys (``uploads/calls/day 1.wav`` -> ``calls/day 1.wav``), so they may
    contain '/' and spaces, but nothing that could leave the transcripts prefix or confuse a
    path: no leading '/', no empty, '.' or '..' segment, no backslash, no control character;
    and none that ends like another id's record (``<id>.error`` would name ``<id>``'s
    .error.json)."""
    if not 0 < len(upload_id) <= _MAX_ID_CHARS or upload_id.startswith("/"):
        return False
    if any(ord(ch) < 32 or ord(ch) == 127 or ch == "\\" for ch in upload_id):
        return False
    if upload_id.endswith((_ERROR.removesuffix(".json"), _PROGRESS.removesuffix(".json"))):
        return False
    return all(segment not in ("", ".", "..") for segment in upload_id.split("/"))


class TranscriptStore:
    """Reads and writes an upload's records; knows nothing of audio or of the queue."""

    def __init__(self, settings: Settings, storage: ObjectStorage):
        self.storage = storage
        self.uploads_prefix = settings.uploads_prefix
        self.transcripts_prefix = settings.transcripts_prefix

    def _key(self, upload_id: str, suffix: str) -> str:
        return f"{self.transcripts_prefix}{upload_id}{suffix}"

    # --- ids and upload keys ----------------------------------------------------------------

    def upload_key(self, upload_id: str) -> str:
        return f"{self.uploads_prefix}{upload_id}"

    def id_for_upload(self, key: str) -> str | None:
        """``uploads/team/call-42.wav`` -> ``team/call-42.wav``: the key without the prefix, its
        extension kept, so ``meeting.wav`` and ``meeting.txt`` are two uploads with two ids. A
        key that cannot map to a safe id gets a hash of the key. None for keys that are no
        upload (outside the prefix, or a folder marker)."""
        if not key.startswith(self.uploads_prefix) or key.endswith("/"):
            return None
        candidate = key[len(self.uploads_prefix) :]
        if is_valid_upload_id(candidate):
            return candidate
        return "key-" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]

    # --- reading (the API) ------------------------------------------------------------------

    def lookup(self, upload_id: str) -> StoredTranscript | PendingTranscript:
        """The transcript when done, pending while its upload waits; raises
        TranscriptionFailedError (with the stored reason) or NotFoundError. The id must be
        valid (is_valid_upload_id)."""
        done = self.storage.get(self._key(upload_id, _DONE), max_bytes=_MAX_TRANSCRIPT_BYTES)
        if done is not None:
            try:
                return StoredTranscript.model_validate_json(done.data)
            except ValueError as exc:  # written by hand into transcripts/, not by the worker
                raise _unreadable(upload_id) from exc
        failed = self.storage.get(self._key(upload_id, _ERROR), max_bytes=_MAX_RECORD_BYTES)
        if failed is not None:
            try:
                error = json.loads(failed.data)["error"]
                message, code = error["message"], error["code"]
            except (ValueError, KeyError, TypeError) as exc:
                raise _unreadable(upload_id) from exc
            raise TranscriptionFailedError(
                message, param=error.get("param"), code=code, error_type=error.get("type")
            )
        running = self.storage.get(self._key(upload_id, _PROGRESS), max_bytes=_MAX_RECORD_BYTES)
        if running is not None:
            try:
                return PendingTranscript.model_validate_json(running.data)
            except ValueError as exc:
                raise _unreadable(upload_id) from exc
        if self.storage.listed(self.upload_key(upload_id)):
            return PendingTranscript(id=upload_id)
        raise NotFoundError(f"No upload with id '{upload_id}'.", param="id")

    def unfinished_uploads(self) -> list[str]:
        """Upload keys that have neither a transcript nor an error record: work that is queued,
        in flight, or was lost with a queue that lives in memory (the embedded default)."""
        records = set(self.storage.keys(self.transcripts_prefix))
        unfinished = []
        for key in self.storage.keys(self.uploads_prefix):
            upload_id = self.id_for_upload(key)
            if (
                upload_id is not None
                and not {
                    self._key(upload_id, _DONE),
                    self._key(upload_id, _ERROR),
                }
                & records
            ):
                unfinished.append(key)
        return unfinished

    # --- writing (the worker) ---------------------------------------------------------------

    def finished(self, upload_id: str, etag: str) -> bool:
        """Whether this version of the upload has its transcript or its error record. A
        record of giving up does not count: a replay from the dead-letter queue (the cause may
        be fixed) starts over."""
        for suffix in (_DONE, _ERROR):
            existing = self.storage.head(self._key(upload_id, suffix))
            if (
                existing is not None
                and existing.get("etag") == etag
                and existing.get(_GAVE_UP) != "true"
            ):
                return True
        return False

    def save_transcript(
        self, upload_id: str, source_key: str, etag: str, transcript: Transcript
    ) -> dict:
        """Write the transcript and its renderings; returns the document stored as .json."""
        marker = {"etag": etag}
        document = {
            **transcription_response(transcript).model_dump(),
            "id": upload_id,
            "source_key": source_key,
            "etag": etag,
            "created_at": _now(),
        }
        # The renderings first: the .json is what marks the transcript as done.
        for fmt in _RENDERINGS:
            rendered = render_transcript(transcript, fmt)
            self.storage.put(
                self._key(upload_id, _suffix(fmt)),
                rendered.body.encode("utf-8"),
                content_type=f"{rendered.media_type}; charset=utf-8",
                metadata=marker,
            )
        self._put_json(self._key(upload_id, _DONE), document, marker)
        # Done. Tidying up may fail without undoing that: the transcript marks it as done, and
        # an old error record or a progress record behind it is only read when it is absent.
        try:
            # A newer version succeeded where an older one failed: the old error is void.
            self.storage.delete(self._key(upload_id, _ERROR))
            self.delete_progress(upload_id)
        except ServiceUnavailableError:
            logger.warning("transcript %s written; removing old records failed", upload_id)
        return document

    def save_error(
        self,
        upload_id: str,
        source_key: str,
        etag: str,
        exc: SpeechAPIError,
        *,
        gave_up: bool = False,
    ) -> dict:
        """Record why the upload failed for good; results of older versions no longer hold.
        ``gave_up``: the worker gave up (a replay may try again), not bad audio. Returns the
        record stored as .error.json."""
        record = {
            "error": exc.to_dict(),
            "id": upload_id,
            "source_key": source_key,
            "etag": etag,
            "created_at": _now(),
        }
        metadata = {"etag": etag} | ({_GAVE_UP: "true"} if gave_up else {})
        self._put_json(self._key(upload_id, _ERROR), record, metadata)
        for fmt in STORED_TRANSCRIPT_FORMATS:
            self.storage.delete(self._key(upload_id, _suffix(fmt)))
        self.delete_progress(upload_id)
        return record

    def load_progress(self, upload_id: str) -> dict:
        """The progress record, or {} when there is none (or it is unreadable)."""
        found = self.storage.get(self._key(upload_id, _PROGRESS), max_bytes=_MAX_RECORD_BYTES)
        if found is None:
            return {}
        try:
            record = json.loads(found.data)
        except ValueError:
            return {}
        return record if isinstance(record, dict) else {}

    def save_progress(self, upload_id: str, etag: str, record: dict) -> None:
        self._put_json(self._key(upload_id, _PROGRESS), record, {"etag": etag})

    def delete_progress(self, upload_id: str) -> None:
        self.storage.delete(self._key(upload_id, _PROGRESS))

    def _put_json(self, key: str, document: dict, metadata: dict[str, str]) -> None:
        self.storage.put(
            key,
            json.dumps(document).encode("utf-8"),
            content_type="application/json",
            metadata=metadata,
        )


class Attempt:
    """One worker attempt at one upload version, and its progress record: which attempt this
    is, how far it got, and the error of an attempt that failed in a way worth retrying. An
    attempt that dies (timeout, out of memory, killed) leaves the record as it was: the next
    one counts it."""

    def __init__(self, store: TranscriptStore, upload_id: str, source_key: str, etag: str):
        self.store = store
        self.upload_id, self.source_key, self.etag = upload_id, source_key, etag
        previous = store.load_progress(upload_id)
        self.previous = previous if previous.get("etag") == etag else {}
        self.number = int(self.previous.get("attempt", 0)) + 1
        self.total_s: float | None = None
        self.done_s = 0.0
        self._saved_at = 0.0

    def give_up_error(self, exc: SpeechAPIError | None = None) -> TranscriptionFailedError:
        """Why the file failed: this attempt's error, the last attempt's, or (attempts that
        died without a word) where they stopped."""
        attempts = max(self.number - (exc is None), 1)
        if exc is not None:
            reason = f"{exc.message} ({exc.code})"
        elif last := self.previous.get("last_error"):
            reason = f"{last.get('message')} ({last.get('code')})"
        else:
            progress = self.previous.get("progress") or {}
            where = (
                f" (the last one at {progress.get('audio_s_done', 0):.0f} of "
                f"{progress['audio_s_total']:.0f} s of audio)"
                if progress.get("audio_s_total")
                else " (the last one before the audio was decoded)"
            )
            reason = (
                "each attempt stopped before finishing" + where + ": the worker ran out of "
                "time or memory, or was stopped. Split the recording, or give the worker "
                "more memory (LONG_AUDIO_MAX_SECONDS sets the longest file it accepts)"
            )
        return TranscriptionFailedError(
            f"Transcription failed {attempts} times: {reason}.",
            param="file",
            code="worker_failed",
        )

    def progress(self, done_s: float, total_s: float) -> None:
        """Called as the transcription advances: written when the length becomes known, then
        at most every PROGRESS_INTERVAL_S. Best effort: an S3 hiccup must not stop an hour of
        decoding (the next report tries again)."""
        first = self.total_s is None
        self.done_s, self.total_s = done_s, total_s
        if first or time.monotonic() - self._saved_at >= PROGRESS_INTERVAL_S:
            try:
                self.save()
            except ServiceUnavailableError:
                logger.warning("progress of %s not recorded", self.source_key)

    def save(self, last_error: SpeechAPIError | None = None, counted: bool = True) -> None:
        """Write the record; ``counted=False``: this attempt does not count (the next one
        gets its number)."""
        record: dict = {
            "id": self.upload_id,
            "status": "processing",
            "source_key": self.source_key,
            "etag": self.etag,
            "attempt": self.number if counted else self.number - 1,
            "progress": {"audio_s_done": round(self.done_s, 1), "audio_s_total": self.total_s},
            "updated_at": _now(),
        }
        if last_error is not None:
            record["last_error"] = last_error.to_dict()
        self.store.save_progress(self.upload_id, self.etag, record)
        self._saved_at = time.monotonic()

    def delete(self) -> None:
        self.store.delete_progress(self.upload_id)


def _suffix(fmt: str) -> str:
    return "." + TRANSCRIPT_FORMATS[fmt]


def _unreadable(upload_id: str) -> TranscriptionFailedError:
    return TranscriptionFailedError(
        f"The stored record for '{upload_id}' is unreadable; upload the file again.",
        param="id",
        code="unreadable_transcript",
    )


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
