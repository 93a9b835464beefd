"""One live session on an accepted WebSocket: reads client events, feeds the session state
machine, runs the decode work it asks for, and sends its events, within the session's limits.

Limits, each with its documented answer (docs/realtime.md):
- not JSON, an unknown event, a binary frame, base64 that is not: an `error` event; the
  session goes on;
- audio faster than real time: processed at the pace decoding keeps up with (at most
  `MAX_PENDING_FINALS` committed turns waiting, a large append a second of audio at a
  time); up to `MAX_BACKLOG_S` of audio waits in memory, and past that the socket is not
  read, so TCP holds the client back;
- a client that does not read its events for `SEND_TIMEOUT_S`, or lets `SEND_QUEUE` events
  pile up: the session ends (close 1008);
- no event from the client for `idle_timeout_s`: `error` `idle_timeout`, close 1000;
- `session_max_s` after it began: `error` `session_expired`, close 1000.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import logging
from collections import deque
from dataclasses import replace
from typing import Any

import numpy as np

from speech_api.audio.pcm import StreamDecoder
from speech_api.engines import TranscriptionOptions
from speech_api.errors import SpeechAPIError, UnsupportedLanguageError
from speech_api.realtime.decoding import PartialDecoder, transcription_options
from speech_api.realtime.hub import LiveHub
from speech_api.realtime.protocol import (
    Append,
    Clear,
    Commit,
    Dialect,
    ProtocolError,
    SessionConfig,
    SessionUpdate,
    TranscriptionSessionUpdate,
    apply_update,
    error_event,
    event,
    expires_at,
    new_id,
    parse_event,
    session_object,
)
from speech_api.realtime.session import Final, Limits, Partial, Session, Speculate
from speech_api.realtime.vad import SileroStream

log = logging.getLogger(__name__)

# Committed turns a session may have waiting for their transcript before it processes more.
MAX_PENDING_FINALS = 4
# Audio a session may have received and not yet processed, in seconds: past it, the socket
# is not read (TCP holds the client back). Below it the socket is read at once, so the
# client's keepalive pings are answered while its audio waits for the decoder.
MAX_BACKLOG_S = 300.0
# Events waiting to be sent, and how long one send may wait for the client to read.
SEND_QUEUE = 1024
SEND_TIMEOUT_S = 15.0
# Input processed at once, in seconds of audio (a large append is taken in pieces, with
# backpressure between them).
SLICE_S = 1.0


class _End(Exception):
    def __init__(self, code: int, reason: str, why: str):
        super().__init__(reason)
        self.code, self.reason, self.why = code, reason, why


class LiveConnection:
    def __init__(
        self, websocket, hub: LiveHub, *, dialect: Dialect = "ga", model: str | None = None
    ):
        self.ws = websocket
        self.hub = hub
        settings = hub.settings.realtime
        self.settings = settings
        config = SessionConfig()
        if model:
            config = replace(config, transcription=replace(config.transcription, model=model))
        self.session = Session(
            config,
            dialect=dialect,
            limits=Limits(
                max_utterance_s=settings.max_utterance_s,
                max_buffer_s=hub.settings.max_audio_seconds,
                partial_interval_s=settings.partial_interval_s,
            ),
            partials=settings.partials,
        )
        self.session_id = new_id("sess")
        self.expires_at = expires_at(settings.session_max_s)
        self.decoder = StreamDecoder(config.format)
        self.vad = SileroStream()
        self.options = transcription_options(config.transcription, "session")
        self._out: asyncio.Queue[str | None] = asyncio.Queue(SEND_QUEUE)
        self._inbox: asyncio.Queue = asyncio.Queue()
        self._backlog = 0  # bytes of audio in the inbox
        self._drained = asyncio.Event()
        self._pending: deque[tuple[Final, Any]] = deque()
        self._pending_changed = asyncio.Event()
        self._speculative: dict[tuple[str, int], Any] = {}
        self._loop = asyncio.get_running_loop()
        self._closed = False
        self._end: _End | None = None
        self._reader: asyncio.Task | None = None

    # --- lifecycle ----------------------------------------------------------------------

    async def run(self) -> str:
        """Serve the session until it ends; returns why it ended."""
        self._emit(self._session_event("session.created"))
        sender = asyncio.create_task(self._send_loop())
        finals = asyncio.create_task(self._final_loop())
        processor = asyncio.create_task(self._process_loop())
        self._reader = asyncio.create_task(self._read_loop())
        why = "client_closed"
        try:
            async with asyncio.timeout(self.settings.session_max_s):
                await self._reader
        except TimeoutError:
            self._end = _End(1000, "session expired", "session_expired")
            minutes = self.settings.session_max_s / 60
            self._emit(
                error_event(
                    ProtocolError(
                        f"Your session hit the maximum duration of {minutes:g} minutes.",
                        code="session_expired",
                    )
                )
            )
        except asyncio.CancelledError:
            if self._end is None:
                raise
        except _End as end:
            self._end = end
        finally:
            self._closed = True
            self.hub.scheduler.forget(self)
            finals.cancel()
            processor.cancel()
            if self._reader and not self._reader.done():
                self._reader.cancel()
        if self._end is not None:
            why = self._end.why
            if why != "client_not_reading" and not self._out.full():
                # What is queued (the error saying why) goes out first, within the timeout.
                self._out.put_nowait(None)
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(sender, SEND_TIMEOUT_S)
            await self._close(self._end.code, self._end.reason)
        sender.cancel()
        return why

    async def _close(self, code: int, reason: str) -> None:
        # Gone already, or not reading: then uvicorn drops the connection when we return.
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.ws.close(code=code, reason=reason), 5)

    def _abort(self, end: _End) -> None:
        """End the session from outside the reader (the sender, a full queue)."""
        if self._end is None:
            self._end = end
        if self._reader is not None and not self._reader.done():
            self._reader.cancel()

    # --- reading ------------------------------------------------------------------------

    async def _read_loop(self) -> None:
        idle = self.settings.idle_timeout_s
        while True:
            fmt = self.decoder.format
            limit = MAX_BACKLOG_S * fmt.sample_rate * fmt.bytes_per_sample
            while self._backlog > limit:
                self._drained.clear()
                await self._drained.wait()
            try:
                message = await asyncio.wait_for(self.ws.receive(), idle)
            except TimeoutError:
                self._emit(
                    error_event(
                        ProtocolError(
                            f"No event for {idle:g} s: the session is closed. Send audio (or "
                            "reconnect) to keep transcribing.",
                            code="idle_timeout",
                        )
                    )
                )
                raise _End(1000, "idle timeout", "idle_timeout") from None
            if message["type"] == "websocket.disconnect":
                return
            if message.get("text") is not None:
                self._receive(message["text"])
            elif message.get("bytes") is not None:
                self._emit(
                    error_event(
                        ProtocolError(
                            "Binary frames are not accepted: send JSON events as text frames "
                            "(audio goes base64-encoded in input_audio_buffer.append).",
                            code="invalid_frame",
                        )
                    )
                )

    def _receive(self, text: str) -> None:
        """Check one client event now (a malformed one is answered at once); queue it for
        the processor, in order."""
        try:
            ev = parse_event(text)
        except ProtocolError as exc:
            self._emit(error_event(exc))
            return
        if isinstance(ev, Append):
            try:
                raw = base64.b64decode(ev.audio, validate=True)
            except (binascii.Error, ValueError):
                self._emit(
                    error_event(
                        ProtocolError(
                            "Invalid value for 'audio': not valid base64.",
                            code="invalid_value",
                            param="audio",
                            event_id=ev.event_id,
                        )
                    )
                )
                return
            self._backlog += len(raw)
            self._inbox.put_nowait(raw)
        else:
            self._inbox.put_nowait(ev)

    async def _process_loop(self) -> None:
        while True:
            item = await self._inbox.get()
            if isinstance(item, bytes):
                try:
                    await self._feed(item)
                finally:
                    self._backlog -= len(item)
                    self._drained.set()
            elif isinstance(item, Commit):
                await self._room()
                self.session.commit(item.event_id)
                self._flush()
            elif isinstance(item, Clear):
                self.session.clear()
                self._flush()
            else:
                await self._update(item)

    async def _room(self) -> None:
        """Wait while too many committed turns are waiting for their transcript."""
        while len(self._pending) >= MAX_PENDING_FINALS:
            self._pending_changed.clear()
            await self._pending_changed.wait()

    async def _feed(self, raw: bytes) -> None:
        fmt = self.decoder.format
        step = int(SLICE_S * fmt.sample_rate) * fmt.bytes_per_sample
        for at in range(0, len(raw), step):
            await self._room()
            piece = raw[at : at + step]
            if len(piece) > 4096:
                samples, probs = await asyncio.to_thread(self._frontend, piece)
            else:
                samples, probs = self._frontend(piece)
            self.session.append(samples, probs)
            self._flush()

    def _frontend(self, raw: bytes) -> tuple[np.ndarray, np.ndarray]:
        samples = self.decoder(raw)
        return samples, self.vad(samples)

    async def _update(self, ev: SessionUpdate | TranscriptionSessionUpdate) -> None:
        beta = isinstance(ev, TranscriptionSessionUpdate)
        base = "session.input_audio_transcription" if beta else "session.audio.input.transcription"
        try:
            config = apply_update(self.session.config, ev)
            options = transcription_options(config.transcription, base)
            await self._check(options, base)
        except ProtocolError as exc:
            exc.event_id = ev.event_id
            self._emit(error_event(exc))
            return
        if config.format != self.session.config.format:
            self.decoder = StreamDecoder(config.format)
        if beta:
            self.session.dialect = "beta"
        self.session.reconfigure(config)
        self.options = options
        kind = "transcription_session.updated" if beta else "session.updated"
        self._emit(self._session_event(kind))

    async def _check(self, options: TranscriptionOptions, base: str) -> None:
        """The model resolves and takes the language (what would otherwise only fail at the
        first `completed`)."""
        try:
            engine = await asyncio.to_thread(self.hub.service.stt.engine, options.model)
        except SpeechAPIError as exc:
            raise ProtocolError(
                exc.message,
                code=exc.code,
                param=f"{base}.model" if exc.param == "model" else exc.param,
                type=exc.error_type,
            ) from exc
        languages = getattr(engine, "languages", None)
        for code, param in (
            (options.language, "language"),
            *((c, "languages") for c in options.languages),
        ):
            if code and languages is not None and code not in languages:
                error = UnsupportedLanguageError(f"Language '{code}' is not supported.")
                raise ProtocolError(error.message, code=error.code, param=f"{base}.{param}")

    def _session_event(self, kind: str) -> dict:
        return event(
            kind,
            session=session_object(
                self.session.config,
                session_id=self.session_id,
                expires_at=self.expires_at,
                dialect=self.session.dialect,
            ),
        )

    # --- work ---------------------------------------------------------------------------

    def _flush(self) -> None:
        events, work = self.session.take()
        for ev in events:
            self._emit(ev)
        for item in work:
            if isinstance(item, Partial):
                self._partial(item)
            elif isinstance(item, Speculate):
                # One at a time: a turn with many short pauses must not start a decode at
                # each (its commit then decodes afresh if the speculation missed).
                if all(f.done() for f in self._speculative.values()):
                    self._speculative = {item.key: self._final_future(item.audio)}
            elif isinstance(item, Final):
                future = self._speculative.pop(item.key, None)
                self._speculative.clear()
                self._pending.append((item, future or self._final_future(item.audio)))
                self._pending_changed.set()

    def _final_future(self, audio: np.ndarray):
        options, hub = self.options, self.hub

        def decode():
            return hub.service.stt.engine(options.model).transcribe(audio, options)

        return hub.scheduler.final(decode)

    def _partial(self, work: Partial) -> None:
        options, hub = self.options, self.hub

        def run() -> None:
            text = None
            if not self._closed:
                engine = hub.service.stt.engine(options.model)
                decoder = PartialDecoder.for_engine(engine)
                if decoder is not None:
                    text = decoder(work.audio, options, work.prefix).text
            self._loop.call_soon_threadsafe(self._partial_done, work, text)

        hub.scheduler.partial(self, run)

    def _partial_done(self, work: Partial, text: str | None) -> None:
        if self._closed:
            return
        self.session.partial_done(work, text)
        self._flush()

    async def _final_loop(self) -> None:
        """Transcripts in commit order (the decodes themselves run side by side)."""
        while True:
            while not self._pending:
                self._pending_changed.clear()
                await self._pending_changed.wait()
            work, future = self._pending[0]
            try:
                transcript = await asyncio.wrap_future(future)
                self.session.final_done(work, transcript.text, len(work.audio) / 16000)
            except SpeechAPIError as exc:
                self.session.final_failed(work, exc.to_dict())
            except Exception:
                log.exception("live transcription failed")
                self.session.final_failed(
                    work,
                    {
                        "type": "server_error",
                        "code": "internal_error",
                        "message": "The transcription failed.",
                        "param": None,
                    },
                )
            self._pending.popleft()
            self._pending_changed.set()
            self._flush()

    # --- sending ------------------------------------------------------------------------

    def _emit(self, ev: dict) -> None:
        try:
            self._out.put_nowait(json.dumps(ev))
        except asyncio.QueueFull:
            self._abort(_End(1008, "client is not reading events", "client_not_reading"))

    async def _send_loop(self) -> None:
        while True:
            data = await self._out.get()
            if data is None:
                return
            try:
                await asyncio.wait_for(self.ws.send_text(data), SEND_TIMEOUT_S)
            except TimeoutError:
                self._abort(_End(1008, "client is not reading events", "client_not_reading"))
                return
            except Exception:  # the client is gone: the reader sees the disconnect
                return
