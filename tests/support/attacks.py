"""What the hardening tests do to a served process: connections that never finish a request,
clients that read slowly or hang up, receivers that never answer, a decoder killed from
outside; and what they measure (latency of /health, the server's CPU while it should be idle).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx
import psutil

from devkit.server import ServerProcess, speech_api_serve
from tests.support.s3 import s3_env


def address(base_url: str) -> tuple[str, int]:
    parts = urlsplit(base_url)
    return parts.hostname, parts.port


def open_connections(base_url: str, count: int, first_bytes: bytes = b"") -> list[socket.socket]:
    """``count`` connections that send ``first_bytes`` (nothing, or part of a request head)
    and then nothing more."""
    sockets = []
    for _ in range(count):
        s = socket.create_connection(address(base_url), timeout=5)
        if first_bytes:
            s.sendall(first_bytes)
        sockets.append(s)
    return sockets


def closed_by_server(s: socket.socket, within_s: float) -> bool:
    """Whether the server closes (or resets) the connection within ``within_s``."""
    s.settimeout(within_s)
    try:
        while True:
            data = s.recv(65536)
            if not data:
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except TimeoutError:
        return False
    except OSError:
        return True


def close_all(sockets) -> None:
    for s in sockets:
        with contextlib.suppress(OSError):
            s.close()


def health_latencies(base_url: str, probes: int = 5) -> list[tuple[int, float]]:
    """(status, seconds) of ``probes`` GET /health, each on a new connection."""
    out = []
    for _ in range(probes):
        started = time.monotonic()
        try:
            status = httpx.get(f"{base_url}/health", timeout=10).status_code
        except httpx.HTTPError:
            status = 0
        out.append((status, time.monotonic() - started))
    return out


class HealthWatch:
    """/health probed every ``every_s`` on new connections while the block runs."""

    def __init__(self, base_url: str, every_s: float = 0.5):
        self.base_url, self.every_s = base_url, every_s
        self.results: list[tuple[int, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.every_s):
            self.results.extend(health_latencies(self.base_url, 1))

    def __enter__(self) -> HealthWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def worst_s(self) -> float:
        return max((t for _, t in self.results), default=0.0)

    @property
    def statuses(self) -> set[int]:
        return {s for s, _ in self.results}


def raw_request(method: str, path: str, body: bytes, content_type: str) -> bytes:
    return (
        f"{method} {path} HTTP/1.1\r\nHost: test\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body


@dataclass
class SlowRead:
    received: int = 0
    cut: bool = False  # the server closed the connection before the response's end
    complete: bool = False
    seconds: float = 0.0
    head: bytes = b""


def read_slowly(
    base_url: str, request: bytes, rate_bps: int, stop: threading.Event, result: SlowRead
) -> None:
    """Send ``request`` and read the answer at ``rate_bps`` until it ends, the server cuts it,
    or ``stop``; a small receive buffer, so the server really waits for this reader."""
    started = time.monotonic()
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, max(4096, rate_bps // 5))
    s.connect(address(base_url))
    s.settimeout(180)  # the first bytes may be slow to come on a busy machine: not a cut
    try:
        s.sendall(request)
        step = max(1, rate_bps // 10)
        while not stop.is_set():
            try:
                data = s.recv(step)
            except ConnectionResetError:
                result.cut = True
                break
            except TimeoutError:
                break
            if not data:
                # A chunked body that ends with its last chunk is complete; anything else is cut.
                result.cut = not result.head.endswith(b"0\r\n\r\n")
                result.complete = not result.cut
                break
            result.received += len(data)
            result.head = (result.head + data)[-64:] if result.received > 64 else result.head + data
            time.sleep(0.1)
    finally:
        result.seconds = time.monotonic() - started
        s.close()


def server_cpu_s(server: ServerProcess) -> float:
    """CPU seconds used so far by the server and every process it started."""
    total = 0.0
    try:
        proc = psutil.Process(server.proc.pid)
        for p in [proc, *proc.children(recursive=True)]:
            with contextlib.suppress(psutil.Error):
                t = p.cpu_times()
                total += t.user + t.system
    except psutil.Error:
        pass
    return total


def seconds_until_idle(
    server: ServerProcess, *, quiet_cpu_s: float = 0.05, step_s: float = 0.5, limit_s: float = 60
) -> float:
    """Seconds until the server stops using CPU (less than ``quiet_cpu_s`` in each of two
    ``step_s`` steps in a row), counted to the start of that quiet stretch."""
    started = time.monotonic()
    last = server_cpu_s(server)
    quiet_since = None
    while time.monotonic() - started < limit_s:
        time.sleep(step_s)
        now = server_cpu_s(server)
        if now - last < quiet_cpu_s:
            quiet_since = quiet_since or (time.monotonic() - step_s)
            if time.monotonic() - quiet_since >= 2 * step_s:
                return quiet_since - started
        else:
            quiet_since = None
        last = now
    return limit_s


class BlackHole:
    """A TCP server that accepts connections and never answers (a callback receiver gone
    wrong): every connection is held open until the end."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.accepted: list[socket.socket] = []
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.accepted.append(conn)

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def __enter__(self) -> BlackHole:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.listener.close()
        close_all(self.accepted)


@dataclass
class DecodeKiller:
    """Kills the server's decoding children (the sandbox helper's) with ``sig`` as they
    appear, as the kernel's out-of-memory killer would, until ``times`` are killed."""

    server: ServerProcess
    sig: int = signal.SIGKILL
    times: int = 1
    killed: list[int] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def _helpers(self) -> list[psutil.Process]:
        server = psutil.Process(self.server.proc.pid)
        return [c for c in server.children() if "sandbox_helper" in " ".join(c.cmdline())]

    def _run(self) -> None:
        while not self._stop.is_set() and len(self.killed) < self.times:
            with contextlib.suppress(psutil.Error):
                for helper in self._helpers():
                    for child in helper.children():
                        if len(self.killed) < self.times:
                            os.kill(child.pid, self.sig)
                            self.killed.append(child.pid)
            time.sleep(0.002)

    def __enter__(self) -> DecodeKiller:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def logged_server(cwd, model_cache_dir, s3_endpoint: str, **env: str) -> ServerProcess:
    """`speech-api serve` on the test S3 logging at info (one access line per request), its
    output kept as it comes (`ServerProcess.output`, `log_lines`)."""
    return speech_api_serve(
        cwd,
        health="/ready",
        LOG_LEVEL="info",
        MODEL_CACHE_DIR=str(model_cache_dir),
        **s3_env(s3_endpoint),
        **env,
    )


def output_lines(server: ServerProcess) -> list[str]:
    return server.output().splitlines()


def log_lines(server: ServerProcess, containing: str, timeout_s: float = 5) -> list[str]:
    """The server's output lines that contain ``containing``, waited for up to ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        found = [line for line in output_lines(server) if containing in line]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def joined_wav(paths, times: int = 1) -> bytes:
    """One 16 kHz mono WAV of these (16 kHz mono 16-bit) WAV files, one after another."""
    import io
    import wave

    frames = []
    for path in list(paths) * times:
        with wave.open(str(path)) as w:
            frames.append(w.readframes(w.getnframes()))
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(b"".join(frames))
    return out.getvalue()
