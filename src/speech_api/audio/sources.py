"""Decoded audio as the transcription engines read it: 16 kHz mono float32, a stretch at a
time, from memory or from 16-bit PCM on disk (long recordings are not held in memory)."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import numpy as np

WHISPER_SAMPLE_RATE = 16_000


class AudioSource(Protocol):
    """16 kHz mono audio read a stretch at a time (long recordings are not held in memory)."""

    @property
    def samples(self) -> int: ...

    def read(self, start: int, end: int) -> np.ndarray:
        """float32 samples [start, end)."""
        ...


class ArrayAudio:
    def __init__(self, samples: np.ndarray):
        self._samples = samples

    @property
    def samples(self) -> int:
        return int(self._samples.shape[0])

    def read(self, start: int, end: int) -> np.ndarray:
        return self._samples[start:end]


class PcmFile:
    """Decoded audio kept on disk as 16-bit PCM (32,000 bytes per second); each read loads
    only its stretch (read, not memory-mapped: mapped pages would count in the process's
    memory for as long as the kernel keeps them)."""

    def __init__(self, path: Path):
        self.path = path
        self._samples = path.stat().st_size // 2

    @property
    def samples(self) -> int:
        return self._samples

    @property
    def duration_s(self) -> float:
        return self.samples / WHISPER_SAMPLE_RATE

    def read(self, start: int, end: int) -> np.ndarray:
        start, end = max(0, start), min(end, self._samples)
        if end <= start:
            return np.zeros(0, dtype=np.float32)
        with open(self.path, "rb") as fh:
            fh.seek(start * 2)
            pcm = np.fromfile(fh, dtype=np.int16, count=end - start)
        return pcm.astype(np.float32) / 32768.0
