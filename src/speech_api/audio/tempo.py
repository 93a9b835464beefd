"""Speed change without a pitch change, for engines with no speed control of their own."""

from __future__ import annotations

import av
import numpy as np


def change_tempo(samples: np.ndarray, sample_rate: int, speed: float) -> np.ndarray:
    """Speed speech up or down without changing its pitch (FFmpeg's atempo filter).

    For engines with no native speed control; atempo takes 0.5..2.0 per stage, so larger
    factors are chained.
    """
    if abs(speed - 1.0) < 1e-6 or len(samples) == 0:
        return samples
    stages: list[float] = []
    remaining = speed
    while remaining > 2.0:
        stages.append(2.0)
        remaining /= 2.0
    while remaining < 0.5:
        stages.append(0.5)
        remaining /= 0.5
    stages.append(remaining)

    graph = av.filter.Graph()
    src = graph.add_abuffer(format="flt", sample_rate=sample_rate, layout="mono")
    node = src
    for factor in stages:
        nxt = graph.add("atempo", f"{factor:.6f}")
        node.link_to(nxt)
        node = nxt
    sink = graph.add("abuffersink")
    node.link_to(sink)
    graph.configure()

    frame = av.AudioFrame.from_ndarray(
        np.asarray(samples, dtype=np.float32).reshape(1, -1), format="flt", layout="mono"
    )
    frame.sample_rate = sample_rate
    frame.pts = 0
    src.push(frame)
    src.push(None)
    out: list[np.ndarray] = []
    while True:
        try:
            out.append(sink.pull().to_ndarray().reshape(-1))
        except (av.BlockingIOError, EOFError):
            break
    return np.concatenate(out).astype(np.float32) if out else samples[:0]
