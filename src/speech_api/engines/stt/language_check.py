"""Which language a clip is spoken in, when an English-only model (`tiny.en`) is asked to
transcribe it with no language given.

Such a model cannot detect languages: given Spanish it writes invented English, and reports
`language: "en"` with probability 1.0. A multilingual model that is installed (`base`) is asked
instead, once per clip, on the clip's own encoding trimmed to its voice activity plus a margin
(as engines/stt/whisper_batch.py encodes; detection on the trimmed encoding found Spanish on 9 of
9 Spanish clips), and on the full 30 s window when that is unsure, as the library does.
"""

from __future__ import annotations

import numpy as np

SAMPLE_RATE = 16_000  # what every decoder here hands Whisper

WINDOW_S = 30
MARGIN_FRAMES = 200  # 2 s of 10 ms mel frames after the speech: the decoder's cue that it ends
SURE = 0.5  # faster-whisper's language_detection_threshold


def spoken_language(engine, samples: np.ndarray) -> tuple[str, float, float]:
    """(ISO 639-1 code, its probability, the probability of English) of the speech in
    ``samples`` (16 kHz mono), by ``engine``, a multilingual Whisper engine
    (engines/stt/whisper_engine.py)."""
    import ctranslate2
    from faster_whisper.vad import VadOptions, collect_chunks, get_speech_timestamps

    model = engine.decoder.model
    audio = samples[: WINDOW_S * SAMPLE_RATE]
    chunks, _ = collect_chunks(audio, get_speech_timestamps(audio, VadOptions()))
    if chunks and sum(len(c) for c in chunks):
        audio = np.concatenate(chunks, axis=0)
    features = model.feature_extractor(audio)[:, :-1]
    window = WINDOW_S * 100
    frames = min(features.shape[-1], window)

    def detect(length: int) -> list[tuple[str, float]]:
        mel = np.zeros((1, features.shape[0], length), dtype=np.float32)
        mel[0, :, :frames] = features[:, :frames]
        encoded = model.model.encode(ctranslate2.StorageView.from_array(mel))
        return [(t.strip("<|>"), float(p)) for t, p in model.model.detect_language(encoded)[0]]

    ranked = detect(min(window, frames + MARGIN_FRAMES))
    if ranked[0][1] <= SURE and frames + MARGIN_FRAMES < window:
        ranked = detect(window)
    english = next((p for code, p in ranked if code == "en"), 0.0)
    return ranked[0][0], ranked[0][1], english
