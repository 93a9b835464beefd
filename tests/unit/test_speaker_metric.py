"""The diarization score the docs publish (devkit.speakers.speaker_error): the share of
reference speech attributed to the wrong speaker under the best label mapping, with a collar
around reference boundaries, and unlabelled speech reported apart."""

import pytest

from devkit.speakers import speaker_error

REFERENCE = [(0.0, 10.0, "alice"), (10.0, 20.0, "bob")]


def test_a_perfect_hypothesis_scores_zero_whatever_its_labels_are_called():
    score = speaker_error(REFERENCE, [(0.0, 10.0, "B"), (10.0, 20.0, "A")])
    assert score.error == 0.0 and score.missed == 0.0
    assert score.mapping == {"B": "alice", "A": "bob"}
    # 20 s less a 0.25 s collar either side of 0, 10 and 20 s.
    assert score.scored_s == pytest.approx(20.0 - 0.25 - 0.5 - 0.25, abs=0.02)


def test_one_speaker_for_everything_gets_the_other_speakers_time_wrong():
    score = speaker_error(REFERENCE, [(0.0, 20.0, "A")])
    assert score.error == pytest.approx(9.5 / 19.0, abs=0.01)


def test_the_collar_forgives_a_late_boundary_and_no_more():
    # The change is found 0.2 s late: inside the 0.25 s collar.
    assert speaker_error(REFERENCE, [(0.0, 10.2, "A"), (10.2, 20.0, "B")]).error == 0.0
    # 1.25 s late: one second outside the collar is wrong.
    late = speaker_error(REFERENCE, [(0.0, 11.25, "A"), (11.25, 20.0, "B")])
    assert late.error == pytest.approx(1.0 / 19.0, abs=0.002)


def test_speech_without_a_hypothesis_label_is_missed_not_wrong():
    score = speaker_error(REFERENCE, [(0.0, 10.0, "A")])
    assert score.error == 0.0
    assert score.missed == pytest.approx(9.5 / 19.0, abs=0.01)


def test_an_extra_hypothesis_speaker_cannot_map_onto_a_taken_reference_speaker():
    # Bob split in two: the smaller part has no reference speaker left and counts as wrong.
    hypothesis = [(0.0, 10.0, "A"), (10.0, 16.0, "B"), (16.0, 20.0, "C")]
    score = speaker_error(REFERENCE, hypothesis)
    assert score.error == pytest.approx(3.75 / 19.0, abs=0.01)
