"""Diarization's parts, whatever the encoder: clustering into speakers (within the caller's
bounds), naming after known speakers, and labels at word level (a segment whose words change
speaker is split there)."""

from __future__ import annotations

import numpy as np

from speech_api.diarization.clustering import ClusterOptions, cluster
from speech_api.diarization.labels import Timeline, assign_speakers, speaker_names
from speech_api.diarization.references import match_references
from speech_api.diarization.windows import Window, plan_windows
from speech_api.engines.base import TranscriptSegment, WordTiming


def voices(counts: list[int], spread: float = 0.35, seed: int = 0) -> np.ndarray:
    """Unit vectors around one random centre per voice (cosine ~0.9 within, ~0 across)."""
    rng = np.random.default_rng(seed)
    rows = []
    for count in counts:
        centre = rng.standard_normal(256)
        centre /= np.linalg.norm(centre)
        for _ in range(count):
            v = centre + spread * rng.standard_normal(256) / np.sqrt(256)
            rows.append(v / np.linalg.norm(v))
    return np.array(rows, dtype=np.float32)


def test_voices_are_found_without_being_told_how_many():
    labels = cluster(voices([8, 5, 6]))
    assert labels.tolist() == [0] * 8 + [1] * 5 + [2] * 6


def test_min_and_max_speakers_are_honoured():
    embeddings = voices([8, 5, 6])
    assert set(cluster(embeddings, options=ClusterOptions(max_speakers=2)).tolist()) == {0, 1}
    one_voice = voices([12])
    split = cluster(one_voice, options=ClusterOptions(min_speakers=2, min_windows=1))
    assert set(split.tolist()) == {0, 1}


def test_a_lone_window_does_not_become_a_speaker():
    embeddings = np.concatenate([voices([10, 10]), voices([1], seed=5)])
    assert len(set(cluster(embeddings).tolist())) == 2


def test_long_recordings_are_clustered_on_pooled_windows():
    embeddings = voices([900, 700])
    groups = [0] * 900 + [1] * 700
    labels = cluster(embeddings, groups, ClusterOptions(max_points=200))
    assert labels.tolist() == [0] * 900 + [1] * 700


def test_known_speakers_are_matched_one_to_one_above_the_threshold():
    clusters = voices([1, 1, 1], spread=0.0)
    references = np.stack([clusters[2], clusters[0] * 0.6 + clusters[1] * 0.8])
    references /= np.linalg.norm(references, axis=1, keepdims=True)
    # Reference 0 is cluster 2's voice; reference 1 is between 0 and 1 (closer to 1).
    assert match_references(clusters, references, 0.7) == {2: 0, 1: 1}
    assert match_references(clusters, references, 0.95) == {2: 0}


def test_speakers_are_lettered_in_order_of_first_appearance_names_aside():
    assert speaker_names([3, 1, 3, 0]) == {3: "A", 1: "B", 0: "C"}
    assert speaker_names([3, 1, 0], {1: "alice"}) == {3: "A", 1: "alice", 0: "B"}
    many = speaker_names(list(range(28)))
    assert many[25] == "Z" and many[26] == "AA" and many[27] == "AB"


def words(*spec: tuple[str, float, float]) -> tuple[WordTiming, ...]:
    return tuple(WordTiming(w, a, b) for w, a, b in spec)


def test_a_segment_is_split_where_its_words_change_speaker():
    # Speaker 0 until 3 s, speaker 1 after (windows of 1 s).
    windows = [Window(int(t * 16_000), int((t + 1) * 16_000), 0) for t in range(6)]
    timeline = Timeline(windows, [0, 0, 0, 1, 1, 1])
    segment = TranscriptSegment(
        0.0,
        6.0,
        "Are you there? Yes, I am here.",
        id=1,
        words=words(
            ("Are", 0.2, 0.6),
            ("you", 0.7, 1.2),
            ("there?", 1.3, 2.6),
            ("Yes,", 3.2, 3.6),
            ("I", 3.8, 4.0),
            ("am", 4.1, 4.5),
            ("here.", 4.6, 5.5),
        ),
    )
    labelled = assign_speakers([segment], timeline, {0: "A", 1: "B"})
    assert [(s.speaker, s.text, s.start, s.end) for s in labelled] == [
        ("A", "Are you there?", 0.2, 2.6),
        ("B", "Yes, I am here.", 3.2, 5.5),
    ]
    assert [s.id for s in labelled] == [1, 2]


def test_a_one_word_island_inside_a_turn_keeps_the_turn_speaker():
    windows = [Window(int(t * 16_000), int((t + 1) * 16_000), 0) for t in range(5)]
    timeline = Timeline(windows, [0, 0, 1, 0, 0])
    segment = TranscriptSegment(
        0.0,
        5.0,
        "one two three four five",
        words=words(
            ("one", 0.1, 0.5),
            ("two", 1.1, 1.5),
            ("three", 2.3, 2.7),
            ("four", 3.1, 3.5),
            ("five", 4.1, 4.5),
        ),
    )
    labelled = assign_speakers([segment], timeline, {0: "A", 1: "B"})
    assert [(s.speaker, s.text) for s in labelled] == [("A", "one two three four five")]


def test_windows_stay_inside_stretches_of_speech():
    windows = plan_windows(
        [(0, 16_000 * 4), (16_000 * 5, 16_000 * 6), (16_000 * 7, 16_000 * 7 + 100)]
    )
    first = [w for w in windows if w.region == 0]
    assert first[0].start == 0 and first[-1].end == 16_000 * 4
    assert all(w.end - w.start == 25_600 for w in first)
    assert [(w.start, w.end) for w in windows if w.region == 1] == [(80_000, 96_000)]
    assert not [w for w in windows if w.region == 2]  # too short to tell a voice
