"""STT tail latency (issue 34): `/stt` ÷ the direct library call, clip by clip, so that one slow
clip in twenty shows instead of hiding under the median.

    python bench/tail.py [--models base,tiny.en] [--rounds 3] [--confirm 20] [--minutes 3]
                         [--limit N]

Per model, over the English dev clips and their harder variants (`devkit/hard_clips.py`:
Opus re-encodes, noise, music, reverb, speed, padding, clips cut mid-word, joined clips):

* `/stt` and `WhisperModel.transcribe` (same model directory, int8, beam 5, VAD, language
  given, the same bytes) back to back, which goes first alternating;
* `/v1/audio/transcriptions` with `stream=true`: the time to its last event;
* every clip is timed once; the ``--confirm`` clips with the highest ratio (any kind) are
  timed ``--rounds - 1`` more times and their medians kept (a tail is what is measured: the
  clips that matter get the repeats);
* per-clip ratio, its median, p95 and maximum, the slowest clips named with the path they took
  in our engine (trimmed, continued, retried with a wider margin, the library's full window),
  and how many clips took each path; WER of both sides on the clips that have a reference;
* the upload worker's chunks: a recording of joined dev clips cut as the long-form path cuts it,
  each chunk through the engine's chunked path and through `WhisperModel.transcribe` on its
  samples, back to back.

Each call is timed twice: wall-clock, and CPU seconds (the server process's for `/stt`, this
process's for the library call). On a shared machine the wall ratios swing with the load (the
library's full-window encode suffers most from it: measured median ratios fall from ~0.5 to
~0.2 under a load of 15 on 2 cores), while the CPU ratios stay close to what a quiet machine
shows; both are reported, with the load average.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from bench.stats import pct  # noqa: E402
from devkit.clips import load_clips  # noqa: E402
from devkit.hard_clips import hard_clips  # noqa: E402
from devkit.wer import corpus_wer  # noqa: E402

RESULTS = ROOT / "bench" / "tail-results.json"
KINDS = ("stt", "stream", "direct")


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


def server_cpu(pid: int) -> float:
    """CPU seconds used so far by the server process and its children."""
    proc = psutil.Process(pid)
    total = 0.0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            t = p.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += t.user + t.system
    return total


# --- per clip, over HTTP --------------------------------------------------------------------


class ClipTimer:
    """`/stt`, the streamed transcription and the library call on one clip, back to back,
    each timed in wall and CPU seconds."""

    def __init__(self, client: httpx.Client, pid: int, model_dir: str):
        from faster_whisper import WhisperModel

        self.client = client
        self.pid = pid
        self.model = WhisperModel(model_dir, device="cpu", compute_type="int8")
        self.wall: dict[str, dict[str, list[float]]] = {}
        self.cpu: dict[str, dict[str, list[float]]] = {}
        self.texts: dict[str, dict[str, str]] = {"stt": {}, "direct": {}}

    def direct(self, c) -> str:
        segments, _ = self.model.transcribe(
            io.BytesIO(c.read()), beam_size=5, vad_filter=True, language="en"
        )
        return " ".join(s.text.strip() for s in segments)

    def stt(self, c) -> str:
        r = self.client.post("/stt", files={"file": (c.file, c.read())}, data={"language": "en"})
        r.raise_for_status()
        return r.json()["text"]

    def stream(self, c) -> str:
        """Consumed to its last event."""
        text = ""
        with self.client.stream(
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
        return text

    def round(self, c, r: int) -> None:
        # Which goes first alternates, so both sides see the same machine state.
        for kind in ("stt", "direct", "stream") if r % 2 else ("direct", "stream", "stt"):
            cpu = time.process_time if kind == "direct" else (lambda: server_cpu(self.pid))
            started, used = time.perf_counter(), cpu()
            text = getattr(self, kind)(c)
            self.wall.setdefault(c.file, {}).setdefault(kind, []).append(
                time.perf_counter() - started
            )
            self.cpu.setdefault(c.file, {}).setdefault(kind, []).append(cpu() - used)
            if kind in self.texts:
                self.texts[kind][c.file] = text

    def ratio(self, name: str, kind: str, cpu: bool = False) -> float:
        table = (self.cpu if cpu else self.wall)[name]
        return statistics.median(table[kind]) / statistics.median(table["direct"])

    def worst(self, name: str) -> float:
        return max(self.ratio(name, k, cpu) for k in ("stt", "stream") for cpu in (False, True))


def clip_ratios(
    url: str, pid: int, model_dir: str, rounds: int, confirm: int, limit: int = 0
) -> dict:
    clips = tail_clips(limit)
    loads = [load()]
    with httpx.Client(base_url=url, timeout=300) as client:
        timer = ClipTimer(client, pid, model_dir)
        timer.round(clips[0], 0)  # warm every path up
        timer.wall.clear()
        timer.cpu.clear()
        for i, c in enumerate(clips):
            timer.round(c, i)
        loads.append(load())
        for c in sorted(clips, key=lambda c: timer.worst(c.file))[-confirm:] if confirm else []:
            for r in range(1, rounds):
                timer.round(c, r)
        loads.append(load())

    def med(name: str, kind: str, cpu: bool = False) -> float:
        return round(statistics.median((timer.cpu if cpu else timer.wall)[name][kind]), 3)

    per_clip = {
        c.file: {
            "duration_s": c.duration_s,
            **{f"{k}_s": med(c.file, k) for k in KINDS},
            **{f"{k}_cpu_s": med(c.file, k, True) for k in KINDS},
            "ratio": round(timer.ratio(c.file, "stt"), 3),
            "stream_ratio": round(timer.ratio(c.file, "stream"), 3),
            "cpu_ratio": round(timer.ratio(c.file, "stt", True), 3),
            "stream_cpu_ratio": round(timer.ratio(c.file, "stream", True), 3),
            "rounds": len(timer.wall[c.file]["stt"]),
        }
        for c in clips
    }

    def summary(key: str, dev_only: bool = False) -> dict:
        return ratio_summary(
            {f: v[key] for f, v in per_clip.items() if not dev_only or ":" not in f}
        )

    def wer(kind: str, subset) -> float:
        return round(
            corpus_wer([c.text for c in subset], [timer.texts[kind][c.file] for c in subset]), 4
        )

    dev = [c for c in clips if c.text and ":" not in c.file]
    hard = [c for c in clips if c.text and ":" in c.file]
    return {
        "per_clip": per_clip,
        "stt": summary("ratio"),
        "stt_cpu": summary("cpu_ratio"),
        "stt_dev_only": summary("ratio", dev_only=True),
        "stt_cpu_dev_only": summary("cpu_ratio", dev_only=True),
        "stream": summary("stream_ratio"),
        "stream_cpu": summary("stream_cpu_ratio"),
        "wer": {
            "dev": {"stt": wer("stt", dev), "direct": wer("direct", dev)},
            "hard": {"stt": wer("stt", hard), "direct": wer("direct", hard)},
        },
        "clips": len(clips),
        "rounds": rounds,
        "confirmed": confirm,
        "load_avg": loads,
    }


def paths_taken(model: str, cache_dir: Path, clips: list) -> dict[str, str]:
    """The path each clip takes in our engine (in-process, one decode each)."""
    from speech_api.audio import decode_audio
    from speech_api.config import STTSettings
    from speech_api.engines import TranscriptionOptions
    from speech_api.engines.stt.whisper_engine import WhisperEngine

    engine = WhisperEngine(STTSettings(model=model, batch_size=1), cache_dir)
    stats = engine.decoder.stats
    out = {}
    for c in clips:
        before = (dict(stats.retried), dict(stats.fallbacks), stats.continued)
        audio = decode_audio(c.read(), max_seconds=120).samples
        engine.transcribe(audio, TranscriptionOptions(language="en"))
        retried = [k for k, v in stats.retried.items() if v != before[0].get(k, 0)]
        library = [k for k, v in stats.fallbacks.items() if v != before[1].get(k, 0)]
        path = "trimmed"
        if stats.continued != before[2]:
            path += ", continued"
        if retried:
            path += f", retried ({', '.join(retried)})"
        if library:
            path = f"library full window ({', '.join(library)})" + (
                f" after a retry ({', '.join(retried)})" if retried else ""
            )
        out[c.file] = path
    return out


# --- the upload worker's chunks, in-process -------------------------------------------------


def chunk_ratios(model: str, cache_dir: Path, minutes: float, rounds: int) -> dict:
    from faster_whisper import WhisperModel

    from devkit.clips import joined_recording
    from speech_api.audio.sources import ArrayAudio
    from speech_api.config import STTSettings
    from speech_api.engines import TranscriptionOptions
    from speech_api.engines.stt.whisper_engine import WhisperEngine, resolve_model

    engine = WhisperEngine(STTSettings(model=model), cache_dir)
    direct = WhisperModel(resolve_model(model, cache_dir), device="cpu", compute_type="int8")
    recording = joined_recording(min_s=minutes * 60)
    audio = ArrayAudio(recording.samples)
    chunks = [c for block, _ in engine.long_form._blocks(audio) for c in block]
    options = TranscriptionOptions(language="en")

    def ours(samples) -> None:
        [(segments, _)] = engine.decoder.transcribe_many([samples], options, chunked=True)
        list(segments)

    def library(samples) -> None:
        segments, _ = direct.transcribe(samples, beam_size=5, vad_filter=True, language="en")
        list(segments)

    wall: dict[str, dict[str, list[float]]] = {}
    cpu: dict[str, dict[str, list[float]]] = {}
    loads = [load()]
    for r in range(rounds):
        for i, chunk in enumerate(chunks):
            name = f"chunk {i + 1} ({chunk.start / 16000:.0f}-{chunk.end / 16000:.0f} s)"
            samples = audio.read(chunk.start, chunk.end)
            for call in (ours, library) if (i + r) % 2 else (library, ours):
                started, used = time.perf_counter(), time.process_time()
                call(samples)
                wall.setdefault(name, {}).setdefault(call.__name__, []).append(
                    time.perf_counter() - started
                )
                cpu.setdefault(name, {}).setdefault(call.__name__, []).append(
                    time.process_time() - used
                )
        loads.append(load())

    def ratios(table) -> dict[str, float]:
        return {
            n: statistics.median(t["ours"]) / statistics.median(t["library"])
            for n, t in table.items()
        }

    return {
        "recording_s": round(recording.duration_s, 1),
        "chunks": len(chunks),
        "ratio": ratio_summary(ratios(wall)),
        "cpu_ratio": ratio_summary(ratios(cpu)),
        "ours_s": round(sum(statistics.median(t["ours"]) for t in wall.values()), 2),
        "library_s": round(sum(statistics.median(t["library"]) for t in wall.values()), 2),
        "rounds": rounds,
        "load_avg": loads,
    }


# --- all of it ------------------------------------------------------------------------------


def run(models: list[str], rounds: int, confirm: int, minutes: float = 3.0, limit: int = 0) -> dict:
    from bench.servers import ours as start_server
    from speech_api.config import default_cache_dir
    from speech_api.engines.stt.whisper_models import resolve_model

    cache_dir = default_cache_dir()
    results: dict = {"cores": os.cpu_count(), "models": {}}
    for model in models:
        print(f"[tail] {model}: clips over HTTP", file=sys.stderr, flush=True)
        server = start_server(model)
        try:
            figures = clip_ratios(
                server.base_url,
                server.proc.pid,
                resolve_model(model, cache_dir),
                rounds,
                confirm,
                limit,
            )
        finally:
            server.stop()
        print(f"[tail] {model}: the path of each clip", file=sys.stderr, flush=True)
        figures["paths"] = paths_taken(model, cache_dir, tail_clips(limit))
        figures["path_counts"] = dict(
            Counter(p.split(" (")[0] for p in figures["paths"].values()).most_common()
        )
        print(f"[tail] {model}: upload worker chunks", file=sys.stderr, flush=True)
        figures["chunks"] = chunk_ratios(model, cache_dir, minutes, rounds)
        results["models"][model] = figures
        RESULTS.write_text(json.dumps(results, indent=2))
    return results


ROWS = (
    ("stt", "/stt, wall"),
    ("stt_cpu", "/stt, CPU"),
    ("stt_dev_only", "/stt, dev clips only, wall"),
    ("stt_cpu_dev_only", "/stt, dev clips only, CPU"),
    ("stream", "stream=true, to last event, wall"),
    ("stream_cpu", "stream=true, to last event, CPU"),
)


def print_table(results: dict) -> None:
    for model, f in results["models"].items():
        print(f"\nSTT tail, Whisper {model} (int8, beam 5, VAD, en), {f['clips']} clips")
        print(f"  load average during the run: {f['load_avg']} on {results['cores']} cores")
        print(f"  {'per-clip ratio to the library':<40}{'median':>8}{'p95':>8}{'max':>8}  >1.2x")
        chunks = f"upload worker chunks ({f['chunks']['chunks']})"
        rows = [(label, f[key]) for key, label in ROWS] + [
            (f"{chunks}, wall", f["chunks"]["ratio"]),
            (f"{chunks}, CPU", f["chunks"]["cpu_ratio"]),
        ]
        for label, s in rows:
            print(
                f"  {label:<40}{s['median']:>8.2f}{s['p95']:>8.2f}{s['max']:>8.2f}"
                f"  {s['over_1_2']}/{s['n']}"
            )
        w = f["wer"]
        print(
            f"  WER /stt vs library: dev {100 * w['dev']['stt']:.1f} % vs "
            f"{100 * w['dev']['direct']:.1f} %, harder set {100 * w['hard']['stt']:.1f} % vs "
            f"{100 * w['hard']['direct']:.1f} %"
        )
        print(f"  paths: {f['path_counts']}")
        for key, unit in (("stt", ""), ("stt_cpu", "cpu_")):
            print(f"  slowest clips by {'CPU' if unit else 'wall'} ratio (/stt, library, path):")
            for name, ratio in f[key]["slowest"]:
                row = f["per_clip"][name]
                print(
                    f"    {ratio:5.2f}x  {row[f'stt_{unit}s']:.2f} s / "
                    f"{row[f'direct_{unit}s']:.2f} s  {name}  [{f['paths'].get(name, '')}]"
                )
        c = f["chunks"]["ratio"]
        print("  slowest chunks (wall):", ", ".join(f"{n} {r:.2f}x" for n, r in c["slowest"][:3]))


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
