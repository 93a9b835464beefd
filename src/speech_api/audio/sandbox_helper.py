"""The decoding sandbox's helper process and its children (the server's side: `sandbox`).

The helper is started by the server as ``python -m speech_api.audio.sandbox_helper FD``, with
one end of a control socket. For each decode the server sends it a socket; the helper forks a
child that caps its own memory, decodes what the socket brings (`decode.decode_in_process`,
`decode.decode_file_in_process` or, a channel per file, `decode.decode_channels_in_process`),
answers on it and exits. A child that FFmpeg crashes, or that runs past its memory or time,
takes only itself down.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import struct
import sys
from pathlib import Path

from speech_api.audio.budget import DECODE_MEMORY_MB
from speech_api.audio.sandbox import REPLY_SLACK_S, recv_exact, send_message
from speech_api.errors import SpeechAPIError, UnsupportedAudioError


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


def serve(sock: socket.socket) -> None:
    """One decode, in a forked child. The request: {"mode": "bytes" | "file" | "channels",
    "max_seconds", "param", "limit_s", for files "source" and "target" paths (for channels,
    the target is a prefix: one PCM file per channel) and for channels "max_channels"}."""
    from speech_api.audio.decode import (
        decode_channels_in_process,
        decode_file_in_process,
        decode_in_process,
    )

    header_len, payload_len = struct.unpack("<IQ", recv_exact(sock, 12))
    request = json.loads(recv_exact(sock, header_len))
    # Past its budget (and the parent's slack) the child ends even if FFmpeg never returns.
    signal.alarm(int(request["limit_s"] + REPLY_SLACK_S) + 1)
    _cap_memory(payload_len)
    param = request.get("param", "file")
    try:
        try:
            if request["mode"] == "bytes":
                data = recv_exact(sock, payload_len)
                chunks: list[bytes] = []
                rate, channels = decode_in_process(
                    data, lambda arr: chunks.append(arr.tobytes()), request["max_seconds"], param
                )
                del data
                output = b"".join(chunks)
            elif request["mode"] == "channels":
                rate, channels = decode_channels_in_process(
                    Path(request["source"]),
                    Path(request["target"]),
                    request["max_seconds"],
                    param,
                    request["max_channels"],
                )
                output = b""
            else:
                rate, channels = decode_file_in_process(
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
        send_message(sock, {"ok": True, "rate": rate, "channels": channels}, output)
    except SpeechAPIError as exc:
        send_message(sock, {"ok": False, "error": type(exc).__name__, **exc.to_dict()})
    except OSError as exc:
        reply = {"ok": False, "error": "OSError", "errno": exc.errno, "message": str(exc)}
        send_message(sock, reply)


def _over_memory(param: str) -> UnsupportedAudioError:
    return UnsupportedAudioError(
        f"Decoding this file needs more than {DECODE_MEMORY_MB} MB of memory: its container "
        "declares tables or an index far larger than its audio. It is not a well-formed "
        "audio file.",
        param=param,
        code="decode_memory_limit",
    )


def main(control_fd: int) -> None:
    """Fork a child per request; when a child ends, tell its status socket how (the server
    reads it only when the child ended without replying: killed, crashed, timed out)."""
    import select

    control = socket.socket(fileno=control_fd)
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_write, False)
    signal.set_wakeup_fd(wake_write)
    signal.signal(signal.SIGCHLD, lambda *_: None)  # wakes the select below
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the server, which closes us
    import av  # noqa: F401  (imported once here, shared by every child)
    import numpy  # noqa: F401

    import speech_api.audio.decode  # noqa: F401

    children: dict[int, int] = {}  # pid -> its status socket's fd
    while True:
        try:
            ready, _, _ = select.select([control, wake_read], [], [], 1.0)
        except InterruptedError:  # pragma: no cover (PEP 475 retries)
            ready = []
        if wake_read in ready:
            os.read(wake_read, 4096)
        _reap(children)
        if control not in ready:
            continue
        try:
            msg, fds, _flags, _addr = socket.recv_fds(control, 1, 2)
        except OSError:
            return
        if not msg:  # the server is gone
            return
        data_fd, status_fd = [*fds, -1, -1][:2]
        pid = os.fork()
        if pid == 0:
            signal.set_wakeup_fd(-1)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            for fd in (control.fileno(), wake_read, wake_write, status_fd):
                if fd >= 0:
                    os.close(fd)
            code = 0
            try:
                with socket.socket(fileno=data_fd) as sock:
                    serve(sock)
            except BaseException:  # the parent sees the closed socket
                code = 1
            finally:
                os._exit(code)
        os.close(data_fd)
        if status_fd >= 0:
            children[pid] = status_fd


def _reap(children: dict[int, int]) -> None:
    """Collect every child that has ended and send its status socket how it ended."""
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        fd = children.pop(pid, -1)
        if fd < 0:
            continue
        if os.WIFSIGNALED(status):
            ended = {"signal": os.WTERMSIG(status)}
        else:
            ended = {"exit": os.WEXITSTATUS(status)}
        try:
            os.write(fd, json.dumps(ended).encode())
        except OSError:  # the server stopped listening (the child had replied)
            pass
        finally:
            os.close(fd)


if __name__ == "__main__":
    main(int(sys.argv[1]))
