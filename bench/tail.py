"""STT tail latency (issue 34): `/stt` ÷ the direct library call, clip by clip, so that one slow
clip in twenty shows instead of hiding under the median.

    python bench/tail.py [--models base,tiny.en] [--rounds 3] [--confirm 20] [--minutes 3]
                         [--limit N]

Per model, over the English dev clips and their harder variants (`devkit/hard_clips.py`:
Opus re-encodes, noise, music, reverb, speed, padding, clips cut mid-word, joined clips):

* `/stt` and `WhisperModel.transcribe` (same model directory, int8, beam 5, VAD, language
  given, the same bytes) back to back, which goes first alternating;
* `/v1/audio/transcriptions` with `stream=true`: the time to its last event;
* every clip is timed once; the ``--confirm`` clips with the highest ratio (either kind) are
  timed ``--rounds - 1`` more times and their medians kept (a tail is what is measured: the
  clips that matter get the repeats);
* per-clip ratio, its median, p95 and maximum, the slowest clips named with the path they took
  in our engine (trimmed, retried with a wider margin, continued, the library's full window);
  WER of both sides on the clips that have a reference;
* the upload worker's chunks: a recording of joined dev clips cut as the long-form path cuts it,
  each chunk through the engine's chunked path and through `WhisperModel.transcribe` on its
  samples, back to back.

The machine's load average is recorded with every figure: on a shared machine the ratios are
provisional.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from devkit.clips import load_clips  # noqa: E402
from devkit.hard_clips import hard_clips  # noqa: E402
from devkit.wer import corpus_wer  # noqa: E402

RESULTS = ROOT / "bench" / "tail-results.json"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def ratio_summary(ratios: dict[str, float]) -> dict:
    values = list(ratios.values())
    slowest = sorted(ratios, key=ratios.get, reverse=True)[:5]
    return {
        "median": round(statistics.median(values), 3),
        "p95": round(pct(values, 0.95), 3),
        "max": round(max(values), 3),
        "over_1_2": sum(1 for v in values if v > 1.2),
        "slowest": [[name, round(ratios[name], 2)] for name in slowest],
        "n": len(values),
    }


def load() -> float:
    return round(os.getloadavg()[0], 1)


def tail_clips(limit: int = 0) -> list:
    """The English dev clips and the harder set (``limit``: the first N of each, for a smoke
    run)."""
    dev, hard = [c for c in load_clips() if c.language == "en"], hard_clips()
    return dev[:limit] + hard[:limit] if limit else dev + hard


# --- per clip, over HTTP --------------------------------------------------------------------


def clip_ratios(url: str, model_dir: str, rounds: int, confirm: int, limit: int = 0) -> dict:
    from faster_whisper import WhisperModel

    direct_model = WhisperModel(model_dir, device="cpu", compute_type="int8")
    clips = tail_clips(limit)
    times: dict[str, dict[str, list[float]]] = {c.file: {} for c in clips}
    texts: dict[str, dict[str, str]] = {"stt": {}, "direct": {}}

    def direct(c) -> tuple[float, str]:
        started = time.perf_counter()
        segments, _ = direct_model.transcribe(
            io.BytesIO(c.read()), beam_size=5, vad_filter=True, language="en"
        )
        text = " ".join(s.text.strip() for s in segments)
        return time.perf_counter() - started, text

    def stt(client: httpx.Client, c) -> tuple[float, str]:
        started = time.perf_counter()
        r = client.post("/stt", files={"file": (c.file, c.read())}, data={"language": "en"})
        elapsed = time.perf_counter() - started
        r.raise_for_status()
        return elapsed, r.json()["text"]

    def streamed(client: httpx.Client, c) -> tuple[float, str]:
        """Time to the last event of a streamed transcription."""
        started = time.perf_counter()
        text = ""
        with client.stream(
            "POST",
            "/v1/audio/transcriptions",
            files={"file": (c.file, c.read())},
            data={"model": "whisper-1", "language": "en", "stream": "true"},
        ) as r:
            r.raise_for_status()
            for line in r.iter_lines():
                if line.startswith("data:"):
                    event = json.loads(line[5:])
                    if event.get("type") == "transcript.text.done":
                        text = event["text"]
        return time.perf_counter() - started, text

    def one_round(client: httpx.Client, c, r: int) -> None:
        calls = {
            "stt": lambda: stt(client, c),
            "direct": lambda: direct(c),
            "stream": lambda: streamed(client, c),
        }
        # Back to back; which goes first alternates, so both see the same machine state.
        for kind in ("stt", "direct", "stream") if r % 2 else ("direct", "stream", "stt"):
            elapsed, text = calls[kind]()
            times[c.file].setdefault(kind, []).append(elapsed)
            if kind in texts:
                texts[kind][c.file] = text

    loads = [load()]
    with httpx.Client(base_url=url, timeout=300) as client:
        one_round(client, clips[0], 0)  # warm up every path
        times[clips[0].file].clear()
        for i, c in enumerate(clips):
            one_round(client, c, i)
        loads.append(load())

        def ratio(c, kind: str) -> float:
            t = times[c.file]
            return statistics.median(t[kind]) / statistics.median(t["direct"])

        worst = sorted(clips, key=lambda c: max(ratio(c, "stt"), ratio(c, "stream")))
        for c in worst[-confirm:] if confirm else []:
            for r in range(1, rounds):
                one_round(client, c, r)
        loads.append(load())

    def med(c, kind):
        return round(statistics.median(times[c.file][kind]), 3)

    per_clip = {
        c.file: {
            "duration_s": c.duration_s,
            "stt_s": med(c, "stt"),
            "stream_s": med(c, "stream"),
            "direct_s": med(c, "direct"),
            "ratio": round(ratio(c, "stt"), 3),
            "stream_ratio": round(ratio(c, "stream"), 3),
            "rounds": len(times[c.file]["stt"]),
        }
        for c in clips
    }
    referenced = [c for c in clips if c.text]

    def wer(kind: str, subset) -> float:
        return round(corpus_wer([c.text for c in subset], [texts[kind][c.file] for c in subset]), 4)

    dev = [c for c in referenced if ":" not in c.file]
    hard = [c for c in referenced if ":" in c.file]
    return {
        "per_clip": per_clip,
        "stt": ratio_summary({f: v["ratio"] for f, v in per_clip.items()}),
        "stream": ratio_summary({f: v["stream_ratio"] for f, v in per_clip.items()}),
        "stt_dev_only": ratio_summary({f: v["ratio"] for f, v in per_clip.items() if ":" not in f}),
        "wer": {
            "dev": {"stt": wer("stt", dev), "direct": wer("direct", dev)},
            "hard": {"stt": wer("stt", hard), "direct": wer("direct", hard)},
        },
        "clips": len(clips),
        "rounds": rounds,
        "confirmed": confirm,
        "load_avg": loads,
    }


def paths_taken(model: str, cache_dir: Path, files: list[str]) -> dict[str, str]:
    """The path each named clip takes in our engine (in-process, one decode each)."""
    from speech_api.audio import decode_audio
    from speech_api.config import STTSettings
    from speech_api.engines import TranscriptionOptions
    from speech_api.engines.whisper import WhisperEngine

    engine = WhisperEngine(STTSettings(model=model, batch_size=1), cache_dir)
    stats = engine.decoder.stats
    by_name = {c.file: c for c in tail_clips()}
    out = {}
    for name in files:
        before = (dict(stats.retried), dict(stats.fallbacks), stats.continued)
        audio = decode_audio(by_name[name].read(), max_seconds=120).samples
        engine.transcribe(audio, TranscriptionOptions(language="en"))
        retried = {k: v for k, v in stats.retried.items() if v != before[0].get(k, 0)}
        library = {k: v for k, v in stats.fallbacks.items() if v != before[1].get(k, 0)}
        path = "trimmed"
        if stats.continued != before[2]:
            path += ", continued"
        if retried:
            path += f", retried ({', '.join(retried)})"
        if library:
            path = f"library full window ({', '.join(library)})" + (
                f" after a retry ({', '.join(retried)})" if retried else ""
            )
        out[name] = path
    return out


# --- the upload worker's chunks, in-process -------------------------------------------------


def chunk_ratios(model: str, cache_dir: Path, minutes: float, rounds: int) -> dict:
    from faster_whisper import WhisperModel

    from devkit.clips import joined_recording
    from speech_api.audio.sources import ArrayAudio
    from speech_api.config import STTSettings
    from speech_api.engines import TranscriptionOptions
    from speech_api.engines.whisper import WhisperEngine, resolve_model

    engine = WhisperEngine(STTSettings(model=model), cache_dir)
    direct = WhisperModel(resolve_model(model, cache_dir), device="cpu", compute_type="int8")
    recording = joined_recording(min_s=minutes * 60)
    audio = ArrayAudio(recording.samples)
    chunks = [c for block, _ in engine.long_form._blocks(audio) for c in block]
    options = TranscriptionOptions(language="en")
    ours: dict[str, list[float]] = {}
    library: dict[str, list[float]] = {}
    loads = [load()]
    for r in range(rounds):
        for i, chunk in enumerate(chunks):
            name = f"chunk {i + 1} ({chunk.start / 16000:.0f}-{chunk.end / 16000:.0f} s)"
            samples = audio.read(chunk.start, chunk.end)
            for kind in ("ours", "library") if (i + r) % 2 else ("library", "ours"):
                started = time.perf_counter()
                if kind == "ours":
                    [(segments, _)] = engine.decoder.transcribe_many(
                        [samples], options, chunked=True
                    )
                    list(segments)
                    ours.setdefault(name, []).append(time.perf_counter() - started)
                else:
                    segments, _ = direct.transcribe(
                        samples, beam_size=5, vad_filter=True, language="en"
                    )
                    list(segments)
                    library.setdefault(name, []).append(time.perf_counter() - started)
        loads.append(load())
    ratios = {n: statistics.median(ours[n]) / statistics.median(library[n]) for n in ours}
    return {
        "recording_s": round(recording.duration_s, 1),
        "chunks": len(chunks),
        "ratio": ratio_summary(ratios),
        "ours_s": round(sum(statistics.median(v) for v in ours.values()), 2),
        "library_s": round(sum(statistics.median(v) for v in library.values()), 2),
        "rounds": rounds,
        "load_avg": loads,
    }


# --- all of it ------------------------------------------------------------------------------


def run(models: list[str], rounds: int, confirm: int, minutes: float, limit: int = 0) -> dict:
    from bench.run import ours as start_server
    from speech_api.config import default_cache_dir
    from speech_api.engines.whisper import resolve_model

    cache_dir = default_cache_dir()
    results: dict = {"cores": os.cpu_count(), "models": {}}
    for model in models:
        print(f"[tail] {model}: clips over HTTP", file=sys.stderr, flush=True)
        server = start_server(model)
        try:
            figures = clip_ratios(
                server.url, resolve_model(model, cache_dir), rounds, confirm, limit
            )
        finally:
            server.stop()
        slow = {name for name, _ in figures["stt"]["slowest"] + figures["stream"]["slowest"]}
        figures["paths"] = paths_taken(model, cache_dir, sorted(slow))
        print(f"[tail] {model}: upload worker chunks", file=sys.stderr, flush=True)
        figures["chunks"] = chunk_ratios(model, cache_dir, minutes, rounds)
        results["models"][model] = figures
        RESULTS.write_text(json.dumps(results, indent=2))
    return results


def print_table(results: dict) -> None:
    for model, f in results["models"].items():
        print(f"\nSTT tail, Whisper {model} (int8, beam 5, VAD, en), {f['clips']} clips")
        print(f"  load average during the run: {f['load_avg']} on {results['cores']} cores")
        print(f"  {'per-clip ratio to the library':<40}{'median':>8}{'p95':>8}{'max':>8}  >1.2x")
        for key, label in (
            ("stt", "/stt"),
            ("stt_dev_only", "/stt, dev clips only"),
            ("stream", "stream=true, time to last event"),
        ):
            s = f[key]
            print(
                f"  {label:<40}{s['median']:>8.2f}{s['p95']:>8.2f}{s['max']:>8.2f}"
                f"  {s['over_1_2']}/{s['n']}"
            )
        c = f["chunks"]["ratio"]
        print(
            f"  {'upload worker chunks (' + str(f['chunks']['chunks']) + ')':<40}"
            f"{c['median']:>8.2f}{c['p95']:>8.2f}{c['max']:>8.2f}  {c['over_1_2']}/{c['n']}"
        )
        w = f["wer"]
        print(
            f"  WER /stt vs library: dev {100 * w['dev']['stt']:.1f} % vs "
            f"{100 * w['dev']['direct']:.1f} %, harder set {100 * w['hard']['stt']:.1f} % vs "
            f"{100 * w['hard']['direct']:.1f} %"
        )
        print("  slowest clips (/stt ÷ library, seconds, path):")
        for name, ratio in f["stt"]["slowest"]:
            row = f["per_clip"][name]
            print(
                f"    {ratio:5.2f}x  {row['stt_s']:.2f} s / {row['direct_s']:.2f} s  {name}"
                f"  [{f['paths'].get(name, '')}]"
            )
        print("  slowest chunks:", ", ".join(f"{n} {r:.2f}x" for n, r in c["slowest"][:3]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="base,tiny.en")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--confirm", type=int, default=20)
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--limit", type=int, default=0, help="first N clips of each set")
    args = parser.parse_args()
    results = run(args.models.split(","), args.rounds, args.confirm, args.minutes, args.limit)
    print_table(results)


if __name__ == "__main__":
    main()
