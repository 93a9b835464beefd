"""The process's live decoding, shared by every session: finals first, partials with what is
left.

On two cores partials and finals compete for the CPU, and a final is what a client waits on, so:
- finals (the `completed` transcripts) run at once, each on a thread of its own; several at
  a time end up batched together by the engine's queue (`engines/whisper_queue.py`);
- partials run one at a time, on one thread, and only while no final is running or waiting;
- each session has at most one partial waiting, its newest audio (an older request it
  replaces is dropped, keeping its place in line), and sessions are served oldest request
  first, so none starves.
Under load partials thin out (fewer, later deltas) while finals keep their latency.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import Future, ThreadPoolExecutor

log = logging.getLogger(__name__)


class LiveScheduler:
    def __init__(self, final_threads: int = 8):
        self._finals = ThreadPoolExecutor(final_threads, thread_name_prefix="live-final")
        self._cond = threading.Condition()
        self._finals_busy = 0
        self._partials: OrderedDict[Hashable, Callable[[], None]] = OrderedDict()
        self._thread: threading.Thread | None = None
        self.partials_run = 0
        self.partials_dropped = 0

    def final(self, fn: Callable[[], object]) -> Future:
        """Run ``fn`` (a full-quality decode) now; partials wait until it is done."""
        with self._cond:
            self._finals_busy += 1

        def run():
            try:
                return fn()
            finally:
                with self._cond:
                    self._finals_busy -= 1
                    self._cond.notify_all()

        try:
            return self._finals.submit(run)
        except RuntimeError:  # shut down
            with self._cond:
                self._finals_busy -= 1
            raise

    def partial(self, key: Hashable, fn: Callable[[], None]) -> None:
        """Run ``fn`` when the CPU is free of finals; a later call with the same ``key``
        before it ran replaces it. ``fn`` reports its own result (and is told nothing if
        replaced: its caller keeps its own bookkeeping)."""
        with self._cond:
            if key in self._partials:
                self.partials_dropped += 1
            self._partials[key] = fn
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._partial_loop, name="live-partials", daemon=True
                )
                self._thread.start()
            self._cond.notify_all()

    def forget(self, key: Hashable) -> Callable[[], None] | None:
        """Drop ``key``'s waiting partial (a session that ended); returns it if there was
        one."""
        with self._cond:
            return self._partials.pop(key, None)

    @property
    def finals_busy(self) -> int:
        return self._finals_busy

    def _partial_loop(self) -> None:
        while True:
            with self._cond:
                while not self._partials or self._finals_busy:
                    self._cond.wait()
                _, fn = self._partials.popitem(last=False)
            try:
                fn()
                self.partials_run += 1
            except Exception:  # a partial is best effort; its session goes on
                log.warning("partial decode failed", exc_info=True)
