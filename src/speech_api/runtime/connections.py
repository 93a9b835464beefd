"""Uvicorn's HTTP/1.1 protocol with two limits on connections that are not doing a request.

Uvicorn counts every open connection against ``limit_concurrency`` (MAX_CONNECTIONS) and closes
an idle one only after a response (``timeout_keep_alive``), and only until it sends a byte: 256
connections that never send anything, or a partial header line each, had every request
answered 503, `/health` included, for as long as they stayed open. So:

* **A deadline for the request head.** A connection gets REQUEST_HEADER_TIMEOUT_S from when it
  opens (or its previous response ended) to deliver a complete request head; bytes that
  trickle in do not extend it. Past it, the connection is closed. (The body has its own
  deadline: BODY_TIMEOUT_S and MIN_BODY_RATE, api/middleware.py.)
* **A small kernel send buffer** (SEND_BUFFER_BYTES), so that a response's client is not
  credited with megabytes the kernel holds for it; and a response given up half-way is cut
  at once (the connection aborted, not left to drain to a client that stopped reading).
* **WebSockets are left to their own limits.** A connection upgraded to a WebSocket (a live
  session) leaves this protocol: the head deadline is disarmed and the idle cap does not count
  it (the session has its idle and session timeouts and pings, realtime/limits.py).
* **A bounded share for idle connections.** At most MAX_IDLE_CONNECTIONS connections may be
  open without a request in progress; a new connection past that closes the one that has been
  idle longest. Idle connections cannot crowd out the ones that are working, and a new client
  always gets in.

Uvicorn's ``http`` option takes this class; it is configured once per process
(`configure_connections`), so the worker processes of WORKERS > 1 read the same settings from
the environment.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import struct
import time
from dataclasses import dataclass

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger("speech_api.connections")

# The kernel's send buffer per connection (Linux doubles it; left alone it grows to megabytes).
# What a response has handed over is then within about 300 KB (7 s of PCM speech) of what its
# client has read, so a stream can tell a client that reads slower than the audio plays
# (api/routers/speech.py, STREAM_READ_GRACE_S). 5 MB/s at a 50 ms round trip: far more than
# any response here needs.
SEND_BUFFER_BYTES = 128 * 1024
# How long a connection answered before its request body ended stays open for reading (the
# rest of the body, discarded) after its response and FIN, before it is closed.
LINGER_S = 2.0


@dataclass(frozen=True)
class ConnectionLimits:
    header_timeout_s: float = 5.0
    max_idle: int = 64


_limits: ConnectionLimits | None = None


def configure_connections(header_timeout_s: float, max_idle: int) -> None:
    global _limits
    _limits = ConnectionLimits(header_timeout_s, max_idle)


def connection_limits() -> ConnectionLimits:
    """The configured limits; in a process that was not configured (a worker process that
    uvicorn spawned), the environment's."""
    global _limits
    if _limits is None:
        from speech_api.config import Settings

        settings = Settings()
        _limits = ConnectionLimits(settings.request_header_timeout_s, settings.max_idle_connections)
    return _limits


class _CuttingTransport:
    """The connection's transport, except that closing it while a response is half-sent
    aborts it: the client sees the response cut (a reset) at once, and the connection is gone.
    A plain close would first send what is buffered, which a client that stopped reading never
    takes: a response given up on (a slow reader cut, a stream whose work stopped) would keep
    its connection, and its buffers, for as long as the client likes."""

    def __init__(self, transport, protocol: GuardedH11Protocol):
        self._transport = transport
        self._protocol = protocol
        self.lingering = False

    def close(self) -> None:
        cycle = self._protocol.cycle
        if cycle is not None and cycle.response_started and not cycle.response_complete:
            sock = self._transport.get_extra_info("socket")
            if sock is not None:  # a reset: the kernel drops what it still holds for the client
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self._transport.abort()
        elif self._client_still_sending() and self._transport.can_write_eof():
            self._linger()
        else:
            self._transport.close()

    def _client_still_sending(self) -> bool:
        """A whole response was sent while the request's body is still arriving (a 413 at
        its Content-Length, a 408 to a trickling body)."""
        return self._protocol.conn.their_state is h11.SEND_BODY

    def _linger(self) -> None:
        """Close the way RFC 9112 (9.6) asks when the client may still be sending: the
        response and a FIN first (shutdown for writing), the socket itself LINGER_S later. A
        socket closed with unread bytes in it is reset at once by the kernel, which drops
        what it had not yet sent: under four concurrent 23 MB bodies, a 413 reached its client
        as a head without its body about one time in two."""
        if self.lingering:  # asked again (the idle cap, the timer): now
            self._transport.close()
            return
        self.lingering = True  # the protocol discards what arrives from now on
        self._transport.write_eof()
        self._transport.resume_reading()
        self._protocol.loop.call_later(LINGER_S, self._transport.close)

    def __getattr__(self, name: str):
        return getattr(self._transport, name)


class GuardedH11Protocol(H11Protocol):
    """H11Protocol with a request-head deadline and a cap on idle connections."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._limits = connection_limits()
        self._deadline: asyncio.TimerHandle | None = None
        self._idle_since = time.monotonic()
        self._upgraded = False

    def idle(self) -> bool:
        """No request in progress (none yet, or the last one answered), and still open."""
        if self._upgraded or self.transport is None or self.transport.is_closing():
            return False
        return self.cycle is None or self.cycle.response_complete

    def connection_made(self, transport) -> None:  # type: ignore[override]
        super().connection_made(_CuttingTransport(transport, self))
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER_BYTES)
        self._arm()
        idle = [
            c
            for c in self.connections
            if c is not self and isinstance(c, GuardedH11Protocol) and c.idle()
        ]
        if len(idle) >= self._limits.max_idle:
            oldest = min(idle, key=lambda c: c._idle_since)
            log.info("closing the connection idle longest: %d idle connections", len(idle))
            oldest._close()

    def handle_websocket_upgrade(self, event) -> None:
        """A WebSocket (a live session, /v1/realtime) is no longer this protocol's: its head
        came in time, and the session keeps its own limits (idle and session timeouts, pings,
        realtime/limits.py), so neither the head deadline nor the idle cap may close it."""
        self._disarm()
        self._upgraded = True
        super().handle_websocket_upgrade(event)

    def data_received(self, data: bytes) -> None:
        if getattr(self.transport, "lingering", False):
            return  # the rest of a body already answered (_CuttingTransport._linger)
        super().data_received(data)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm()

    def connection_lost(self, exc) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        self._idle_since = time.monotonic()
        self._deadline = self.loop.call_later(self._limits.header_timeout_s, self._expire)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expire(self) -> None:
        self._deadline = None
        if self.idle():  # no complete request head in time
            self._close()

    def _close(self) -> None:
        self._disarm()
        if not self.transport.is_closing():
            self.transport.close()
