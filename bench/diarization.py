"""Who said what: speaker error, speakers found, WER and time per audio minute, with and
without diarization, on conversations made of real recordings (devkit/speakers.py).

    python bench/diarization.py [--model base] [--rounds 2] [--hours 1] [--json out.json]

For each conversation, the service transcribes the same WAV three ways per round, in turn: as
`/v1/audio/transcriptions` with whisper-1 does (no speakers), with word timings (what
diarization needs from Whisper), and as with gpt-4o-transcribe-diarize (word timings + speaker
labels), through `SpeechService.transcribe`, the call every route makes. Times are medians
over the rounds, wall clock and process CPU time (all threads: steadier than wall time on a
shared machine). Speaker error: share of reference speech time attributed to the
wrong speaker under the best label mapping, 0.25 s collar (devkit.speakers.speaker_error).
Then the named-speaker check (a reference clip per speaker that is not in the conversation),
the encoder's own speed, and (with ``--hours``) the peak RSS of `speech-api transcribe` on a
long recording with and without `--diarize`.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from devkit.speakers import (  # noqa: E402
    conversations,
    hypothesis_turns,
    speaker_error,
    speaker_of,
)
from devkit.wer import corpus_wer  # noqa: E402


def run(model: str, rounds: int, cache_dir: Path) -> dict:
    from speech_api.config import Settings
    from speech_api.engines import TranscriptionOptions
    from speech_api.service import SpeechService

    service = SpeechService(
        Settings(_env_file=None, model_cache_dir=cache_dir, stt={"model": model})
    )
    started = time.perf_counter()
    service.stt_engine()
    stt_load = time.perf_counter() - started
    started = time.perf_counter()
    encoder = service.models.speakers()
    encoder_load = time.perf_counter() - started
    variants = {
        "plain": TranscriptionOptions(language="en"),
        "words": TranscriptionOptions(language="en", word_timestamps=True),
        "diarized": TranscriptionOptions(language="en", diarize=True),
    }
    rows = []
    for conv in conversations():
        wav = conv.wav()
        times: dict[str, list[float]] = {name: [] for name in variants}
        cpu: dict[str, list[float]] = {name: [] for name in variants}
        results = {}
        for _ in range(rounds):
            for name, options in variants.items():
                t0, c0 = time.perf_counter(), time.process_time()
                results[name] = service.transcribe(wav, options)
                times[name].append(time.perf_counter() - t0)
                cpu[name].append(time.process_time() - c0)
        score = speaker_error(conv.turns, hypothesis_turns(results["diarized"].segments))
        found = len({s.speaker for s in results["diarized"].segments if s.speaker})
        minutes = conv.duration_s / 60
        row = {
            "name": conv.name,
            "held_out": conv.plan.held_out,
            "tight": conv.plan.tight,
            "audio_s": round(conv.duration_s, 1),
            "speakers": conv.speakers,
            "found": found,
            "speaker_error": round(100 * score.error, 2),
            "missed": round(100 * score.missed, 2),
            "wer_plain": round(100 * corpus_wer([conv.reference], [results["plain"].text]), 1),
            "wer_diarized": round(
                100 * corpus_wer([conv.reference], [results["diarized"].text]), 1
            ),
            **{
                f"s_per_min_{name}": round(statistics.median(times[name]) / minutes, 2)
                for name in variants
            },
            **{
                f"cpu_s_per_min_{name}": round(statistics.median(cpu[name]) / minutes, 2)
                for name in variants
            },
        }
        rows.append(row)
        print(
            f"  {row['name']:<24} {row['speakers']} spk, found {found}, error "
            f"{row['speaker_error']:.1f} %, WER {row['wer_plain']:.1f}/{row['wer_diarized']:.1f} "
            f"%, {row['s_per_min_plain']:.2f}/{row['s_per_min_diarized']:.2f} s/min",
            file=sys.stderr,
        )
    return {
        "model": model,
        "rounds": rounds,
        "stt_load_s": round(stt_load, 2),
        "encoder_load_s": round(encoder_load, 2),
        "rows": rows,
        "summary": {group: _summary(rows, group) for group in ("tuning", "held_out", "all")},
        "named": named_speakers(service),
        "encoder": encoder_speed(encoder),
    }


def _summary(rows: list[dict], group: str) -> dict:
    chosen = [r for r in rows if group == "all" or r["held_out"] == (group == "held_out")]
    audio = sum(r["audio_s"] for r in chosen)

    def per_min(key: str) -> float:
        return sum(r[key] * r["audio_s"] for r in chosen) / audio

    out = {
        "conversations": len(chosen),
        "mean_speaker_error": round(statistics.mean(r["speaker_error"] for r in chosen), 2),
        "max_speaker_error": max(r["speaker_error"] for r in chosen),
        "right_count": sum(r["found"] == r["speakers"] for r in chosen),
    }
    for clock in ("s_per_min", "cpu_s_per_min"):
        plain, diarized = per_min(f"{clock}_plain"), per_min(f"{clock}_diarized")
        out[f"{clock}_plain"] = round(plain, 2)
        out[f"{clock}_words"] = round(per_min(f"{clock}_words"), 2)
        out[f"{clock}_diarized"] = round(diarized, 2)
        out[f"{clock}_overhead_pct"] = round(100 * (diarized / plain - 1), 1)
    return out


def named_speakers(service) -> dict:
    """Each conversation again, with known speakers: for each voice in it, a reference clip
    of that voice that is not in the conversation (where the dev set has one), and one
    impostor (a voice that is not in it). A segment is right when it carries its speaker's
    name, or a letter when its speaker has no reference; the impostor's name must appear
    nowhere."""
    from devkit.clips import load_clips
    from speech_api.engines import TranscriptionOptions

    pool = [
        c
        for c in load_clips()
        if c.language == "en" and 2.0 <= c.duration_s <= 10.0 and not c.file.startswith("pico")
    ]
    right = total = impostor = 0
    for conv in conversations():
        present = {t[2] for t in conv.turns}
        known: dict[str, bytes] = {}
        for c in pool:  # a clip of each voice present, from outside the conversation
            who = speaker_of(c.file)
            if who in present and who not in known and c.file not in conv.plan.files:
                known[who] = c.read()
        outsider = next(c for c in pool if speaker_of(c.file) not in present)
        names = [*list(known)[:3], "impostor"]
        known["impostor"] = outsider.read()
        options = TranscriptionOptions(
            language="en", diarize=True, known_speakers=tuple((n, known[n]) for n in names)
        )
        result = service.transcribe(conv.wav(), options)
        for segment in result.segments:
            middle = (segment.start + segment.end) / 2
            truth = next((t[2] for t in conv.turns if t[0] - 0.3 <= middle <= t[1] + 0.3), None)
            if truth is None:
                continue
            total += 1
            impostor += segment.speaker == "impostor"
            expected_name = truth in names
            if (segment.speaker == truth) if expected_name else segment.speaker not in names:
                right += 1
    return {
        "segments": total,
        "right_pct": round(100 * right / max(total, 1), 1),
        "impostor_segments": impostor,
    }


def encoder_speed(encoder) -> dict:
    """The speaker encoder alone: seconds per 32 windows of 1.6 s (one batch), and per minute
    of speech at the pipeline's 0.8 s hop (75 windows)."""
    import numpy as np

    batch = (np.random.default_rng(0).standard_normal((32, 25_600)) * 0.05).astype(np.float32)
    encoder.embed(batch)  # warm
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        encoder.embed(batch)
        times.append(time.perf_counter() - t0)
    per_batch = statistics.median(times)
    return {
        "s_per_32_windows": round(per_batch, 3),
        "s_per_speech_minute": round(per_batch * 75 / 32, 3),
    }


_PEAK = """
import resource
def peak_kb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
"""
_CLI = (
    _PEAK
    + """
import sys
from speech_api.runtime.cli import main
args = ["transcribe", sys.argv[1], "--format", "srt", "-o", sys.argv[2]] + sys.argv[3:]
try:
    main(args)
except SystemExit as exc:
    assert not exc.code, exc.code
print("peak_kb", peak_kb(), file=sys.stderr)
"""
)


def memory(model: str, hours: float, dense_minutes: float) -> dict:
    """Peak RSS and time of `speech-api transcribe` with and without --diarize, on an
    ``hours``-long mostly quiet recording (a clip every 5 minutes) and a ``dense_minutes``
    recording of joined clips (speech throughout, many speakers)."""
    from devkit.clips import joined_recording, write_sparse_recording

    env = {k: v for k, v in os.environ.items() if not k.startswith(("STT_", "TTS_"))}
    env.update(STT_MODEL=model, PYTHONPATH=f"{ROOT / 'src'}:{ROOT}")
    out: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        files = {}
        if hours:
            files[f"sparse {hours:g} h"] = Path(tmp) / "sparse.wav"
            write_sparse_recording(files[f"sparse {hours:g} h"], hours)
        if dense_minutes:
            path = Path(tmp) / "dense.flac"
            path.write_bytes(joined_recording(min_s=dense_minutes * 60).flac())
            files[f"dense {dense_minutes:g} min"] = path
        for label, path in files.items():
            for mode, extra in (("plain", []), ("diarized", ["--diarize"])):
                started = time.perf_counter()
                done = subprocess.run(
                    [sys.executable, "-c", _CLI, str(path), tmp, *extra],
                    capture_output=True,
                    text=True,
                    env=env,
                )
                if done.returncode:
                    raise RuntimeError(f"{label} {mode}: {done.stderr[-1000:]}")
                out.setdefault(label, {})[mode] = {
                    "peak_rss_mb": round(int(done.stderr.split("peak_kb")[-1]) / 1024),
                    "seconds": round(time.perf_counter() - started, 1),
                }
                print(f"  {label}, {mode}: {out[label][mode]}", file=sys.stderr)
    return out


def print_table(result: dict) -> None:
    print(f"\nDiarization: Whisper {result['model']} int8, beam 5; GE2E speaker encoder")
    header = f"{'conversation':<26}{'spk':>4}{'found':>6}{'spk err':>9}{'WER':>13}{'s/min':>13}"
    print(header)
    for r in result["rows"]:
        tag = " (held out)" if r["held_out"] else ""
        print(
            f"{(r['name'] + tag):<26}{r['speakers']:>4}{r['found']:>6}"
            f"{r['speaker_error']:>8.1f}%"
            f"{r['wer_plain']:>6.1f}/{r['wer_diarized']:.1f}%"
            f"{r['s_per_min_plain']:>7.2f}/{r['s_per_min_diarized']:.2f}"
        )
    for group, s in result["summary"].items():
        print(
            f"{group}: mean speaker error {s['mean_speaker_error']:.2f} % (max "
            f"{s['max_speaker_error']:.1f} %), right count {s['right_count']}/"
            f"{s['conversations']}; per audio minute, plain / words / diarized: wall "
            f"{s['s_per_min_plain']:.2f} / {s['s_per_min_words']:.2f} / "
            f"{s['s_per_min_diarized']:.2f} s (+{s['s_per_min_overhead_pct']:.0f} %), CPU "
            f"{s['cpu_s_per_min_plain']:.2f} / {s['cpu_s_per_min_words']:.2f} / "
            f"{s['cpu_s_per_min_diarized']:.2f} s (+{s['cpu_s_per_min_overhead_pct']:.0f} %)"
        )
    named = result["named"]
    print(
        f"known speakers: {named['right_pct']:.1f} % of {named['segments']} segments labelled "
        f"right, {named['impostor_segments']} given the impostor's name"
    )
    enc = result["encoder"]
    print(
        f"encoder: {enc['s_per_32_windows']:.3f} s per 32 windows, "
        f"{enc['s_per_speech_minute']:.2f} s per minute of speech; "
        f"load {result['encoder_load_s']} s"
    )
    for label, modes in result.get("memory", {}).items():
        print(
            f"{label}: peak RSS {modes['plain']['peak_rss_mb']} -> "
            f"{modes['diarized']['peak_rss_mb']} MB, {modes['plain']['seconds']} -> "
            f"{modes['diarized']['seconds']} s"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="base")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--hours", type=float, default=0.0, help="sparse recording for memory")
    parser.add_argument("--dense-minutes", type=float, default=0.0, help="dense recording")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    result = run(args.model, args.rounds, Path.home() / ".cache" / "speech-api")
    if args.hours or args.dense_minutes:
        result["memory"] = memory(args.model, args.hours, args.dense_minutes)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    print_table(result)


if __name__ == "__main__":
    main()
