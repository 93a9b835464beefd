"""`speech-api synthesize --job FILE`: a long text (a chapter, a book, an article; plain,
Markdown or SSML) spoken as a speech job, with a bar over its characters.

Against a server (`--base-url`): POST /tts/jobs, then GET its status until it is done. With
the engines in this process: the same job flow (plan, parts, assembly) with its parts on a
thread per core; with no bucket configured it runs against an in-memory S3 for the command's
life (so `-o FILE` works anywhere; `--url` needs a bucket that outlives the command)."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path

from speech_api.config import Settings
from speech_api.runtime.cli.terminal import say


@dataclass(frozen=True, kw_only=True)
class JobRequest:
    text: str
    text_type: str = "text"
    fmt: str = "mp3"
    voice: str | None = None
    speed: float = 1.0
    captions: bool = False

    def body(self) -> dict:
        return {
            "text": self.text,
            "text_type": self.text_type,
            "format": self.fmt,
            "speed": self.speed,
            "captions": self.captions,
            **({"voice": self.voice} if self.voice else {}),
        }


def read_job_file(path: str) -> tuple[str, str]:
    """(text, text_type) of FILE (- for stdin): SSML when it is .ssml/.xml or starts with
    <speak>."""
    text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8-sig")
    ssml = path.endswith((".ssml", ".xml")) or text.lstrip().startswith("<speak")
    return text, "ssml" if ssml else "text"


def run_job(
    settings: Settings,
    request: JobRequest,
    *,
    name: str,
    base_url: str | None,
    api_key: str | None,
    output: Path | None,
    want_url: bool,
    interactive: bool,
) -> int:
    bar = _bar(name, len(request.text), interactive)
    try:
        if base_url:
            job, audio, captions = _remote(base_url, api_key, request, bar, output is not None)
        else:
            job, audio, captions = _local(settings, request, bar, output is not None, want_url)
    finally:
        bar.close()
    if job["status"] != "done":
        error = job.get("error") or {}
        raise SystemExit(f"error: the job failed: {error.get('message', 'unknown error')}")
    if want_url:
        print(job["url"])
    if output is not None and audio is not None:
        output.write_bytes(audio)
        say(f"wrote {output} ({len(audio) // 1024} KB, {job['duration_s']:.0f} s of audio)")
        for extension, text in captions.items():
            target = output.with_suffix(f".{extension}")
            target.write_text(text, encoding="utf-8")
            say(f"wrote {target}")
    return 0


def _bar(name: str, total: int, shown: bool):
    from tqdm import tqdm

    return tqdm(
        total=total, desc=name, unit="char", unit_scale=True, file=sys.stderr, disable=not shown
    )


def _advance(bar, job: dict) -> None:
    done = job["progress"]["chars_done"]
    bar.total = job["progress"]["chars_total"]
    bar.update(max(0, done - bar.n))


def _remote(base_url: str, api_key: str | None, request: JobRequest, bar, download: bool):
    import httpx

    from speech_api.runtime.cli.server import Server

    server = Server(base_url, api_key, interactive=False)
    job = server.check(server.http.post("/tts/jobs", json=request.body())).json()
    while job["status"] not in ("done", "failed"):
        _advance(bar, job)
        time.sleep(1.0)
        job = server.check(server.http.get(job["status_url"])).json()
    _advance(bar, job)
    if job["status"] != "done" or not download:
        return job, None, {}
    audio = httpx.get(job["url"], timeout=300).raise_for_status().content
    captions = {
        name: httpx.get(url, timeout=60).raise_for_status().text
        for name, url in (job.get("captions") or {}).items()
    }
    return job, audio, captions


def _local(settings: Settings, request: JobRequest, bar, download: bool, want_url: bool):
    from speech_api.runtime.embedded.s3 import (
        needs_embedded_s3,
        prepare_bucket,
        start_embedded_s3,
        with_embedded_s3,
    )
    from speech_api.runtime.speech_job_worker import local_workers, worker_settings
    from speech_api.schemas import SpeechJobRequest
    from speech_api.service import SpeechService
    from speech_api.service.speech_jobs import InlineQueue, SpeechJobs

    embedded = None
    if needs_embedded_s3(settings):
        if want_url:
            raise SystemExit(
                "--url stores the audio in a bucket and prints its URL: configure one "
                "(S3_ENDPOINT_URL, or AWS credentials / AWS_PROFILE) or pass --base-url "
                "of a running server (make serve)."
            )
        embedded = start_embedded_s3(port=0)
        settings = with_embedded_s3(settings, embedded.endpoint_url)
        prepare_bucket(settings)
    workers = local_workers(settings)
    queue = InlineQueue(workers=workers)
    try:
        job_settings = worker_settings(settings)
        jobs = SpeechJobs(job_settings, SpeechService(job_settings), queue=queue, workers=workers)
        queue.jobs = jobs
        job, _ = jobs.submit(SpeechJobRequest(**_fields(request)))
        while job.status not in ("done", "failed") and not queue.idle():
            _advance(bar, job.model_dump())
            time.sleep(0.5)
            job = jobs.status(job.id)
        queue.drain()
        job = jobs.status(job.id)
        status = job.model_dump(mode="json")
        _advance(bar, status)
        if job.status != "done" or not download:
            return status, None, {}
        storage = jobs.service.storage
        audio = storage.get(job.key, max_bytes=2 * 1024**3).data
        captions = {}
        if job.captions:
            for name, key in jobs.cache.caption_keys(job.key).items():
                if name != "words":
                    captions[name] = storage.get(key, max_bytes=256 * 1024**2).data.decode()
        return status, audio, captions
    finally:
        queue.close()
        if embedded is not None:
            embedded.stop()


def _fields(request: JobRequest) -> dict:
    body = request.body()
    body.setdefault("voice", None)
    return body
