"""Uploads as transcription jobs (`UploadService`): the presigned form that starts one (a file
into ``uploads/``), the worker step that turns each new object, of any length up to
LONG_AUDIO_MAX_SECONDS, into its transcript (the records and their layout:
service/transcript_store.py) and says so (service/notify.py), and the lookup by id that
reports it. The queue's events are read at the runtime's edge (runtime/upload_batches.py):
the worker is handed object keys."""

from __future__ import annotations

import functools
import logging
import mimetypes
import os
import shutil
import tempfile
import unicodedata
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn

from speech_api.config import Settings
from speech_api.engines import registry
from speech_api.engines.base import normalize_language
from speech_api.errors import (
    InvalidRequestError,
    ServiceUnavailableError,
    SpeechAPIError,
    TranscriptionFailedError,
    TranscriptionTimeLimitError,
    UnsupportedLanguageError,
    WorkerOutOfTimeError,
)
from speech_api.formats import UPLOAD_TYPES
from speech_api.schemas import PendingTranscript, PresignedForm, StoredTranscript, UploadResponse
from speech_api.service.notify import (
    CALLBACK_METADATA,
    Notifier,
    transcript_message,
    transcript_path,
)
from speech_api.service.speech import SpeechService
from speech_api.service.transcript_store import Attempt, TranscriptStore, is_valid_upload_id
from speech_api.service.transcription_request import UPLOADS, TranscriptionRequest
from speech_api.service.upload_limits import (
    MAX_WORKER_ATTEMPTS,
    worker_audio_limit_s,
    worker_work_budget_s,
)
from speech_api.work_limits import limited, work_limit

logger = logging.getLogger("speech_api.uploads")

TimeLeft = Callable[[], float]


class MoveToDeadLetters(Exception):
    """The file failed MAX_WORKER_ATTEMPTS times; its failure is recorded. The message
    goes to the dead-letter queue (the runtime sends it there)."""


def upload_type_of(filename: str) -> str | None:
    """The accepted content type for a file name's extension (`talk.FLAC` -> audio/flac), or
    None when the extension names no accepted audio type."""
    guessed = mimetypes.guess_type(filename)[0]
    if guessed in UPLOAD_TYPES:
        return guessed
    extension = filename.rpartition(".")[2].lower() if "." in filename else ""
    return next((t for t, accepted in UPLOAD_TYPES.items() if accepted == extension), None)


class UploadService:
    def __init__(
        self, settings: Settings, service: SpeechService, notifier: Notifier | None = None
    ):
        self.settings = settings
        self.service = service
        self.storage = service.storage
        self.store = TranscriptStore(settings, service.storage)
        self.notifier = notifier or Notifier(settings)

    # --- API side -------------------------------------------------------------------------

    def create_upload(
        self,
        *,
        filename: str,
        content_type: str | None = None,
        options: TranscriptionRequest | None = None,
        callback_url: str | None = None,
    ) -> UploadResponse:
        """A presigned form for one file; ``options`` travel as the object's metadata, where
        the worker reads them (a raw drop into uploads/ may carry them the same way). Without
        ``content_type``, the filename's extension says it."""
        if content_type is None:
            content_type = upload_type_of(filename)
            if content_type is None:
                raise InvalidRequestError(
                    f"content_type is missing and the filename '{_ascii(filename)[:100]}' does "
                    "not say which audio type it is. Give content_type, or a filename ending in "
                    f"{', '.join(f'.{e}' for e in dict.fromkeys(UPLOAD_TYPES.values()))}.",
                    param="content_type",
                    code="unsupported_content_type",
                )
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
        key = self.store.upload_key(upload_id)
        metadata = {"original-filename": _ascii(filename)[:200]}
        options = options or TranscriptionRequest()
        options.options()  # what the worker could not honour is refused now (min > max, ...)
        given = options.given()
        if (lang := normalize_language(given.pop("language", None))) is not None:
            # Checked here, where no model loads: the engine's own list (its spec).
            if lang not in registry.stt_engine().languages:
                raise UnsupportedLanguageError(
                    f"language '{_ascii(lang)}' is not a Whisper language code (ISO 639-1, "
                    "e.g. en, es, de).",
                    param="language",
                )
            metadata["language"] = lang
        for name, value in given.items():
            metadata[name] = _metadata_value(value)
        if callback_url is not None:
            # In the form's signed policy: the uploader cannot change where it goes.
            metadata[CALLBACK_METADATA] = self.notifier.check(callback_url)
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
            transcript_url=transcript_path(upload_id),
        )

    def get_transcript(self, upload_id: str) -> StoredTranscript | PendingTranscript:
        """The transcript when done, pending while its upload waits; raises
        TranscriptionFailedError (with the stored reason) or NotFoundError."""
        if not is_valid_upload_id(upload_id):
            raise InvalidRequestError("Invalid transcript id.", param="id", code="invalid_id")
        return self.store.lookup(upload_id)

    def unfinished_uploads(self) -> list[str]:
        """Upload keys that have neither a transcript nor an error record (see
        TranscriptStore.unfinished_uploads)."""
        return self.store.unfinished_uploads()

    # --- worker side ----------------------------------------------------------------------

    def transcribe_object(self, key: str, time_left_s: TimeLeft | None = None) -> str | None:
        """Transcribe one uploaded object into its transcript; returns its id, or None when
        there was nothing to do. Keys that are no upload (outside the uploads prefix, folder
        markers) are ignored. Idempotent per object version (ETag): a duplicate delivery finds
        the transcript and does nothing. While it runs, its progress record says how far it
        got; an attempt that dies leaves that record behind, and the attempt after the last
        allowed one records the failure instead of trying again. Raises
        ServiceUnavailableError for failures worth retrying, and MoveToDeadLetters for a file
        that has failed MAX_WORKER_ATTEMPTS times. ``time_left_s()`` is how long this
        invocation may still run (None: no limit)."""
        upload_id = self.store.id_for_upload(key)
        if upload_id is None:
            return None
        current = self.storage.stat(key)
        if current is None:
            logger.info("upload %s is gone; nothing to do", key)
            return None
        if self.store.finished(upload_id, current.etag):
            logger.info("transcript for %s (etag %s) exists; skipping", key, current.etag)
            return None

        run = Attempt(self.store, upload_id, key, current.etag)
        callback = current.metadata.get(CALLBACK_METADATA)
        if run.number > MAX_WORKER_ATTEMPTS:
            self._give_up(run, run.give_up_error(), callback)
        run.save()
        try:
            return self._transcribe(upload_id, key, run, time_left_s, callback)
        except WorkerOutOfTimeError as exc:
            run.save(last_error=exc, counted=False)  # not the file's fault: no attempt spent
            raise  # let SQS deliver it again, to an invocation with its whole timeout
        except SpeechAPIError as exc:
            if not isinstance(exc, ServiceUnavailableError):
                self._record_failure(run, exc, callback)  # bad audio stays bad
                return None
            error: SpeechAPIError = exc
        except Exception as exc:  # a bug or the machine (disk full): say what, and retry
            logger.exception("transcribing %s failed", key)
            error = TranscriptionFailedError(
                f"{type(exc).__name__}: {exc}"[:500], param="file", code="worker_error"
            )
        if run.number >= MAX_WORKER_ATTEMPTS:
            self._give_up(run, run.give_up_error(error), callback)
        run.save(last_error=error)
        raise error  # let SQS retry

    def _give_up(
        self, run: Attempt, error: TranscriptionFailedError, callback: str | None
    ) -> NoReturn:
        self._record_failure(run, error, callback, gave_up=True)
        raise MoveToDeadLetters(f"{run.source_key}: {error.message}")

    def _transcribe(
        self,
        upload_id: str,
        key: str,
        run: Attempt,
        time_left_s: TimeLeft | None,
        callback: str | None,
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
            # The options the upload carries as its metadata (a raw drop's too).
            options = _carried_options(obj.metadata).options()
            with self.service.transcribe_recording(
                source,
                options,
                max_seconds=limit,
                on_progress=run.progress,
                work_dir=work,
                check_length=check_length if time_left_s is not None else None,
            ) as stream:
                # The estimate above let the recording in; this bounds the actual work, whatever
                # the audio makes the decoder do (every temperature on every window).
                budget_s = worker_work_budget_s(
                    stream.duration_s, time_left_s() if time_left_s is not None else None
                )
                with work_limit(
                    time_limit_s=budget_s, over_time=lambda: _over_time(budget_s)
                ) as limit:
                    stream.segments = limited(stream.segments, limit, check=True)
                    transcript = stream.collect()

        if not self._still_current(key, run.etag):
            run.delete()
            return None
        document = self.store.save_transcript(upload_id, key, run.etag, transcript)
        self.notifier.send(transcript_message(document), callback)
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
        self, run: Attempt, exc: SpeechAPIError, callback: str | None, gave_up: bool = False
    ) -> None:
        """Permanent failure (bad audio stays bad), or giving up: record why, do not retry,
        and say so."""
        if not self._still_current(run.source_key, run.etag):
            return
        record = self.store.save_error(
            run.upload_id, run.source_key, run.etag, exc, gave_up=gave_up
        )
        logger.info("upload %s failed permanently: %s", run.source_key, exc.code)
        self.notifier.send(transcript_message(record), callback)


def _metadata_value(value) -> str:
    """An option as S3 user metadata, as someone dropping a file would write it: a list
    comma-separated, a flag `true` or `false`."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return _ascii(",".join(value) if isinstance(value, list) else str(value))


def _over_time(budget_s: float) -> TranscriptionTimeLimitError:
    return TranscriptionTimeLimitError(
        f"Transcribing the recording took longer than the {budget_s:.0f} s it was given (the "
        "time left, or LONG_AUDIO_MAX_RTF of its length) and was stopped; it is tried again, "
        f"up to {MAX_WORKER_ATTEMPTS} times in all.",
        param="file",
    )


def _carried_options(metadata: dict[str, str]) -> TranscriptionRequest:
    """The options an upload carries as its metadata (as `create_upload` writes them: a list
    comma-separated), validated as any entry point's."""
    carried = {}
    for name in TranscriptionRequest.taken_by(UPLOADS):
        value = metadata.get(name)
        if value is not None and TranscriptionRequest.is_list(name):
            value = value.split(",")
        carried[name] = value
    return TranscriptionRequest.parse(carried, UPLOADS)


_WORK_PREFIX = "speech-api-work-"


@contextmanager
def _work_dir() -> Iterator[Path]:
    """A scratch folder for one file (its download, its decoded PCM), removed afterwards."""
    root = Path(tempfile.gettempdir())
    _clear_stale_work(root)
    work = Path(tempfile.mkdtemp(prefix=f"{_WORK_PREFIX}{os.getpid()}-", dir=root))
    try:
        yield work
    finally:
        shutil.rmtree(work, ignore_errors=True)


@functools.cache
def _clear_stale_work(root: Path) -> None:
    """Once per process: an attempt that is killed (a Lambda timeout) cannot remove its
    folder, and Lambda keeps /tmp for the next invocation in that environment, so the first
    use in a process clears what earlier processes left. Per process, not per service: a
    second service in the same process must not clear the first one's folder mid-file, and
    a folder of another live process (a second server or the CLI sharing this /tmp) is kept.
    Our own pid on a folder means an earlier sandbox's process that had the same number."""
    for stale in root.glob(_WORK_PREFIX + "*"):
        pid = stale.name.removeprefix(_WORK_PREFIX).split("-", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and _alive(int(pid)):
            continue
        shutil.rmtree(stale, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def _ascii(text: str) -> str:
    # S3 user metadata travels in HTTP headers: keep it ASCII.
    return text.encode("ascii", "backslashreplace").decode("ascii")
