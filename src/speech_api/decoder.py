"""Audio decoding in a separate process with a memory cap.

FFmpeg sizes some structures from what a container *declares*, before any frame is decoded:
an MP4's sample tables (a 10 KB file whose stsz/stsc declare 50 M samples makes the demuxer
build a 1.2 GB index on open), Matroska cues and seek heads, FLAC seek tables, and whatever
the next FFmpeg release adds. Counting decoded frames cannot catch that, and a parser of our
own for every container would only cover the cases we thought of. So every decode runs in a
child process whose data segment is capped (``RLIMIT_DATA``, ``DECODE_MEMORY_MB`` above the
child's own baseline and its input): an allocation past the cap fails inside FFmpeg, which
gives up on that file, and the server's memory never sees it. A decoder that crashes or hangs
takes only its child with it.

The children are forked from one small helper process (``python -m speech_api.decoder``,
started on first use: Python, NumPy and PyAV already imported, no threads, no models), not from
the server: forking a process with model threads and gigabytes mapped is slow and can deadlock.
Each decode costs a fork of that helper (a few milliseconds) and a copy of the input through a
socket.
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
    EmptyAudioError,
    InvalidRequestError,
    SpeechAPIError,
    UnsupportedAudioError,
)
from speech_api.formats import DECODE_MEMORY_MB

_ERRORS: dict[str, type[SpeechAPIError]] = {
    cls.__name__: cls
    for cls in (AudioTooLongError, EmptyAudioError, InvalidRequestError, UnsupportedAudioError)
}
# Slack on top of the decode's own time budget (checked inside the child) before the parent
# stops waiting: the fork, the copy of the input and the reply.
_REPLY_SLACK_S = 5.0


def _send_message(sock: socket.socket, header: dict, payload: bytes = b"") -> None:
    raw = json.dumps(header).encode()
    sock.sendall(struct.pack("<IQ", len(raw), len(payload)) + raw)
    if payload:
        sock.sendall(payload)


def _recv_exact(sock: socket.socket, size: int, deadline: float | None = None) -> bytes:
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


def _recv_message(sock: socket.socket, deadline: float | None = None) -> tuple[dict, bytes]:
    header_len, payload_len = struct.unpack("<IQ", _recv_exact(sock, 12, deadline))
    header = json.loads(_recv_exact(sock, header_len, deadline))
    return header, _recv_exact(sock, payload_len, deadline) if payload_len else b""


# --- the parent side -----------------------------------------------------------------------


class _Helper:
    """The process children are forked from; restarted if it dies."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._proc: subprocess.Popen | None = None
        self._control: socket.socket | None = None

    def _start(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        package_root = str(Path(__file__).resolve().parents[1])
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "speech_api.decoder", str(theirs.fileno())],
            pass_fds=[theirs.fileno()],
            stdin=subprocess.DEVNULL,
            env=env,
        )
        theirs.close()
        self._control = ours

    def channel(self) -> socket.socket:
        """A socket connected to a freshly forked decoding child."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            with self._lock:
                for attempt in range(2):
                    if self._proc is None or self._proc.poll() is not None:
                        self._start()
                    try:
                        socket.send_fds(self._control, [b"d"], [theirs.fileno()])
                        break
                    except OSError:
                        if attempt:
                            raise
                        self._proc.kill()
                        self._proc = None
        finally:
            theirs.close()
        return ours

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
    """Decode in a child: ``request`` says what (see ``_serve``), ``payload`` is the input's
    bytes (empty when the child reads a file). Returns the child's reply and its output, or
    raises the domain error the child reported."""
    started = time.monotonic()
    deadline = started + limit_s + _REPLY_SLACK_S
    param = request.get("param", "file")
    with _helper.channel() as sock:
        try:
            _send_message(sock, {**request, "limit_s": limit_s}, payload)
            reply, output = _recv_message(sock, deadline)
        except (EOFError, TimeoutError, ConnectionError) as exc:
            if time.monotonic() - started >= limit_s:
                raise UnsupportedAudioError.decode_timeout(limit_s, param=param) from exc
            raise UnsupportedAudioError(
                "The decoder stopped on this file; it is not a well-formed audio file.",
                param=param,
            ) from exc
    if reply.get("ok"):
        return reply, output
    if reply["error"] == "OSError":  # writing the decoded audio failed (disk full): not bad input
        raise OSError(reply.get("errno") or 0, reply["message"])
    cls = _ERRORS.get(reply["error"], UnsupportedAudioError)
    raise cls(reply["message"], param=reply.get("param"), code=reply.get("code"))


# --- the helper and its children -----------------------------------------------------------


def _vm_data_bytes() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmData:"):
                return int(line.split()[1]) * 1024
    return 0


def _cap_memory(extra_bytes: int) -> None:
    """Cap this process's data segment (heap and private mappings, which is where FFmpeg's
    allocations go) at what it uses now, plus its input, plus DECODE_MEMORY_MB."""
    import resource

    limit = _vm_data_bytes() + extra_bytes + DECODE_MEMORY_MB * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))


def _serve(sock: socket.socket) -> None:
    """One decode, in a forked child. The request: {"mode": "bytes" | "file" | "channels",
    "max_seconds", "param", "limit_s", for files "source" and "target" paths (for channels,
    the target is a prefix) and for channels "max_channels"}."""
    from speech_api import audio

    header_len, payload_len = struct.unpack("<IQ", _recv_exact(sock, 12))
    request = json.loads(_recv_exact(sock, header_len))
    # Past its budget (and the parent's slack) the child ends even if FFmpeg never returns.
    signal.alarm(int(request["limit_s"] + _REPLY_SLACK_S) + 1)
    _cap_memory(payload_len)
    param = request.get("param", "file")
    try:
        try:
            if request["mode"] == "bytes":
                data = _recv_exact(sock, payload_len)
                chunks: list[bytes] = []
                rate, channels = audio.decode_in_process(
                    data, lambda arr: chunks.append(arr.tobytes()), request["max_seconds"], param
                )
                del data
                output = b"".join(chunks)
            elif request["mode"] == "channels":
                rate, channels = audio.decode_channels_in_process(
                    Path(request["source"]),
                    Path(request["target"]),
                    request["max_seconds"],
                    param,
                    request["max_channels"],
                )
                output = b""
            else:
                rate, channels = audio.decode_file_in_process(
                    Path(request["source"]),
                    Path(request["target"]),
                    request["max_seconds"],
                    param,
                )
                output = b""
        except MemoryError as exc:
            raise _over_memory(param) from exc
        except Exception as exc:
            import av

            if isinstance(exc, av.error.MemoryError):  # FFmpeg's ENOMEM
                raise _over_memory(param) from exc
            raise
        _send_message(sock, {"ok": True, "rate": rate, "channels": channels}, output)
    except SpeechAPIError as exc:
        _send_message(sock, {"ok": False, "error": type(exc).__name__, **exc.to_dict()})
    except OSError as exc:
        reply = {"ok": False, "error": "OSError", "errno": exc.errno, "message": str(exc)}
        _send_message(sock, reply)


def _over_memory(param: str) -> UnsupportedAudioError:
    return UnsupportedAudioError(
        f"Decoding this file needs more than {DECODE_MEMORY_MB} MB of memory: its container "
        "declares tables or an index far larger than its audio. It is not a well-formed "
        "audio file.",
        param=param,
        code="decode_memory_limit",
    )


def _helper_main(control_fd: int) -> None:
    control = socket.socket(fileno=control_fd)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the server, which closes us
    import av  # noqa: F401  (imported once here, shared by every child)
    import numpy  # noqa: F401

    from speech_api import audio  # noqa: F401

    while True:
        try:
            msg, fds, _flags, _addr = socket.recv_fds(control, 1, 1)
        except OSError:
            return
        if not msg:  # the server is gone
            return
        for fd in fds:
            if os.fork() == 0:
                control.close()
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                code = 0
                try:
                    with socket.socket(fileno=fd) as sock:
                        _serve(sock)
                except BaseException:  # the parent sees the closed socket
                    code = 1
                finally:
                    os._exit(code)
            os.close(fd)


if __name__ == "__main__":
    _helper_main(int(sys.argv[1]))
