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


def claim_data_dir(path: Path, *, explicit: bool, port: int):
    """The data directory, held for this server: (its DataDir, a note for the banner or None).
    One server per data directory (the embedded S3 keeps its objects there, and two servers
    would overwrite each other's): when another server holds the default one, this server
    uses ``<path>/port-<port>``, its own for as long as it runs on that port, so its objects
    and URLs survive its restarts too."""
    from speech_api.runtime.embedded.persistence import DataDir, DataDirInUse

    try:
        return _held(DataDir(path)), None
    except DataDirInUse:
        if explicit:
            raise ClaimError(
                f"DATA_DIR {path.resolve()} is in use by another speech-api serve. Stop that, "
                "or set DATA_DIR to another folder."
            ) from None
    own = path / f"port-{port}"
    try:
        data = DataDir(own)
    except DataDirInUse:
        raise ClaimError(f"{own.resolve()} is in use too: set DATA_DIR.") from None
    return _held(data), f"{path} is in use by another server: this one keeps its own"


# The data directories this process holds: a DataDir lets go of its lock when it is collected,
# and the server must hold it for as long as it runs.
_HELD: list = []


def _held(data):
    _HELD.append(data)
    return data
