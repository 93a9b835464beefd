"""Live transcription sessions for tests: a real Uvicorn server with the app's WebSocket
settings, a plain WebSocket client (websockets' sync client), and dev clips as a live client
sends them."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
from websockets.sync.client import ClientConnection, connect

from devkit.clips import Clip
from speech_api.api import create_app
from speech_api.api.app import server_options
from speech_api.audio import decode_audio
from speech_api.audio.pcm import PCM24K, InputFormat, encode_stream
from speech_api.config import Settings


class RealtimeServer:
    """The app on a real Uvicorn server in this process, with `server_options` (the
    WebSocket message limit and pings `speech-api serve` uses)."""

    def __init__(self, settings: Settings):
        import uvicorn

        self.app = create_app(settings)
        self.server = uvicorn.Server(
            uvicorn.Config(
                self.app,
                host="127.0.0.1",
                port=0,
                log_level="warning",
                **server_options(settings),
            )
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> RealtimeServer:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.base_url = f"http://127.0.0.1:{port}"
        self.ws_url = f"ws://127.0.0.1:{port}/v1/realtime?intent=transcription"
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)

    @property
    def hub(self):
        return getattr(self.app.state, "realtime", None)


@contextmanager
def session(url: str, **kwargs) -> Iterator[ClientConnection]:
    """A connected client that has read `session.created`."""
    with connect(url, max_size=None, open_timeout=30, **kwargs) as ws:
        created = receive(ws)
        assert created["type"] == "session.created", created
        yield ws


def send(ws: ClientConnection, kind: str, **fields) -> None:
    ws.send(json.dumps({"type": kind, **fields}))


def receive(ws: ClientConnection, timeout: float = 60) -> dict:
    return json.loads(ws.recv(timeout=timeout))


def receive_until(ws: ClientConnection, kind: str, timeout: float = 120) -> list[dict]:
    """Events up to and including the first of type `kind`."""
    events = []
    deadline = time.monotonic() + timeout
    while True:
        event = receive(ws, max(0.1, deadline - time.monotonic()))
        events.append(event)
        if event["type"] == kind:
            return events


def configure(ws: ClientConnection, **audio_input) -> dict:
    send(ws, "session.update", session={"type": "transcription", "audio": {"input": audio_input}})
    event = receive(ws)
    assert event["type"] == "session.updated", event
    return event["session"]


def clip_audio(clip: Clip, lead_s: float = 0.5, tail_s: float = 1.5) -> np.ndarray:
    """The clip at 16 kHz with silence before and after (a speaker pausing)."""
    samples = decode_audio(clip.read(), max_seconds=120).samples
    return np.concatenate(
        [
            np.zeros(int(lead_s * 16000), np.float32),
            samples,
            np.zeros(int(tail_s * 16000), np.float32),
        ]
    )


def stream(
    ws: ClientConnection,
    audio: np.ndarray,
    fmt: InputFormat = PCM24K,
    *,
    chunk_s: float = 0.1,
    pace: float = 1.0,
) -> float:
    """Send 16 kHz audio as `fmt`, `chunk_s` per append, at `pace` times real time (0: as
    fast as the socket takes it). Returns when the last append was sent (monotonic)."""
    data = encode_stream(audio, 16000, fmt)
    step = int(chunk_s * fmt.sample_rate) * fmt.bytes_per_sample
    started = time.monotonic()
    for i, at in enumerate(range(0, len(data), step)):
        chunk = base64.b64encode(data[at : at + step]).decode()
        send(ws, "input_audio_buffer.append", audio=chunk)
        if pace:
            delay = started + (i + 1) * chunk_s / pace - time.monotonic()
            if delay > 0:
                time.sleep(delay)
    return time.monotonic()


class Collector:
    """Reads a session's events on a thread of its own, with the time each arrived, while
    the test sends audio."""

    def __init__(self, ws: ClientConnection):
        self.ws = ws
        self.events: list[tuple[float, dict]] = []
        self.closed: Exception | None = None
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            for message in self.ws:
                with self._cond:
                    self.events.append((time.monotonic(), json.loads(message)))
                    self._cond.notify_all()
        except Exception as exc:  # the connection closed
            self.closed = exc
        with self._cond:
            self._cond.notify_all()

    def wait_for(self, kind: str, count: int = 1, timeout: float = 120) -> list[dict]:
        """Every event so far, once `count` events of type `kind` have arrived."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while sum(e["type"] == kind for _, e in self.events) < count:
                left = deadline - time.monotonic()
                if left <= 0 or (self.closed and self._thread.is_alive() is False):
                    raise AssertionError(
                        f"no {count} x {kind} in {[e['type'] for _, e in self.events]}"
                    )
                self._cond.wait(min(left, 0.5))
            return [e for _, e in self.events]

    def of(self, kind: str) -> list[tuple[float, dict]]:
        with self._cond:
            return [(t, e) for t, e in self.events if e["type"] == kind]


def raw_websocket(ws_url: str, headers: dict[str, str] | None = None, rcvbuf: int = 4096):
    """A WebSocket opened by hand on a socket with a small receive buffer, for clients that
    never read: nothing on this side takes the server's events off the wire."""
    import os
    import socket
    from urllib.parse import urlparse

    url = urlparse(ws_url)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.connect((url.hostname, url.port))
    key = base64.b64encode(os.urandom(16)).decode()
    lines = [
        f"GET {url.path}?{url.query} HTTP/1.1",
        f"Host: {url.hostname}:{url.port}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {key}",
        "Sec-WebSocket-Version: 13",
        *(f"{k}: {v}" for k, v in (headers or {}).items()),
    ]
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    response = b""
    while b"\r\n\r\n" not in response:
        response += sock.recv(1)
    assert response.startswith(b"HTTP/1.1 101"), response
    return sock


def text_frame(text: str) -> bytes:
    """One masked client text frame."""
    import os
    import struct

    payload = text.encode()
    mask = os.urandom(4)
    n = len(payload)
    if n < 126:
        header = struct.pack("!BB", 0x81, 0x80 | n)
    elif n < 65536:
        header = struct.pack("!BBH", 0x81, 0x80 | 126, n)
    else:
        header = struct.pack("!BBQ", 0x81, 0x80 | 127, n)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return header + mask + masked
