"""Estimate against real cost, for texts that expand when spoken (hardening round 4): for each,
the characters' estimate (the engine's cost figures), the engine's own estimate from what the
text expands to (its phonemes, where its spec says it counts speech: what the service uses), the
speech it really makes, and the synthesis time, on this machine. The configured TTS engine
(TTS_ENGINE, Piper by default): `python -m bench.cost_bounds [CHARS]`.

The estimate decides what is refused up front (TTS_MAX_SPEECH_S, TTS_TIME_LIMIT_S); whatever
it says, the work stops as it is made at those limits (speech_api.work_limits), so a text the
estimate misjudges costs at most the limit, never what it expands to."""

from __future__ import annotations

import sys
import time

from speech_api.config import Settings
from speech_api.service.models import ModelManager

TEXTS = {
    "prose": "The quick brown fox jumps over the lazy dog. " * 200,
    "amounts": "$1,234,567,890.99 " * 300,
    "digits run": "9" * 5000,
    "digits spaced": "9 " * 3000,
    "dates": "1/2/2024 " * 600,
    "symbols": "%$#@&*+=" * 800,
    "emoji": "😀" * 3000,
    "Chinese": "漢字仮名交じり文" * 600,
    "Arabic": "مرحبا بالعالم " * 400,
    "Roman numerals": "MCMXCIV " * 600,
    "URLs": "http://www.example.com/a_b-c " * 200,
    "abbreviations": "Dr. St. Mr. etc. approx. " * 200,
    "one-word sentences": "No. " * 600,
    "exclamations": "Yes! " * 500,
}


def main(chars: int = 300) -> None:
    models = ModelManager(Settings())
    spec, engine = models.tts_spec(), models.tts()
    voice = engine.default_voice
    print(f"engine {spec.name}, voice {voice}")
    print(
        f"{'text':15} {'chars':>5} {'est chars s':>11} {'est phon s':>10} {'real s':>7} "
        f"{'real/est':>8} {'work s':>7}"
    )
    for name, text in TEXTS.items():
        text = text[:chars]
        by_chars, _ = spec.cost.estimate_s(len(text), 1.0)
        by_phonemes = (
            engine.speech_estimate_s(text, voice=voice, speed=1.0) if spec.counts_speech else 0.0
        )
        estimate = max(by_chars, by_phonemes)
        started = time.monotonic()
        samples = rate = 0
        for piece in engine.stream(text, voice=voice, speed=1.0):
            samples += len(piece.samples)
            rate = piece.sample_rate
        work = time.monotonic() - started
        real = samples / rate
        print(
            f"{name:15} {len(text):5d} {by_chars:11.1f} {by_phonemes:10.1f} {real:7.1f} "
            f"{real / estimate:8.2f} {work:7.1f}",
            flush=True,
        )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 300)
