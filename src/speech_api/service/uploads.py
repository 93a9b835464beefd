"""The upload -> transcript flow: presigned uploads into ``uploads/``, the worker that turns each
new object, of any length up to LONG_AUDIO_MAX_SECONDS, into ``transcripts/<id>.json``, ``.txt``,
``.srt`` and ``.vtt`` (with its progress and attempts in ``.progress.json`` meanwhile), and
transcript lookup by id."""

from __future__ import annotations

import hashlib
import json
import logging
import mimetypes
import os
import shutil
import tempfile
import time
import unicodedata
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import NoReturn
from urllib.parse import unquote_plus

from speech_api.config import Settings
from speech_api.errors import (
    InvalidRequestError,
    NotFoundError,
    ServiceUnavailableError,
    SpeechAPIError,
    TranscriptionFailedError,
    UnsupportedLanguageError,
    WorkerOutOfTimeError,
)
from speech_api.formats import (
    MAX_WORKER_ATTEMPTS,
    PROGRESS_INTERVAL_S,
    TRANSCRIPT_FORMATS,
    UPLOAD_TYPES,
    WHISPER_LANGUAGES,
    worker_audio_limit_s,
)
from speech_api.schemas import PendingTranscript, PresignedForm, StoredTranscript, UploadResponse
from speech_api.service.speech import SpeechService, TranscriptionOptions, normalize_language
from speech_api.service.transcripts import render_transcript, transcription_response

logger = logging.getLogger("speech_api.uploads")

_MAX_ID_CHARS = 512
_PROGRESS = ".progress.json"
# Metadata of an .error.json written on giving up (not for bad audio): a replay of the message
# from the dead-letter queue transcribes again rather than finding the error and stopping.
_GAVE_UP = "gave-up"
_OUTPUT_SUFFIXES = (".json", ".txt", ".srt", ".vtt")

TimeLeft = Callable[[], float]


class MoveToDeadLetters(Exception):
    """The file failed MAX_WORKER_ATTEMPTS times; its .error.json is written. The message
    goes to the dead-letter queue (the runtime sends it there)."""


# A transcript's records are <id>.json, .txt, .srt, .vtt, .error.json and .progress.json: an
# id ending in ".error" or ".progress" would name another id's record, so no id may.
_RESERVED_SUFFIXES = (".error", ".progress")


def is_valid_upload_id(upload_id: str) -> bool:
    """Ids mirror upload keys (``uploads/calls/day 1.wav`` -> ``calls/day 1.wav``), so they may
    contain '/' and spaces, but nothing that could leave the transcripts prefix or confuse a
    path: no leading '/', no empty, '.' or '..' segment, no backslash, no control character;
    and none that ends like another id's error record."""
    if not 0 < len(upload_id) <= _MAX_ID_CHARS or upload_id.startswith("/"):
        return False
    if any(ord(ch) < 32 or ord(ch) == 127 or ch == "\\" for ch in upload_id):
        return False
    if upload_id.endswith(_RESERVED_SUFFIXES):
        return False
    return all(segment not in ("", ".", "..") for segment in upload_id.split("/"))


def upload_id_from_key(key: str, uploads_prefix: str) -> str | None:
    """``uploads/team/call-42.wav`` -> ``team/call-42.wav``: the key without the prefix, its
    extension kept, so ``meeting.wav`` and ``meeting.txt`` are two uploads with two ids. None
    for keys that cannot map to a safe id (they are recorded under a hash of the key)."""
    if not key.startswith(uploads_prefix):
        return None
    candidate = key[len(uploads_prefix) :]
    return candidate if is_valid_upload_id(candidate) else None


def transcript_id_for_key(key: str, uploads_prefix: str) -> str:
    return upload_id_from_key(key, uploads_prefix) or (
        "key-" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
    )


class UploadService:
    def __init__(self, settings: Settings, service: SpeechService):
        self.settings = settings
        self.service = service
        self.storage = service.storage

    def transcript_key(self, upload_id: str, suffix: str = ".json") -> str:
        return f"{self.settings.transcripts_prefix}{upload_id}{suffix}"

    # --- API side -------------------------------------------------------------------------

    def create_upload(
        self, *, filename: str, content_type: str, language: str | None = None
    ) -> UploadResponse:
        content_type = content_type.strip().lower()
        extension = UPLOAD_TYPES.get(content_type)
        if extension is None:
            raise InvalidRequestError(
                f"content_type '{content_type}' is not an accepted audio type. Accepted: "
                f"{', '.join(sorted(UPLOAD_TYPES))}.",
                param="content_type",
                code="unsupported_content_type",
            )
        if any(unicodedata.category(ch) == "Cc" for ch in filename):
            raise InvalidRequestError(
                "filename must not contain control characters (CR, LF, ...).",
                param="filename",
                code="invalid_filename",
            )
        guessed = mimetypes.guess_type(filename)[0] if filename else None
        if guessed and not guessed.startswith(("audio/", "video/")):
            raise InvalidRequestError(
                f"filename '{filename}' does not look like an audio file.",
                param="filename",
                code="unsupported_filename",
            )
        upload_id = f"{uuid.uuid4().hex}.{extension}"
        key = f"{self.settings.uploads_prefix}{upload_id}"
        metadata = {"original-filename": _ascii(filename)[:200]}
        if (lang := normalize_language(language)) is not None:
            if lang not in WHISPER_LANGUAGES:
                raise UnsupportedLanguageError(
                    f"language '{_ascii(lang)}' is not a Whisper language code (ISO 639-1, "
                    "e.g. en, es, de).",
                    param="language",
                )
            metadata["language"] = lang
        form = self.storage.presigned_post(
            key,
            content_type=content_type,
            max_bytes=self.settings.max_long_upload_bytes,
            expires_s=self.settings.upload_url_expires_s,
            metadata=metadata,
        )
        return UploadResponse(
            id=upload_id,
            key=key,
            upload=PresignedForm(url=form["url"], fields=form["fields"]),
            expires_in=self.settings.upload_url_expires_s,
            transcript_url=f"/transcripts/{upload_id}",
        )

    def get_transcript(self, upload_id: str) -> StoredTranscript | PendingTranscript:
        """The transcript when done, pending while its upload waits; raises
        TranscriptionFailedError (with the stored reason) or NotFoundError."""
        if not is_valid_upload_id(upload_id):
            raise InvalidRequestError("Invalid transcript id.", param="id", code="invalid_id")
        # Hours of speech: about 250 KB of JSON per hour (Lambda answers up to 6 MB).
        limit = 5 * 1024 * 1024
        done = self.storage.get(self.transcript_key(upload_id), max_bytes=limit)
        if done is not None:
            try:
                return StoredTranscript.model_validate_json(done.data)
            except ValueError as exc:  # written by hand into transcripts/, not by the worker
                raise _unreadable(upload_id) from exc
        failed = self.storage.get(
            self.transcript_key(upload_id, ".error.json"), max_bytes=64 * 1024
        )
        if failed is not None:
            try:
                error = json.loads(failed.data)["error"]
                message, code = error["message"], error["code"]
            except (ValueError, KeyError, TypeError) as exc:
                raise _unreadable(upload_id) from exc
            raise TranscriptionFailedError(
                message,
                param=error.get("param"),
                code=code,
                error_type=error.get("type"),
            )
        running = self.storage.get(self.transcript_key(upload_id, _PROGRESS), max_bytes=64 * 1024)
        if running is not None:
            try:
                return PendingTranscript.model_validate_json(running.data)
            except ValueError as exc:
                raise _unreadable(upload_id) from exc
        if self.storage.listed(f"{self.settings.uploads_prefix}{upload_id}"):
            return PendingTranscript(id=upload_id)
        raise NotFoundError(f"No upload with id '{upload_id}'.", param="id")

    def unfinished_uploads(self) -> list[str]:
        """Upload keys that have neither a transcript nor an error record: work that is queued,
        in flight, or was lost with a queue that lives in memory (the embedded default)."""
        prefix = self.settings.uploads_prefix
        records = set(self.storage.keys(self.settings.transcripts_prefix))
        return [
            key
            for key in self.storage.keys(prefix)
            if not key.endswith("/")
            and not {
                self.transcript_key(transcript_id_for_key(key, prefix), suffix)
                for suffix in (".json", ".error.json")
            }
            & records
        ]

    # --- worker side ----------------------------------------------------------------------

    def handle_notification(self, body: str, time_left_s: TimeLeft | None = None) -> list[str]:
        """Process one SQS message body holding an S3 notification. Returns the transcript ids
        written. Raises ServiceUnavailableError for failures worth retrying, and
        MoveToDeadLetters for a file that has failed MAX_WORKER_ATTEMPTS times.
        ``time_left_s()`` is how long this invocation may still run (None: no limit)."""
        try:
            message = json.loads(body)
        except json.JSONDecodeError:
            logger.warning("ignoring a message that is not JSON")
            return []
        if isinstance(message, dict) and message.get("Event") == "s3:TestEvent":
            return []
        records = message.get("Records", []) if isinstance(message, dict) else []
        if not isinstance(records, list):
            logger.warning("ignoring a message whose Records is not a list")
            return []
        written = []
        for record in records:
            # Not an S3 notification's shape: nothing to retry, nothing to transcribe.
            if not isinstance(record, dict) or not isinstance(record.get("s3"), dict):
                logger.warning("ignoring a record that is not an S3 notification")
                continue
            if not str(record.get("eventName", "")).startswith("ObjectCreated"):
                continue
            obj = record["s3"].get("object")
            key = unquote_plus(str(obj.get("key", ""))) if isinstance(obj, dict) else ""
            if not key.startswith(self.settings.uploads_prefix) or key.endswith("/"):
                continue
            result = self.transcribe_object(key, time_left_s)
            if result is not None:
                written.append(result)
        return written

    def transcribe_object(self, key: str, time_left_s: TimeLeft | None = None) -> str | None:
        """Transcribe one uploaded object into transcripts/<id>.json, .txt, .srt and .vtt.
        Idempotent per object version (ETag): a duplicate delivery finds the transcript and
        does nothing. While it runs, transcripts/<id>.progress.json says how far it got; an
        attempt that dies leaves that record behind, and the attempt after the last allowed
        one records the failure instead of trying again."""
        upload_id = transcript_id_for_key(key, self.settings.uploads_prefix)
        current = self.storage.stat(key)
        if current is None:
            logger.info("upload %s is gone; nothing to do", key)
            return None
        for suffix in (".json", ".error.json"):
            existing = self.storage.head(self.transcript_key(upload_id, suffix))
            # A record of giving up does not stop a replay from the dead-letter queue (the
            # cause may be fixed): that delivery starts over.
            if (
                existing is not None
                and existing.get("etag") == current.etag
                and existing.get(_GAVE_UP) != "true"
            ):
                logger.info("transcript for %s (etag %s) exists; skipping", key, current.etag)
                return None

        run = _Attempt(self, upload_id, key, current.etag)
        if run.number > MAX_WORKER_ATTEMPTS:
            self._give_up(run, run.give_up_error())
        run.save()
        try:
            return self._transcribe(upload_id, key, run, time_left_s)
        except WorkerOutOfTimeError as exc:
            run.save(last_error=exc, counted=False)  # not the file's fault: no attempt spent
            raise  # let SQS deliver it again, to an invocation with its whole timeout
        except SpeechAPIError as exc:
            if not isinstance(exc, ServiceUnavailableError):
                self._record_failure(upload_id, key, run.etag, exc)  # bad audio stays bad
                return None
            error: SpeechAPIError = exc
        except Exception as exc:  # a bug or the machine (disk full): say what, and retry
            logger.exception("transcribing %s failed", key)
            error = TranscriptionFailedError(
                f"{type(exc).__name__}: {exc}"[:500], param="file", code="worker_error"
            )
        if run.number >= MAX_WORKER_ATTEMPTS:
            self._give_up(run, run.give_up_error(error))
        run.save(last_error=error)
        raise error  # let SQS retry

    def _give_up(self, run: _Attempt, error: TranscriptionFailedError) -> NoReturn:
        self._record_failure(
            run.upload_id, run.source_key, run.etag, error, metadata={_GAVE_UP: "true"}
        )
        raise MoveToDeadLetters(f"{run.source_key}: {error.message}")

    def _transcribe(
        self, upload_id: str, key: str, run: _Attempt, time_left_s: TimeLeft | None
    ) -> str | None:
        limit = self.settings.long_audio_max_seconds  # longer is refused for good

        def check_length(audio_s: float) -> None:
            # What this invocation can still finish, with margin: refused now, not half-way,
            # and not for good (a later delivery has the whole timeout).
            left = time_left_s()
            fits = worker_audio_limit_s(left)
            if audio_s > fits:
                raise WorkerOutOfTimeError(
                    f"The recording is {audio_s:.0f} s long; this invocation had {left:.0f} s "
                    f"left, enough for about {fits} s of audio. It is retried by a later "
                    "delivery, which starts with the whole timeout.",
                    param="file",
                )

        with _work_dir() as work:
            source = work / "upload"
            obj = self.storage.download(key, source, max_bytes=self.settings.max_long_upload_bytes)
            if obj is None or obj.etag != run.etag:
                # Deleted, or replaced since we looked: the new version has its own event.
                logger.info("upload %s is gone or replaced; nothing to do", key)
                run.delete()
                return None
            options = TranscriptionOptions(language=obj.metadata.get("language"))
            with self.service.transcribe_recording(
                source,
                options,
                max_seconds=limit,
                on_progress=run.progress,
                work_dir=work,
                check_length=check_length if time_left_s is not None else None,
            ) as stream:
                transcript = stream.collect()

        if not self._still_current(key, run.etag):
            run.delete()
            return None
        marker = {"etag": run.etag}
        document = {
            **transcription_response(transcript).model_dump(),
            "id": upload_id,
            "source_key": key,
            "etag": run.etag,
            "created_at": _now(),
        }
        # The renderings first: the .json is what marks the transcript as done.
        for fmt in ("text", "srt", "vtt"):
            rendered = render_transcript(transcript, fmt)
            self.storage.put(
                self.transcript_key(upload_id, "." + TRANSCRIPT_FORMATS[fmt]),
                rendered.body.encode("utf-8"),
                content_type=f"{rendered.media_type}; charset=utf-8",
                metadata=marker,
            )
        self.storage.put(
            self.transcript_key(upload_id),
            json.dumps(document).encode("utf-8"),
            content_type="application/json",
            metadata=marker,
        )
        # Done. Tidying up may fail without undoing that: the transcript marks it as done, and
        # an old error record or a progress record behind it is only read when it is absent.
        try:
            # A newer version succeeded where an older one failed: the old error is void.
            self.storage.delete(self.transcript_key(upload_id, ".error.json"))
            run.delete()
        except ServiceUnavailableError:
            logger.warning("transcript %s written; removing old records failed", upload_id)
        return upload_id

    def _still_current(self, key: str, etag: str) -> bool:
        """Whether the upload is still the version we worked on: a worker that finishes on a
        replaced version must not overwrite (or delete) the newer version's results."""
        latest = self.storage.stat(key)
        if latest is None or latest.etag != etag:
            logger.info("upload %s changed while it was transcribed; results dropped", key)
            return False
        return True

    def _record_failure(
        self,
        upload_id: str,
        key: str,
        etag: str,
        exc: SpeechAPIError,
        metadata: dict[str, str] | None = None,
    ) -> None:
        """Permanent failure (bad audio stays bad), or giving up: record why, do not retry."""
        if not self._still_current(key, etag):
            return
        error = {
            "error": exc.to_dict(),
            "id": upload_id,
            "source_key": key,
            "etag": etag,
            "created_at": _now(),
        }
        self.storage.put(
            self.transcript_key(upload_id, ".error.json"),
            json.dumps(error).encode("utf-8"),
            content_type="application/json",
            metadata={"etag": etag, **(metadata or {})},
        )
        for suffix in (*_OUTPUT_SUFFIXES, _PROGRESS):  # older versions' results no longer hold
            self.storage.delete(self.transcript_key(upload_id, suffix))
        logger.info("upload %s failed permanently: %s", key, exc.code)


_WORK_PREFIX = "speech-api-work-"
_cleared_stale_work = False


@contextmanager
def _work_dir() -> Iterator[Path]:
    """A scratch folder for one file (its download, its decoded PCM), removed afterwards. An
    attempt that is killed (a Lambda timeout) cannot remove its own, and Lambda keeps /tmp
    for the next invocation in that environment: so the first use in a process clears what
    earlier processes left."""
    global _cleared_stale_work
    root = Path(tempfile.gettempdir())
    if not _cleared_stale_work:
        for stale in root.glob(_WORK_PREFIX + "*"):
            shutil.rmtree(stale, ignore_errors=True)
        _cleared_stale_work = True
    work = Path(tempfile.mkdtemp(prefix=f"{_WORK_PREFIX}{os.getpid()}-", dir=root))
    try:
        yield work
    finally:
        shutil.rmtree(work, ignore_errors=True)


class _Attempt:
    """One worker attempt at one object version, and its record in S3
    (transcripts/<id>.progress.json): which attempt this is, how far it got, and the error of
    an attempt that failed in a way worth retrying. An attempt that dies (timeout, out of
    memory, killed) leaves the record as it was: the next one counts it."""

    def __init__(self, uploads: UploadService, upload_id: str, key: str, etag: str):
        self.uploads = uploads
        self.key = uploads.transcript_key(upload_id, _PROGRESS)
        self.upload_id, self.source_key, self.etag = upload_id, key, etag
        previous = self._load()
        self.previous = previous if previous.get("etag") == etag else {}
        self.number = int(self.previous.get("attempt", 0)) + 1
        self.total_s: float | None = None
        self.done_s = 0.0
        self._saved_at = 0.0

    def _load(self) -> dict:
        found = self.uploads.storage.get(self.key, max_bytes=64 * 1024)
        if found is None:
            return {}
        try:
            record = json.loads(found.data)
        except ValueError:
            return {}
        return record if isinstance(record, dict) else {}

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
        self.uploads.storage.put(
            self.key,
            json.dumps(record).encode("utf-8"),
            content_type="application/json",
            metadata={"etag": self.etag},
        )
        self._saved_at = time.monotonic()

    def delete(self) -> None:
        self.uploads.storage.delete(self.key)


def _unreadable(upload_id: str) -> TranscriptionFailedError:
    return TranscriptionFailedError(
        f"The stored record for '{upload_id}' is unreadable; upload the file again.",
        param="id",
        code="unreadable_transcript",
    )


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _ascii(text: str) -> str:
    # S3 user metadata travels in HTTP headers: keep it ASCII.
    return text.encode("ascii", "backslashreplace").decode("ascii")
