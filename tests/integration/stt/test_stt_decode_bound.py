"""The trimmed decode's token budget, its retry and its continuation (engines/stt/whisper_batch.py,
whisper_guard.py), on real clips that really go wrong: a runaway is stopped within its clip's
budget (tokens counted, not timed), a batch-mate gets its result before the runaway is decoded
again, and a decode that stops half-way is continued as the library's next window."""

from __future__ import annotations

import ctranslate2
import numpy as np
import pytest
from faster_whisper.tokenizer import Tokenizer

from devkit.clips import clip
from devkit.hard_clips import hard_clips
from devkit.wer import corpus_wer
from speech_api.audio import decode_audio
from speech_api.engines import TranscriptionOptions as Options
from speech_api.engines.stt.whisper_arguments import whisper_arguments
from speech_api.engines.stt.whisper_engine import WhisperEngine
from speech_api.engines.stt.whisper_guard import (
    END_TOLERANCE_S,
    generate_max_length,
    late_timestamps,
    token_budget,
)
from speech_api.engines.stt.whisper_queue import Job

ENGLISH = Options(language="en")


def samples(c):
    return decode_audio(c.read(), max_seconds=120).samples


def job_for(engine: WhisperEngine, audio: np.ndarray, options: Options = ENGLISH) -> Job:
    decoder = engine.decoder
    arguments = whisper_arguments(
        options, beam_size=decoder.beam_size, vad_filter=decoder.vad_filter
    )
    job, _, _ = decoder._prepare(audio, options, arguments, False)
    return job


def trimmed_tokens(
    engine: WhisperEngine,
    job: Job,
    margin_frames: int,
    max_length: int | None = None,
    suppress: list[int] | None = None,
) -> list[int]:
    """The tokens of the clip's trimmed decode (beam 5) with this margin: by default with the
    library's own limit (448) and its default suppressed tokens, else with ``max_length`` and
    ``suppress`` added to them."""
    model = engine._model
    mel = np.zeros((1, job.features.shape[0], job.frames + margin_frames), dtype=np.float32)
    mel[0, :, : job.frames] = job.features
    tokenizer = Tokenizer(model.hf_tokenizer, model.model.is_multilingual, "transcribe", "en")
    out = model.model.generate(
        ctranslate2.StorageView.from_array(mel),
        [model.get_prompt(tokenizer, [])],
        beam_size=5,
        max_length=max_length or model.max_length,
        suppress_tokens=[-1, *(suppress or [])],
    )
    return out[0].sequences_ids[0]


def unbounded_tokens(engine: WhisperEngine, job: Job, margin_frames: int) -> int:
    """What the same trimmed decode generates with the library's own limit (448)."""
    return len(trimmed_tokens(engine, job, margin_frames))


def test_a_decode_places_no_segment_past_its_audio_so_a_runaway_ends_with_the_speech(engines):
    # tiny.en with a margin of silence after this 4.9 s of speech reads it, then, at some
    # margins, reads it again as a segment from 4.00 s to 8.00 s (past the audio, in the margin
    # and beyond), and again, until the token budget stops it. Which margins do that depends
    # on the CPU's arithmetic (on a Zen 4 build machine the engine's 2 s; on a Zen 5,
    # 1.5 s), so the decode is tried with 1 to 3 s around the engine's. With the timestamps
    # past the audio suppressed every one of them ends within the audio, before the budget
    # (most after the first reading). (With no margin it loops within the audio:
    # test_a_runaway_decode_is_stopped_within_its_clips_budget_and_decoded_again.)
    c = clip("ami_ES2011a_headset0_40-46s.wav")
    engine = engines("tiny.en", context_margin_s=2.0, batch_size=1)
    audio = samples(c)
    job = job_for(engine, audio)
    duration = job.frames / 100
    budget = token_budget(duration, 224)
    model = engine._model
    tokenizer = Tokenizer(model.hf_tokenizer, False, "transcribe", "en")
    begin = tokenizer.timestamp_begin
    prompt = model.get_prompt(tokenizer, [])
    max_length = generate_max_length(len(prompt), budget)
    late = late_timestamps(duration, begin, model.time_precision)

    def seconds(tokens):  # the decode's timestamps
        return [(t - begin) * model.time_precision for t in tokens if t >= begin]

    runaways = 0
    for margin in range(100, 301, 25):  # frames of 10 ms
        tokens = trimmed_tokens(engine, job, margin, max_length)
        # A runaway: past the audio, and stopped only by the budget.
        runaways += max(seconds(tokens)) > duration + END_TOLERANCE_S and len(tokens) == budget
        tokens = trimmed_tokens(engine, job, margin, max_length, suppress=late)
        assert max(seconds(tokens)) <= duration + END_TOLERANCE_S, margin
        assert len(tokens) < budget, margin
    assert runaways >= 1  # what the suppression is for does happen here

    # The engine decodes it so: once, trimmed, no budget spent, no retry.
    stats = engine.decoder.stats
    stats.budget_stops.clear()
    retried, trimmed = sum(stats.retried.values()), stats.trimmed
    result = engine.transcribe(audio, ENGLISH)
    assert list(stats.budget_stops) == []
    assert sum(stats.retried.values()) == retried and stats.trimmed == trimmed + 1
    # As good as the library's full window (both spell the name their own way).
    full = engines("tiny.en", trim_context=False, batch_size=1).transcribe(audio, ENGLISH)
    assert corpus_wer([c.text], [result.text]) <= corpus_wer([c.text], [full.text]) <= 0.25


def test_a_runaway_decode_is_stopped_within_its_clips_budget_and_decoded_again(engines):
    # With no margin of silence the encoding ends where the speech does, and the decoder
    # repeats this clip's sentence until the library's limit (224 tokens, measured below).
    looping = clip("ls_1272-128104-0000.wav")
    engine = engines("base", context_margin_s=0.0, batch_size=1)
    audio = samples(looping)
    job = job_for(engine, audio)
    assert unbounded_tokens(engine, job, 0) == engine._model.max_length // 2

    stats = engine.decoder.stats
    stats.budget_stops.clear()
    retried, trimmed = stats.retried["token budget"], stats.trimmed
    fallbacks = dict(stats.fallbacks)
    result = engine.transcribe(audio, ENGLISH)
    budget = token_budget(job.frames / 100, 224)
    # Bounded by the clip's length: 5.7 s of speech may take 56 tokens, not 224.
    assert budget == 56
    assert list(stats.budget_stops) == [(budget, budget)]
    # Then decoded once more with a wider margin (trimmed), not with the full window.
    assert stats.retried["token budget"] == retried + 1
    assert stats.trimmed == trimmed + 1 and dict(stats.fallbacks) == fallbacks
    full = engines("base", trim_context=False, batch_size=1)
    assert result.text == full.transcribe(audio, ENGLISH).text
    assert corpus_wer([looping.text], [result.text]) <= 0.1


def test_a_clip_whose_retry_runs_away_too_gets_the_full_window_after_two_bounded_tries(
    engines,
):
    # The retry's margin narrowed to one frame, so that it loops as the first try does: each
    # trimmed try stops at the clip's budget, and the library's full window decides.
    looping = clip("ls_1272-128104-0000.wav")
    engine = engines("base", context_margin_s=0.0, batch_size=1)
    batches = engine.decoder.batches
    stats = engine.decoder.stats
    audio = samples(looping)
    retry_margin, batches.retry_margin_frames = batches.retry_margin_frames, 1
    try:
        stats.budget_stops.clear()
        fallbacks = stats.fallbacks["token budget"]
        result = engine.transcribe(audio, ENGLISH)
    finally:
        batches.retry_margin_frames = retry_margin
    # The retry's budget is the looser one (20 tokens a second).
    assert list(stats.budget_stops) == [(56, 56), (124, 124)]
    assert stats.fallbacks["token budget"] == fallbacks + 1
    full = engines("base", trim_context=False, batch_size=1)
    assert result.text == full.transcribe(audio, ENGLISH).text


@pytest.mark.parametrize("prompt_text", ["", "Mr. Quilter, the middle classes, gospel, welcome."])
@pytest.mark.parametrize("budget", [5, 17, 40])
def test_the_max_length_given_to_ctranslate2_yields_exactly_the_budget(
    engines, budget, prompt_text
):
    # CTranslate2's Whisper generates min(max_length // 2, max_length - prompt + 1) tokens;
    # `generate_max_length` inverts that, with or without a text prompt before the SOT.
    engine = engines("base", context_margin_s=0.0, batch_size=1)
    model = engine._model
    job = job_for(engine, samples(clip("ls_1272-128104-0000.wav")))
    tokenizer = Tokenizer(model.hf_tokenizer, True, "transcribe", "en")
    previous = tokenizer.encode(" " + prompt_text) if prompt_text else []
    prompt = model.get_prompt(tokenizer, previous)
    mel = ctranslate2.StorageView.from_array(job.features[None, :, : job.frames].copy())
    out = model.model.generate(
        mel, [prompt], beam_size=5, max_length=generate_max_length(len(prompt), budget)
    )
    assert len(out[0].sequences_ids[0]) == budget  # this clip runs away: it uses them all


def test_a_runaway_does_not_hold_its_batch_mate_and_each_decode_keeps_its_budget(engines):
    # tiny.en runs away on this clip cut off mid-word (measured: 224 tokens with the default
    # 2 s margin); its batch-mate, cut off too but no longer than it (a batch is padded to its
    # longest clip), decodes cleanly. Decoded as one batch.
    cut = {c.file: c for c in hard_clips(("cut",))}
    runaway, mate = cut["cut:arctic_aew_a0002.wav"], cut["cut:arctic_a0007.wav"]
    engine = engines("tiny.en", batch_size=8)
    decoder = engine.decoder
    jobs = [job_for(engine, runaway.samples), job_for(engine, mate.samples)]
    assert jobs[1].frames <= jobs[0].frames
    assert unbounded_tokens(engine, jobs[0], decoder.batches.margin_frames) == 224

    stats = decoder.stats
    stats.budget_stops.clear()
    retried = sum(stats.retried.values())
    retries_seen_by_mate = []
    jobs[1].future.add_done_callback(
        lambda _: retries_seen_by_mate.append(sum(stats.retried.values()) - retried)
    )
    decoder.batches.run(jobs)

    budget = token_budget(jobs[0].frames / 100, 224)
    assert budget == 31  # 2.6 s of speech
    assert list(stats.budget_stops) == [(budget, budget)]
    # The mate's result was set before the runaway was decoded again, and is the library's.
    assert retries_seen_by_mate == [0]
    library = engines("tiny.en", trim_context=False, batch_size=1)
    mate_text = " ".join(s.text.strip() for s in jobs[1].future.result().segments)
    assert mate_text == library.transcribe(mate.samples, ENGLISH).text
    assert sum(stats.retried.values()) == retried + 1
    # The retry (5 s of silence after the speech) ends cleanly: the words the clip has left.
    text = " ".join(s.text.strip() for s in jobs[0].future.result().segments)
    assert corpus_wer(["not at this particular case tom"], [text]) == 0, text


def test_a_decode_that_stops_half_way_is_continued_as_the_librarys_next_window(engines):
    # tiny.en ends its first window after the first sentence of this 13 s clip (a pause and a
    # change of pace); the library would decode the rest as a second window, and so do we.
    c = clip("ls_1272-141231-0002.mp3")
    engine = engines("tiny.en", batch_size=1)
    full = engines("tiny.en", trim_context=False, batch_size=1)
    stats = engine.decoder.stats
    continued, trimmed, fallbacks = stats.continued, stats.trimmed, dict(stats.fallbacks)
    audio = samples(c)
    result = engine.transcribe(audio, Options(language="en", word_timestamps=True))
    assert stats.continued == continued + 1 and stats.trimmed == trimmed + 1
    assert dict(stats.fallbacks) == fallbacks
    library = full.transcribe(audio, Options(language="en")).text
    assert corpus_wer([c.text], [result.text]) <= corpus_wer([c.text], [library]) + 0.02
    assert len(result.segments) >= 2 and result.segments[-1].end > 10.0
    starts = [w.start for w in result.words]
    assert starts == sorted(starts) and result.words[-1].end <= result.duration_s + 0.01
    assert result.words[-1].word.strip(".").lower() == "about"
