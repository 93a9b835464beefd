"""`speech-api listen FILE|-`: live transcription from the command line, as a live client sees
it. A file (any format the API reads) or raw audio on stdin is streamed to `/v1/realtime` at
real-time pace (`--speed 4`: four times faster; `--speed 0`: as fast as the server takes it),
and the transcript is printed as it arrives: partial text while a turn is spoken, then its
final text.

At a terminal the partial text is redrawn on one line and each final line replaces it; piped,
every change is a line of its own, `partial: <the turn so far>` and `final: <text>`
(`--final-only`: just the final text, one line per turn).

Without `--base-url` the app runs in this process on a loopback port and the session goes
through it, so the local run takes the same path as a deployed one.
"""

from __future__ import annotations

import base64
import json
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse, urlunparse

STDIN_FORMATS = {"pcm16": "audio/pcm", "pcmu": "audio/pcmu", "pcma": "audio/pcma"}
CHUNK_S = 0.1
COMPLETED = "conversation.item.input_audio_transcription.completed"
FAILED = "conversation.item.input_audio_transcription.failed"
DELTA = "conversation.item.input_audio_transcription.delta"


@dataclass(frozen=True, kw_only=True)
class ListenRequest:
    source: str  # a file path, or "-" for stdin
    stdin_format: str = "pcm16"  # what stdin carries: pcm16 (24 kHz), pcmu, pcma (8 kHz)
    language: str | None = None
    model: str | None = None
    speed: float = 1.0
    vad: bool = True
    silence_ms: int | None = None
    final_only: bool = False


def realtime_url(base_url: str) -> str:
    """`http(s)://host[/v1]` or `ws(s)://...` to the session URL."""
    url = urlparse(base_url.rstrip("/"))
    scheme = {"http": "ws", "https": "wss"}.get(url.scheme, url.scheme)
    if scheme not in ("ws", "wss"):
        raise SystemExit(f"--base-url must be http(s):// or ws(s)://, not {base_url!r}")
    path = url.path
    if path.endswith("/realtime"):
        path = path[: -len("/realtime")]
    if not path.endswith("/v1"):
        path += "/v1"
    return urlunparse((scheme, url.netloc, path + "/realtime", "", "intent=transcription", ""))


def chunks(request: ListenRequest, settings):
    """(format name, byte chunks of CHUNK_S each) of what is to be streamed."""
    from speech_api.audio.pcm import INPUT_FORMATS, PCM24K

    if request.source == "-":
        fmt = INPUT_FORMATS[STDIN_FORMATS[request.stdin_format]]
        size = int(CHUNK_S * fmt.sample_rate) * fmt.bytes_per_sample

        def read_stdin():
            stream = sys.stdin.buffer
            while data := stream.read(size):
                yield data

        return fmt, read_stdin()
    import tempfile

    from speech_api.audio import decode_file
    from speech_api.audio.pcm import Resampler, to_pcm16

    path = Path(request.source)
    if not path.is_file():
        raise SystemExit(f"{path}: no such file")

    def read_file():
        with tempfile.TemporaryDirectory(prefix="speech-api-listen-") as work:
            pcm = decode_file(
                path, Path(work) / "audio.pcm", max_seconds=settings.long_audio_max_seconds
            )
            resample = Resampler(16000, PCM24K.sample_rate)
            step = int(CHUNK_S * 16000)
            for at in range(0, pcm.samples, step):
                yield to_pcm16(resample(pcm.read(at, at + step))).tobytes()

    return PCM24K, read_file()


class Printer:
    """Partial and final text, as the session's events arrive."""

    def __init__(self, final_only: bool, out=None, tty: bool | None = None):
        self.out = out or sys.stdout
        self.tty = self.out.isatty() if tty is None else tty
        self.final_only = final_only
        self.partial: dict[str, str] = {}
        self._shown = 0  # characters of partial text on the terminal's current line

    def event(self, event: dict) -> None:
        kind = event.get("type")
        if kind == DELTA:
            item = event["item_id"]
            self.partial[item] = self.partial.get(item, "") + event.get("delta", "")
            if not self.final_only:
                self._show_partial(self.partial[item].strip())
        elif kind == COMPLETED:
            self.partial.pop(event["item_id"], None)
            text = event["transcript"].strip()
            if text:
                self._line(text if self.final_only or self.tty else f"final: {text}")
        elif kind == FAILED or kind == "error":
            self._line(f"error: {event['error'].get('message')}", err=True)

    def _show_partial(self, text: str) -> None:
        if self.tty:
            clipped = text[-200:]
            pad = max(0, self._shown - len(clipped))
            self.out.write("\r\x1b[2m" + clipped + "\x1b[0m" + " " * pad)
            self._shown = len(clipped)
        else:
            self.out.write(f"partial: {text}\n")
        self.out.flush()

    def _line(self, text: str, err: bool = False) -> None:
        if self.tty and self._shown:
            self.out.write("\r" + " " * self._shown + "\r")
            self._shown = 0
        (sys.stderr if err else self.out).write(text + "\n")
        self.out.flush()


@contextmanager
def local_server(settings):
    """The app on a loopback port in this process (what `listen` uses without --base-url)."""
    import logging

    import uvicorn

    from speech_api.api import create_app
    from speech_api.api.app import server_options

    logging.getLogger("uvicorn.error").setLevel(logging.WARNING)
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings),
            host="127.0.0.1",
            port=0,
            log_level="warning",
            **server_options(settings),
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise SystemExit("error: the local server did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def listen(url: str, api_key: str | None, request: ListenRequest, settings, printer=None) -> int:
    """Stream the source through one session, printing as events arrive. The exit code:
    0, or 1 if the server reported an error or a turn failed."""
    from websockets.exceptions import ConnectionClosed, InvalidStatus
    from websockets.sync.client import connect

    printer = printer or Printer(request.final_only)
    fmt, source = chunks(request, settings)
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    try:
        ws = connect(url, additional_headers=headers, max_size=None, open_timeout=60)
    except InvalidStatus as exc:
        body = exc.response.body or b""
        try:
            message = json.loads(body)["error"]["message"]
        except (ValueError, KeyError, TypeError):
            message = body.decode(errors="replace") or str(exc)
        raise SystemExit(f"error {exc.response.status_code}: {message}") from None
    except OSError as exc:
        raise SystemExit(f"error: cannot reach {url}: {exc}") from None
    failures = 0
    with ws:
        created = json.loads(ws.recv(timeout=60))
        if created.get("type") == "error":
            raise SystemExit(f"error: {created['error']['message']}")
        audio_input: dict = {"format": {"type": fmt.name}, "transcription": {}}
        if request.model:
            audio_input["transcription"]["model"] = request.model
        if request.language:
            audio_input["transcription"]["language"] = request.language
        if not request.vad:
            audio_input["turn_detection"] = None
        elif request.silence_ms:
            audio_input["turn_detection"] = {
                "type": "server_vad",
                "silence_duration_ms": request.silence_ms,
            }
        ws.send(
            json.dumps(
                {
                    "type": "session.update",
                    "session": {"type": "transcription", "audio": {"input": audio_input}},
                }
            )
        )
        updated = json.loads(ws.recv(timeout=120))
        if updated.get("type") == "error":
            raise SystemExit(f"error: {updated['error']['message']}")

        # After the input ends: a commit (the turn in progress), then an empty session.update
        # whose answer comes after everything that commit causes (events keep their order).
        state = {"committed": 0, "finished": 0, "failures": 0, "sent": False, "marked": False}
        done = threading.Event()
        lock = threading.Lock()

        def read() -> None:
            try:
                for message in ws:
                    event = json.loads(message)
                    kind = event.get("type")
                    with lock:
                        if kind == "input_audio_buffer.committed":
                            state["committed"] += 1
                        elif kind in (COMPLETED, FAILED):
                            state["finished"] += 1
                            state["failures"] += kind == FAILED
                        elif kind == "session.updated" and state["sent"]:
                            state["marked"] = True
                        elif kind == "error":
                            if event["error"].get("code") == "input_audio_buffer_commit_empty":
                                continue  # the end commit found nothing left: fine
                            state["failures"] += 1
                        printer.event(event)
                        if state["marked"] and state["finished"] >= state["committed"]:
                            done.set()
            except ConnectionClosed:
                pass
            done.set()

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        started = time.monotonic()
        for i, chunk in enumerate(source):
            ws.send(
                json.dumps(
                    {"type": "input_audio_buffer.append", "audio": base64.b64encode(chunk).decode()}
                )
            )
            if request.speed > 0:
                delay = started + (i + 1) * CHUNK_S / request.speed - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
        # The end of the input ends the turn in progress (or, without VAD, the only one).
        with lock:
            state["sent"] = True
        ws.send(json.dumps({"type": "input_audio_buffer.commit"}))
        ws.send(json.dumps({"type": "session.update", "session": {"type": "transcription"}}))
        done.wait(timeout=300)
        failures = state["failures"]
    return 1 if failures else 0
