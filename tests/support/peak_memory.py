"""The peak memory of a server process and its children while a block runs (the decoding
helper's processes included), for tests that bound it."""

from __future__ import annotations

import threading

from devkit.server import ServerProcess


class PeakSampler:
    """The highest `family_memory_mb` seen while the block runs, sampled every 10 ms."""

    def __init__(self, server: ServerProcess):
        self.server = server
        self.peak = self.start = server.family_memory_mb()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.01):
            self.peak = max(self.peak, self.server.family_memory_mb())

    def __enter__(self) -> PeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
