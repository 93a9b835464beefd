"""Grouping speaker embeddings into speakers, when their number is not known.

Agglomerative clustering with average linkage on cosine similarity: every window starts as its
own group, and the two groups whose members are most alike on average are merged, until the
best remaining pair is less alike than ``threshold`` (two different voices) or, when the
caller says how many speakers there are, until that many remain. Average linkage does not
chain (one ambiguous window between two voices cannot join them, as it can with single
linkage) and needs no guess of the number of speakers, which a meeting's caller rarely knows.

Then each window goes to the speaker whose centroid it is closest to (the merges are greedy;
this corrects the windows they put in the wrong group), and groups with too little speech to
be a voice of their own (a window straddling two speakers, a cough) join their closest
neighbour.

The number of points is bounded (``max_points``): longer recordings are clustered on the means
of runs of consecutive windows of one stretch of speech, then every window is assigned to the
nearest resulting centroid, so an hour costs what a few minutes do.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ClusterOptions:
    # Average cosine similarity at or above which two groups are one voice.
    threshold: float = 0.65
    min_speakers: int = 1
    max_speakers: int = 30
    # A group with fewer windows than this joins its closest neighbour (unless the caller's
    # min_speakers needs it).
    min_windows: int = 2
    # Reassignment rounds after the merges.
    refine_rounds: int = 2
    max_points: int = 600


def cluster(
    embeddings: np.ndarray,
    groups: list[int] | None = None,
    options: ClusterOptions = ClusterOptions(),
) -> np.ndarray:
    """A speaker index (0..k-1) for each embedding (rows L2-normalized). ``groups``: for each
    row, the stretch of speech it lies in (runs are pooled within one stretch only)."""
    n = len(embeddings)
    if n == 0:
        return np.zeros(0, dtype=int)
    if n == 1:
        return np.zeros(1, dtype=int)
    points, members = _pooled(embeddings, groups or [0] * n, options.max_points)
    point_labels = _agglomerate(points, [len(m) for m in members], options)
    labels = np.empty(n, dtype=int)
    for label, rows in zip(point_labels, members, strict=True):
        labels[rows] = label
    labels = _refine(embeddings, labels, options)
    return _relabel(labels)


def centroids(embeddings: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The L2-normalized mean embedding of each label 0..k-1."""
    k = int(labels.max()) + 1 if len(labels) else 0
    out = np.zeros((k, embeddings.shape[1]), dtype=np.float32)
    for label in range(k):
        mean = embeddings[labels == label].mean(axis=0)
        out[label] = mean / max(float(np.linalg.norm(mean)), 1e-8)
    return out


def _pooled(
    embeddings: np.ndarray, groups: list[int], max_points: int
) -> tuple[np.ndarray, list[list[int]]]:
    """At most ``max_points`` points: consecutive rows of one group averaged in runs."""
    n = len(embeddings)
    run = -(-n // max_points)
    members: list[list[int]] = []
    for i in range(n):
        if members and len(members[-1]) < run and groups[members[-1][0]] == groups[i]:
            members[-1].append(i)
        else:
            members.append([i])
    if len(members) == n:
        return embeddings, members
    points = np.stack([embeddings[m].mean(axis=0) for m in members])
    points /= np.maximum(np.linalg.norm(points, axis=1, keepdims=True), 1e-8)
    return points.astype(np.float32), members


def _agglomerate(points: np.ndarray, weights: list[int], options: ClusterOptions) -> np.ndarray:
    """Average-linkage merges (Lance-Williams updates on the similarity matrix)."""
    n = len(points)
    sim = (points @ points.T).astype(np.float64)
    size = np.array(weights, dtype=np.float64)
    active = np.ones(n, dtype=bool)
    np.fill_diagonal(sim, -np.inf)
    parent = np.arange(n)
    count = n
    minimum = max(1, options.min_speakers)
    while count > minimum:
        flat = int(np.argmax(sim))
        i, j = divmod(flat, n)
        best = sim[i, j]
        if best < options.threshold and count <= options.max_speakers:
            break
        # Merge j into i: the average similarity to every other group, weighted by size.
        merged = (size[i] * sim[i] + size[j] * sim[j]) / (size[i] + size[j])
        sim[i, :] = merged
        sim[:, i] = merged
        sim[i, i] = -np.inf
        sim[j, :] = -np.inf
        sim[:, j] = -np.inf
        size[i] += size[j]
        active[j] = False
        parent[parent == j] = i
        count -= 1
    return _relabel(parent)


def _refine(embeddings: np.ndarray, labels: np.ndarray, options: ClusterOptions) -> np.ndarray:
    """Windows to their nearest centroid; too-small groups into their nearest neighbour."""
    for _ in range(options.refine_rounds):
        labels = _relabel(labels)
        centers = centroids(embeddings, labels)
        labels = np.argmax(embeddings @ centers.T, axis=1)
    labels = _relabel(labels)
    while True:
        counts = np.bincount(labels)
        k = len(counts)
        small = [c for c in range(k) if counts[c] < options.min_windows]
        if not small or k <= max(1, options.min_speakers):
            return labels
        centers = centroids(embeddings, labels)
        victim = min(small, key=lambda c: counts[c])
        similarity = centers @ centers[victim]
        similarity[victim] = -np.inf
        labels = np.where(labels == victim, int(np.argmax(similarity)), labels)
        labels = _relabel(labels)


def _relabel(labels: np.ndarray) -> np.ndarray:
    """Labels renumbered 0..k-1 in order of first appearance."""
    mapping: dict[int, int] = {}
    out = np.empty(len(labels), dtype=int)
    for i, label in enumerate(labels):
        out[i] = mapping.setdefault(int(label), len(mapping))
    return out
