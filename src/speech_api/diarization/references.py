"""Known speakers: naming the voices found in a recording after reference clips.

Each reference clip (2-10 s of one person) is embedded like the recording (1.6 s windows, their
mean); each cluster of the recording is then matched to at most one reference and each
reference to at most one cluster, maximizing the total similarity (an exact assignment over
the few references allowed), and a pair counts only when its similarity reaches the
threshold: a voice that sounds like none of the references keeps its letter.
"""

from __future__ import annotations

import numpy as np

from speech_api.audio import ArrayAudio
from speech_api.diarization.windows import embed_windows, plan_windows
from speech_api.engines.base import SpeakerEncoder


def reference_embedding(samples: np.ndarray, encoder: SpeakerEncoder) -> np.ndarray:
    """One voice's embedding: the normalized mean over 1.6 s windows of the whole clip."""
    windows = plan_windows([(0, len(samples))], hop_s=0.4, min_window_s=0.0)
    vectors = embed_windows(ArrayAudio(samples), windows, encoder)
    mean = vectors.mean(axis=0)
    return mean / max(float(np.linalg.norm(mean)), 1e-8)


def match_references(
    clusters: np.ndarray, references: np.ndarray, threshold: float
) -> dict[int, int]:
    """cluster index -> reference index, one-to-one, maximizing the summed similarity of the
    matched pairs, each at least ``threshold``."""
    similarity = clusters @ references.T  # (k, m)
    k, m = similarity.shape
    # best[mask] = (score, pairs) over clusters seen so far, mask = references used.
    best: dict[int, tuple[float, tuple[tuple[int, int], ...]]] = {0: (0.0, ())}
    for c in range(k):
        step = dict(best)
        for mask, (score, pairs) in best.items():
            for r in range(m):
                if mask & (1 << r) or similarity[c, r] < threshold:
                    continue
                candidate = (score + float(similarity[c, r]), (*pairs, (c, r)))
                key = mask | (1 << r)
                if key not in step or candidate[0] > step[key][0]:
                    step[key] = candidate
        best = step
    _, pairs = max(best.values(), key=lambda item: (len(item[1]), item[0]))
    return dict(pairs)
