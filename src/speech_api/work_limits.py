"""Bounds on one request's model work: it stops when its client has gone, or when it passes its
time limit, at the next step (a sentence synthesized, a decoder call), not at the end.

The HTTP layer starts a limit for each inference request (`api.middleware`: the client's
disconnect sets ``cancelled``), the services add deadlines (`TTS_TIME_LIMIT_S`,
`STT_TIME_LIMIT_S`, the upload worker's time left), and the engines call `check_work()`
between steps. The limit travels in a context variable, so it reaches the worker threads that
`offload` starts (each copies the caller's context), and `limited()` carries it into the steps
of a stream that is advanced later, from other threads.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from speech_api.errors import ClientGoneError, SpeechAPIError


@dataclass
class WorkLimit:
    cancelled: threading.Event = field(default_factory=threading.Event)
    deadline: float | None = None  # time.monotonic()
    # The error for work past the deadline (each kind of work says it its own way).
    over_time: Callable[[], SpeechAPIError] | None = None
    # Seconds of audio the work may produce (speech), and the error past it.
    max_audio_s: float | None = None
    over_audio: Callable[[float], SpeechAPIError] | None = None
    audio_s: float = 0.0

    def check(self) -> None:
        if self.cancelled.is_set():
            raise ClientGoneError("The client closed the connection; the work was stopped.")
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise self.over_time() if self.over_time else ClientGoneError("Out of time.")

    def produced(self, audio_s: float) -> None:
        """Count audio made; raise once it passes ``max_audio_s``."""
        self.audio_s += audio_s
        if self.max_audio_s is not None and self.audio_s > self.max_audio_s:
            raise self.over_audio(self.audio_s) if self.over_audio else ClientGoneError("Too long.")

    def left_s(self) -> float | None:
        return None if self.deadline is None else self.deadline - time.monotonic()


_current: ContextVar[WorkLimit | None] = ContextVar("work_limit", default=None)


def current_limit() -> WorkLimit | None:
    return _current.get()


def check_work() -> None:
    """Raise if this request's work should stop (its client left, or it is out of time)."""
    limit = _current.get()
    if limit is not None:
        limit.check()


def produced_audio(seconds: float) -> None:
    """Engines report the speech they make; raises once the request's audio limit passes."""
    limit = _current.get()
    if limit is not None:
        limit.produced(seconds)


@contextmanager
def work_limit(
    *,
    cancelled: threading.Event | None = None,
    time_limit_s: float | None = None,
    over_time: Callable[[], SpeechAPIError] | None = None,
    max_audio_s: float | None = None,
    over_audio: Callable[[float], SpeechAPIError] | None = None,
) -> Iterator[WorkLimit]:
    """A limit for the work done inside the block, within any limit already in force: the
    enclosing cancellation unless ``cancelled`` is given, the earlier deadline of the two
    (an audio limit is this block's own)."""
    outer = _current.get()
    deadline = None if time_limit_s is None else time.monotonic() + time_limit_s
    if (
        outer is not None
        and outer.deadline is not None
        and (deadline is None or outer.deadline < deadline)
    ):
        deadline, over_time = outer.deadline, outer.over_time
    limit = WorkLimit(
        cancelled=cancelled or (outer.cancelled if outer else threading.Event()),
        deadline=deadline,
        over_time=over_time,
        max_audio_s=max_audio_s,
        over_audio=over_audio,
    )
    token = _current.set(limit)
    try:
        yield limit
    finally:
        _current.reset(token)


def limited(items: Iterator, limit: WorkLimit | None = None, *, check: bool = False) -> Iterator:
    """``items``, each step taken under ``limit`` (default: the one in force now): a stream
    advanced later, from whatever thread, keeps its request's limit for the engines' checks.
    With ``check``, each step is also checked before it is taken (transcript segments, whose
    decoding may run where no engine check reaches: the batch queue's thread); without, a
    step that only finishes what was made (an encoder's last bytes) is never refused."""
    limit = limit or _current.get()
    if limit is None:
        yield from items
        return
    while True:
        token = _current.set(limit)
        try:
            if check:
                limit.check()
            item = next(items)
        except StopIteration:
            return
        finally:
            _current.reset(token)
        yield item
