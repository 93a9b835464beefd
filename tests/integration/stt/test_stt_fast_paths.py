"""Trimmed audio context and cross-request batching (engines/whisper_fast.py) on real clips:
accuracy kept, times inside the audio, batched results equal to single ones, and concurrent
HTTP requests each getting their own transcript. (A real repetition loop, stopped by its token
budget and decoded again: test_stt_decode_bound.py.)"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from devkit.clips import clip, load_clips
from devkit.wer import corpus_wer
from speech_api.audio import decode_audio
from speech_api.engines import TranscriptionOptions as Options
from speech_api.service.models import ModelManager

ENGLISH = [c for c in load_clips() if c.language == "en"]
SPANISH = [c for c in load_clips() if c.language == "es"]


def samples(c):
    return decode_audio(c.read(), max_seconds=120).samples


def assert_times_inside(transcript):
    end = transcript.duration_s
    for s in transcript.segments:
        assert 0 <= s.start <= s.end <= end, (s, end)
    words = transcript.words
    assert words, "word timestamps were asked for"
    for w in words:
        assert 0 <= w.start <= w.end <= end + 0.01, (w, end)
    assert [w.start for w in words] == sorted(w.start for w in words)


@pytest.mark.slow
@pytest.mark.parametrize("model", ["base", "tiny.en"])
def test_trimmed_context_keeps_english_wer_and_times_inside_the_audio(engines, model):
    engine = engines(model, batch_size=1)
    before = engine.decoder.stats.trimmed
    results = [
        engine.transcribe(samples(c), Options(language="en", word_timestamps=True)) for c in ENGLISH
    ]
    wer = corpus_wer([c.text for c in ENGLISH], [r.text for r in results])
    stats = engine.decoder.stats
    print(f"\n{model} trimmed: WER {wer:.2%}, {stats.trimmed} trimmed, {dict(stats.fallbacks)}")
    assert wer <= 0.08
    # The trimmed path is the one measured: most clips must have taken it.
    assert stats.trimmed - before >= 0.8 * len(ENGLISH)
    for r in results:
        assert_times_inside(r)


@pytest.mark.slow
def test_trimmed_context_keeps_spanish_and_detects_it_as_the_library_does(engines):
    engine = engines("base", batch_size=1)
    full = engines("base", trim_context=False, batch_size=1)
    before = engine.decoder.stats.trimmed
    given = [engine.transcribe(samples(c), Options(language="es")) for c in SPANISH]
    assert corpus_wer([c.text for c in SPANISH], [r.text for r in given]) <= 0.20
    detected = [engine.transcribe(samples(c), Options()) for c in SPANISH]
    # The library itself hears one short clip as Greek (PLATFORM.md); the trimmed encoding
    # must detect what the full window detects.
    library = [full.transcribe(samples(c), Options()).language for c in SPANISH]
    assert [r.language for r in detected] == library
    assert library.count("es") >= len(SPANISH) - 1
    assert engine.decoder.stats.trimmed - before >= 1.5 * len(SPANISH)


def test_translation_and_prompt_go_through_the_trimmed_path(engines):
    engine = engines("base", batch_size=1)
    before = engine.decoder.stats.trimmed
    spanish = next(c for c in SPANISH if c.file == "pico_es_arenas.wav")
    translated = engine.transcribe(samples(spanish), Options(language="es", task="translate"))
    assert "sand" in translated.text.lower() and translated.task == "translate"
    english = clip("ls_2412-153948-0000.flac")
    prompted = engine.transcribe(
        samples(english), Options(language="en", prompt="Ulysses, antecedents.", temperature=0.0)
    )
    assert "antecedents" in prompted.text.lower()
    assert engine.decoder.stats.trimmed == before + 2


def test_the_same_clip_batched_and_alone_gives_the_same_text(engines):
    engine = engines("base")
    c = clip("lj_LJ001-0001.wav")
    audio = samples(c)
    alone = engine.transcribe(audio, Options(language="en", word_timestamps=True))
    engine.decoder.stats.batches.clear()
    with ThreadPoolExecutor(4) as pool:
        together = list(
            pool.map(
                lambda _: engine.transcribe(audio, Options(language="en", word_timestamps=True)),
                range(4),
            )
        )
    assert max(engine.decoder.stats.batches) > 1, "the requests were never batched"
    assert [t.text for t in together] == [alone.text] * 4
    assert [len(t.words) for t in together] == [len(alone.words)] * 4


def test_a_failing_batch_is_retried_clip_by_clip_and_only_the_failing_clip_leaves_it(engines):
    # One worker: while it holds the first clip, the other two can only wait, together.
    engine = engines("base", batch_size=8, num_workers=1)
    decoder = engine.decoder
    queue = decoder.queue
    real_run = queue.run
    entered, gate = threading.Event(), threading.Event()

    def run(jobs):
        entered.set()
        gate.wait(10)  # the first clip holds the model while the others queue up together
        if any(j.options.prompt == "fail me" for j in jobs):
            raise RuntimeError("simulated inference failure")
        real_run(jobs)

    first, bad, good = (
        clip("arctic_a0008.wav"),
        clip("arctic_a0009.wav"),
        clip("arctic_aew_a0001.wav"),
    )
    trimmed, errors = decoder.stats.trimmed, decoder.stats.fallbacks["error"]
    queue.run = run
    try:
        with ThreadPoolExecutor(3) as pool:
            english = Options(language="en")
            held = pool.submit(engine.transcribe, samples(first), english)
            assert entered.wait(30)
            failing = pool.submit(
                engine.transcribe, samples(bad), Options(language="en", prompt="fail me")
            )
            other = pool.submit(engine.transcribe, samples(good), english)
            deadline = time.monotonic() + 30
            while len(queue.waiting) < 2 and time.monotonic() < deadline:
                threading.Event().wait(0.01)
            decoder.stats.batches.clear()
            gate.set()
            texts = [f.result().text for f in (held, failing, other)]
    finally:
        queue.run = real_run
    assert decoder.stats.batches[0] == 2, "the two queued clips did not share a batch"
    # The batch failed; its good clip was decoded alone (trimmed), the failing one went
    # through the library's full-window path, and every request got its transcript.
    assert decoder.stats.trimmed == trimmed + 2
    assert decoder.stats.fallbacks["error"] == errors + 1
    assert corpus_wer([first.text, bad.text, good.text], texts) <= 0.2, texts


def test_with_a_worker_per_core_a_clip_does_not_wait_behind_another(engines):
    # Two workers (the default on two cores: STT_NUM_WORKERS=0): while one holds a clip, the
    # next is decoded by the other, at once, and gets its own transcript.
    engine = engines("base", num_workers=2)
    queue = engine.decoder.queue
    real_run = queue.run
    held, gate = threading.Event(), threading.Event()
    first, second = clip("arctic_a0008.wav"), clip("arctic_aew_a0001.wav")

    def run(jobs):
        if any(j.options.prompt == "hold me" for j in jobs):
            held.set()
            gate.wait(60)
        real_run(jobs)

    queue.run = run
    try:
        with ThreadPoolExecutor(2) as pool:
            holding = pool.submit(
                engine.transcribe, samples(first), Options(language="en", prompt="hold me")
            )
            assert held.wait(30)
            text = pool.submit(engine.transcribe, samples(second), Options(language="en"))
            done = text.result(timeout=30).text  # decoded while the first is still held
            assert not holding.done()
            gate.set()
            holding.result(timeout=30)
    finally:
        gate.set()
        queue.run = real_run
    # Its own transcript, as it gets it alone.
    assert done == engine.transcribe(samples(second), Options(language="en")).text


@pytest.mark.slow
def test_concurrent_http_requests_each_get_their_own_transcript(live_url, default_settings):
    chosen = ENGLISH[:8]
    stats = ModelManager(default_settings).stt().decoder.stats

    def post(c, path):
        data = {"language": "en"} if path == "/stt" else {"model": "whisper-1", "language": "en"}
        with httpx.Client(base_url=live_url, timeout=300) as http:
            r = http.post(path, files={"file": (c.file, c.read())}, data=data)
        assert r.status_code == 200, r.text
        return r.json()["text"]

    stats.batches.clear()
    paths = ["/stt", "/v1/audio/transcriptions"] * 4
    with ThreadPoolExecutor(8) as pool:
        texts = list(pool.map(post, chosen, paths))
    assert max(stats.batches) > 1, "the requests were never batched"
    for c, text in zip(chosen, texts, strict=True):
        assert corpus_wer([c.text], [text]) <= 0.25, (c.file, text)
    assert corpus_wer([c.text for c in chosen], texts) <= 0.08


def test_an_unsure_detection_on_the_trimmed_encoding_asks_the_full_window(engines):
    # On audio + 2 s this clip scores Latin 0.34; the full window says English 0.99.
    engine = engines("base", batch_size=1)
    before = engine.decoder.stats.full_window_language
    c = clip("arctic_aew_a0003.wav")
    result = engine.transcribe(samples(c), Options())
    assert engine.decoder.stats.full_window_language == before + 1
    assert result.language == "en" and result.language_probability > 0.9
    assert corpus_wer([c.text], [result.text]) <= 0.1
