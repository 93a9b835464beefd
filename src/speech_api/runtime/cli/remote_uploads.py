"""A file too long or too large for a server's /stt, through its upload flow: POST /uploads,
the file to storage with the presigned form, then GET /transcripts/<id> until it is done."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from speech_api.runtime.cli.backend import TranscribeRequest
from speech_api.runtime.cli.server import Server
from speech_api.runtime.cli.terminal import say, seconds_bar, size_text
from speech_api.service.transcription_request import UPLOADS, TranscriptionRequest

_POLL_S = 2.0
# A transcript whose state (status, attempt, progress) does not change for this long is left
# to poll later: a backlog, or a server without a running upload worker.
_STALL_S = 30 * 60.0
# While polling, answers worth waiting out (a restarting server, a gateway), for this long.
_TRANSIENT = (429, 500, 502, 503, 504)
_POLL_PATIENCE_S = 120.0


def transcribe_long(server: Server, path: Path, request: TranscribeRequest, *, why: str) -> str:
    """The file's transcript in ``request.fmt``, by the server's upload worker. ``why``: the
    reason it takes this way, said first."""
    from speech_api.schemas import TranscriptionResponse
    from speech_api.service.transcripts import render_stored

    refused = _long_refusal(request)
    if refused:
        raise SystemExit(
            f"{why}: long remote files are transcribed by the server's upload worker, with "
            f"its model, as json, text, srt or vtt; {refused} is not available for them "
            "(drop it, or transcribe locally without --base-url)"
        )
    body = {"filename": path.name, "content_type": _upload_content_type(path)}
    carried = TranscriptionRequest.taken_by(UPLOADS)  # what an upload takes, as JSON fields
    body |= {name: value for name, value in request.options.given().items() if name in carried}
    created = server.check(server.http.post("/uploads", json=body)).json()
    say(f"{path.name}: {why}; uploading ({size_text(path.stat().st_size)})...")
    _store(created["upload"], path, body["content_type"], server.interactive)
    url = created["transcript_url"]
    say(f"{path.name}: uploaded; its transcript will be at {server.base_url}{url}")
    transcript = _await_transcript(server, url, path.name)
    if request.fmt == "json":
        return json.dumps(transcript, indent=2)
    return render_stored(TranscriptionResponse.model_validate(transcript), request.fmt).body


def _long_refusal(request: TranscribeRequest) -> str | None:
    """What a long remote file cannot have: the upload worker transcribes with the server's
    model and stores segments, not verbose_json's decoder details or word timings; options the
    upload flow does not carry."""
    given = request.options.given()
    carried = TranscriptionRequest.taken_by(UPLOADS)
    for name in given:
        if name not in carried and name != "model":
            return "--" + name.replace("_", "-")
    if request.fmt == "verbose_json":
        return "--format verbose_json"
    model = given.get("model")
    if model:
        from speech_api.openai_names import OPENAI_STT_MODELS, openai_model

        # whisper-1 & co name the server's model.
        if not openai_model(model, OPENAI_STT_MODELS):
            return f"--model {model}"
    return None


def _upload_content_type(path: Path) -> str:
    """The content type POST /uploads accepts for this file, from its extension."""
    from speech_api.formats import UPLOAD_TYPES
    from speech_api.service.upload_jobs import upload_type_of

    if content_type := upload_type_of(path.name):
        return content_type
    names = ", ".join(f".{e}" for e in dict.fromkeys(UPLOAD_TYPES.values()))
    raise SystemExit(
        f"long remote files go through the server's upload flow, which takes {names} files; "
        f"'{path.suffix or path.name}' is none of them: convert it (e.g. to .flac) first"
    )


class _CountedReads:
    """A binary file whose reads advance a bar of bytes sent (httpx streams a multipart file
    part in chunks from the file itself: nothing is read whole into memory)."""

    def __init__(self, fh, bar):
        self.fh, self.bar = fh, bar

    def read(self, size: int = -1) -> bytes:
        data = self.fh.read(size)
        self.bar.update(len(data))
        return data

    def seek(self, offset: int, whence: int = 0) -> int:
        if offset == 0 and whence == 0:
            self.bar.reset()
        return self.fh.seek(offset, whence)

    def tell(self) -> int:
        return self.fh.tell()

    def fileno(self) -> int:
        return self.fh.fileno()


def _store(form: dict, path: Path, content_type: str, interactive: bool) -> None:
    """The file to storage with the presigned form, a bar over the bytes sent."""
    import re

    import httpx
    from tqdm import tqdm

    sent = tqdm(
        total=path.stat().st_size,
        desc=f"uploading {path.name}",
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        leave=False,
        file=sys.stderr,
        disable=not interactive,
    )
    try:
        with open(path, "rb") as fh:
            # The storage's own form, not the API: no API key goes with it.
            stored = httpx.post(
                form["url"],
                data=form["fields"],
                files={"file": (path.name, _CountedReads(fh, sent), content_type)},
                timeout=300,
            )
    finally:
        sent.close()
    if stored.status_code >= 300:
        found = re.search(r"<Message>(.*?)</Message>", stored.text, re.S)
        detail = found.group(1) if found else stored.text[:200]
        raise SystemExit(f"error {stored.status_code} from storage: {detail}")


def _await_transcript(server: Server, url: str, name: str) -> dict:
    """GET the transcript until it is done, saying its state and showing its progress in
    seconds of audio; the stored transcript's JSON."""
    import httpx

    seconds = None
    said = None
    misses = 0
    seen, seen_at = None, time.monotonic()
    try:
        while True:
            try:
                r = server.http.get(url)
                trouble = f"error {r.status_code}" if r.status_code in _TRANSIENT else None
            except httpx.TransportError as exc:
                trouble = f"cannot reach the server: {exc}"
            if trouble:
                # Hours of work go on on the server: a restart or a blip is waited out.
                misses += 1
                if misses * _POLL_S > _POLL_PATIENCE_S:
                    raise SystemExit(f"{trouble}; the transcript will be at {server.base_url}{url}")
                time.sleep(_POLL_S)
                continue
            misses = 0
            if r.status_code != 202:
                break
            state = r.json()
            progress = state.get("progress") or {}
            now = (state.get("status"), state.get("attempt"), progress.get("audio_s_done"))
            if now != seen:
                seen, seen_at = now, time.monotonic()
            elif time.monotonic() - seen_at > _STALL_S:
                # Queued behind others, or no worker consumes the queue: stop waiting here.
                raise SystemExit(
                    f"no change for {_STALL_S // 60:.0f} minutes ({state.get('status')}); the "
                    f"transcript will be at {server.base_url}{url}"
                )
            total = progress.get("audio_s_total")
            if state.get("status") == "processing" and total:
                if seconds is None:
                    seconds = seconds_bar(name, total, server.interactive)
                seconds.n = max(0.0, min(progress.get("audio_s_done", 0.0), seconds.total))
                seconds.refresh()
            note = state.get("status", "pending")
            if note == "pending":
                note = "queued"
            elif (state.get("attempt") or 1) > 1:
                note = f"processing, attempt {state['attempt']}"
            if note != said:
                say(f"{name}: {note}")
                said = note
            time.sleep(_POLL_S)
        server.check(r)  # 422: the stored reason it failed
        if seconds is not None:
            seconds.n = seconds.total
            seconds.refresh()
    finally:
        if seconds is not None:
            seconds.close()
    return r.json()
