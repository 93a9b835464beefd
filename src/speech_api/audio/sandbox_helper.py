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
    control = socket.socket(fileno=control_fd)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the server, which closes us
    import av  # noqa: F401  (imported once here, shared by every child)
    import numpy  # noqa: F401

    import speech_api.audio.decode  # noqa: F401

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
                        serve(sock)
                except BaseException:  # the parent sees the closed socket
                    code = 1
                finally:
                    os._exit(code)
            os.close(fd)


if __name__ == "__main__":
    main(int(sys.argv[1]))
