"""What `speech-api serve` takes on this machine before it says where it is: its ports and its
data directory.

Two servers side by side (a second checkout, a second terminal) must both start: the first
keeps the defaults (8000, 8001, `.data/`), a later one takes the next free ports and a data
directory of its own, and its banner says which. A value set explicitly (PORT, `--port`,
EMBEDDED_S3_PORT, DATA_DIR) is taken as given or refused before anything is printed, with
what to set instead: never a banner pointing at someone else's server, then a traceback.

Ports are bound here and the bound sockets handed to the servers, so nothing can take them
between the check and the start.
"""

from __future__ import annotations

import errno
import os
import socket
from dataclasses import dataclass
from pathlib import Path

# How far past a taken default port to look for a free one before asking the system for any.
_SEARCH = 20


class ClaimError(SystemExit):
    """A port or directory given explicitly is in use: the message says what to change."""


def listen(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` and listening. Raises OSError (EADDRINUSE when the
    port is taken)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except BaseException:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


@dataclass
class Claimed:
    sock: socket.socket
    port: int
    note: str | None = None  # for the banner, when it is not the port asked for


def claim_port(
    host: str, port: int, *, explicit: bool, variable: str, what: str, avoid: tuple = ()
) -> Claimed:
    """Bind ``port``; if it is taken and was not given explicitly, the next free port after it
    (skipping ``avoid``: the other default ports), else any free one."""
    try:
        sock = listen(host, port)
        return Claimed(sock, sock.getsockname()[1])
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
        if explicit:
            raise ClaimError(
                f"Port {port} ({variable}, {what}) is already in use on {host}, perhaps by "
                f"another speech-api serve. Stop that, or set {variable} to a free port "
                f"({variable}=0: any free port)."
            ) from None
    candidates = [p for p in range(port + 1, port + 1 + _SEARCH) if p not in avoid and p < 65536]
    for candidate in [*candidates, 0]:
        try:
            sock = listen(host, candidate)
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise
            continue
        taken = sock.getsockname()[1]
        note = f"port {port} is taken ({what} on {taken}; set {variable} to choose)"
        return Claimed(sock, taken, note)
    raise AssertionError("unreachable: port 0 always binds")


@dataclass
class DataDirClaim:
    path: Path
    note: str | None = None
    _fd: int | None = None

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


LOCK_FILE = ".serve.lock"


def claim_data_dir(path: Path, *, explicit: bool, port: int) -> DataDirClaim:
    """Lock ``path`` for this server (one server per data directory: the embedded S3 keeps
    its objects there, and two servers would overwrite each other's). When another server
    holds the default one, this server uses ``<path>/port-<port>``, its own for as long as it
    runs on that port, so its objects and URLs survive its restarts too."""
    claim = _lock(path, port)
    if claim is not None:
        return claim
    holder = _holder(path)
    if explicit:
        raise ClaimError(
            f"DATA_DIR {path.resolve()} is in use by another speech-api serve{holder}. "
            "Stop that, or set DATA_DIR to another folder."
        )
    own = path / f"port-{port}"
    claim = _lock(own, port)
    if claim is None:
        raise ClaimError(f"DATA_DIR {own.resolve()} is in use{_holder(own)}; set DATA_DIR.")
    claim.note = f"{path} is in use by another server{holder}: this one keeps its own"
    return claim


def _lock(path: Path, port: int) -> DataDirClaim | None:
    import fcntl

    path.mkdir(parents=True, exist_ok=True)
    fd = os.open(path / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()} {port}\n".encode())
    return DataDirClaim(path, _fd=fd)


def _holder(path: Path) -> str:
    """' (pid N, port P)' from the lock file of the server holding ``path``, if readable."""
    try:
        pid, port = (path / LOCK_FILE).read_text().split()[:2]
    except (OSError, ValueError):
        return ""
    return f" (pid {pid}, port {port})"
