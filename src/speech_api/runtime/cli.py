"""`speech-api`: run the server, or transcribe and synthesize from the command line, with the
local engines or against a running server (`--base-url`, `--api-key`).

    speech-api serve
    speech-api transcribe a.wav b.mp3 --format srt          # writes a.srt, b.srt
    speech-api transcribe talk.flac -o - --format text      # to stdout
    speech-api synthesize "Hello there." -o hello.mp3
    speech-api synthesize "Hello there." --url --base-url http://127.0.0.1:8000
    speech-api voices                                       # what --voice accepts
    speech-api models                                       # what --model accepts
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from functools import partial
from pathlib import Path

from speech_api.config import Settings
from speech_api.errors import SpeechAPIError
from speech_api.formats import OUTPUT_FORMATS, TRANSCRIPT_FORMATS
from speech_api.runtime.malloc import start_trimming, tune_malloc


def serve(settings: Settings, host: str | None = None, port: int | None = None) -> None:
    import uvicorn

    tune_malloc()
    start_trimming()
    from speech_api import decoder

    decoder.prestart()  # the decoding processes' parent, started before the models load

    from speech_api.api import create_app
    from speech_api.api.app import server_options
    from speech_api.runtime.local import (
        EMBEDDED_S3_CAVEATS,
        LocalQueueWorker,
        needs_embedded_s3,
        prepare_bucket,
        prepare_upload_queue,
        requeue_unfinished,
    )
    from speech_api.service import SpeechService, UploadService

    host = host or settings.host
    port = settings.port if port is None else port
    embedded = worker = None
    notes: list[str] = []
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(levelname)s %(name)s: %(message)s"
    )
    if needs_embedded_s3(settings):
        embedded, settings, notes = _start_embedded(settings)
    service = SpeechService(settings)
    if embedded:
        prepare_bucket(settings)
        queue = prepare_upload_queue(settings)
        # The batch processing Lambda runs behind the S3 -> SQS event source mapping, fed
        # the same SQS events, sharing the API's loaded models.
        from speech_api.runtime.aws_lambda import process_upload_batch

        # A file that fails MAX_WORKER_ATTEMPTS times is moved to the dead-letter queue.
        dead_letters = {"uploads_dead_letter_url": queue.dlq_url}
        uploads = UploadService(settings.model_copy(update=dead_letters), service)
        # SQS lives in memory: what was queued, in flight or dead-lettered before a crash is
        # queued again from the objects themselves.
        requeued = requeue_unfinished(settings, queue, uploads.unfinished_uploads())
        if requeued:
            notes.append(f"{requeued} upload(s) without a transcript queued again")
        handler = partial(process_upload_batch, uploads=uploads)
        worker = LocalQueueWorker(settings, queue, handler).start()

    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    print(f"Speech API     http://{shown}:{port}")
    print(f"Swagger UI     http://{shown}:{port}/docs")
    if embedded:
        print(
            f"S3 (embedded)  {embedded.endpoint_url}  bucket '{settings.s3.bucket}', "
            f"anonymous read on '{settings.public_prefix}' only"
        )
        print(f"Upload worker  {settings.uploads_prefix} -> SQS -> {settings.transcripts_prefix}")
        print(f"Data           {settings.data_dir.resolve()}  (objects and credentials)")
        for note in [*notes, *EMBEDDED_S3_CAVEATS]:
            print(f"               {note}")
    else:
        print(f"S3             {settings.s3.endpoint_url or 'AWS'}  bucket '{settings.s3.bucket}'")
    if settings.workers > 1:
        if embedded:
            raise SystemExit(
                "WORKERS > 1 needs a real S3 endpoint (set S3_ENDPOINT_URL or "
                "AWS credentials); the embedded S3 lives in one process."
            )
        # Each worker process builds the app from the environment's settings.
        uvicorn.run(
            "speech_api.api:create_app",
            factory=True,
            host=host,
            port=port,
            workers=settings.workers,
            log_level=settings.log_level,
            **server_options(settings),
        )
        return
    try:
        uvicorn.run(
            create_app(settings, service),
            host=host,
            port=port,
            log_level=settings.log_level,
            **server_options(settings),
        )
    finally:
        if worker:
            worker.stop()
        if embedded:
            embedded.stop()


def _start_embedded(settings: Settings):
    """The embedded S3 on its fixed port with its objects restored from DATA_DIR. Returns it,
    the settings pointing at it, and lines for the banner."""
    import errno

    from speech_api.runtime.local import start_embedded_s3, with_embedded_s3
    from speech_api.runtime.local_access import AccessGate
    from speech_api.runtime.local_state import DataDir, ObjectMirror

    data = DataDir(settings.data_dir)
    credentials = data.credentials()
    mirror = ObjectMirror(data.s3_dir(), [settings.s3.bucket])
    gate = partial(
        AccessGate,
        access_key_id=credentials["access_key_id"],
        secret_access_key=credentials["secret_access_key"],
        bucket=settings.s3.bucket,
        public_prefix=settings.public_prefix,
        # The file plus the form's fields: upload forms allow long recordings. (The embedded
        # server holds a form in memory while it stores it: locally, a 1 GB upload takes
        # about 2 GB for a moment.)
        max_form_bytes=settings.max_long_upload_bytes + 64 * 1024,
    )
    notes = []
    restored = mirror.restore(settings.aws_region)
    if restored:
        notes.append(f"{restored} object(s) restored")
    try:
        embedded = start_embedded_s3(port=settings.embedded_s3_port, mirror=mirror, gate=gate)
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
        embedded = start_embedded_s3(port=0, mirror=mirror, gate=gate)
        notes.append(
            f"port {settings.embedded_s3_port} is taken: URLs from this run will not work "
            "after a restart (set EMBEDDED_S3_PORT)"
        )
    return embedded, with_embedded_s3(settings, embedded.endpoint_url, credentials), notes


class _Remote:
    def __init__(self, base_url: str, api_key: str | None):
        import httpx

        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.base_url = base_url.rstrip("/")
        self.http = httpx.Client(base_url=self.base_url, headers=headers, timeout=300)

    def check(self, response):
        if response.status_code >= 400:
            try:
                message = response.json()["error"]["message"]
            except (ValueError, KeyError, TypeError):
                message = response.text
            raise SystemExit(f"error {response.status_code}: {message}")
        return response


# What the synchronous routes take by default (MAX_AUDIO_SECONDS, MAX_UPLOAD_BYTES): a longer or
# larger file goes to a server's upload flow (POST /uploads) at once, without a refused /stt
# first. A server with lower limits answers 413, and the file takes the same way.
_SYNC_MAX_AUDIO_S = Settings.model_fields["max_audio_seconds"].default
_SYNC_MAX_BYTES = Settings.model_fields["max_upload_bytes"].default
_POLL_S = 2.0
# A transcript whose state (status, attempt, progress) does not change for this long is left
# to poll later: a backlog, or a server without a running upload worker.
_STALL_S = 30 * 60.0
# While polling, answers worth waiting out (a restarting server, a gateway), for this long.
_TRANSIENT = (429, 500, 502, 503, 504)
_POLL_PATIENCE_S = 120.0
_SECONDS_BAR = "{desc}: {percentage:3.0f}%|{bar}| {n:.0f}/{total:.0f} s audio"


def _probed_duration_s(path: Path) -> float | None:
    """The container's duration from its header (nothing is decoded); None when unknown."""
    try:
        import av

        with av.open(str(path)) as container:
            duration = container.duration
    except Exception:  # not audio, or nothing PyAV can open: the server will say what
        return None
    return None if duration is None else duration / av.time_base


def _size(n: int) -> str:
    if n >= 10 * 1024**2:
        return f"{n / 1024**2:.0f} MB"
    return f"{n / 1024**2:.1f} MB" if n >= 1024**2 else f"{max(1, n // 1024)} KB"


def _upload_content_type(path: Path) -> str:
    """The content type POST /uploads accepts for this file, from its extension."""
    import mimetypes

    from speech_api.formats import UPLOAD_TYPES

    guessed = mimetypes.guess_type(path.name)[0]
    if guessed in UPLOAD_TYPES:
        return guessed
    extension = path.suffix.lower().lstrip(".")
    for content_type, accepted in UPLOAD_TYPES.items():
        if accepted == extension:
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


def _long_refusal(fmt: str, model: str | None, translate: bool, word_timestamps: bool):
    """What a long remote file cannot have: the upload worker transcribes with the server's
    model and stores segments, not verbose_json's decoder details or word timings."""
    if translate:
        return "--translate"
    if word_timestamps:
        return "--word-timestamps"
    if fmt == "verbose_json":
        return "--format verbose_json"
    if model:
        from speech_api.formats import OPENAI_STT_MODELS
        from speech_api.service.speech import openai_model

        if not openai_model(model, OPENAI_STT_MODELS):  # whisper-1 & co: the server's model
            return f"--model {model}"
    return None


def _transcribe_long(
    remote: _Remote,
    path: Path,
    fmt: str,
    language: str | None,
    *,
    why: str,
    refused: str | None,
    interactive: bool,
) -> str:
    """A file too long or too large for /stt, through the upload flow: POST /uploads, the file
    to storage with the presigned form, then GET /transcripts/<id> until it is done."""
    import time

    import httpx
    from tqdm import tqdm

    if refused:
        raise SystemExit(
            f"{why}: long remote files are transcribed by the server's upload worker, with "
            f"its model, as json, text, srt or vtt; {refused} is not available for them "
            "(drop it, or transcribe locally without --base-url)"
        )
    body = {"filename": path.name, "content_type": _upload_content_type(path)}
    if language:
        body["language"] = language
    created = remote.check(remote.http.post("/uploads", json=body)).json()
    form = created["upload"]
    size = path.stat().st_size
    _say(f"{path.name}: {why}; uploading ({_size(size)})...")
    sent = tqdm(
        total=size,
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
                files={"file": (path.name, _CountedReads(fh, sent), body["content_type"])},
                timeout=300,
            )
    finally:
        sent.close()
    if stored.status_code >= 300:
        import re

        found = re.search(r"<Message>(.*?)</Message>", stored.text, re.S)
        detail = found.group(1) if found else stored.text[:200]
        raise SystemExit(f"error {stored.status_code} from storage: {detail}")

    url = created["transcript_url"]
    _say(f"{path.name}: uploaded; its transcript will be at {remote.base_url}{url}")
    seconds = None
    said = None
    misses = 0
    seen, seen_at = None, time.monotonic()
    try:
        while True:
            try:
                r = remote.http.get(url)
                trouble = f"error {r.status_code}" if r.status_code in _TRANSIENT else None
            except httpx.TransportError as exc:
                trouble = f"cannot reach the server: {exc}"
            if trouble:
                # Hours of work go on on the server: a restart or a blip is waited out.
                misses += 1
                if misses * _POLL_S > _POLL_PATIENCE_S:
                    raise SystemExit(f"{trouble}; the transcript will be at {remote.base_url}{url}")
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
                    f"transcript will be at {remote.base_url}{url}"
                )
            total = progress.get("audio_s_total")
            if state.get("status") == "processing" and total:
                if seconds is None:
                    seconds = _seconds_bar(path.name, total, interactive)
                seconds.n = max(0.0, min(progress.get("audio_s_done", 0.0), seconds.total))
                seconds.refresh()
            note = state.get("status", "pending")
            if note == "pending":
                note = "queued"
            elif (state.get("attempt") or 1) > 1:
                note = f"processing, attempt {state['attempt']}"
            if note != said:
                _say(f"{path.name}: {note}")
                said = note
            time.sleep(_POLL_S)
        remote.check(r)  # 422: the stored reason it failed
        if seconds is not None:
            seconds.n = seconds.total
            seconds.refresh()
    finally:
        if seconds is not None:
            seconds.close()
    transcript = r.json()
    if fmt == "json":
        return json.dumps(transcript, indent=2)
    if fmt == "text":
        return transcript["text"] + "\n"
    from speech_api.engines.base import TranscriptSegment
    from speech_api.subtitles import to_srt, to_vtt

    segments = [TranscriptSegment(s["start"], s["end"], s["text"]) for s in transcript["segments"]]
    return (to_srt if fmt == "srt" else to_vtt)(segments)


# Files at least this long also get a progress bar over their audio seconds.
_LONG_AUDIO_S = 20.0


def _seconds_bar(name: str, total_s: float, interactive: bool):
    """A file's bar over its seconds of audio (shown for files of _LONG_AUDIO_S or more)."""
    from tqdm import tqdm

    return tqdm(
        total=round(total_s, 1),
        desc=name,
        unit="s",
        leave=False,
        file=sys.stderr,
        disable=not interactive or total_s < _LONG_AUDIO_S,
        bar_format=_SECONDS_BAR,
    )


def _interactive() -> bool:
    """Progress and "wrote ..." lines only for a person at a terminal; piped, the CLI is
    quiet except for errors."""
    return sys.stderr.isatty()


def _say(message: str) -> None:
    if _interactive():
        from tqdm import tqdm

        tqdm.write(message, file=sys.stderr)


def transcribe(
    settings: Settings,
    files: list[Path],
    fmt: str,
    output: str | None,
    language: str | None,
    base_url: str | None,
    api_key: str | None,
    *,
    model: str | None = None,
    translate: bool = False,
    word_timestamps: bool = False,
) -> int:
    from tqdm import tqdm

    if word_timestamps and fmt != "verbose_json":
        raise SystemExit("--word-timestamps needs --format verbose_json")
    tune_malloc()  # hours of audio pass through decoder threads
    interactive = _interactive()
    if base_url:
        remote = _Remote(base_url, api_key)

        refused = _long_refusal(fmt, model, translate, word_timestamps)

        def run(path: Path) -> str:
            size, duration = path.stat().st_size, _probed_duration_s(path)
            # The body is the file plus the form's few hundred bytes.
            too_large = size + 64 * 1024 > _SYNC_MAX_BYTES
            if too_large or (duration or 0) > _SYNC_MAX_AUDIO_S:
                why = (
                    f"{_size(size)}, over /stt's {_size(_SYNC_MAX_BYTES)}"
                    if too_large
                    else f"{duration:.0f} s, over /stt's {_SYNC_MAX_AUDIO_S:.0f} s"
                )
                return _transcribe_long(
                    remote,
                    path,
                    fmt,
                    language,
                    why=why,
                    refused=refused,
                    interactive=interactive,
                )
            with open(path, "rb") as fh:
                if fmt == "json" and not (model or translate):
                    # The API's own JSON (language, segments), as the local engines give.
                    route = "/stt"
                    params = {"language": language} if language else {}
                    r = remote.http.post(route, params=params, files={"file": (path.name, fh)})
                else:
                    data: dict = {"model": model or "whisper-1", "response_format": fmt}
                    if language and not translate:
                        data["language"] = language
                    if word_timestamps:
                        data["timestamp_granularities[]"] = ["word", "segment"]
                    route = "/v1/audio/" + ("translations" if translate else "transcriptions")
                    r = remote.http.post(route, data=data, files={"file": (path.name, fh)})
            if r.status_code == 413:
                # Too long or too large for this server's synchronous routes (its limits may
                # be lower than the defaults, a gateway's too): the upload flow takes it.
                try:
                    why = f"refused by {route}: " + r.json()["error"]["message"].rstrip(".")
                except (ValueError, KeyError, TypeError, AttributeError):
                    why = f"too long or too large for {route}"
                return _transcribe_long(
                    remote,
                    path,
                    fmt,
                    language,
                    why=why,
                    refused=refused,
                    interactive=interactive,
                )
            remote.check(r)
            return r.text if fmt in ("text", "srt", "vtt") else json.dumps(r.json(), indent=2)
    else:
        from speech_api.service import (
            SpeechService,
            TranscriptionOptions,
            render_transcript,
            transcription_response,
        )

        service = SpeechService(settings)
        options = TranscriptionOptions(
            task="translate" if translate else "transcribe",
            model=model,
            language=language,
            word_timestamps=word_timestamps,
        )

        def run(path: Path) -> str:
            # Any length up to LONG_AUDIO_MAX_SECONDS: decoded to a temporary PCM file, then
            # transcribed a stretch at a time, the bar advancing in seconds of audio.
            seconds = None

            def progress(done_s: float, total_s: float) -> None:
                nonlocal seconds
                if seconds is None:
                    seconds = _seconds_bar(path.name, total_s, interactive)
                seconds.update(max(0.0, min(done_s, total_s) - seconds.n))

            try:
                with service.transcribe_recording(path, options, on_progress=progress) as stream:
                    result = stream.collect(lambda seg: progress(seg.end, stream.duration_s))
            finally:
                if seconds is not None:
                    seconds.close()
            if fmt == "json":
                return transcription_response(result).model_dump_json(indent=2)
            return render_transcript(result, fmt, words=word_timestamps).body

    failures = 0
    bar = tqdm(files, desc="transcribing", unit="file", disable=not interactive, file=sys.stderr)
    for path in bar:
        try:
            text = run(path)
        except SystemExit as exc:
            bar.write(f"{path}: {exc}", file=sys.stderr)
            failures += 1
            continue
        except Exception as exc:  # one bad file must not stop a batch
            bar.write(f"{path}: {getattr(exc, 'message', exc)}", file=sys.stderr)
            failures += 1
            continue
        if output == "-":
            sys.stdout.write(text if text.endswith("\n") else text + "\n")
        else:
            folder = Path(output) if output else path.parent
            folder.mkdir(parents=True, exist_ok=True)
            target = folder / f"{path.stem}.{TRANSCRIPT_FORMATS[fmt]}"
            target.write_text(text, encoding="utf-8")
            _say(f"wrote {target}")
    bar.close()
    done = len(files) - failures
    _say(
        f"{done} of {len(files)} file(s) transcribed" + (f", {failures} failed" if failures else "")
    )
    return 1 if failures else 0


def synthesize(
    settings: Settings,
    text: str,
    output: Path | None,
    want_url: bool,
    fmt: str | None,
    voice: str | None,
    speed: float,
    base_url: str | None,
    api_key: str | None,
) -> int:
    if output is None and not want_url:
        raise SystemExit("give -o FILE or --url")
    fmt = fmt or (output.suffix.lstrip(".") if output and output.suffix else "mp3")
    if fmt not in OUTPUT_FORMATS:
        raise SystemExit(f"unknown format '{fmt}': use --format ({', '.join(OUTPUT_FORMATS)})")
    if base_url:
        remote = _Remote(base_url, api_key)
        if want_url:
            body = {
                "text": text,
                "format": fmt,
                "speed": speed,
                **({"voice": voice} if voice else {}),
            }
            print(remote.check(remote.http.post("/tts", json=body)).json()["url"])
        if output:
            body = {
                "model": "tts-1",
                "input": text,
                "voice": voice or "alloy",
                "response_format": fmt,
                "speed": speed,
            }
            output.write_bytes(
                remote.check(remote.http.post("/v1/audio/speech", json=body)).content
            )
            _say(f"wrote {output} ({output.stat().st_size // 1024} KB)")
        return 0

    if want_url:
        from speech_api.runtime.local import needs_embedded_s3

        # `serve` starts an S3 of its own when nothing is configured; a URL into one that
        # stops when this command exits would be dead at once.
        if needs_embedded_s3(settings):
            raise SystemExit(
                "--url stores the audio in a bucket and prints its URL: configure one "
                "(S3_ENDPOINT_URL, or AWS credentials / AWS_PROFILE) or pass --base-url "
                "of a running server (make serve)."
            )

    from speech_api.schemas import TTSRequest
    from speech_api.service import SpeechService

    service = SpeechService(settings)
    if want_url:
        print(service.synthesize(TTSRequest(text=text, voice=voice, format=fmt, speed=speed)).url)
    if output:
        speech = service.speak(text, voice=voice, fmt=fmt, speed=speed)
        output.write_bytes(b"".join(speech.chunks))
        _say(f"wrote {output} ({output.stat().st_size // 1024} KB)")
    return 0


def list_voices(settings: Settings, base_url: str | None, api_key: str | None) -> int:
    if base_url:
        remote = _Remote(base_url, api_key)
        voices = remote.check(remote.http.get("/v1/audio/voices")).json()
    else:
        from speech_api.service import SpeechService

        voices = SpeechService(settings).voices()
    for name in voices["voices"]:
        print(f"{name}  (default)" if name == voices["default"] else name)
    for alias, voice in voices["aliases"].items():
        print(f"{alias} -> {voice}")
    for alias, voice in voices.get("unavailable", {}).items():
        print(f"{alias} -> {voice}  (not installed)")
    return 0


def list_models(settings: Settings, base_url: str | None, api_key: str | None) -> int:
    if base_url:
        remote = _Remote(base_url, api_key)
        ids = [m["id"] for m in remote.check(remote.http.get("/v1/models")).json()["data"]]
    else:
        from speech_api.service import SpeechService

        ids = SpeechService(settings).model_ids()
    for model_id in ids:
        print(model_id)
    return 0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="speech-api", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p_serve = sub.add_parser("serve", help="run the HTTP API")
    p_serve.add_argument("--host", default=None, help="default: HOST or 127.0.0.1")
    p_serve.add_argument("--port", type=int, default=None, help="default: PORT or 8000")

    remote = argparse.ArgumentParser(add_help=False)
    remote.add_argument("--base-url", help="a running server; default: the local engines")
    remote.add_argument("--api-key", help="bearer key for --base-url")

    p_stt = sub.add_parser("transcribe", parents=[remote], help="audio files to text")
    p_stt.add_argument("files", nargs="+", type=Path)
    p_stt.add_argument("--format", choices=list(TRANSCRIPT_FORMATS), default="text")
    p_stt.add_argument(
        "-o", "--output", help="a folder, or - for stdout; default: next to each file"
    )
    p_stt.add_argument("--language", help="ISO 639-1 code; detected when absent")
    p_stt.add_argument("--model", help="a model from `speech-api models`; default: STT_MODEL")
    p_stt.add_argument("--translate", action="store_true", help="to English text")
    p_stt.add_argument(
        "--word-timestamps", action="store_true", help="word timings (with --format verbose_json)"
    )

    p_tts = sub.add_parser("synthesize", parents=[remote], help="text to audio")
    p_tts.add_argument("text")
    p_tts.add_argument("-o", "--output", type=Path, help="audio file to write")
    p_tts.add_argument("--url", action="store_true", help="store in S3, print the public URL")
    p_tts.add_argument("--format", choices=list(OUTPUT_FORMATS))
    p_tts.add_argument("--voice")
    p_tts.add_argument("--speed", type=float, default=1.0)

    sub.add_parser("voices", parents=[remote], help="the voices and their aliases")
    sub.add_parser("models", parents=[remote], help="the model names requests may use")

    p_redrive = sub.add_parser(
        "redrive", help="move failed upload messages from the dead-letter queue back"
    )
    p_redrive.add_argument("--dlq-url", required=True)
    p_redrive.add_argument("--queue-url", required=True)

    args = parser.parse_args(argv)
    settings = Settings()  # read once, passed in
    if args.command == "redrive":
        from speech_api.runtime.local import redrive_dead_letters

        moved = redrive_dead_letters(settings, args.dlq_url, args.queue_url)
        print(f"moved {moved} message(s)")
        return
    if args.command == "serve":
        serve(settings, args.host, args.port)
        return
    try:
        if args.command == "transcribe":
            code = transcribe(
                settings,
                args.files,
                args.format,
                args.output,
                args.language,
                args.base_url,
                args.api_key,
                model=args.model,
                translate=args.translate,
                word_timestamps=args.word_timestamps,
            )
        elif args.command == "voices":
            code = list_voices(settings, args.base_url, args.api_key)
        elif args.command == "models":
            code = list_models(settings, args.base_url, args.api_key)
        else:
            code = synthesize(
                settings,
                args.text,
                args.output,
                args.url,
                args.format,
                args.voice,
                args.speed,
                args.base_url,
                args.api_key,
            )
    except SpeechAPIError as exc:  # bad input, storage or model trouble: one line, no trace
        raise SystemExit(f"error: {exc.message}") from None
    except httpx_errors() as exc:
        raise SystemExit(f"error: cannot reach the server: {exc}") from None
    sys.exit(code)


def httpx_errors() -> tuple[type[Exception], ...]:
    import httpx

    return (httpx.TransportError,)


if __name__ == "__main__":
    main()
