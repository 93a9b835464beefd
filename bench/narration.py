"""Narration figures for `make bench` (bench/run.py calls `run`), or alone:

    python bench/narration.py [--round-trip-only] [--job-only] [--chars 12000]

1. Spoken-form round trip: each of devkit.texts.NARRATION_SENTENCES (numbers, currency,
   dates, times, units, abbreviations, URLs, e-mail, Markdown, emoji) is spoken by Piper
   en_US-joe-medium twice, before normalization (the raw text straight into the engine, what
   the voice's phonemizer makes of it: this API before speech_api.text) and after (POST /tts),
   and each audio is transcribed by this API (POST /stt, Whisper base, language en). Both
   transcripts are scored against the sentence by the same judge: reference and hypothesis
   are both put in their spoken form (speech_api.text.normalize.spoken_form) and then
   devkit.wer's normalization, so "$3.50" heard as "$3.50" or as "three dollars and fifty
   cents" counts the same, and only what the listener heard differently counts.
2. A speech job (POST /tts/jobs) of ``--chars`` characters against Piper's own command line
   (`python -m piper`, same voice, same text, WAV) in this run, and the job's audio heard
   back by this API: WER against the text.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from devkit.texts import NARRATION_SENTENCES  # noqa: E402
from devkit.wer import corpus_wer  # noqa: E402

VOICE = "en_US-joe-medium"


def judged(text: str) -> str:
    """A text in the form both sides are scored in (see the module's docstring)."""
    from speech_api.text import read

    return read(text, "text", language="en").spoken


def transcribe(client: httpx.Client, wav: bytes) -> str:
    r = client.post("/stt", files={"file": ("speech.wav", wav)}, data={"language": "en"})
    r.raise_for_status()
    return r.json()["text"]


def raw_speech(text: str) -> bytes:
    """The text straight into the engine, as /tts spoke it before speech_api.text."""
    from speech_api.audio import encode_audio
    from speech_api.config import TTSSettings
    from speech_api.engines.piper import PiperEngine

    engine = raw_speech.__dict__.setdefault("engine", PiperEngine(TTSSettings()))
    speech = engine.synthesize(" ".join(text.split()), voice=VOICE, speed=1.0)
    return encode_audio(speech.samples, speech.sample_rate, "wav").data


def round_trip(url: str) -> dict:
    references, before, after, rows = [], [], [], []
    with httpx.Client(base_url=url, timeout=300) as client:
        for sentence in NARRATION_SENTENCES:
            heard_before = transcribe(client, raw_speech(sentence))
            r = client.post("/tts", json={"text": sentence, "format": "wav"})
            r.raise_for_status()
            heard_after = transcribe(client, httpx.get(r.json()["url"], timeout=30).content)
            references.append(judged(sentence))
            before.append(judged(heard_before))
            after.append(judged(heard_after))
            rows.append({"text": sentence, "before": heard_before, "after": heard_after})
    return {
        "sentences": len(NARRATION_SENTENCES),
        "wer_before": round(corpus_wer(references, before), 4),
        "wer_after": round(corpus_wer(references, after), 4),
        "heard": rows,
    }


def print_round_trip(r: dict) -> None:
    print(
        f"\nSpoken form, round trip Piper -> Whisper base over {r['sentences']} sentences: "
        f"WER {r['wer_before']:.1%} before normalization, {r['wer_after']:.1%} after"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--round-trip-only", action="store_true")
    parser.add_argument("--out", default=str(REPO / "bench" / "narration.json"))
    args = parser.parse_args()
    from bench.run import ours

    results: dict = {"started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    server = ours("base")
    try:
        results["round_trip"] = round_trip(server.url)
    finally:
        server.stop()
    Path(args.out).write_text(json.dumps(results, indent=2))
    print_round_trip(results["round_trip"])


if __name__ == "__main__":
    main()
