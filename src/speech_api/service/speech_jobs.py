"""Speech jobs: long texts (up to 200,000 characters, plain or SSML) spoken asynchronously,
as Polly's StartSpeechSynthesisTask, through a queue any number of workers drain.

API side: `submit` checks the request as /tts would (SSML, voice, silence, callback URL),
stores the text and a `queued` record, and queues a *plan* message; `status` reads the
record and lists the finished parts for progress. The job's id is content-addressed (the
text and every option that changes the audio), so submitting the same request again finds the
job, running or done, and its audio.

Worker side (`handle`, one queue message at a time, any worker, any order):
- plan: when the speech is published already (by /tts, or a job of the same text with or
  without captions), done at once with it; otherwise read the text into a Script, cut it at
  sentence ends into parts (text/parts.py), store each part's script, queue a *part* message
  per part (the fan-out);
- part: synthesize one part to PCM (and its word timings); the worker that stores the last
  part sees every part listed and queues *assemble* (two that store the last two at once
  both do: the first delivery to claim the assembly in the store runs it);
- assemble: encode all parts as one stream, publish it at the /tts key (one PutObject, or a
  multipart upload and a copy for long audio: service/speech_job_audio.py), write the `done`
  record, announce it.
Each step is idempotent (a redelivered message finds its work done). A part that fails is
retried by the queue; after MAX_WORKER_ATTEMPTS, or at once for bad input, the job is
`failed`, announced, and nothing is published.

Locally `serve` runs the queue and a worker per core (runtime/speech_job_worker.py); the CLI's
`synthesize --job` without a server runs the steps in this process (`InlineQueue`)."""

from __future__ import annotations

import hashlib
import json
import logging
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Protocol

from speech_api.config import Settings
from speech_api.errors import (
    InvalidRequestError,
    ModelUnavailableError,
    NotFoundError,
    ServiceUnavailableError,
    SpeechAPIError,
    TooManyRequestsError,
)
from speech_api.formats import OUTPUT_FORMATS
from speech_api.schemas import CaptionFiles, ErrorBody, SpeechJob, SpeechJobProgress
from speech_api.schemas import SpeechJobRequest as Request
from speech_api.service.notify import Notifier
from speech_api.service.speech import SpeechService
from speech_api.service.speech_job_audio import assemble, synthesize_part
from speech_api.service.speech_job_store import SpeechJobStore, is_valid_job_id, job_error, now
from speech_api.service.synthesis import speakable_text
from speech_api.service.upload_limits import MAX_WORKER_ATTEMPTS
from speech_api.text import parts as script_parts
from speech_api.text import read, voice_language
from speech_api.tts_cache import TTSCache

logger = logging.getLogger("speech_api.speech_jobs")

JOB_VERSION = 1
COMPLETED = "speech_job.completed"
FAILED = "speech_job.failed"
# A queued or running job whose record has not moved, and which has made no part, for this
# long is started again when it is submitted again (its messages were lost: a crash of the
# local queue); its callers waiting for it are kept.
STALE_AFTER_S = 3600
# Engine settings that change how fast a voice speaks, not what it says (left out of a job's
# id; the job workers' own settings, runtime/speech_job_worker.py, are among them).
RUNTIME_ONLY = frozenset({"threads", "arena", "blocked_kernels", "low_memory"})
# Metadata a dropped text file may carry (x-amz-meta-*), as POST /tts/jobs's fields.
DROP_FIELDS = ("voice", "format", "speed", "captions", "text-type", "callback-url")


def job_path(job_id: str) -> str:
    return f"/tts/jobs/{job_id}"


class JobQueue(Protocol):
    def send(self, messages: list[dict]) -> None:
        """Queue each message (JSON-serializable) for a worker; raises when it cannot."""
        ...


class SqsQueue:
    """The jobs' SQS queue (SPEECH_JOBS_QUEUE_URL)."""

    def __init__(self, settings: Settings, url: str):
        from speech_api.storage import aws_client

        self.url = url
        self._sqs = aws_client("sqs", settings)

    def send(self, messages: list[dict]) -> None:
        for start in range(0, len(messages), 10):
            batch = messages[start : start + 10]
            entries = [{"Id": str(i), "MessageBody": json.dumps(m)} for i, m in enumerate(batch)]
            try:
                response = self._sqs.send_message_batch(QueueUrl=self.url, Entries=entries)
            except Exception as exc:
                raise ServiceUnavailableError(
                    f"The speech job queue is unavailable ({type(exc).__name__}). Try again."
                ) from exc
            if response.get("Failed"):
                raise ServiceUnavailableError("The speech job queue refused a message. Try again.")


class InlineQueue:
    """The steps run in this process as they are queued, parts on a thread per core (the
    CLI's local `synthesize --job`). Failures are retried as a queue would."""

    def __init__(self, workers: int):
        self.jobs: SpeechJobs | None = None
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="speech-job")
        self._pending: list = []

    def send(self, messages: list[dict]) -> None:
        self._pending += [self._pool.submit(self._run, m) for m in messages]

    def _run(self, message: dict) -> None:
        assert self.jobs is not None
        delivery = uuid.uuid4().hex  # this message's, on each of its attempts
        for attempt in range(1, MAX_WORKER_ATTEMPTS + 1):
            try:
                self.jobs.handle(message, delivery=delivery, attempt=attempt)
                return
            except Exception:
                if attempt == MAX_WORKER_ATTEMPTS:
                    raise
                time.sleep(0.5 * attempt)

    def idle(self) -> bool:
        """Whether every queued step has run (a step queues the next before it ends)."""
        return all(future.done() for future in list(self._pending))

    def drain(self) -> None:
        """Wait until nothing is left to run (steps queue more steps)."""
        while self._pending:
            pending, self._pending = self._pending, []
            for future in pending:
                future.result()

    def close(self) -> None:
        self._pool.shutdown(wait=True)


class SpeechJobs:
    def __init__(
        self,
        settings: Settings,
        service: SpeechService,
        queue: JobQueue | None = None,
        notifier: Notifier | None = None,
        workers: int = 1,
    ):
        """``workers``: how many parts of a job are synthesized at once (`serve`'s worker
        threads; 1 on Lambda, where each part has an invocation of its own): a job is cut into
        a multiple of it, so that no worker is left alone with the last part."""
        self.settings = settings
        self.workers = workers
        self.service = service
        self.store = SpeechJobStore(service.storage, settings.speech_jobs_prefix)
        self.cache = TTSCache(
            service.storage, prefix=settings.public_prefix, secret=settings.tts.cache_secret
        )
        if queue is None and settings.speech_jobs_queue_url:
            queue = SqsQueue(settings, settings.speech_jobs_queue_url)
        self.queue = queue
        self.notifier = notifier or Notifier(settings)

    # --- API side ---------------------------------------------------------------------------

    def submit(
        self, request: Request, *, source_key: str | None = None, capped: bool = True
    ) -> tuple[SpeechJob, bool]:
        """The job for this request, and whether it was queued now (False: it already
        existed, done or under way, or another submission of it got there first: this one
        joins it). InvalidRequestError for what /tts would refuse. ``capped``: refused (429)
        when MAX_ACTIVE_SPEECH_JOBS are queued or running (POST /tts/jobs; a dropped file
        waits its turn in the queue instead)."""
        if self.queue is None:
            raise ServiceUnavailableError(
                "Speech jobs need a queue (SPEECH_JOBS_QUEUE_URL; `speech-api serve` starts one).",
                code="speech_jobs_unavailable",
            )
        text = speakable_text(request.text)
        if len(text) > self.settings.max_job_chars:
            raise InvalidRequestError(
                f"text is longer than {self.settings.max_job_chars} characters.",
                param="text",
                code="text_too_long",
            )
        if request.callback_url is not None:
            self.notifier.check(request.callback_url)
        voice = self._checked_voice(request, text)
        job_id = self.job_id(request, text)
        existing, etag = self.store.read(job_id)
        if existing is not None and not self._restartable(existing):
            return self._join(existing, request, source_key), False
        marked = self.store.mark_active(job_id)
        if marked and capped:
            # Counted after marking, so that submissions at once cannot all pass a count
            # taken before any of them marked (two at the bound both give way: try again).
            active = self.store.active_count(self.settings.max_active_speech_jobs + 1)
            if active > self.settings.max_active_speech_jobs:
                self.store.clear_active(job_id)
                self._keep_marked(job_id, etag)
                raise TooManyRequestsError(
                    f"{active - 1} speech jobs are queued or running, the most this service "
                    "takes at once (MAX_ACTIVE_SPEECH_JOBS). Try again when one has finished.",
                    code="too_many_jobs",
                )
        record = {
            "id": job_id,
            "version": JOB_VERSION,
            "status": "queued",
            "created_at": now(),
            "request": {
                "text_type": request.text_type,
                "voice": request.voice,
                "resolved_voice": voice,
                "format": request.format or self.settings.tts.default_format,
                "speed": request.speed,
                "captions": request.captions,
            },
            "callback_url": request.callback_url,
            "source_key": source_key,
            "chars_total": len(text),
        }
        self.store.save_input(job_id, text)  # the same text for the same id: no harm twice
        created = self.store.create(record, replacing=etag)
        if created is None:  # an identical submission created (or restarted) it meanwhile
            current = self.store.record(job_id)
            if current is None:
                raise ServiceUnavailableError("The speech job was removed meanwhile. Try again.")
            return self._join(current, request, source_key), False
        record = created
        if not marked:
            # Another submission of this text held the mark and may give way (429) and clear
            # it: a job created unmarked would run uncounted, and stay so.
            self.store.mark_active(job_id)
        if existing is not None:
            # A failed run's callers were told; a stalled one's still wait for the result.
            stalled = existing["status"] in ("queued", "running")
            self.store.clean(job_id, keep_callers=stalled)
            if stalled and existing.get("callback_url"):
                self.store.add_callback(job_id, existing["callback_url"])
            if stalled and existing.get("source_key") not in (None, source_key):
                self.store.add_source(job_id, existing["source_key"])
        try:
            self.queue.send([{"job": job_id, "step": "plan"}])
        except SpeechAPIError:
            self.store.clear_active(job_id)
            self.store.save({**record, "status": "failed", "error": job_error("queue unavailable")})
            raise
        return self._view(record), True

    def _keep_marked(self, job_id: str, etag: str | None) -> None:
        """After a submission gave way and cleared its mark: an identical one that found the
        mark taken may have created (or restarted) the job meanwhile, which must stay
        counted; it marks again itself when it creates the job after this. ``etag``: the
        record as this submission read it (None: there was none), a stalled run not counted."""
        current, current_etag = self.store.read(job_id)
        if (
            current is not None
            and current_etag != etag
            and current["status"] in ("queued", "running")
        ):
            self.store.mark_active(job_id)

    def _join(self, record: dict, request: Request, source_key: str | None) -> SpeechJob:
        """A request for a job that exists: under way, its caller and its drop are told when
        it ends; done, a drop of it is announced now, under its own key (a POST's answer is
        the result itself). A failed record is not joined: it is started again."""
        job_id = record["id"]
        if record["status"] != "done":
            if request.callback_url:
                self.store.add_callback(job_id, request.callback_url)
            if source_key is not None and source_key != record.get("source_key"):
                self.store.add_source(job_id, source_key)
        elif source_key is not None:  # a file dropped again, or the same text under another key
            self.notifier.send(
                {**self._message(record), "source_key": source_key}, request.callback_url
            )
        return self._view(record)

    def requeue_active(self) -> int:
        """Queue a plan message again for every job queued or running (after a restart of
        the local queue, which lives in memory): planning again re-queues the parts not done
        and, when all are, the assembly. Returns how many."""
        ids = self.store.active_ids()
        for job_id in ids:
            # The claimer of an assembly died with the queue; its message is gone too.
            self.store.drop_assembly_claim(job_id)
        if ids and self.queue is not None:
            self.queue.send([{"job": job_id, "step": "plan"} for job_id in ids])
        return len(ids)

    def status(self, job_id: str) -> SpeechJob:
        if not is_valid_job_id(job_id):
            raise InvalidRequestError("Invalid speech job id.", param="id", code="invalid_id")
        record = self.store.record(job_id)
        if record is None:
            raise NotFoundError(f"No speech job {job_id}.", param="id")
        return self._view(record)

    def job_id(self, request: Request, text: str) -> str:
        """Everything that changes the audio or what is written, hashed: the same request is
        the same job."""
        tts = self.settings.tts
        own = tts.engine_settings()
        material = json.dumps(
            {
                "v": JOB_VERSION,
                "text": text,
                "text_type": request.text_type,
                # The default voice named or not: the same audio, the same job.
                "voice": request.voice or str(getattr(own, "voice", "") or "") or None,
                "format": request.format or tts.default_format,
                "speed": round(request.speed, 4),
                "captions": request.captions,
                "engine": tts.engine,
                # What the engine speaks with (its own settings), less how it runs: the API
                # and the job workers run the same voice on different threads and kernels.
                "model": own.model_dump(mode="json", exclude=set(RUNTIME_ONLY)),
            },
            sort_keys=True,
            ensure_ascii=False,
        )
        return hashlib.sha256(material.encode("utf-8")).hexdigest()[:32]

    def _checked_voice(self, request: Request, text: str) -> str | None:
        """The voice the job will use, with the text checked as that voice will read it.
        Where this process has no engine (the light API function), the text is checked in
        the voice's language and the voice itself by the worker (a failed job names it)."""
        engine = None
        if not self.service.remote_tts:
            try:
                engine = self.service.local_tts.engine()
            except ModelUnavailableError:
                engine = None
        if request.captions:
            self.service.local_tts._refuse_captions()
        if engine is None:
            # The engine's own settings name its default voice or its model (engines/tts/).
            own = self.settings.tts.engine_settings()
            voice = request.voice or str(getattr(own, "voice", "") or "")
            model = str(getattr(own, "model_path", None) or getattr(own, "model", "") or "")
            read(text, request.text_type, language=voice_language(voice, model))
            return request.voice
        voice = self.service.local_tts.resolve_voice(engine, request.voice)
        self.service.local_tts.script(engine, voice, text, request.text_type)
        return voice

    def _restartable(self, record: dict) -> bool:
        if record.get("version") != JOB_VERSION or record["status"] == "failed":
            return True
        if record["status"] == "done":
            return False
        updated = datetime.strptime(record["updated_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        if (datetime.now(UTC) - updated).total_seconds() <= STALE_AFTER_S:
            return False
        # Part workers write parts, not the record: a long job is alive while parts appear.
        latest = self.store.last_activity(record["id"]) or updated
        return (datetime.now(UTC) - max(latest, updated)).total_seconds() > STALE_AFTER_S

    def _view(self, record: dict) -> SpeechJob:
        request = record["request"]
        fmt = request["format"]
        progress = SpeechJobProgress(
            chars_done=0, chars_total=record["chars_total"], audio_s_done=0.0
        )
        if record["status"] == "done":
            result = record["result"]
            progress = SpeechJobProgress(
                chars_done=record["chars_total"],
                chars_total=record["chars_total"],
                audio_s_done=result["duration_s"],
                parts_done=len(record.get("parts", [])),
                parts_total=len(record.get("parts", [])),
            )
        elif record["status"] == "running" and "parts" in record:
            done = self.store.done_parts(record["id"])
            sizes = record["parts"]
            progress = SpeechJobProgress(
                chars_done=sum(sizes[n] for n in done if n < len(sizes)),
                chars_total=record["chars_total"],
                audio_s_done=round(sum(p.seconds for p in done.values()), 2),
                parts_done=len(done),
                parts_total=len(sizes),
            )
        result = record.get("result") or {}
        captions = result.get("captions")
        return SpeechJob(
            id=record["id"],
            status=record["status"],
            status_url=job_path(record["id"]),
            created_at=record["created_at"],
            updated_at=record["updated_at"],
            text_type=request["text_type"],
            voice=result.get("voice") or request.get("resolved_voice") or request["voice"],
            format=fmt,
            speed=request["speed"],
            progress=progress,
            source_key=record.get("source_key"),
            url=result.get("url"),
            key=result.get("key"),
            content_type=result.get("content_type"),
            duration_s=result.get("duration_s"),
            sample_rate=result.get("sample_rate"),
            engine=result.get("engine"),
            captions=CaptionFiles(**captions) if captions else None,
            error=ErrorBody(**record["error"]) if record.get("error") else None,
        )

    # --- text drops --------------------------------------------------------------------------

    def submit_dropped(self, key: str) -> str | None:
        """A text file dropped under TEXT_DROPS_PREFIX as a job (its options from the
        object's metadata, as POST /tts/jobs's fields); its id, or None when there is
        nothing to do. A drop that cannot be a job is recorded as a failed one."""
        if not key.startswith(self.settings.text_drops_prefix) or key.endswith("/"):
            return None
        max_bytes = self.settings.max_job_chars * 4
        stored, callback = None, None
        try:
            stored = self.service.storage.get(key, max_bytes=max_bytes)  # 413: too large
            if stored is None:
                return None
            meta = stored.metadata
            callback = meta.get("callback-url") or None
            text = stored.data.decode("utf-8-sig")
            ssml = key.endswith((".ssml", ".xml")) or text.lstrip().startswith("<speak")
            request = Request(
                text=text,
                text_type=meta.get("text-type") or ("ssml" if ssml else "text"),
                voice=meta.get("voice") or None,
                format=meta.get("format") or None,
                speed=float(meta.get("speed") or 1.0),
                captions=meta.get("captions", "").lower() in ("1", "true", "yes"),
                callback_url=callback,
            )
            job, _ = self.submit(request, source_key=key, capped=False)
        except (InvalidRequestError, ValueError, UnicodeDecodeError) as exc:
            logger.info("text drop %s refused: %s", key, exc)
            if stored is None:  # too large to read: its metadata alone, for its callback
                info = self.service.storage.stat(key)
                callback = (info.metadata.get("callback-url") if info else None) or None
            return self._refused_drop(key, stored.data if stored else b"", exc, callback)
        return job.id

    def _refused_drop(self, key: str, data: bytes, exc: Exception, callback: str | None) -> str:
        job_id = hashlib.sha256(b"drop\0" + key.encode() + b"\0" + data).hexdigest()[:32]
        error = (
            exc.to_dict()
            if isinstance(exc, SpeechAPIError)
            else job_error(f"The file is not a valid job: {exc}", code="invalid_drop")
        )
        record = self.store.save(
            {
                "id": job_id,
                "version": JOB_VERSION,
                "status": "failed",
                "created_at": now(),
                "request": {"text_type": "text", "voice": None, "format": "mp3", "speed": 1.0},
                "source_key": key,
                "chars_total": len(data),
                "error": error,
            }
        )
        if callback is not None:  # told too, unless the callback is what is wrong
            try:
                self.notifier.check(callback)
            except InvalidRequestError:
                callback = None
        self.notifier.send(self._message(record), callback)
        return job_id

    # --- worker side ---------------------------------------------------------------------------

    def handle(self, message: dict, *, delivery: str, attempt: int = 1) -> None:
        """Run one step. ``delivery`` names the queue message (the same on every delivery of
        it: SQS's message id), ``attempt`` counts its deliveries. Raises for failures worth
        another delivery; a job that cannot succeed (bad input, or its last attempt) is
        recorded as failed instead."""
        job_id, step = message.get("job"), message.get("step")
        if not isinstance(job_id, str) or not is_valid_job_id(job_id):
            logger.warning("ignoring a speech job message without a valid job: %r", message)
            return
        record = self.store.record(job_id)
        if record is None or record["status"] in ("done", "failed"):
            return  # nothing to do (a duplicate, or the job ended)
        if attempt > MAX_WORKER_ATTEMPTS:
            # The earlier deliveries died without a word (a worker stopped for time or
            # memory cannot record anything): the job has failed.
            self._fail(
                record,
                job_error(
                    f"The {step} step did not finish in {MAX_WORKER_ATTEMPTS} attempts (its "
                    "worker was stopped: out of time or memory)."
                ),
            )
            return
        try:
            if step == "plan":
                self._plan(record)
            elif step == "part":
                self._part(record, int(message["part"]))
            elif step == "assemble":
                self._assemble(record, delivery, attempt)
            else:
                logger.warning("ignoring unknown speech job step %r", step)
        except InvalidRequestError as exc:  # the input's fault: it will fail every time
            self._fail(record, exc.to_dict())
        except Exception as exc:
            if attempt >= MAX_WORKER_ATTEMPTS:
                logger.exception("speech job %s: %s failed for good", job_id, step)
                detail = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
                self._fail(record, job_error(f"{step} failed {attempt} times: {detail}"[:500]))
                return
            raise

    def _engine_and_voice(self, record: dict):
        engine = self.service.local_tts.engine()
        request = record["request"]
        voice = self.service.local_tts.resolve_voice(engine, request["voice"])
        return engine, voice

    def _plan(self, record: dict) -> None:
        job_id, request = record["id"], record["request"]
        if record["status"] == "running" and "parts" in record:
            self._resume(record)
            return
        text = self.store.input(job_id)
        if text is None:
            raise InvalidRequestError("The job's text is gone.", param="text")
        engine, voice = self._engine_and_voice(record)
        key = self._audio_key(record, engine, voice, text)
        if (found := self._published(key, record, engine, voice)) is not None:
            self._finish(self.store.save({**record, "status": "done", "result": found}))
            return
        script = self.service.local_tts.script(engine, voice, text, request["text_type"])
        pieces = script_parts.split(script, self.settings.speech_job_part_chars, self.workers)
        for number, piece in enumerate(pieces):
            self.store.save_plan(job_id, number, script_parts.to_json(piece))
        record = self.store.save(
            {**record, "status": "running", "parts": _shares(pieces, record["chars_total"])}
        )
        self._resume(record)

    def _audio_key(self, record: dict, engine, voice: str, text: str) -> str:
        """Where the job's audio is published: the key /tts gives the same speech."""
        request = record["request"]
        return self.cache.key(
            text=text,
            engine=engine.engine,
            voice=voice,
            model=engine.model,
            fmt=request["format"],
            speed=request["speed"],
            text_type=request["text_type"],
        )

    def _published(self, key: str, record: dict, engine, voice: str) -> dict | None:
        """The result, when this speech is published already (by /tts, or a job of the same
        text with or without captions): found, not spoken again, and not overwritten, since
        an engine that samples noise speaks a little differently each run and the captions
        published beside the audio are timed on the audio there. Audio without the captions
        asked for is made again, with them, as /tts does."""
        cached = self.cache.get(key)
        if cached is None:
            return None
        captions = None
        if record["request"]["captions"]:
            if self.cache.get_words(key) is None:
                return None
            captions = self.cache.caption_urls(key)
        return {
            "url": self.cache.url(key),
            "key": key,
            "content_type": OUTPUT_FORMATS[record["request"]["format"]].content_type,
            "duration_s": cached.duration_s,
            "sample_rate": cached.sample_rate,
            "engine": engine.engine,
            "voice": voice,
            "captions": captions,
        }

    def _resume(self, record: dict) -> None:
        """A planned job's plan message again: queue what is not done yet."""
        job_id = record["id"]
        done = self.store.done_parts(job_id)
        todo = [n for n in range(len(record["parts"])) if n not in done]
        self.queue.send(
            [{"job": job_id, "step": "part", "part": n} for n in todo]
            or [{"job": job_id, "step": "assemble"}]
        )

    def _part(self, record: dict, number: int) -> None:
        job_id, request = record["id"], record["request"]
        if record["status"] != "running" or "parts" not in record:
            return  # a run's message outlived it (the job started again): its plan queues parts
        done = self.store.done_parts(job_id)
        if number not in done:
            plan = self.store.plan(job_id, number)
            if plan is None:
                raise ServiceUnavailableError(f"Part {number} of job {job_id} has no plan yet.")
            engine, voice = self._engine_and_voice(record)
            audio = synthesize_part(
                engine,
                script_parts.from_json(plan),
                voice=voice,
                speed=request["speed"],
                speeds=self.service.models.tts_spec().speeds,
                words=request["captions"],
            )
            self.store.put_part(job_id, number, audio.sample_rate, audio.pcm, audio.words)
            done = self.store.done_parts(job_id)
        if len(done) >= len(record.get("parts", [])):
            self.queue.send([{"job": job_id, "step": "assemble"}])

    def _assemble(self, record: dict, delivery: str, attempt: int) -> None:
        job_id, request = record["id"], record["request"]
        if record["status"] != "running" or not record.get("parts"):
            return  # not planned (a message from a run started again): nothing to assemble
        done = self.store.done_parts(job_id)
        total = len(record["parts"])
        if any(n not in done for n in range(total)):
            return  # not every part yet: the worker of the last one queues this again
        if not self.store.claim_assembly(job_id, delivery=delivery, attempt=attempt):
            return  # another delivery assembles it (its message comes back if it fails)
        if (self.store.record(job_id) or {}).get("status") in ("done", "failed"):
            self.store.drop_assembly_claim(job_id)  # ended while this message waited
            return
        engine, voice = self._engine_and_voice(record)
        fmt = request["format"]
        key = self._audio_key(record, engine, voice, self.store.input(job_id) or "")
        made = assemble(
            self.store,
            self.cache,
            job_id,
            [done[n] for n in range(total)],
            key=key,
            fmt=fmt,
            engine=engine.engine,
            voice=voice,
            captions=request["captions"],
        )
        result = {
            "url": self.cache.url(made.key),
            "key": made.key,
            "content_type": made.content_type,
            "duration_s": made.duration_s,
            "sample_rate": made.sample_rate,
            "engine": engine.engine,
            "voice": voice,
            "captions": self.cache.caption_urls(made.key) if made.captions else None,
        }
        if (self.store.record(job_id) or {}).get("status") in ("done", "failed"):
            return  # ended meanwhile (a claimer taken over as stopped that finished after all)
        record = self.store.save({**record, "status": "done", "result": result})
        self._finish(record)

    def _fail(self, record: dict, error: dict) -> None:
        record = self.store.save({**record, "status": "failed", "error": error})
        self._finish(record)

    def _finish(self, record: dict) -> None:
        callbacks = [record.get("callback_url"), *self.store.callbacks(record["id"])]
        sources = [s for s in self.store.sources(record["id"]) if s != record.get("source_key")]
        self.store.clear_active(record["id"])
        try:
            self.store.clean(record["id"])
        except SpeechAPIError:  # the bucket's lifecycle rule removes what is left
            logger.warning("could not clean up speech job %s", record["id"])
        message = self._message(record)
        targets = list(dict.fromkeys(c for c in callbacks if c)) or [None]
        for number, url in enumerate(targets):
            if number == 0:
                self.notifier.send(message, url)  # the topic once, the first callback
            else:
                self.notifier.call_back(message, url)
        for source in dict.fromkeys(sources):  # each drop of the same text, under its own key
            self.notifier.send({**message, "source_key": source}, None)

    def _message(self, record: dict) -> dict:
        result = record.get("result") or {}
        return {
            "type": COMPLETED if record["status"] == "done" else FAILED,
            "version": 1,
            "id": record["id"],
            "status_url": job_path(record["id"]),
            "source_key": record.get("source_key"),
            "url": result.get("url"),
            "captions": result.get("captions"),
            "duration_s": result.get("duration_s"),
            "error": record.get("error"),
            "created_at": record["created_at"],
        }


def _shares(pieces: list, chars_total: int) -> list[int]:
    """Each part's share of the text's characters (progress counts the text as written)."""
    sizes = [max(1, len(p.spoken)) for p in pieces]
    total = sum(sizes)
    shares = [size * chars_total // total for size in sizes]
    shares[-1] += chars_total - sum(shares)
    return shares
