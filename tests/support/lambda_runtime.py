"""A minimal Lambda Runtime API (the HTTP interface a Lambda image's bootstrap polls), so the
real runtime client (`python -m awslambdaric handlers.x.handler`) and the streaming runtime
(`python -m speech_api.runtime.lambda_stream ...`) can run here without Docker or the Runtime
Interface Emulator. A response posted in Lambda's streaming mode
(`Lambda-Runtime-Function-Response-Mode: streaming`, chunked, optional error trailers) is read
chunk by chunk, each chunk's arrival time recorded, and split as API Gateway's STREAM
integrations read it: JSON metadata, 8 NUL bytes, the payload."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PREFIX = "/2018-06-01/runtime"
DELIMITER = b"\0" * 8


@dataclass
class Streamed:
    """A response posted in streaming mode, as received."""

    headers: dict[str, str]  # the POST's own headers
    chunks: list[tuple[float, bytes]]  # (monotonic arrival time, bytes), in order
    trailers: dict[str, str] = field(default_factory=dict)
    dispatched_at: float = 0.0  # when /next handed the event out

    @property
    def raw(self) -> bytes:
        return b"".join(c for _, c in self.chunks)

    @property
    def metadata(self) -> dict:
        """The JSON before the delimiter (what API Gateway turns into status and headers)."""
        head, sep, _ = self.raw.partition(DELIMITER)
        assert sep, "no 8-NUL delimiter after the metadata"
        return json.loads(head)

    @property
    def payload(self) -> bytes:
        return self.raw.partition(DELIMITER)[2]

    def payload_times(self) -> list[float]:
        """Arrival times of the chunks that carry payload bytes (after the delimiter)."""
        seen, times, end = 0, [], len(self.raw) - len(self.payload)
        for at, chunk in self.chunks:
            seen += len(chunk)
            if seen > end:
                times.append(at)
        return times


def read_chunked(rfile) -> tuple[list[tuple[float, bytes]], dict[str, str]]:
    """A chunked request body (RFC 9112 7.1), each chunk with its arrival time, and trailers."""
    chunks = []
    while True:
        size = int(rfile.readline().split(b";")[0].strip(), 16)
        if size == 0:
            break
        data = rfile.read(size)
        chunks.append((time.monotonic(), data))
        assert rfile.read(2) == b"\r\n"
    trailers = {}
    while (line := rfile.readline().rstrip(b"\r\n")) != b"":
        name, _, value = line.decode().partition(":")
        trailers[name.strip()] = value.strip()
    return chunks, trailers


class RuntimeAPI:
    def __init__(self, timeout_s: float = 900):
        # The function's timeout: each invocation's deadline is this long after /next.
        self.timeout_s = timeout_s
        self._events: queue.Queue = queue.Queue()
        self._results: dict[str, tuple[str, dict | Streamed, float]] = {}
        self._dispatched: dict[str, float] = {}
        self._cond = threading.Condition()
        self.init_error: dict | None = None
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def do_GET(self):
                if self.path != f"{PREFIX}/invocation/next":
                    self.send_error(404)
                    return
                request_id, event = api._events.get()  # blocks like the real API
                api._dispatched[request_id] = time.monotonic()
                body = json.dumps(event).encode()
                self.send_response(200)
                self.send_header("Lambda-Runtime-Aws-Request-Id", request_id)
                self.send_header(
                    "Lambda-Runtime-Deadline-Ms",
                    str(int(time.time() * 1000 + api.timeout_s * 1000)),
                )
                self.send_header(
                    "Lambda-Runtime-Invoked-Function-Arn",
                    "arn:aws:lambda:us-east-1:123456789012:function:speech-api",
                )
                self.send_header(
                    "Lambda-Runtime-Trace-Id", "Root=1-5759e988-bd862e3fe1be46a994272793"
                )
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):
                parts = self.path.removeprefix(PREFIX).strip("/").split("/")
                if self.headers.get("Lambda-Runtime-Function-Response-Mode") == "streaming":
                    chunks, trailers = read_chunked(self.rfile)
                    payload = Streamed(
                        dict(self.headers), chunks, trailers, api._dispatched.get(parts[1], 0.0)
                    )
                else:
                    length = int(self.headers.get("Content-Length") or 0)
                    payload = json.loads(self.rfile.read(length) or b"null")
                if parts[:2] == ["init", "error"]:
                    api.init_error = payload
                elif parts[0] == "invocation" and len(parts) == 3:
                    with api._cond:
                        api._results[parts[1]] = (parts[2], payload, time.monotonic())
                        api._cond.notify_all()
                self.send_response(202)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def address(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{host}:{port}"

    def __enter__(self) -> RuntimeAPI:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def invoke(self, event: dict, timeout_s: float = 120) -> tuple[str, dict | Streamed, float]:
        """Queue one event; wait for its ("response" | "error", payload, monotonic time); a
        streamed response's payload is a `Streamed`."""
        request_id = str(uuid.uuid4())
        self._events.put((request_id, event))
        with self._cond:
            ok = self._cond.wait_for(
                lambda: request_id in self._results or self.init_error, timeout=timeout_s
            )
        if self.init_error:
            raise RuntimeError(f"init error: {self.init_error}")
        if not ok:
            raise TimeoutError(f"no result for {request_id} in {timeout_s}s")
        return self._results[request_id]


def start_runtime_client(
    handler: str,
    runtime_api: str,
    env: dict[str, str],
    *,
    cwd: Path = REPO,
    prefix: list[str] | None = None,
    unset: tuple[str, ...] = (),
    entrypoint: tuple[str, ...] = ("-m", "awslambdaric"),
) -> subprocess.Popen:
    """Start the real Lambda runtime client on a handler, as the image's entry point does
    (`entrypoint`: another runtime module, as a function's ImageConfig may name). `prefix`
    wraps the command (e.g. to mount the code read-only); `unset` drops variables Lambda does
    not set (HOME)."""
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AWS_", "S3_", "STT_", "TTS_", "PUBLIC_")) and k not in unset
    }
    base.update(
        {
            "AWS_LAMBDA_RUNTIME_API": runtime_api,
            "AWS_LAMBDA_FUNCTION_NAME": "speech-api",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "3008",
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/speech-api",
            "AWS_LAMBDA_LOG_STREAM_NAME": "local",
            "AWS_REGION": "us-east-1",
            "POWERTOOLS_TRACE_DISABLED": "true",  # no X-Ray daemon here
            **env,
        }
    )
    return subprocess.Popen(
        [*(prefix or []), sys.executable, *entrypoint, handler],
        cwd=cwd,
        env=base,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def lambda_env(s3_endpoint: str, **extra: str) -> dict[str, str]:
    """What the functions' environment holds, pointed at the test S3 and the small model."""
    from tests.support.s3 import s3_env

    return {"STT_MODEL": "tiny.en", **s3_env(s3_endpoint), **extra}
