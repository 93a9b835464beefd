"""The decoding sandbox: every decode runs in a separate process with a memory cap.

FFmpeg sizes some structures from what a container *declares*, before any frame is decoded:
an MP4's sample tables (a 10 KB file whose stsz/stsc declare 50 M samples makes the demuxer
build a 1.2 GB index on open), Matroska cues and seek heads, FLAC seek tables, and whatever
the next FFmpeg release adds. Counting decoded frames cannot catch that, and a parser of our
own for every container would only cover the cases we thought of. So every decode runs in a
child process whose data segment is capped (``RLIMIT_DATA``, ``DECODE_MEMORY_MB`` above the
child's own baseline and its input): an allocation past the cap fails inside FFmpeg, which
gives up on that file, and the server's memory never sees it. A decoder that crashes or hangs
takes only its child with it.

The children are forked from one small helper process (``python -m
speech_api.audio.sandbox_helper``, started on first use: Python, NumPy and PyAV already
imported, no threads, no models), not from the server: forking a process with model threads and
gigabytes mapped is slow and can deadlock. Each decode costs a fork of that helper (a few
milliseconds) and a copy of the input through a socket.

This module is the server's side (`run_decode`, `prestart`) and the messages both sides
exchange; `sandbox_helper` is the helper and its children.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

from speech_api.errors import (
    AudioTooLongError,
    DecoderUnavailableError,
    EmptyAudioError,
    InvalidRequestError,
    SpeechAPIError,
    UnsupportedAudioError,
)

# The helper process's module, run with `python -m` (named, not imported: the helper imports
# this module, not the other way round).
HELPER_MODULE = "speech_api.audio.sandbox_helper"
_ERRORS: dict[str, type[SpeechAPIError]] = {
    cls.__name__: cls
    for cls in (AudioTooLongError, EmptyAudioError, InvalidRequestError, UnsupportedAudioError)
}
# Slack on top of the decode's own time budget (checked inside the child) before the parent
# stops waiting: the fork, the copy of the input and the reply.
REPLY_SLACK_S = 5.0


def send_message(sock: socket.socket, header: dict, payload: bytes = b"") -> None:
    raw = json.dumps(header).encode()
    sock.sendall(struct.pack("<IQ", len(raw), len(payload)) + raw)
    if payload:
        sock.sendall(payload)


def recv_exact(sock: socket.socket, size: int, deadline: float | None = None) -> bytes:
    buf = bytearray(size)
    view = memoryview(buf)
    got = 0
    while got < size:
        if deadline is not None:
            sock.settimeout(max(0.01, deadline - time.monotonic()))
        n = sock.recv_into(view[got:], min(size - got, 1 << 20))
        if n == 0:
            raise EOFError
        got += n
    return bytes(buf)


def recv_message(sock: socket.socket, deadline: float | None = None) -> tuple[dict, bytes]:
    header_len, payload_len = struct.unpack("<IQ", recv_exact(sock, 12, deadline))
    header = json.loads(recv_exact(sock, header_len, deadline))
    return header, recv_exact(sock, payload_len, deadline) if payload_len else b""


# Signals that end a decoding child from outside, whatever the file: the kernel's out-of-memory
# killer (SIGKILL), an operator or a shutdown. Not the file's fault: 503, or an upload retried.
_KILLED_FROM_OUTSIDE = {signal.SIGKILL, signal.SIGTERM, signal.SIGINT, signal.SIGHUP}
# How long the parent waits for the helper's word on a child that ended without replying.
STATUS_WAIT_S = 2.0


def _how_it_ended(status: socket.socket, limit_s: float, param: str) -> SpeechAPIError:
    """The error for a child that ended without replying, from how it ended: killed from
    outside (or no word from the helper) is the machine's fault, an alarm is the decode's
    time budget, a crash (SIGSEGV, SIGABRT, an exception) is the file's."""
    try:
        status.settimeout(STATUS_WAIT_S)
        ended = json.loads(status.recv(256) or b"{}")
    except (OSError, ValueError):
        ended = {}
    how = ended.get("signal")
    if how == signal.SIGALRM:
        return UnsupportedAudioError.decode_timeout(limit_s, param=param)
    if not ended or how in _KILLED_FROM_OUTSIDE:
        name = signal.Signals(how).name if how else "unknown"
        return DecoderUnavailableError(
            f"The audio decoder was stopped from outside ({name}; the machine may be out of "
            "memory) before it finished; the file was not at fault. Retry shortly."
        )
    return UnsupportedAudioError(
        "The decoder stopped on this file; it is not a well-formed audio file.", param=param
    )


# --- the parent side -----------------------------------------------------------------------


class _Helper:
    """The process children are forked from; restarted if it dies."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._proc: subprocess.Popen | None = None
        self._control: socket.socket | None = None

    def _start(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        package_root = str(Path(__file__).resolve().parents[2])
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
        self._proc = subprocess.Popen(
            [sys.executable, "-m", HELPER_MODULE, str(theirs.fileno())],
            pass_fds=[theirs.fileno()],
            stdin=subprocess.DEVNULL,
            env=env,
        )
        theirs.close()
        self._control = ours

    def channel(self) -> tuple[socket.socket, socket.socket]:
        """Sockets connected to a freshly forked decoding child: the child's own (request and
        reply), and the helper's word on how the child ended (`_how_it_ended`)."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        status, status_theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            with self._lock:
                for attempt in range(2):
                    if self._proc is None or self._proc.poll() is not None:
                        self._start()
                    try:
                        fds = [theirs.fileno(), status_theirs.fileno()]
                        socket.send_fds(self._control, [b"d"], fds)
                        break
                    except OSError:
                        if attempt:
                            raise
                        self._proc.kill()
                        self._proc = None
        except BaseException:
            ours.close()
            status.close()
            raise
        finally:
            theirs.close()
            status_theirs.close()
        return ours, status

    def prestart(self) -> None:
        with self._lock:
            if self._proc is None or self._proc.poll() is not None:
                self._start()


_helper = _Helper()


def prestart() -> None:
    """Start the helper now (it imports PyAV for about half a second), so that the first
    requests do not wait for it: `serve` and a Lambda environment's init call this."""
    _helper.prestart()


def run_decode(request: dict, payload: bytes, *, limit_s: float) -> tuple[dict, bytes]:
    """Decode in a child: ``request`` says what (see ``sandbox_helper.serve``), ``payload``
    is the input's bytes (empty when the child reads a file). Returns the child's reply and
    its output, or raises the domain error the child reported."""
    started = time.monotonic()
    deadline = started + limit_s + REPLY_SLACK_S
    param = request.get("param", "file")
    sock, status = _helper.channel()
    with sock, status:
        try:
            send_message(sock, {**request, "limit_s": limit_s}, payload)
            reply, output = recv_message(sock, deadline)
        except (EOFError, TimeoutError, ConnectionError) as exc:
            if time.monotonic() - started >= limit_s:
                raise UnsupportedAudioError.decode_timeout(limit_s, param=param) from exc
            raise _how_it_ended(status, limit_s, param) from exc
    if reply.get("ok"):
        return reply, output
    if reply["error"] == "OSError":  # writing the decoded audio failed (disk full): not bad input
        raise OSError(reply.get("errno") or 0, reply["message"])
    cls = _ERRORS.get(reply["error"], UnsupportedAudioError)
    raise cls(reply["message"], param=reply.get("param"), code=reply.get("code"))
