"""A speech job's state in S3, and the one place that knows its layout. Everything of a job
is private, under ``speech-jobs/<id>/`` (SPEECH_JOBS_PREFIX):

- ``input.txt``: the text (or SSML) as submitted.
- ``job.json``: the record: status (queued, running, done, failed), the request, the parts'
  sizes once planned, the result or the error. Written by the API (queued), the planner
  (running), the assembler (done) and whoever gives up (failed); never by part workers.
- ``plan/<n>.json``: part n's script (text/parts.py), written by the planner.
- ``parts/<n>-<rate>-<take>.pcm``: part n's audio, 16-bit mono PCM at <rate> Hz, written
  whole by the part's worker (its presence means the part is done), after
  ``parts/<n>-<take>.words.json`` with its word timings. <take> tells two deliveries of one
  part apart (an engine's speech may vary run to run: words are used with the audio they were
  timed on). Listing ``parts/`` is the job's progress: no counter to contend for, and the
  worker that finishes the last part is the one that sees them all.
- ``callbacks/<hash>``: the callback URL of a later request for the same job while it runs.
- ``sources/<hash>``: the key of a later text drop of the same job while it runs (each drop
  is announced with its own key).
- ``assembly.json``: the claim of the delivery that assembles the job (two workers that write
  the last two parts at once both see every part and both queue an assembly, and SQS may
  deliver a message twice: one of them assembles).
- ``staging.<ext>``: the encoded audio while the multipart upload assembles it; copied to the
  public key only when complete.
- ``speech-jobs/active/<id>``: present while the job is queued or running (the count of
  these bounds how many jobs may wait at once).

The record is created with a conditional PutObject (If-None-Match: *, or If-Match on the
failed or stale record it replaces), so of two identical submissions at once one creates
the job and the other joins it (its callback added), instead of both queueing the work and
the last writer's record dropping the other's callback.

The finished audio and captions are public, at the key /tts would give the same text
(tts_cache), so a job and /tts share it."""

from __future__ import annotations

import hashlib
import json
import re
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from speech_api.errors import ServiceUnavailableError, StorageUnavailableError
from speech_api.storage import ObjectStorage

_MAX_RECORD_BYTES = 256 * 1024
_MAX_PLAN_BYTES = 8 * 1024 * 1024
_MAX_INPUT_BYTES = 4 * 1024 * 1024
_ID = re.compile(r"^[0-9a-f]{32}\Z")  # \Z: "$" takes a final newline
_PART = re.compile(r"/parts/(\d+)-(\d+)-([0-9a-f]+)\.pcm$")


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def is_valid_job_id(job_id: str) -> bool:
    return bool(_ID.match(job_id))


@dataclass(frozen=True)
class DonePart:
    number: int
    sample_rate: int
    bytes: int
    take: str

    @property
    def seconds(self) -> float:
        return self.bytes / 2 / self.sample_rate


class SpeechJobStore:
    def __init__(self, storage: ObjectStorage, prefix: str):
        self.storage = storage
        self.prefix = prefix

    # -- keys ---------------------------------------------------------------------------------

    def folder(self, job_id: str) -> str:
        return f"{self.prefix}{job_id}/"

    def input_key(self, job_id: str) -> str:
        return f"{self.folder(job_id)}input.txt"

    def record_key(self, job_id: str) -> str:
        return f"{self.folder(job_id)}job.json"

    def plan_key(self, job_id: str, part: int) -> str:
        return f"{self.folder(job_id)}plan/{part:05d}.json"

    def part_key(self, job_id: str, part: int, sample_rate: int, take: str) -> str:
        return f"{self.folder(job_id)}parts/{part:05d}-{sample_rate}-{take}.pcm"

    def words_key(self, job_id: str, part: int, take: str) -> str:
        return f"{self.folder(job_id)}parts/{part:05d}-{take}.words.json"

    def staging_key(self, job_id: str, extension: str) -> str:
        return f"{self.folder(job_id)}staging.{extension}"

    def assembly_key(self, job_id: str) -> str:
        return f"{self.folder(job_id)}assembly.json"

    def active_key(self, job_id: str) -> str:
        return f"{self.prefix}active/{job_id}"

    # -- records ------------------------------------------------------------------------------

    def record(self, job_id: str) -> dict | None:
        return self.read(job_id)[0]

    def read(self, job_id: str) -> tuple[dict | None, str | None]:
        """The record and its ETag (None, None: no job). A record this code cannot read (cut
        short, or not a record) reads as a failed job, so its id can be submitted again."""
        stored = self.storage.get(self.record_key(job_id), max_bytes=_MAX_RECORD_BYTES)
        if stored is None:
            return None, None
        try:
            record = json.loads(stored.data)
            if not isinstance(record, dict) or not record.keys() >= _RECORD_FIELDS:
                raise ValueError("not a job record")
        except (ValueError, RecursionError):
            record = _unreadable(job_id)
        return record, stored.etag

    def save(self, record: dict) -> dict:
        record = {**record, "updated_at": now()}
        self._put_json(self.record_key(record["id"]), record)
        return record

    def create(self, record: dict, *, replacing: str | None) -> dict | None:
        """Write a new record only if there is none (``replacing`` None) or if the one there
        is still the one read (its ETag): the record written, or None when another
        submission got there first."""
        record = {**record, "updated_at": now()}
        body = json.dumps(record, ensure_ascii=False).encode("utf-8")
        condition = {"IfMatch": replacing} if replacing else {"IfNoneMatch": "*"}
        with _CLAIMING:  # moto checks and writes in two steps; S3 is atomic
            written = self.storage.put_if(
                self.record_key(record["id"]), body, content_type="application/json", **condition
            )
        return record if written else None

    def save_input(self, job_id: str, text: str) -> None:
        self.storage.put(
            self.input_key(job_id),
            text.encode("utf-8"),
            content_type="text/plain; charset=utf-8",
            metadata={},
        )

    def input(self, job_id: str) -> str | None:
        stored = self.storage.get(self.input_key(job_id), max_bytes=_MAX_INPUT_BYTES)
        return None if stored is None else stored.data.decode("utf-8")

    def save_plan(self, job_id: str, part: int, script: dict) -> None:
        self._put_json(self.plan_key(job_id, part), script)

    def plan(self, job_id: str, part: int) -> dict | None:
        stored = self.storage.get(self.plan_key(job_id, part), max_bytes=_MAX_PLAN_BYTES)
        return None if stored is None else json.loads(stored.data)

    def words(self, job_id: str, part: DonePart) -> list[dict]:
        key = self.words_key(job_id, part.number, part.take)
        stored = self.storage.get(key, max_bytes=_MAX_PLAN_BYTES)
        return [] if stored is None else json.loads(stored.data)["words"]

    def _put_json(self, key: str, data: dict) -> None:
        body = json.dumps(data, ensure_ascii=False).encode("utf-8")
        self.storage.put(key, body, content_type="application/json", metadata={})

    def add_callback(self, job_id: str, url: str) -> None:
        """Another caller's callback for a job under way (one object each: no record to
        rewrite while workers write it)."""
        self._add_note(job_id, "callbacks", url)

    def callbacks(self, job_id: str) -> list[str]:
        return self._notes(job_id, "callbacks")

    def add_source(self, job_id: str, key: str) -> None:
        """Another text drop of the same job while it runs (announced with its own key)."""
        self._add_note(job_id, "sources", key)

    def sources(self, job_id: str) -> list[str]:
        return self._notes(job_id, "sources")

    def _add_note(self, job_id: str, folder: str, value: str) -> None:
        digest = hashlib.sha256(value.encode()).hexdigest()[:16]
        self.storage.put(
            f"{self.folder(job_id)}{folder}/{digest}",
            value.encode(),
            content_type="text/plain",
            metadata={},
        )

    def _notes(self, job_id: str, folder: str) -> list[str]:
        found = []
        for key, _ in self._sizes(f"{self.folder(job_id)}{folder}/"):
            stored = self.storage.get(key, max_bytes=4096)
            if stored is not None:
                found.append(stored.data.decode())
        return found

    def last_activity(self, job_id: str) -> datetime | None:
        """When the job's newest part was written (a part worker writes no record: its parts
        are how a running job shows it is alive)."""
        listed = self._listing(f"{self.folder(job_id)}parts/")
        return max((o["LastModified"] for o in listed), default=None)

    # -- parts --------------------------------------------------------------------------------

    def done_parts(self, job_id: str) -> dict[int, DonePart]:
        """The parts whose audio is written, by number (one listing of ``parts/``)."""
        done: dict[int, DonePart] = {}
        for key, size in self._sizes(f"{self.folder(job_id)}parts/"):
            match = _PART.search(key)
            if match:
                number, rate, take = int(match.group(1)), int(match.group(2)), match.group(3)
                done.setdefault(number, DonePart(number, rate, size, take))
        return done

    def _sizes(self, prefix: str) -> list[tuple[str, int]]:
        return [(o["Key"], int(o["Size"])) for o in self._listing(prefix)]

    def _listing(self, prefix: str) -> list[dict]:
        """Every object under ``prefix`` (ListObjectsV2, all pages)."""
        try:
            pages = self.storage.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.storage.bucket, Prefix=prefix
            )
            return [o for page in pages for o in page.get("Contents", [])]
        except Exception as exc:
            raise _unavailable(exc) from exc

    def put_part(
        self, job_id: str, part: int, sample_rate: int, pcm: bytes, words: list[dict]
    ) -> None:
        """The part's words, then its audio: one PutObject each, so the part appears whole
        or not at all, and never without its words."""
        take = uuid.uuid4().hex[:8]
        self._put_json(self.words_key(job_id, part, take), {"words": words})
        self.storage.put(
            self.part_key(job_id, part, sample_rate, take),
            pcm,
            content_type="application/octet-stream",
            metadata={},
        )

    def read_part(self, job_id: str, part: DonePart) -> bytes:
        key = self.part_key(job_id, part.number, part.sample_rate, part.take)
        stored = self.storage.get(key, max_bytes=part.bytes + 1)
        if stored is None:
            raise ServiceUnavailableError(f"Part {part.number} of job {job_id} vanished.")
        return stored.data

    # -- assembly -----------------------------------------------------------------------------

    def claim_assembly(self, job_id: str, *, delivery: str, attempt: int) -> bool:
        """Whether this delivery of an assembly message assembles the job. Two workers that
        store the last two parts at once both queue an assembly, and SQS may deliver a message
        twice: the first delivery to write the claim assembles (a PutObject with
        If-None-Match: *, which S3 grants to one writer). Only the claimer's own message,
        delivered again (the same ``delivery``, its queue message id, with a higher
        ``attempt``: its worker failed or was stopped), takes the claim over, by a PutObject
        with If-Match on the claim it read, so two take-overs cannot both win. Every other
        delivery leaves the job to the claimer: no two workers encode and publish the same
        audio, nor does one clean away the parts another is still reading. A claim this code
        did not write is taken over rather than holding the job up."""
        key = self.assembly_key(job_id)
        mine = json.dumps({"delivery": delivery, "attempt": attempt, "at": now()}).encode()
        # moto (the embedded S3 of `serve`, which runs the workers in this process) checks a
        # condition and writes in two steps; S3 itself is atomic. One claim at a time here.
        with _CLAIMING:
            for _ in range(2):
                if self.storage.put_if(key, mine, content_type="application/json", IfNoneMatch="*"):
                    return True
                stored = self.storage.get(key, max_bytes=_MAX_RECORD_BYTES)
                if stored is None:
                    continue  # removed between the two calls (the job ended): ask again
                held = _claim(stored.data)
                if held is not None and not (held[0] == delivery and attempt > held[1]):
                    return False
                return self.storage.put_if(
                    key, mine, content_type="application/json", IfMatch=stored.etag
                )
            return False

    def drop_assembly_claim(self, job_id: str) -> None:
        """Forget the claim (a restarted local queue: its claimer died with it)."""
        self.storage.delete(self.assembly_key(job_id))

    # -- active jobs --------------------------------------------------------------------------

    def mark_active(self, job_id: str) -> bool:
        """Mark the job active; whether this call made the mark (False: it was there)."""
        with _CLAIMING:
            return self.storage.put_if(
                self.active_key(job_id),
                b"",
                content_type="application/octet-stream",
                IfNoneMatch="*",
            )

    def clear_active(self, job_id: str) -> None:
        self.storage.delete(self.active_key(job_id))

    def active_ids(self) -> list[str]:
        prefix = f"{self.prefix}active/"
        return [key.removeprefix(prefix) for key, _ in self._sizes(prefix)]

    def active_count(self, at_most: int) -> int:
        """How many jobs are queued or running (counted up to ``at_most``)."""
        try:
            listed = self.storage.client.list_objects_v2(
                Bucket=self.storage.bucket, Prefix=f"{self.prefix}active/", MaxKeys=at_most
            )
        except Exception as exc:
            raise _unavailable(exc) from exc
        return int(listed.get("KeyCount", len(listed.get("Contents", []))))

    def clean(self, job_id: str, *, keep_callers: bool = False) -> None:
        """Remove what only the work needed (plans, parts, staging); the record and the input
        stay (the input is what a re-run starts from), and with ``keep_callers`` the callbacks
        and drops still waiting for the result (a stalled run started again)."""
        folder = self.folder(job_id)
        kept = (f"{folder}callbacks/", f"{folder}sources/") if keep_callers else ()
        for key, _ in self._sizes(folder):
            if key not in (self.record_key(job_id), self.input_key(job_id)) and not (
                kept and key.startswith(kept)
            ):
                self.storage.delete(key)


_CLAIMING = threading.Lock()
# What every record holds (a record without them is not one this code wrote).
_RECORD_FIELDS = frozenset({"id", "status", "created_at", "updated_at", "request", "chars_total"})


def job_error(message: str, code: str = "job_failed") -> dict:
    """A failed job's ``error`` (the API's error body)."""
    return {"message": message, "type": "server_error", "code": code, "param": None}


def _unreadable(job_id: str) -> dict:
    return {
        "id": job_id,
        "status": "failed",
        "created_at": now(),
        "updated_at": now(),
        "request": {"text_type": "text", "voice": None, "format": "mp3", "speed": 1.0},
        "chars_total": 0,
        "error": job_error("The job's record could not be read; submit the job again."),
    }


def _claim(data: bytes) -> tuple[str, int] | None:
    """(delivery, attempt) of a stored claim; None for what this code did not write."""
    try:
        claim = json.loads(data)
        return str(claim["delivery"]), int(claim["attempt"])
    except (ValueError, KeyError, TypeError):
        return None


def _unavailable(exc: Exception) -> StorageUnavailableError:
    return StorageUnavailableError(
        f"Object storage is unavailable (ListObjectsV2: {type(exc).__name__}). Try again shortly."
    )
