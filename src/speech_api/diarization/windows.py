"""Where the speaker encoder looks: stretches of speech cut into overlapping windows.

The encoder was trained on 1.6 s partials, so speech is embedded in 1.6 s windows every
``hop_s`` inside each stretch of speech (a window never spans a pause, where turns usually
change); a stretch shorter than a window is embedded whole, and one shorter than
``min_window_s`` not at all (too little voice to tell speakers apart: its words take the
speaker of their neighbours). Audio is read one window batch at a time, so a recording of
any length is embedded in bounded memory.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from speech_api.audio import AudioSource
from speech_api.engines.base import SpeakerEncoder

SAMPLE_RATE = 16_000


@dataclass(frozen=True)
class Window:
    start: int  # samples
    end: int
    region: int  # index of the stretch of speech it lies in

    @property
    def center_s(self) -> float:
        return (self.start + self.end) / 2 / SAMPLE_RATE


def plan_windows(
    regions: Iterable[tuple[int, int]],
    *,
    window_s: float = 1.6,
    hop_s: float = 0.8,
    min_window_s: float = 0.5,
) -> list[Window]:
    """Windows over each stretch of speech (start, end in samples): full windows every
    ``hop_s`` with the last one flush with the stretch's end; a short stretch whole."""
    size, hop = int(window_s * SAMPLE_RATE), int(hop_s * SAMPLE_RATE)
    minimum = int(min_window_s * SAMPLE_RATE)
    windows: list[Window] = []
    for index, (start, end) in enumerate(regions):
        length = end - start
        if length < minimum:
            continue
        if length <= size:
            windows.append(Window(start, end, index))
            continue
        starts = list(range(start, end - size + 1, hop))
        if starts[-1] + size < end:
            starts.append(end - size)
        windows.extend(Window(s, s + size, index) for s in starts)
    return windows


def embed_windows(
    audio: AudioSource, windows: list[Window], encoder: SpeakerEncoder, batch: int = 32
) -> np.ndarray:
    """One embedding per window, (n, dims), L2-normalized. Windows of one length are embedded
    together, ``batch`` at a time (the encoder's cost is per frame; memory per batch)."""
    out: np.ndarray | None = None
    by_length: dict[int, list[int]] = {}
    for i, w in enumerate(windows):
        by_length.setdefault(w.end - w.start, []).append(i)
    for indices in by_length.values():
        for group in _chunks(indices, batch):
            samples = np.stack([audio.read(windows[i].start, windows[i].end) for i in group])
            vectors = encoder.embed(samples)
            if out is None:
                out = np.zeros((len(windows), vectors.shape[1]), dtype=np.float32)
            out[group] = vectors
    if out is None:
        return np.zeros((0, 0), dtype=np.float32)
    return out


def _chunks(items: list[int], size: int) -> Iterator[list[int]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
