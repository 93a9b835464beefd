"""Cross-request batching: clips that wait while the model is busy are decoded together, by
``workers`` threads (one per CTranslate2 worker, so that batches run side by side, one per
core). A clip that arrives when a worker is idle starts at once: nobody waits for company.
Which clips share a batch is decided here; how a batch is decoded is not (the queue is given a
`run(jobs)` callable, `whisper_batch.BatchDecoder.run` in the engine)."""

from __future__ import annotations

import logging
import threading
from collections import defaultdict, deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field

import numpy as np

from speech_api.engines.base import TranscriptionOptions

log = logging.getLogger(__name__)


@dataclass
class Job:
    """One clip waiting for the model; its result (or error) arrives on `future`."""

    options: TranscriptionOptions
    features: np.ndarray  # (n_mels, frames) of the speech, no padding
    frames: int
    # A long recording's chunk (see `long_form`): queued behind requests' own clips, and
    # judged by the guard as a chunk (an early stop is kept, a late timestamp clamped).
    chunked: bool = False
    # faster-whisper's arguments for it (whisper_arguments.whisper_arguments of its options).
    arguments: dict = field(default_factory=dict)
    future: Future = field(default_factory=Future)


@dataclass
class Stats:
    """Counters for logs, tests and the bench: how many clips took which path."""

    trimmed: int = 0
    full_window_language: int = 0  # detections redone on the full window
    fallbacks: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    # Trimmed decodes the guard rejected and that were decoded again with a wider margin, by
    # the reason of the first rejection.
    retried: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    # Windows decoded after a decode stopped before the end of its clip (the library's next
    # window, trimmed).
    continued: int = 0
    # (tokens generated, budget) of the latest decodes stopped by their token budget.
    budget_stops: deque[tuple[int, int]] = field(default_factory=lambda: deque(maxlen=1000))
    # Sizes of the latest batches run (bounded: a server runs for months).
    batches: deque[int] = field(default_factory=lambda: deque(maxlen=1000))

    def fallback(self, reason: str) -> None:
        self.fallbacks[reason] += 1


class BatchQueue:
    def __init__(
        self,
        run: Callable[[list[Job]], None],
        *,
        batch_size: int,
        margin_frames: int,
        max_padding: float = 1.5,
        stats: Stats | None = None,
        workers: int = 1,
    ):
        self.run = run
        self.workers = workers
        self.batch_size = batch_size
        self.margin_frames = margin_frames
        # A batch is padded to its longest clip: clips join the oldest waiting one only while
        # the padded frames stay within this factor of the frames they need (encoder work is
        # linear in frames, so a 3 s clip padded to 17 s would cost more than batching saves).
        self.max_padding = max_padding
        self.stats = stats or Stats()
        self.waiting: list[Job] = []
        self._cond = threading.Condition()
        self._threads: list[threading.Thread] = []

    def submit(self, jobs: list[Job]) -> None:
        """Queue the jobs (together: they may share batches); each job's future is set when
        its batch has run."""
        if not jobs:
            return
        with self._cond:
            while len(self._threads) < self.workers:
                thread = threading.Thread(target=self._loop, name="whisper-batches", daemon=True)
                thread.start()
                self._threads.append(thread)
            self.waiting.extend(jobs)
            self._cond.notify()

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self.waiting:
                    self._cond.wait()
                batch = self.take_batch()
            self.stats.batches.append(len(batch))
            self._run_isolated(batch)

    def take_batch(self) -> list[Job]:
        """Remove and return the next batch: the oldest waiting clip (so none starves), with
        the waiting clips closest to it in length. Called under the lock (or by a test)."""
        queue = self.waiting
        # A request's own clip goes before a long recording's chunks: a recording queues a
        # block of them at once, and `/stt` must not wait behind minutes of someone's audio.
        first = next((j for j in queue if not j.chunked), queue[0])
        rest = sorted(
            (j for j in queue if j is not first), key=lambda j: abs(j.frames - first.frames)
        )
        batch, need, longest = [first], first.frames + self.margin_frames, first.frames
        for job in rest:
            if len(batch) >= self.batch_size:
                break
            new_longest = max(longest, job.frames)
            new_need = need + job.frames + self.margin_frames
            if (len(batch) + 1) * (new_longest + self.margin_frames) > self.max_padding * new_need:
                continue
            batch.append(job)
            need, longest = new_need, new_longest
        taken = {id(j) for j in batch}
        queue[:] = [j for j in queue if id(j) not in taken]
        return batch

    def _run_isolated(self, batch: list[Job]) -> None:
        """Run a batch; if it fails as a whole, run its clips one by one, so that one bad
        clip fails only its own request."""
        try:
            self.run(batch)
        except Exception as exc:
            if len(batch) == 1:
                if not batch[0].future.done():
                    batch[0].future.set_exception(exc)
                return
            log.warning("batch of %d failed (%s); retrying one by one", len(batch), exc)
            for job in batch:
                if not job.future.done():
                    self._run_isolated([job])
